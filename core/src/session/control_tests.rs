//! Run-time changes applied by a served session: commands are sent by an observer at chosen bars
//! (on the session thread), so each lands at a known safe point and the tests are deterministic.

use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};

use super::*;
use crate::config::ServeConfig;
use crate::session::fixtures::{planned, session};
use crate::session::{RunOutcome, SessionObserver};
use crate::types::{Money, Timestamp};

const FEED: &str =
    "[feed]\nplugin = \"script-feed\"\nparams = { closes = [\"1\", \"1\", \"1\", \"1\", \"1\", \"1\", \"1\"] }\n";
const CLOSES: [&str; 7] = ["1", "1", "1", "1", "1", "1", "1"];

/// Sends each change after the mark of its bar (bars count from 1), and keeps every answer.
struct Scheduler {
    commands: Sender<Command>,
    at_bar: Vec<(u64, Change)>,
    answers: Arc<Mutex<Vec<ChangeAnswer>>>,
}

impl SessionObserver for Scheduler {
    fn equity(&mut self, _ts: Timestamp, bar: u64, _total: Money, _per: &[Money], _drawdown: f64) {
        while let Some(at) = self.at_bar.iter().position(|(at, _)| *at == bar) {
            let (_, change) = self.at_bar.remove(at);
            let answers = self.answers.clone();
            let reply = Reply::new(move |answer| answers.lock().unwrap().push(answer));
            self.commands.send(Command::Apply { change: Box::new(change), reply }).unwrap();
        }
    }
}

/// The change from config `from` to config `to` (both after the fixture feed).
fn change(from: &str, to: &str) -> Change {
    let (running, _) = planned(&format!("{FEED}{from}"));
    let (next, plan) = planned(&format!("{FEED}{to}"));
    Change::between(&running, &next, &plan).unwrap()
}

/// Serves `config` over the fixture feed, applying `at_bar` changes; the outcome and the answers.
fn serve(config: &str, at_bar: Vec<(u64, Change)>) -> (RunOutcome, Vec<ChangeAnswer>) {
    let (commands, inbox) = channel();
    let mut port = ControlPort::new(inbox, &ServeConfig::default(), false);
    let answers = Arc::new(Mutex::new(Vec::new()));
    let mut scheduler = Scheduler { commands, at_bar, answers: answers.clone() };
    let outcome = session(&CLOSES, config).unwrap().serve(&mut port, &mut scheduler);
    let answers = std::mem::take(&mut *answers.lock().unwrap());
    (outcome, answers)
}

const ONE: &str = "[strategies.s]\nplugin = \"script-strategy\"\nparams = { buy_on = [0], qty = 2 }\n\
                   [risk.small]\nplugin = \"max-qty\"\nparams = { max = 5 }\n";

#[test]
fn a_swap_keeps_the_account_and_the_new_instance_trades_on_in_it() {
    // The old instance buys on bar 0 (filled at bar 1's open); the new one, swapped in after bar 2,
    // buys on its own second bar (bar 3).
    let to = ONE.replace("buy_on = [0]", "buy_on = [1]");
    let swap = change(ONE, &to).forcing_swap(
        &ComponentId::new(Kind::Strategy, "s"),
        &planned(&format!("{FEED}{to}")).1,
        OpenOrders::Keep,
    );
    let (outcome, answers) = serve(ONE, vec![(2, swap)]);
    assert_eq!(answers.len(), 1);
    let applied = answers[0].as_ref().unwrap();
    assert_eq!(applied[0].to_string(), "strategy s: swapped script-strategy@1.0.0 -> script-strategy@1.0.0");
    let s = &outcome.report.strategies[0];
    assert_eq!((s.fills, s.positions.clone()), (2, vec![("T".to_owned(), 4)]), "one account across both instances");
    let component = outcome.report.components.iter().find(|c| c.id == "s").unwrap();
    assert_eq!(component.metrics.calls["on_bar"], 7, "every bar reached exactly one instance");
    assert_eq!(component.metrics.calls["take_over"], 1);
    assert_eq!(outcome.report.timing.changes.unwrap().count, 1);
}

