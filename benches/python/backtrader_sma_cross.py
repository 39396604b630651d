"""The same SMA cross as tradsys's examples/bars-sma-cross.toml, in backtrader, for a side-by-side
bars/s figure (see BENCHMARKS.md). Usage: python3 backtrader_sma_cross.py BARS.csv [fast slow]

Market orders on a cross fill at the next bar's open, as in tradsys's bar mode. Prints bars/s of
cerebro.run() (CSV loading included, Python start-up and import excluded).
"""
import sys
import time

import backtrader as bt


class SmaCross(bt.Strategy):
    params = dict(fast=10, slow=30, qty=10)

    def __init__(self):
        fast = bt.ind.SMA(period=self.p.fast)
        slow = bt.ind.SMA(period=self.p.slow)
        self.cross = bt.ind.CrossOver(fast, slow)

    def next(self):
        if self.cross > 0:
            self.order_target_size(target=self.p.qty)
        elif self.cross < 0:
            self.order_target_size(target=-self.p.qty)


def main():
    path = sys.argv[1]
    fast, slow = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (10, 30)
    with open(path) as handle:
        bars = sum(1 for _ in handle) - 1
    cerebro = bt.Cerebro(stdstats=False)
    data = bt.feeds.GenericCSVData(
        dataname=path, dtformat="%Y-%m-%d %H:%M:%S", datetime=0, open=1, high=2, low=3, close=4,
        volume=5, openinterest=-1, headers=True, timeframe=bt.TimeFrame.Minutes,
    )
    cerebro.adddata(data)
    cerebro.addstrategy(SmaCross, fast=fast, slow=slow)
    started = time.perf_counter()
    cerebro.run()
    elapsed = time.perf_counter() - started
    print(f"backtrader {bt.__version__}: {bars} bars in {elapsed:.3f} s = {bars / elapsed:,.0f} bars/s; "
          f"final value {cerebro.broker.getvalue():.2f}")


if __name__ == "__main__":
    main()
