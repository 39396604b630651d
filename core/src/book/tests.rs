//! Data-driven book tests: a script of commands in, the rendered events and final book out.
//!
//! Script lines: `new ID buy|sell limit|market|stop|stop-limit PRICE|- QTY TIF [OWNER] [trigger=P]`,
//! `cancel ID`, `modify ID PRICE|- QTY|-`, `print buy|sell PRICE` (a trade outside the book:
//! [`OrderBook::trigger_stops`]) and `auction ID buy|sell PRICE QTY`. Waiting stops are listed
//! after the book when there are any. The algorithm is a plain time-priority one written here,
//! since core never depends on plugins.

use std::fmt::Write;

use super::*;
use crate::types::OwnerId;

#[derive(Debug, Default)]
struct TimePriority;

impl MatchingAlgorithm for TimePriority {
    fn match_level(&mut self, level: &mut LevelFills<'_>) {
        let mut cursor = level.head();
        while let Some(order) = cursor {
            if level.budget().0 == 0 {
                break;
            }
            let remaining = level.remaining(order);
            level.fill(order, remaining);
            cursor = level.next(order);
        }
    }
}

/// An algorithm that allocates nothing: the book's guard must still fill the level.
#[derive(Debug, Default)]
struct Lazy;

impl MatchingAlgorithm for Lazy {
    fn match_level(&mut self, _level: &mut LevelFills<'_>) {}
}

fn run_script<M: MatchingAlgorithm>(book: &mut OrderBook<M>, script: &str) -> String {
    let mut out = String::new();
    let mut events = Vec::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        events.clear();
        let words: Vec<&str> = line.split_whitespace().collect();
        let id = OrderId(words[1].parse().unwrap_or(0));
        let opt_price = |w: &str| (w != "-").then(|| w.parse::<Price>().unwrap());
        let opt_qty = |w: &str| (w != "-").then(|| Qty(w.parse().unwrap()));
        let side = |word: &str| if word == "buy" { Side::Buy } else { Side::Sell };
        match words[0] {
            "new" => {
                let extra = &words[7..];
                let order = NewOrder {
                    id,
                    side: side(words[2]),
                    order_type: match words[3] {
                        "limit" => OrderType::Limit,
                        "market" => OrderType::Market,
                        "stop" => OrderType::Stop,
                        _ => OrderType::StopLimit,
                    },
                    price: opt_price(words[4]),
                    trigger: extra.iter().find_map(|w| w.strip_prefix("trigger=")).map(|p| p.parse().unwrap()),
                    qty: Qty(words[5].parse().unwrap()),
                    tif: match words[6] {
                        "gtc" => TimeInForce::Gtc,
                        "ioc" => TimeInForce::Ioc,
                        "fok" => TimeInForce::Fok,
                        _ => TimeInForce::Gtx,
                    },
                    owner: extra.iter().find(|w| !w.contains('=')).and_then(|o| OwnerId::new(o.parse().unwrap())),
                };
                book.submit(&order, &mut events);
            }
            "print" => book.trigger_stops(side(words[1]), words[2].parse().unwrap(), &mut events),
            "auction" => {
                let order = NewOrder {
                    id,
                    side: side(words[2]),
                    order_type: OrderType::Limit,
                    price: opt_price(words[3]),
                    trigger: None,
                    qty: Qty(words[4].parse().unwrap()),
                    tif: TimeInForce::Ioc,
                    owner: None,
                };
                book.auction(&order, &mut events);
            }
            "cancel" => book.cancel(id, &mut events),
            "modify" => book.modify(id, opt_price(words[2]), opt_qty(words[3]), &mut events),
            other => panic!("bad script verb {other}"),
        }
        for event in &events {
            match event {
                BookEvent::Accepted { id } => writeln!(out, "accepted {id}"),
                BookEvent::Triggered { id } => writeln!(out, "triggered {id}"),
                BookEvent::Rejected { id, reason } => writeln!(out, "rejected {id}: {reason}"),
                BookEvent::Trade(t) => {
                    writeln!(out, "trade {}x{} maker={} taker={} {}", t.qty, t.price, t.maker, t.taker, t.aggressor)
                }
                BookEvent::Cancelled { id, remaining } => writeln!(out, "cancelled {id} {remaining}"),
                BookEvent::Expired { id, remaining } => writeln!(out, "expired {id} {remaining}"),
                BookEvent::Modified { id, price, qty } => writeln!(out, "modified {id} {price} {qty}"),
            }
            .unwrap();
        }
    }
    for (name, side) in [("bids", Side::Buy), ("asks", Side::Sell)] {
        let mut levels = Vec::new();
        book.depth(side, usize::MAX, &mut levels);
        let text: Vec<String> = levels
            .iter()
            .map(|level| {
                let ids: Vec<String> =
                    book.level_orders(side, level.price).iter().map(|o| format!("{}:{}", o.id, o.remaining)).collect();
                format!("{}x{}[{}]", level.price, level.qty, ids.join(","))
            })
            .collect();
        writeln!(out, "{}", format!("{name}: {}", text.join(" ")).trim_end()).unwrap();
    }
    if book.stop_count() > 0 {
        let stops: Vec<String> = book
            .waiting_stops()
            .map(|o| format!("{}:{}@{}", o.id, o.qty, o.trigger.map_or("-".to_owned(), |t| t.to_string())))
            .collect();
        writeln!(out, "stops: {}", stops.join(" ")).unwrap();
    }
    out
}

