//! A Python strategy driven through the Strategy trait with core's test host: its context reaches
//! the session's handle only during a callback, capabilities narrow every call, the budget
//! interrupts a loop, and bad classes or arguments are refused with what is wrong.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use crate::{Params, PythonStrategy};
use tradsys_core::capability::{Capabilities, Capability, Permissions};
use tradsys_core::component::{InitContext, Strategy};
use tradsys_core::instrument::InstrumentTable;
use tradsys_core::plugin::Plugin;
use tradsys_core::testing::{TestHost, TestIndicators, bar};
use tradsys_core::types::{InstrumentId, Qty};

/// Writes `source` to a file of its own and returns `(file, class)`.
fn class_in(name: &str, source: &str, class: &str) -> (String, String) {
    let dir = std::env::temp_dir().join(format!("tradsys-python-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(format!("{name}.py"));
    std::fs::write(&path, source).unwrap();
    (path.display().to_string(), class.to_owned())
}

fn build((file, class): (String, String), args: &str) -> Result<PythonStrategy, String> {
    let args: toml::Table = toml::from_str(args).unwrap();
    let (file, module) = match file.strip_prefix("module:") {
        Some(module) => (String::new(), module.to_owned()),
        None => (file, String::new()),
    };
    let params = Params { file, module, class, args: args.into_iter().collect(), budget_ms: 300, ..Params::default() };
    PythonStrategy::build(params).map_err(|error| error.to_string())
}

fn init(strategy: &mut PythonStrategy, granted: Capabilities) -> Result<TestIndicators, String> {
    let mut instruments = InstrumentTable::default();
    instruments.declare(tradsys_core::instrument::Instrument::undeclared("T")).unwrap();
    let permissions = Permissions::new(granted);
    let mut indicators = TestIndicators::default();
    let mut ctx =
        InitContext::new("py", &mut instruments, 7).with_permissions(&permissions).with_indicators(&mut indicators);
    strategy.init(&mut ctx).map_err(|error| error.to_string())?;
    Ok(indicators)
}

/// The panic message of a callback that failed.
fn failure(call: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(call)).expect_err("the callback must fail");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|text| (*text).to_owned()))
        .unwrap_or_default()
}

const TRADER: &str = r#"
import threading

class Trader:
    params = {"qty": 1, "level": 1.5, "name": "x"}
    capabilities = ["indicators", "read-position", "submit-orders"]
    indicators = ["sma"]

    def init(self, ctx):
        self.sma = ctx.indicator("sma", period=3)
        self.seen = []

    def on_bar(self, bar, ctx):
        self.seen.append((bar.close, ctx.indicator(self.sma), ctx.position(bar.instrument)))
        self.kept = ctx
        if bar.close > self.params["level"]:
            ctx.market(bar.instrument, "buy", self.params["qty"])
        try:
            ctx.cash()
        except PermissionError as denied:
            self.denied = str(denied)
        errors = []
        worker = threading.Thread(target=lambda: errors.append(self._try(ctx)))
        worker.start()
        worker.join()
        self.from_thread = errors[0]

    def _try(self, ctx):
        try:
            ctx.position(0)
            return "reached"
        except RuntimeError as error:
            return str(error)
"#;

#[test]
fn callbacks_reach_the_session_through_the_narrowed_context_only_while_they_run() {
    let mut strategy = build(class_in("trader", TRADER, "Trader"), "qty = 4").unwrap();
    let indicators = init(&mut strategy, Capabilities::of(&Capability::FOR_STRATEGIES)).unwrap();
    assert_eq!(indicators.requested.len(), 1);
    assert_eq!(indicators.requested[0].name, "sma");
    assert_eq!(indicators.requested[0].instrument, Some(InstrumentId(0)));

    let mut host = TestHost::new();
    host.positions.insert(InstrumentId(0), Qty(2));
    host.indicators.insert((tradsys_core::component::IndicatorHandle(0), 0), 1.25);
    strategy.on_bar(&bar(0, "1.0"), &mut host.context());
    strategy.on_bar(&bar(1, "2.0"), &mut host.context());
    assert_eq!(host.submitted.len(), 1, "one bar closed above the level");
    assert_eq!(host.submitted[0].1.qty, Qty(4), "args override the declared default");

    let probe = strategy.probe("(self.seen, self.denied, self.from_thread, self._try(self.kept))");
    assert!(probe.contains("[(1.0, 1.25, 2), (2.0, 1.25, 2)]"), "{probe}");
    assert!(probe.contains("read-portfolio"), "an undeclared read is refused: {probe}");
    assert_eq!(
        probe.matches("usable only during the callback").count(),
        2,
        "another thread and a kept context after the callback are both refused: {probe}"
    );
}

