"""The compiled-in ``max-order-qty`` risk validator, written in Python: refuses an order of more
than ``max_qty`` lots, with the same reason. ``check`` returns None to pass an order, or the reason
it is refused (a ``str``)."""


class MaxQty:
    """Refuses orders larger than max_qty lots."""

    params = {"max_qty": 100}
    # It reads only the order; a validator that reads the view declares what it reads
    # (market-data, read-position, read-portfolio, read-clock).
    capabilities = []

    def init(self, ctx):
        if self.params["max_qty"] <= 0:
            raise ValueError(f"max_qty must be positive, got {self.params['max_qty']}")

    def check(self, order, view):
        if order.qty > self.params["max_qty"]:
            return f"qty {order.qty} > max_qty {self.params['max_qty']}"
        return None