fn check_with(stp: StpPolicy, script: &str, expected: &str) {
    let mut book = OrderBook::new(Instrument::undeclared("T"), TimePriority, stp);
    let actual = run_script(&mut book, script);
    let expected: String =
        expected.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| format!("{l}\n")).collect();
    assert_eq!(actual, expected, "\n--- actual ---\n{actual}--- expected ---\n{expected}");
}

fn check(script: &str, expected: &str) {
    check_with(StpPolicy::None, script, expected);
}

#[test]
fn limit_orders_rest_and_cross_at_maker_price() {
    check(
        "new 1 sell limit 101 5 gtc
         new 2 sell limit 100 5 gtc
         new 3 buy limit 102 7 gtc",
        "accepted 1
         accepted 2
         accepted 3
         trade 5x100 maker=2 taker=3 buy
         trade 2x101 maker=1 taker=3 buy
         bids:
         asks: 101x3[1:3]",
    );
}

#[test]
fn earlier_order_at_a_level_fills_first() {
    check(
        "new 1 buy limit 99 5 gtc
         new 2 buy limit 99 5 gtc
         new 3 sell limit 99 6 gtc",
        "accepted 1
         accepted 2
         accepted 3
         trade 5x99 maker=1 taker=3 sell
         trade 1x99 maker=2 taker=3 sell
         bids: 99x4[2:4]
         asks:",
    );
}

#[test]
fn market_order_remainder_expires() {
    check(
        "new 1 sell limit 100 3 gtc
         new 2 buy market - 5 gtc
         new 3 buy market - 5 ioc",
        "accepted 1
         accepted 2
         trade 3x100 maker=1 taker=2 buy
         expired 2 2
         accepted 3
         expired 3 5
         bids:
         asks:",
    );
}

#[test]
fn ioc_trades_what_it_can_and_expires_the_rest() {
    check(
        "new 1 sell limit 100 3 gtc
         new 2 sell limit 102 3 gtc
         new 3 buy limit 101 5 ioc",
        "accepted 1
         accepted 2
         accepted 3
         trade 3x100 maker=1 taker=3 buy
         expired 3 2
         bids:
         asks: 102x3[2:3]",
    );
}

#[test]
fn fok_that_cannot_fill_whole_trades_nothing() {
    check(
        "new 1 sell limit 100 3 gtc
         new 2 sell limit 101 3 gtc
         new 3 buy limit 100 4 fok
         new 4 buy limit 101 6 fok",
        "accepted 1
         accepted 2
         accepted 3
         expired 3 4
         accepted 4
         trade 3x100 maker=1 taker=4 buy
         trade 3x101 maker=2 taker=4 buy
         bids:
         asks:",
    );
}

