"""A base class for Python strategies: every callback is a no-op, as a Rust strategy's are.

Subclassing it is optional: the host calls whichever callbacks a class defines (at least one
event callback), and reads ``params``, ``capabilities`` and ``indicators`` from the class. A file
that must also run under ``tradsys run`` outside this package's environment should not import it.
"""

from typing import Any, ClassVar, Dict, List, Optional, Protocol, Tuple, Union

Price = Union[float, int, str, "decimal.Decimal"]  # noqa: F821 (a float is rounded to the tick)


class Bar(Protocol):
    """An OHLCV bar: prices as floats, ``ts`` in nanoseconds since the epoch (UTC)."""

    ts: int
    instrument: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Fill(Protocol):
    """A fill of one of the strategy's orders."""

    order: int
    ts: int
    instrument: int
    side: str
    price: float
    qty: int
    commission: float


class OrderUpdate(Protocol):
    """A change of one of the strategy's orders."""

    order: int
    status: str  # accepted, rejected, cancelled, expired, triggered
    rejected_by: Optional[str]
    reason: Optional[str]
    remaining: int


class Order(Protocol):
    """An order a validator checks."""

    instrument: int
    side: str  # buy, sell
    type: str  # market, limit, stop, stop-limit
    price: Optional[float]
    trigger: Optional[float]
    qty: int
    tif: str  # gtc, ioc, fok, gtx


class RiskView(Protocol):
    """What a validator reads of the checked strategy and the market, each read checked against the
    class's capabilities and the instance's grant (a refused read raises PermissionError)."""

    def strategy_id(self) -> str: ...
    def instrument(self) -> Dict[str, Any]: ...
    def now(self) -> int: ...
    def position(self) -> int: ...
    def open_orders(self) -> Tuple[int, int]: ...
    def last_price(self) -> Optional[float]: ...
    def reference_price(self) -> Optional[float]: ...
    def pnl(self) -> float: ...


class Indicator(Protocol):
    """A handle from ``Setup.indicator``, read with ``Context.indicator``."""


class Setup(Protocol):
    """What ``init`` gets: instruments, indicators, the seed."""

    def component(self) -> str: ...
    def seed(self) -> int: ...
    def instrument(self, symbol: str) -> int: ...
    def instrument_or_primary(self, symbol: str = "") -> int: ...
    def indicator(self, name: str, instrument: Optional[int] = None, **params: Any) -> Indicator: ...
    def configured_indicator(self, id: str) -> Indicator: ...


class Context(Protocol):
    """What every event callback gets: the Rust StrategyContext's methods, each checked against
    the class's capabilities and the instance's grant (a refused read raises PermissionError; a
    refused order is rejected, and the strategy sees the rejection)."""

    def now(self) -> int: ...
    def position(self, instrument: int) -> int: ...
    def cash(self) -> float: ...
    def equity(self) -> float: ...
    def open_orders(self) -> List[Dict[str, Any]]: ...
    def indicator(self, indicator: Indicator, output: int = 0) -> Optional[float]: ...
    def top_of_book(self, instrument: int) -> Tuple[Optional[float], Optional[float]]: ...
    def last_price(self, instrument: int) -> Optional[float]: ...
    def instrument(self, instrument: int) -> Optional[Dict[str, Any]]: ...
    def market(self, instrument: int, side: str, qty: int) -> int: ...
    def limit(self, instrument: int, side: str, price: Price, qty: int, tif: str = "gtc") -> int: ...
    def stop(self, instrument: int, side: str, trigger: Price, qty: int) -> int: ...
    def stop_limit(self, instrument: int, side: str, trigger: Price, price: Price, qty: int, tif: str = "gtc") -> int: ...
    def bracket(
        self,
        instrument: int,
        side: str,
        qty: int,
        stop_loss: Optional[Price] = None,
        take_profit: Optional[Price] = None,
        price: Optional[Price] = None,
    ) -> Tuple[int, Optional[int], Optional[int]]: ...
    def cancel(self, order: int) -> None: ...
    def cancel_all(self) -> None: ...


def _no_op(method):
    """Marks a default callback: the host does not call it (a subclass that overrides it is)."""
    method.__tradsys_no_op__ = True
    return method


class Strategy:
    """A strategy run by the ``python`` plugin.

    Class attributes:
        params: the parameters a config's ``args`` may set, name to default (the default's type
            is the parameter's type; an int is accepted for a float). The instance's ``params``
            is this dict with the config's values applied.
        capabilities: what the strategy may do (``"submit-orders"``, ``"read-position"``, ...);
            every context call is checked against this and the instance's grant.
        indicators: the indicator plugins ``init`` builds (``"sma"``, ``"ema@^1"``).
        snapshot_format: the format of ``snapshot``'s state (default ``python:<Class>``); a
            native plugin's name (``"sma-cross"``) when the state has that plugin's fields, so the
            two can be swapped for each other keeping it.
    """

    params: ClassVar[Dict[str, Any]] = {}
    capabilities: ClassVar[List[str]] = []
    indicators: ClassVar[List[str]] = []

    @_no_op
    def init(self, ctx: Setup) -> None:
        """Called once before the first event, with the setup context (instruments, indicators)."""

    @_no_op
    def on_bar(self, bar: Bar, ctx: Context) -> None:
        """A bar closed."""

    @_no_op
    def on_trade(self, trade: Any, ctx: Context) -> None:
        """A trade printed on the venue."""

    @_no_op
    def on_quote(self, quote: Any, ctx: Context) -> None:
        """The best bid or ask changed."""

    @_no_op
    def on_fill(self, fill: Fill, ctx: Context) -> None:
        """One of the strategy's orders filled (in part)."""

    @_no_op
    def on_order_update(self, update: OrderUpdate, ctx: Context) -> None:
        """One of the strategy's orders was accepted, rejected, cancelled, expired or triggered."""

    @_no_op
    def snapshot(self) -> Optional[Any]:
        """State for a successor when the strategy is swapped (anything ``json.dumps`` takes)."""
        return None

    @_no_op
    def take_over(self, state: Optional[Any], orders: List[Dict[str, Any]]) -> None:
        """Continue from a predecessor's snapshot, with the open orders this instance inherits."""


class Validator:
    """A risk validator run by the ``python`` plugin (as ``[risk.<id>] plugin = "python"``).

    ``check(order, view)`` returns None to pass the order, or the reason it is refused (a str);
    ``review(view)``, if defined, returns a reason to halt the strategy, or None. Class attributes
    as for :class:`Strategy`: ``params``, and ``capabilities`` from ``market-data``,
    ``read-position``, ``read-portfolio`` and ``read-clock``.
    """

    params: ClassVar[Dict[str, Any]] = {}
    capabilities: ClassVar[List[str]] = []

    @_no_op
    def init(self, ctx: Setup) -> None:
        """Called once before the first order, with the setup context."""

    @_no_op
    def check(self, order: Order, view: RiskView) -> Optional[str]:
        """None passes ``order``; a str refuses it, saying why. A subclass must define it."""
        return None
