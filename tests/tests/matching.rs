//! Matching invariants over random order flows, on the compiled-in algorithms through the binary's
//! own `CompiledMatching` enum, and a differential test of FIFO against the naive reference matcher.

use std::collections::HashMap;

use figment::value::{Dict, Value};
use proptest::prelude::*;
use semver::VersionReq;
use tradsys::matching::{CompiledMatching, MatchingRecipe};
use tradsys_core::book::{BookEvent, OrderBook, StpPolicy};
use tradsys_core::instrument::Instrument;
use tradsys_core::registry::Registry;
use tradsys_core::types::{OrderId, Price, Qty, Side};
use tradsys_tests::{Op, ReferenceBook, TICK_RAW, order_flow, order_flow_with_stops, with_owners};

fn book(algo: &str, params: Dict, stp: StpPolicy) -> OrderBook<CompiledMatching> {
    let registry = Registry::discover().unwrap();
    let recipe = MatchingRecipe::new(&registry, algo, &VersionReq::STAR, params).unwrap();
    OrderBook::new(Instrument::undeclared("T"), recipe.build().unwrap(), stp)
}

fn apply<M: tradsys_core::matching::MatchingAlgorithm>(book: &mut OrderBook<M>, op: &Op, events: &mut Vec<BookEvent>) {
    match *op {
        Op::New(order) => book.submit(&order, events),
        Op::Cancel(id) => book.cancel(id, events),
        Op::Modify(id, price, qty) => book.modify(id, price, qty, events),
    }
}

/// Per order: what was submitted (adjusted by modifies) and where it went.
#[derive(Default, Debug, Clone, Copy)]
struct Account {
    submitted: i64,
    filled: i64,
    cancelled: i64,
    expired: i64,
}

impl Account {
    fn open(&self) -> i64 {
        self.submitted - self.filled - self.cancelled - self.expired
    }
}

/// The opposite side's queue at every level, before an op: price -> [(id, remaining)] in time priority.
fn queues(book: &OrderBook<CompiledMatching>, side: Side) -> HashMap<i64, Vec<(OrderId, i64)>> {
    let mut levels = Vec::new();
    book.depth(side, usize::MAX, &mut levels);
    levels
        .iter()
        .map(|level| {
            (level.price.raw(), book.level_orders(side, level.price).iter().map(|o| (o.id, o.remaining.0)).collect())
        })
        .collect()
}

/// Requires FIFO to produce the naive reference's events, op by op.
fn matches_the_reference(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut engine = book("fifo", no_params(), StpPolicy::None);
    let mut reference = ReferenceBook::new(Price::from_raw(TICK_RAW));
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for (step, op) in ops.iter().enumerate() {
        ours.clear();
        theirs.clear();
        apply(&mut engine, op, &mut ours);
        match *op {
            Op::New(order) => reference.submit(&order, &mut theirs),
            Op::Cancel(id) => reference.cancel(id, &mut theirs),
            Op::Modify(id, price, qty) => reference.modify(id, price, qty, &mut theirs),
        }
        prop_assert_eq!(&ours, &theirs, "diverged at step {}: {:?}", step, op);
    }
    Ok(())
}