#[test]
fn new_parameters_apply_in_place_where_the_component_takes_them() {
    let tight = ONE.replace("max = 5", "max = 1");
    let (outcome, answers) = serve(ONE, vec![(1, change(ONE, &tight))]);
    assert_eq!(answers[0].as_ref().unwrap()[0].to_string(), "risk small: reconfigured in place");
    let s = &outcome.report.strategies[0];
    assert_eq!((s.fills, s.rejected), (0, 1), "the new limit refused the order");
    let small = outcome.report.components.iter().find(|c| c.id == "small").unwrap();
    assert_eq!(small.params.get("max").and_then(figment::value::Value::to_i128), Some(1));
    assert_eq!(small.metrics.calls.get("build"), Some(&1), "not rebuilt");
}

#[test]
fn a_change_that_fails_anywhere_leaves_the_session_exactly_as_it_was() {
    // In one change: a limit reconfigured in place (fine) and a swap whose new instance refuses to
    // initialize. Both are refused: the limit is back to 5, so the old strategy's 2 lots fill.
    let to = ONE.replace("max = 5", "max = 1").replace("buy_on = [0]", "buy_on = [0], fail_init = true");
    let (outcome, answers) = serve(ONE, vec![(1, change(ONE, &to))]);
    let errors = answers[0].as_ref().unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].to_string(), "strategy s (script-strategy@1.0.0) failed in init: refused on cue");
    let s = &outcome.report.strategies[0];
    assert_eq!((s.fills, s.rejected, s.status.as_str()), (1, 0, "running"));
    let small = outcome.report.components.iter().find(|c| c.id == "small").unwrap();
    assert_eq!(small.params.get("max").and_then(figment::value::Value::to_i128), Some(5));
    let strategy = outcome.report.components.iter().find(|c| c.id == "s").unwrap();
    assert_eq!(strategy.metrics.calls.get("init"), Some(&1), "the failed instance's calls are not the slot's");
}

#[test]
fn a_strategy_added_trades_in_its_own_account_and_a_removed_one_keeps_its_position() {
    let two = format!("{ONE}[strategies.t]\nplugin = \"script-strategy\"\nparams = {{ buy_on = [0], qty = 1 }}\n");
    let (outcome, answers) = serve(ONE, vec![(1, change(ONE, &two)), (4, change(&two, ONE))]);
    assert_eq!(answers[0].as_ref().unwrap()[0].to_string(), "strategy t: added (script-strategy@1.0.0)");
    assert_eq!(answers[1].as_ref().unwrap()[0].to_string(), "strategy t: removed");
    let report = &outcome.report;
    let t = report.strategies.iter().find(|s| s.id == "t").unwrap();
    assert_eq!((t.status.as_str(), t.fills, t.positions.clone()), ("removed", 1, vec![("T".to_owned(), 1)]));
    assert_eq!(report.total.initial_equity.to_string(), "2000000", "the added strategy brought its cash");
    assert!(report.total.return_pct.abs() < 1e-9, "a deposit is not a return: {}", report.total.return_pct);
}

#[test]
fn keys_a_running_session_cannot_change_are_refused_by_name() {
    let (running, _) = planned(&format!("{FEED}{ONE}"));
    let (next, plan) = planned(&format!("{FEED}{ONE}[session]\nseed = 7\n[instruments.T]\ntick = \"0.5\"\n"));
    let refusals = Change::between(&running, &next, &plan).unwrap_err();
    let keys: Vec<&str> = refusals.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["session.seed", "instruments.T"]);
}

#[test]
fn an_indicator_nobody_reads_any_more_is_unloaded_and_built_again_when_read_again() {
    let reading = ONE.replace("qty = 2 }", "qty = 2, use_count = true }");
    let count = |outcome: &RunOutcome| {
        let c = outcome.report.components.iter().find(|c| c.id == "count()@T").unwrap().clone();
        (c.state, c.metrics.calls.get("build").copied())
    };
    let (removed, _) = serve(&reading, vec![(1, change(&reading, ""))]);
    assert_eq!(count(&removed), ("unloaded".to_owned(), Some(1)), "nobody reads it after the removal");
    let (back, answers) = serve(&reading, vec![(1, change(&reading, "")), (3, change("", &reading))]);
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    assert_eq!(count(&back), ("stopped".to_owned(), Some(2)), "read again: built anew, stopped at the end");
}