#[test]
fn post_only_is_rejected_if_it_would_take() {
    check(
        "new 1 sell limit 100 3 gtc
         new 2 buy limit 100 3 gtx
         new 3 buy limit 99 3 gtx
         new 4 buy market - 3 gtx",
        "accepted 1
         rejected 2: post-only order would take liquidity
         accepted 3
         rejected 4: post-only market order
         bids: 99x3[3:3]
         asks: 100x3[1:3]",
    );
}

#[test]
fn invalid_orders_are_rejected_and_leave_the_book_untouched() {
    check(
        "new 1 buy limit 100 5 gtc
         new 2 buy limit 100 0 gtc
         new 3 buy limit 100.001 5 gtc
         new 1 buy limit 100 5 gtc
         new 4 buy limit - 5 gtc
         new 5 buy market 100 5 gtc
         new 6 buy limit -1 5 gtc
         cancel 9
         modify 9 100 1
         modify 1 - -
         modify 1 - 0
         modify 1 100.005 -
         new 7 buy limit 100 1000000001 gtc
         modify 1 - 1000000001",
        "accepted 1
         rejected 2: quantity must be positive
         rejected 3: price is not a multiple of the tick
         rejected 1: duplicate live order id
         rejected 4: limit order without a price
         rejected 5: market order with a price
         rejected 6: price must be positive
         rejected 9: unknown order id
         rejected 9: unknown order id
         rejected 1: modify gives neither price nor quantity
         rejected 1: quantity must be positive
         rejected 1: price is not a multiple of the tick
         rejected 7: quantity above the largest order (1000000000 lots)
         rejected 1: quantity above the largest order (1000000000 lots)
         bids: 100x5[1:5]
         asks:",
    );
}

#[test]
fn cancel_removes_the_order_and_empty_level() {
    check(
        "new 1 buy limit 100 5 gtc
         new 2 buy limit 99 5 gtc
         cancel 1
         cancel 1",
        "accepted 1
         accepted 2
         cancelled 1 5
         rejected 1: unknown order id
         bids: 99x5[2:5]
         asks:",
    );
}

#[test]
fn quantity_decrease_keeps_priority_but_increase_loses_it() {
    check(
        "new 1 buy limit 100 5 gtc
         new 2 buy limit 100 5 gtc
         modify 1 - 3
         new 3 buy limit 100 5 gtc
         modify 2 - 6",
        "accepted 1
         accepted 2
         modified 1 100 3
         accepted 3
         modified 2 100 6
         bids: 100x14[1:3,3:5,2:6]
         asks:",
    );
}

#[test]
fn price_change_loses_priority_and_crossing_modify_trades_as_aggressor() {
    check(
        "new 1 buy limit 100 5 gtc
         new 2 buy limit 99 5 gtc
         modify 1 99 -
         new 3 sell limit 101 4 gtc
         modify 2 101 -",
        "accepted 1
         accepted 2
         modified 1 99 5
         accepted 3
         modified 2 101 5
         trade 4x101 maker=3 taker=2 buy
         bids: 101x1[2:1] 99x5[1:5]
         asks:",
    );
}

#[test]
fn post_only_modify_that_would_cross_is_rejected_and_kept() {
    check(
        "new 1 sell limit 101 5 gtc
         new 2 buy limit 100 5 gtx
         modify 2 101 -",
        "accepted 1
         accepted 2
         rejected 2: post-only order would take liquidity
         bids: 100x5[2:5]
         asks: 101x5[1:5]",
    );
}

#[test]
fn stp_none_lets_an_owner_trade_with_itself() {
    check(
        "new 1 sell limit 100 5 gtc 7
         new 2 buy limit 100 5 gtc 7",
        "accepted 1
         accepted 2
         trade 5x100 maker=1 taker=2 buy
         bids:
         asks:",
    );
}

