"""The compiled-in ``sma-cross`` strategy, written in Python.

Long ``qty`` on a cross of the fast simple moving average over the slow one, short on the
reverse; market orders, so in bar mode a signal on bar t fills at bar t+1's open. On the EUR/USD
example it trades exactly what ``sma-cross`` trades (app/tests/python.rs checks it).

It needs nothing from the ``tradsys`` package: any class with the callbacks will do, so the same
file runs under ``tradsys run`` (an embedded interpreter) and ``tradsys.run`` from Python.
"""


class SmaCross:
    """Long on a fast-over-slow SMA cross, short on the reverse."""

    # Declared parameters and their defaults; a config's `args` must match these names and types.
    params = {"fast": 10, "slow": 30, "qty": 1, "symbol": ""}
    # What it may do: every call is checked against this and the instance's grant.
    capabilities = ["indicators", "read-position", "submit-orders"]
    # The indicator plugins it builds in init (the session must have them).
    indicators = ["sma@^1"]
    # Its snapshots are sma-cross's (the same fields): `serve` can swap one for the other and the
    # successor continues from the last pair of averages.
    snapshot_format = "sma-cross"

    def init(self, ctx):
        fast, slow = self.params["fast"], self.params["slow"]
        if not 0 < fast < slow:
            raise ValueError(f"need 0 < fast < slow, got fast = {fast} and slow = {slow}")
        if self.params["qty"] <= 0:
            raise ValueError(f"qty must be positive, got {self.params['qty']}")
        self.instrument = ctx.instrument_or_primary(self.params["symbol"])
        self.fast = ctx.indicator("sma", self.instrument, period=fast)
        self.slow = ctx.indicator("sma", self.instrument, period=slow)
        self.previous = None

    def on_bar(self, bar, ctx):
        if bar.instrument != self.instrument:
            return
        fast, slow = ctx.indicator(self.fast), ctx.indicator(self.slow)
        if fast is None or slow is None:
            return
        previous, self.previous = self.previous, (fast, slow)
        if previous is None:
            return
        previous_fast, previous_slow = previous
        qty = self.params["qty"]
        if previous_fast < previous_slow and fast > slow:
            target = qty
        elif previous_fast > previous_slow and fast < slow:
            target = -qty
        else:
            return
        change = target - ctx.position(self.instrument)
        if change:
            ctx.market(self.instrument, "buy" if change > 0 else "sell", abs(change))

    def snapshot(self):
        """The last pair of averages, which a successor with the same periods continues from."""
        return {"fast": self.params["fast"], "slow": self.params["slow"], "previous": self.previous}

    def take_over(self, state, orders):
        if state and (state["fast"], state["slow"]) == (self.params["fast"], self.params["slow"]):
            self.previous = tuple(state["previous"]) if state["previous"] else None
