"""NautilusTrader's side of benches/python/python_side_by_side.py: the same SMA cross (10/30 simple
moving averages, a cross flips the position with market orders) on the same bars, in NautilusTrader's
BacktestEngine with a Python `Strategy` (its documented way of writing one, as its EMACross example).

    python nautilus_sma_cross.py BARS.csv      prints: seconds of engine.run(), bars, orders

Only `engine.run()` is timed (not the import, the instrument and the bars' wrangling), which
favours NautilusTrader against a tradsys figure that includes reading its data.
"""

import sys
import time
from decimal import Decimal

import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.indicators import SimpleMovingAverage
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, TraderId, Venue
from nautilus_trader.model.objects import Money, Quantity
from nautilus_trader.persistence.wranglers import BarDataWrangler
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy


class SmaCrossConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    fast: int = 10
    slow: int = 30
    qty: int = 10_000


class SmaCross(Strategy):
    def __init__(self, config: SmaCrossConfig):
        super().__init__(config)
        self.fast = SimpleMovingAverage(config.fast)
        self.slow = SimpleMovingAverage(config.slow)
        self.previous = None
        self.orders_sent = 0

    def on_start(self):
        self.register_indicator_for_bars(self.config.bar_type, self.fast)
        self.register_indicator_for_bars(self.config.bar_type, self.slow)
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar):
        if not self.indicators_initialized():
            return
        fast, slow = self.fast.value, self.slow.value
        previous, self.previous = self.previous, (fast, slow)
        if previous is None:
            return
        if previous[0] < previous[1] and fast > slow:
            side = OrderSide.BUY
        elif previous[0] > previous[1] and fast < slow:
            side = OrderSide.SELL
        else:
            return
        self.close_all_positions(self.config.instrument_id)
        order = self.order_factory.market(self.config.instrument_id, side, Quantity.from_int(self.config.qty))
        self.submit_order(order)
        self.orders_sent += 1


def main(path):
    bars = pd.read_csv(path, index_col=0, parse_dates=True)
    bars.columns = [name.lower() for name in bars.columns]
    engine = BacktestEngine(BacktestEngineConfig(trader_id=TraderId("BENCH-001"), logging=LoggingConfig(log_level="ERROR")))
    venue = Venue("SIM")
    engine.add_venue(venue=venue, oms_type=OmsType.NETTING, account_type=AccountType.MARGIN,
                     base_currency=USD, starting_balances=[Money(1_000_000, USD)], default_leverage=Decimal(1))
    instrument = TestInstrumentProvider.default_fx_ccy("EUR/USD", venue)
    engine.add_instrument(instrument)
    bar_type = BarType.from_str("EUR/USD.SIM-1-HOUR-LAST-EXTERNAL")
    engine.add_data(BarDataWrangler(bar_type, instrument).process(bars))
    strategy = SmaCross(SmaCrossConfig(instrument_id=instrument.id, bar_type=bar_type))
    engine.add_strategy(strategy)
    started = time.perf_counter()
    engine.run()
    seconds = time.perf_counter() - started
    print(f"{seconds:.6f} {len(bars)} {strategy.orders_sent}")


if __name__ == "__main__":
    main(sys.argv[1])