/// Checks every invariant the matching issue names, op by op.
fn check_invariants(algo: &str, params: Dict, stp: StpPolicy, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut book = book(algo, params, stp);
    let mut events = Vec::new();
    let mut accounts: HashMap<OrderId, Account> = HashMap::new();
    for op in ops {
        let taker_limit = match op {
            Op::New(order) => order.price.filter(|_| order.order_type == tradsys_core::types::OrderType::Limit),
            Op::Modify(id, price, _) => price.or_else(|| book.order(*id).map(|o| o.price)),
            Op::Cancel(_) => None,
        };
        let taker_side = match op {
            Op::New(order) => Some(order.side),
            Op::Modify(id, ..) => book.order(*id).map(|o| o.side),
            Op::Cancel(_) => None,
        };
        let before = taker_side.map(|side| queues(&book, side.opposite()));
        events.clear();
        apply(&mut book, op, &mut events);

        // Trades at each level within this op, in order.
        let mut per_level: HashMap<i64, Vec<(OrderId, i64)>> = HashMap::new();
        for event in &events {
            match *event {
                BookEvent::Accepted { id } => {
                    let Op::New(order) = op else { return Err(TestCaseError::fail("accepted a non-new op")) };
                    let old = accounts.insert(id, Account { submitted: order.qty.0, ..Account::default() });
                    prop_assert!(old.is_none_or(|a| a.open() == 0), "id {id} accepted while still open");
                }
                BookEvent::Trade(trade) => {
                    let maker_queue = before.as_ref().and_then(|q| q.get(&trade.price.raw()));
                    prop_assert!(
                        maker_queue.is_some_and(|q| q.iter().any(|(id, _)| *id == trade.maker)),
                        "trade at {} is not at maker {}'s resting price",
                        trade.price,
                        trade.maker
                    );
                    if let Some(limit) = taker_limit {
                        match trade.aggressor {
                            Side::Buy => prop_assert!(trade.price <= limit, "buy traded above its limit"),
                            Side::Sell => prop_assert!(trade.price >= limit, "sell traded below its limit"),
                        }
                    }
                    prop_assert!(trade.qty.0 > 0);
                    accounts.entry(trade.maker).or_default().filled += trade.qty.0;
                    accounts.entry(trade.taker).or_default().filled += trade.qty.0;
                    per_level.entry(trade.price.raw()).or_default().push((trade.maker, trade.qty.0));
                }
                BookEvent::Cancelled { id, remaining } => accounts.entry(id).or_default().cancelled += remaining.0,
                BookEvent::Expired { id, remaining } => accounts.entry(id).or_default().expired += remaining.0,
                BookEvent::Triggered { .. } => prop_assert!(false, "these flows hold no stop orders"),
                BookEvent::Modified { id, qty, .. } => {
                    let account = accounts.entry(id).or_default();
                    account.submitted += qty.0 - account.open();
                }
                BookEvent::Rejected { .. } => {}
            }
        }

        // The book is never crossed.
        if let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) {
            prop_assert!(bid.price < ask.price, "crossed book: bid {} >= ask {}", bid.price, ask.price);
        }

        // Allocation within each level (makers cancelled by self-trade prevention never take part).
        let stp_cancelled: Vec<OrderId> = events
            .iter()
            .filter_map(|e| match e {
                BookEvent::Cancelled { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        for (price, fills) in &per_level {
            let queue: Vec<(OrderId, i64)> =
                before.as_ref().unwrap()[price].iter().filter(|(id, _)| !stp_cancelled.contains(id)).copied().collect();
            let matched: i64 = fills.iter().map(|(_, q)| q).sum();
            let level_total: i64 = queue.iter().map(|(_, q)| q).sum();
            prop_assert!(matched <= level_total);
            let mut allocated: HashMap<OrderId, i64> = HashMap::new();
            for (id, qty) in fills {
                *allocated.entry(*id).or_default() += qty;
            }
            if algo == "fifo" {
                // Earlier orders fill first: the fills are a prefix of the queue, only the last partial.
                for (at, (id, qty)) in fills.iter().enumerate() {
                    prop_assert_eq!(*id, queue[at].0, "FIFO filled {} before an earlier order", id);
                    if at + 1 < fills.len() {
                        prop_assert_eq!(*qty, queue[at].1, "a non-last FIFO fill must be complete");
                    }
                }
            } else {
                for (id, resting) in &queue {
                    let got = allocated.get(id).copied().unwrap_or(0);
                    let exact = matched as f64 * *resting as f64 / level_total as f64;
                    // Floor of the exact share, plus at most one remainder lot: within one lot.
                    prop_assert!(
                        (got as f64 - exact).abs() <= 1.0 + 1e-9 && got as f64 >= exact.floor(),
                        "pro-rata gave {} to {} resting {} of {}, exact share {:.3} of {}",
                        got,
                        id,
                        resting,
                        level_total,
                        exact,
                        matched
                    );
                }
            }
        }
    }
    // Quantity is conserved per order: submitted = filled + cancelled + expired + resting.
    for (id, account) in &accounts {
        let resting = book.order(*id).map_or(0, |o| o.remaining.0);
        prop_assert_eq!(account.open(), resting, "order {} does not add up: {:?}", id, account);
    }
    Ok(())
}

fn no_params() -> Dict {
    Dict::new()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fifo_keeps_every_invariant(ops in order_flow(120)) {
        check_invariants("fifo", no_params(), StpPolicy::None, &ops)?;
    }

    #[test]
    fn pro_rata_keeps_every_invariant(ops in order_flow(120)) {
        check_invariants("pro-rata", no_params(), StpPolicy::None, &ops)?;
    }

    #[test]
    fn invariants_hold_under_every_stp_policy(
        ops in order_flow(80),
        owners in proptest::collection::vec(any::<u8>(), 1..16),
        policy in prop_oneof![Just(StpPolicy::CancelTaker), Just(StpPolicy::CancelMaker), Just(StpPolicy::CancelBoth)],
    ) {
        let ops = with_owners(ops, &owners);
        check_invariants("fifo", no_params(), policy, &ops)?;
    }

    #[test]
    fn fifo_matches_the_reference_event_for_event(ops in order_flow(150)) {
        matches_the_reference(&ops)?;
    }

    #[test]
    fn fifo_with_stops_matches_the_reference_event_for_event(ops in order_flow_with_stops(150)) {
        matches_the_reference(&ops)?;
    }
}

#[test]
fn pro_rata_with_top_order_priority_keeps_the_book_sound() {
    // The one-lot proportionality bound is for plain pro-rata; with top-order priority check the rest.
    let mut params = Dict::new();
    params.insert("top_order_priority".to_owned(), Value::from(true));
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&order_flow(100), |ops| {
            let mut book = book("pro-rata", params.clone(), StpPolicy::None);
            let mut events = Vec::new();
            for op in &ops {
                apply(&mut book, op, &mut events);
                if let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) {
                    prop_assert!(bid.price < ask.price);
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_enum_resolves_compiled_in_algorithms_to_static_variants() {
    let fifo = book("fifo", no_params(), StpPolicy::None);
    assert_eq!(fifo.algorithm().variant_name(), "Fifo");
    let pro_rata = book("pro-rata", no_params(), StpPolicy::None);
    assert_eq!(pro_rata.algorithm().variant_name(), "ProRata");
    let _ = Qty(0);
}
