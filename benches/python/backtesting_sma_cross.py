"""The SMA cross in backtesting.py, as the side-by-side benches run it against tradsys's sma-cross:
on a cross up (fast below slow on the previous bar, above on this one) close any position and buy
`size`; on a cross down close and sell `size`; orders fill at the next bar's open.

Imported by side_by_side.py and python_side_by_side.py, so both benches measure one strategy.
"""
import pandas as pd
from backtesting import Strategy
from backtesting.lib import crossover


def sma(values, period):
    return pd.Series(values).rolling(period).mean().to_numpy()


def sma_cross(fast, slow, size):
    """A backtesting.py Strategy class for SMA `fast`/`slow`, trading `size` units."""

    class SmaCross(Strategy):
        def init(self):
            self.fast = self.I(sma, self.data.Close, fast)
            self.slow = self.I(sma, self.data.Close, slow)

        def next(self):
            if crossover(self.fast, self.slow):
                self.position.close()
                self.buy(size=size)
            elif crossover(self.slow, self.fast):
                self.position.close()
                self.sell(size=size)

    return SmaCross