#[test]
fn stp_cancel_taker_keeps_fills_at_better_levels() {
    check_with(
        StpPolicy::CancelTaker,
        "new 1 sell limit 100 2 gtc 8
         new 2 sell limit 101 5 gtc 7
         new 3 buy limit 101 5 gtc 7",
        "accepted 1
         accepted 2
         accepted 3
         trade 2x100 maker=1 taker=3 buy
         cancelled 3 3
         bids:
         asks: 101x5[2:5]",
    );
}

#[test]
fn stp_cancel_maker_removes_own_orders_and_matches_on() {
    check_with(
        StpPolicy::CancelMaker,
        "new 1 sell limit 100 2 gtc 7
         new 2 sell limit 100 5 gtc 8
         new 3 buy limit 100 4 gtc 7",
        "accepted 1
         accepted 2
         accepted 3
         cancelled 1 2
         trade 4x100 maker=2 taker=3 buy
         bids:
         asks: 100x1[2:1]",
    );
}

#[test]
fn stp_cancel_both_cancels_maker_and_taker() {
    check_with(
        StpPolicy::CancelBoth,
        "new 1 sell limit 100 2 gtc 7
         new 2 sell limit 100 5 gtc 8
         new 3 buy limit 100 4 gtc 7",
        "accepted 1
         accepted 2
         accepted 3
         cancelled 1 2
         cancelled 3 4
         bids:
         asks: 100x5[2:5]",
    );
}

#[test]
fn fok_counts_only_quantity_it_could_trade_under_stp() {
    check_with(
        StpPolicy::CancelMaker,
        "new 1 sell limit 100 3 gtc 7
         new 2 sell limit 100 3 gtc 8
         new 3 buy limit 100 4 fok 7",
        "accepted 1
         accepted 2
         accepted 3
         expired 3 4
         bids:
         asks: 100x6[1:3,2:3]",
    );
}

#[test]
fn a_lazy_algorithm_still_fills_the_level_in_time_priority() {
    let mut book = OrderBook::new(Instrument::undeclared("T"), Lazy, StpPolicy::None);
    let out = run_script(
        &mut book,
        "new 1 sell limit 100 2 gtc
         new 2 sell limit 100 2 gtc
         new 3 buy limit 100 3 gtc",
    );
    assert!(out.contains("trade 2x100 maker=1 taker=3 buy\ntrade 1x100 maker=2 taker=3 buy\n"), "{out}");
}

#[test]
fn steady_state_reuses_slots_and_levels() {
    let mut book = OrderBook::with_capacity(Instrument::undeclared("T"), TimePriority, StpPolicy::None, 16);
    let mut events = Vec::new();
    let mut heap_after_first = None;
    for round in 0..1000u64 {
        let order = NewOrder {
            id: OrderId(round),
            side: Side::Buy,
            order_type: OrderType::Limit,
            price: Some(Price::from_units(100 + (round % 3) as i64)),
            trigger: None,
            qty: Qty(1),
            tif: TimeInForce::Gtc,
            owner: None,
        };
        book.submit(&order, &mut events);
        book.cancel(OrderId(round), &mut events);
        heap_after_first.get_or_insert(book.heap_bytes());
    }
    assert!(book.is_empty());
    assert_eq!(book.level_count(), (0, 0), "every emptied level left its ladder");
    assert_eq!(book.orders.len(), 1, "the slab reuses its one slot");
    assert_eq!(Some(book.heap_bytes()), heap_after_first, "nothing grew after the first round");
}