#[test]
fn an_undeclared_submit_is_a_refused_order_and_an_ungranted_declaration_fails_init() {
    let source = "class Quiet:\n    capabilities = ['read-position']\n    def on_bar(self, bar, ctx):\n        ctx.market(0, 'sell', 1)\n";
    let mut strategy = build(class_in("quiet", source, "Quiet"), "").unwrap();
    init(&mut strategy, Capabilities::of(&Capability::FOR_STRATEGIES)).unwrap();
    let mut host = TestHost::new();
    strategy.on_bar(&bar(0, "1.0"), &mut host.context());
    assert!(host.submitted.is_empty());
    assert_eq!(host.refused.len(), 1, "refused, as a native strategy's submit is");

    let error = init(&mut strategy, Capabilities::of(&[Capability::SubmitOrders])).unwrap_err();
    assert!(error.contains("declares read-position, which this instance is not granted"), "{error}");
}

#[test]
fn an_exception_a_loop_past_the_budget_and_a_returned_value_each_fail_the_callback() {
    let source = "class Bad:\n    capabilities = []\n    def on_bar(self, bar, ctx):\n        if bar.close < 1.5:\n            raise ValueError('no ' + 'luck')\n        if bar.close < 2.5:\n            while True:\n                pass\n        return 3\n";
    let mut strategy = build(class_in("bad", source, "Bad"), "").unwrap();
    init(&mut strategy, Capabilities::of(&Capability::FOR_STRATEGIES)).unwrap();
    let mut host = TestHost::new();
    let raised = failure(|| strategy.on_bar(&bar(0, "1.0"), &mut host.context()));
    assert!(raised.contains("bad.py:Bad.on_bar raised Traceback"), "{raised}");
    assert!(raised.contains("line 5, in on_bar") && raised.contains("ValueError: no luck"), "{raised}");
    let overran = failure(|| strategy.on_bar(&bar(1, "2.0"), &mut host.context()));
    assert!(overran.contains("ran past its budget of 300 ms") && overran.contains("TimeoutError"), "{overran}");
    let returned = failure(|| strategy.on_bar(&bar(2, "3.0"), &mut host.context()));
    assert!(returned.contains("returned 3; callbacks return None"), "{returned}");
    // The interruption does not linger: the next call runs normally.
    let again = failure(|| strategy.on_bar(&bar(3, "1.0"), &mut host.context()));
    assert!(again.contains("ValueError: no luck"), "{again}");
}

#[test]
fn bad_classes_and_arguments_are_refused_naming_what_is_wrong() {
    let trader = class_in("trader2", TRADER, "Trader");
    let cases = [
        (
            build(trader.clone(), "qty = \"four\""),
            "args.qty: trader2.py:Trader declares qty as an integer (default 1), got string \"four\"",
        ),
        (build(trader.clone(), "qtty = 4"), "declares no parameter qtty; did you mean \"qty\"?"),
        (build(trader.clone(), "level = 2"), ""),
        (build(class_in("trader3", TRADER, "Trder"), ""), "no class Trder there (it defines Trader)"),
        (build(class_in("syntax", "class A:\n    def on_bar(self, bar, ctx)\n        pass\n", "A"), ""), "SyntaxError"),
        (build(class_in("none", "class A:\n    pass\n", "A"), ""), "defines none of the callbacks on_bar"),
        (
            build(
                class_in(
                    "caps",
                    "class A:\n    capabilities = ['submit-order']\n    def on_bar(self, b, c): pass\n",
                    "A",
                ),
                "",
            ),
            "capabilities:",
        ),
        (build(("missing/file.py".to_owned(), "A".to_owned()), ""), "cannot read missing/file.py"),
        (build(("module:no_such_module_here".to_owned(), "A".to_owned()), ""), "ModuleNotFoundError"),
        (build((String::new(), "A".to_owned()), ""), "give file (a .py file, relative to the config) or module"),
        (build(("x.py".to_owned(), "not-a-name".to_owned()), ""), "class must be the name of a class"),
    ];
    for (outcome, expected) in cases {
        match outcome {
            Ok(_) => assert!(expected.is_empty(), "expected a refusal with {expected:?}"),
            Err(error) => assert!(!expected.is_empty() && error.contains(expected), "{error:?} lacks {expected:?}"),
        }
    }
}

#[test]
fn a_snapshot_crosses_to_a_successor_with_the_inherited_orders() {
    let source = "class Keeper:\n    def on_bar(self, bar, ctx):\n        self.count = getattr(self, 'count', 0) + 1\n    def snapshot(self):\n        return {'count': self.count}\n    def take_over(self, state, orders):\n        self.count = state['count'] + 100\n        self.orders = orders\n";
    let class = class_in("keeper", source, "Keeper");
    let mut first = build(class.clone(), "").unwrap();
    let mut host = TestHost::new();
    first.on_bar(&bar(0, "1.0"), &mut host.context());
    first.on_bar(&bar(1, "1.0"), &mut host.context());
    let snapshot = first.snapshot().expect("a snapshot");
    let mut second = build(class, "").unwrap();
    let inherited = [tradsys_core::component::OpenOrder {
        id: tradsys_core::component::ClientOrderId(9),
        instrument: InstrumentId(0),
        side: tradsys_core::types::Side::Buy,
        price: "1.5".parse().unwrap(),
        trigger: None,
        remaining: Qty(3),
    }];
    second
        .take_over(&tradsys_core::component::Handover {
            predecessor: "python@0.1.0",
            snapshot: Some(&snapshot),
            inherited: &inherited,
        })
        .unwrap();
    let probe = second.probe("(self.count, self.orders)");
    assert_eq!(
        probe,
        "(102, [{'id': 9, 'instrument': 0, 'side': 'buy', 'price': 1.5, 'trigger': None, 'remaining': 3}])"
    );
}

