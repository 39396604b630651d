"""A base class for Python strategies: every callback is a no-op, as a Rust strategy's are.

Subclassing it is optional: the host calls whichever callbacks a class defines (at least one
event callback), and reads ``params``, ``capabilities`` and ``indicators`` from the class. A file
that must also run under ``tradsys run`` outside this package's environment should not import it.
"""

from typing import Any, ClassVar, Dict, List, Optional


class Strategy:
    """A strategy run by the ``python`` plugin.

    Class attributes:
        params: the parameters a config's ``args`` may set, name to default (the default's type
            is the parameter's type; an int is accepted for a float). The instance's ``params``
            is this dict with the config's values applied.
        capabilities: what the strategy may do (``"submit-orders"``, ``"read-position"``, ...);
            every context call is checked against this and the instance's grant.
        indicators: the indicator plugins ``init`` builds (``"sma"``, ``"ema@^1"``).
    """

    params: ClassVar[Dict[str, Any]] = {}
    capabilities: ClassVar[List[str]] = []
    indicators: ClassVar[List[str]] = []

    def init(self, ctx: Any) -> None:
        """Called once before the first event, with the setup context (instruments, indicators)."""

    def on_bar(self, bar: Any, ctx: Any) -> None:
        """A bar closed."""

    def on_trade(self, trade: Any, ctx: Any) -> None:
        """A trade printed on the venue."""

    def on_quote(self, quote: Any, ctx: Any) -> None:
        """The best bid or ask changed."""

    def on_fill(self, fill: Any, ctx: Any) -> None:
        """One of the strategy's orders filled (in part)."""

    def on_order_update(self, update: Any, ctx: Any) -> None:
        """One of the strategy's orders was accepted, rejected, cancelled, expired or triggered."""

    def snapshot(self) -> Optional[Any]:
        """State for a successor when the strategy is swapped (anything ``json.dumps`` takes)."""
        return None

    def take_over(self, state: Optional[Any], orders: List[Dict[str, Any]]) -> None:
        """Continue from a predecessor's snapshot, with the open orders this instance inherits."""