#[test]
fn a_price_beyond_the_side_span_is_rejected_not_allocated() {
    let far = Price::from_raw(100 * 1_000_000 + MAX_SPAN_TICKS * 1_000_000);
    let mut book = OrderBook::new(Instrument::undeclared("T"), TimePriority, StpPolicy::None);
    let mut events = Vec::new();
    let order = |id, price| NewOrder {
        id: OrderId(id),
        side: Side::Buy,
        order_type: OrderType::Limit,
        price: Some(price),
        trigger: None,
        qty: Qty(1),
        tif: TimeInForce::Gtc,
        owner: None,
    };
    book.submit(&order(1, Price::from_units(1)), &mut events);
    book.submit(&order(2, far), &mut events);
    book.modify(OrderId(1), Some(far), None, &mut events);
    assert_eq!(
        events[1..],
        [
            BookEvent::Rejected { id: OrderId(2), reason: RejectReason::PriceOutOfRange },
            BookEvent::Rejected { id: OrderId(1), reason: RejectReason::PriceOutOfRange },
        ]
    );
    assert_eq!(book.len(), 1);
}

#[test]
fn a_stop_waits_for_a_trade_at_its_trigger_then_takes_as_a_market_order() {
    check(
        "new 1 sell limit 101 5 gtc
         new 2 sell limit 102 5 gtc
         new 3 buy stop - 4 gtc trigger=101
         new 4 buy limit 101 2 ioc",
        "accepted 1
         accepted 2
         accepted 3
         accepted 4
         trade 2x101 maker=1 taker=4 buy
         triggered 3
         trade 3x101 maker=1 taker=3 buy
         trade 1x102 maker=2 taker=3 buy
         bids:
         asks: 102x4[2:4]",
    );
}

#[test]
fn sell_stops_trigger_nearest_first_a_stop_limit_rests_and_a_reached_stop_triggers_on_arrival() {
    check(
        "new 1 buy limit 99 5 gtc
         new 2 sell stop-limit 98 3 gtc trigger=99
         new 3 sell stop - 2 gtc trigger=100
         new 4 sell limit 99 1 gtc
         new 5 sell stop - 1 gtc trigger=100",
        "accepted 1
         accepted 2
         accepted 3
         accepted 4
         trade 1x99 maker=1 taker=4 sell
         triggered 3
         trade 2x99 maker=1 taker=3 sell
         triggered 2
         trade 2x99 maker=1 taker=2 sell
         accepted 5
         triggered 5
         expired 5 1
         bids:
         asks: 98x1[2:1]",
    );
}

#[test]
fn a_waiting_stop_changes_quantity_only_and_bad_stops_are_rejected() {
    check(
        "new 1 buy stop - 3 gtc trigger=105
         modify 1 - 2
         modify 1 106 -
         new 1 buy limit 100 1 gtc
         new 2 buy stop 100 1 gtc trigger=101
         new 3 buy stop-limit 100 1 gtc
         new 4 buy limit 100 1 gtc trigger=99
         new 5 buy stop - 1 gtx trigger=99
         new 6 buy stop - 1 gtc trigger=99.005
         cancel 1
         cancel 1",
        "accepted 1
         modified 1 105 2
         rejected 1: a stop order waiting for its trigger can change its quantity only
         rejected 1: duplicate live order id
         rejected 2: market order with a price
         rejected 3: stop order without a trigger price
         rejected 4: trigger price on an order that is not a stop
         rejected 5: post-only stop order
         rejected 6: price is not a multiple of the tick
         cancelled 1 2
         rejected 1: unknown order id
         bids:
         asks:",
    );
}

#[test]
fn an_auction_prints_at_its_own_price_and_an_outside_print_triggers_one_side() {
    check(
        "new 1 buy limit 101 2 gtc
         new 2 buy limit 100 2 gtc
         new 3 sell stop - 1 gtc trigger=99
         new 4 buy stop - 1 gtc trigger=100
         auction 9 sell 99.5 3
         print sell 100
         print sell 99
         print buy 100
         auction 8 sell 99 5",
        "accepted 1
         accepted 2
         accepted 3
         accepted 4
         accepted 9
         trade 2x99.5 maker=1 taker=9 sell
         trade 1x99.5 maker=2 taker=9 sell
         triggered 3
         trade 1x100 maker=2 taker=3 sell
         triggered 4
         expired 4 1
         accepted 8
         expired 8 5
         bids:
         asks:",
    );
}