const GUARD: &str = r#"
class Guard:
    params = {"max_qty": 5}
    capabilities = ["read-position"]

    def check(self, order, view):
        if order.side == "buy" and order.qty + view.position() > self.params["max_qty"]:
            return f"{order.qty} more would pass {self.params['max_qty']}"
        if order.type == "limit" and order.price > 2.0:
            view.pnl()
        if order.qty == 4:
            return 4

    def review(self, view):
        return "too long" if view.position() > 3 else None
"#;

fn validator(args: &str) -> crate::PythonValidator {
    let (file, class) = class_in("guard", GUARD, "Guard");
    let args: toml::Table = toml::from_str(args).unwrap();
    let params = Params { file, class, args: args.into_iter().collect(), budget_ms: 300, ..Params::default() };
    crate::PythonValidator::build(params).unwrap()
}

#[test]
fn a_python_validator_passes_refuses_halts_and_fails_on_garbage() {
    use tradsys_core::component::{OrderRequest, RiskValidator, RiskView};
    use tradsys_core::testing::risk_facts;
    use tradsys_core::types::{Side, TimeInForce};

    let mut guard = validator("max_qty = 6");
    let instrument = tradsys_core::instrument::Instrument::undeclared("T");
    let facts = risk_facts(&instrument, 2, "1.5".parse().unwrap());
    let permissions = Permissions::new(Capabilities::of(&[Capability::ReadPosition, Capability::ReadPortfolio]));
    let view = RiskView::new(&facts, &permissions);
    let buy = |qty| OrderRequest::market(InstrumentId(0), Side::Buy, Qty(qty));
    assert!(guard.check(&buy(3), &view).is_ok());
    let refused = guard.check(&buy(5), &view).unwrap_err();
    assert_eq!((refused.reason.as_str(), refused.halt), ("5 more would pass 6", false));
    assert!(!guard.reviews() || guard.review(&view).is_none(), "position 2 is not too long");

    // pnl() is granted but not declared: refused in Python, counted on the view's permissions.
    let limit = OrderRequest::limit(InstrumentId(0), Side::Sell, "2.5".parse().unwrap(), Qty(1), TimeInForce::Gtc);
    let raised = failure(|| {
        let _ = guard.check(&limit, &view);
    });
    assert!(raised.contains("PermissionError") && raised.contains("read-portfolio"), "{raised}");
    assert_eq!(permissions.take_denied().collect::<Vec<_>>(), vec![(Capability::ReadPortfolio, 1)]);

    let garbage = failure(|| {
        let _ = guard.check(&OrderRequest::market(InstrumentId(0), Side::Sell, Qty(4)), &view);
    });
    assert!(
        garbage.contains("guard.py:Guard.check returned 4; it returns None to pass or a reason (str)"),
        "{garbage}"
    );

    let long = risk_facts(&instrument, 4, "1.5".parse().unwrap());
    assert!(guard.reviews());
    let halt = guard.review(&RiskView::new(&long, &permissions)).expect("a halt");
    assert_eq!((halt.reason.as_str(), halt.halt), ("too long", true));
}

#[test]
fn a_validator_class_needs_check_and_its_view_is_lent_only_during_the_call() {
    let (file, class) =
        class_in("nocheck", "class NoCheck:\n    def on_bar(self, bar, ctx):\n        pass\n", "NoCheck");
    let params = Params { file, class, ..Params::default() };
    let error = crate::PythonValidator::build(params).unwrap_err().to_string();
    assert!(error.contains("defines no check(order, view)"), "{error}");
    let (file, class) =
        class_in("keeps", "class Keeps:\n    def check(self, order, view):\n        self.view = view\n", "Keeps");
    let mut keeps = crate::PythonValidator::build(Params { file, class, ..Params::default() }).unwrap();
    let instrument = tradsys_core::instrument::Instrument::undeclared("T");
    let facts = tradsys_core::testing::risk_facts(&instrument, 0, "1".parse().unwrap());
    let permissions = Permissions::all();
    let order = tradsys_core::component::OrderRequest::market(InstrumentId(0), tradsys_core::types::Side::Buy, Qty(1));
    assert!(
        tradsys_core::component::RiskValidator::check(
            &mut keeps,
            &order,
            &tradsys_core::component::RiskView::new(&facts, &permissions)
        )
        .is_ok()
    );
    let probe = keeps.probe_view();
    assert!(probe.contains("usable only during the check"), "{probe}");
}
