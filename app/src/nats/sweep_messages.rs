//! What a distributed sweep sends: the sweep's description, its jobs, their outcomes and a
//! worker's refusals. JSON, so an operator can read them with `nats stream view`; the statistics
//! travel as the bits of their `f64`, so the gathering side writes exactly the digits a local run
//! writes (JSON decimal text would round on some values, and NaN has no JSON form).

use serde::{Deserialize, Serialize};
use tradsys_core::registry::Registry;

use crate::sweep::RunResult;

/// The version of these messages; a worker refuses a job of another.
pub(crate) const PROTOCOL: u32 = 1;

/// This binary's version, which every job names: a worker of another version refuses the job.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What every job of a sweep shares, stored once in the object store (`sweep-<id>`).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SweepSpec {
    /// The base config, merged from its file, the environment and `--set` on the starting
    /// machine: workers read no config file and no environment of their own.
    pub config: figment::value::Dict,
    /// Where the config came from, for messages.
    pub config_name: String,
    /// The strategies with columns of their own, in column order.
    pub strategies: Vec<String>,
}

/// A component the sweep's config needs, as the starting machine resolved it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PluginNeed {
    /// Its kind (`strategy`, `feed`, ...).
    pub kind: String,
    /// Its registered name.
    pub name: String,
    /// The version the config resolved to.
    pub version: String,
    /// The digest of its sources or module, where known: the same version built from other
    /// sources may trade differently.
    pub digest: Option<String>,
}

impl std::fmt::Display for PluginNeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}@{}", self.kind, self.name, self.version)
    }
}

impl PluginNeed {
    /// Why `registry` cannot run this component, if it cannot.
    pub(crate) fn missing_from(&self, registry: &Registry) -> Option<String> {
        let found = registry.iter().find(|c| {
            c.descriptor.kind.to_string() == self.kind
                && *c.descriptor.name == *self.name
                && c.version.to_string() == self.version
        });
        match found {
            None => {
                let have: Vec<String> = registry
                    .iter()
                    .filter(|c| c.descriptor.kind.to_string() == self.kind && *c.descriptor.name == *self.name)
                    .map(|c| c.version.to_string())
                    .collect();
                Some(if have.is_empty() {
                    format!("{self} is not in this worker")
                } else {
                    format!("{self} is not in this worker (it has {})", have.join(", "))
                })
            }
            Some(found) => match (&self.digest, &found.digest) {
                (Some(wanted), Some(have)) if wanted != have => {
                    Some(format!("{self} was built from other sources here (digest {have}, the sweep's {wanted})"))
                }
                _ => None,
            },
        }
    }
}

/// The range of the tape a job replays, and where it starts trading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Span {
    /// The first event time included, in nanoseconds; the tape's start when absent.
    pub from: Option<i64>,
    /// The first event time excluded; the tape's end when absent.
    pub to: Option<i64>,
    /// Events before this time warm the components up without trading (walk-forward tests).
    pub trade_from: Option<i64>,
}

/// One run of a sweep: a grid point over a span of the tape.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Job {
    /// [`PROTOCOL`] of the sending side.
    pub protocol: u32,
    /// The sending binary's [`VERSION`].
    pub version: String,
    /// The sweep.
    pub sweep: String,
    /// The batch within the sweep (0 for a plain sweep; walk-forward has one per window and test).
    pub batch: u32,
    /// The job's place in its batch: outcomes are put back in this order.
    pub at: u32,
    /// The grid point's values, as `--set` takes them.
    pub sets: Vec<String>,
    /// The part of the tape to replay.
    pub span: Span,
    /// The tape's object name (`tape-<sha256>`).
    pub tape: String,
    /// What the config needs of the worker.
    pub plugins: Vec<PluginNeed>,
}

impl Job {
    /// The message id that makes a republished job (or its outcome) a duplicate the server drops.
    pub(crate) fn message_id(sweep: &str, batch: u32, at: u32) -> String {
        format!("{sweep}.{batch}.{at}")
    }
}

/// What came of one job.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Outcome {
    /// The job's batch.
    pub batch: u32,
    /// The job's place in its batch.
    pub at: u32,
    /// The worker that ran it (host and process), for messages.
    pub worker: String,
    /// The run's result, or why it could not be made.
    pub made: Made,
}

/// Whether a job's run was made.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Made {
    /// It ran (perhaps ending early: the result says why).
    Ran(WireResult),
    /// It could not be made on its worker: the config does not check there, the tape is missing.
    Failed {
        /// Why.
        error: String,
    },
}

/// A [`RunResult`] on the wire: each figure as `f64` bits, `None` where undefined.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireResult {
    /// The total's figures, in [`crate::sweep::figure_names`] order.
    pub figures: Vec<Option<u64>>,
    /// Each strategy column's figures, in the spec's strategy order.
    pub strategies: Vec<Vec<Option<u64>>>,
    /// Why the run ended early, or why the worker could not run it.
    pub error: Option<String>,
}

impl WireResult {
    /// `result`'s figures, exactly.
    pub(crate) fn from_result(result: &RunResult) -> WireResult {
        let bits = |values: &mut dyn Iterator<Item = Option<f64>>| values.map(|v| v.map(f64::to_bits)).collect();
        WireResult {
            figures: bits(&mut result.figures.iter().map(|(_, value)| *value)),
            strategies: result.strategies.iter().map(|(_, figures)| bits(&mut figures.iter().copied())).collect(),
            error: result.error.clone(),
        }
    }

    /// The result back, with the names this binary gives the figures and `strategies`' ids.
    ///
    /// # Errors
    /// The counts differ from this binary's (a worker of another version slipped through).
    pub(crate) fn into_result(self, strategies: &[String]) -> Result<RunResult, String> {
        let names = crate::sweep::figure_names();
        let value = |bits: Option<u64>| bits.map(f64::from_bits);
        if self.figures.len() != names.len()
            || self.strategies.len() != strategies.len()
            || self.strategies.iter().any(|figures| figures.len() != names.len())
        {
            return Err(format!(
                "an outcome with {} figures and {} strategies, where this binary has {} and {}",
                self.figures.len(),
                self.strategies.len(),
                names.len(),
                strategies.len()
            ));
        }
        Ok(RunResult {
            figures: names.iter().copied().zip(self.figures.into_iter().map(value)).collect(),
            strategies: strategies
                .iter()
                .cloned()
                .zip(self.strategies.into_iter().map(|figures| figures.into_iter().map(value).collect()))
                .collect(),
            error: self.error,
        })
    }
}

/// A worker's word that it will not run a sweep's jobs, and why (it put the job back).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Refusal {
    /// The worker (host and process).
    pub worker: String,
    /// What differs, e.g. `tradsys 0.1.0 here, the sweep's 0.2.0`.
    pub reason: String,
}

/// The components of a checked config's plan, as a job names them.
pub(crate) fn plugin_needs(plan: &tradsys_core::factory::Plan) -> Vec<PluginNeed> {
    let mut needs: Vec<PluginNeed> = plan
        .components
        .iter()
        .map(|c| PluginNeed {
            kind: c.request.kind.to_string(),
            name: c.registered.descriptor.name.to_string(),
            version: c.registered.version.to_string(),
            digest: c.registered.digest.clone(),
        })
        .collect();
    needs.sort_by(|a, b| (&a.kind, &a.name, &a.version).cmp(&(&b.kind, &b.name, &b.version)));
    needs.dedup();
    needs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_travel_exactly_including_nan_and_the_undefined() {
        let names = crate::sweep::figure_names();
        let awkward = [0.1 + 0.2, f64::NAN, -0.0, f64::INFINITY, 1e-310, 123_456.789_012_345_67];
        let figures: Vec<(&'static str, Option<f64>)> = names
            .iter()
            .enumerate()
            .map(|(i, name)| (*name, (i % 7 != 6).then(|| awkward[i % awkward.len()])))
            .collect();
        let strategies = vec![("a".to_owned(), figures.iter().map(|(_, v)| *v).collect())];
        let result = RunResult { figures, strategies, error: Some("ended early".to_owned()) };
        let text = serde_json::to_string(&WireResult::from_result(&result)).unwrap();
        let back = serde_json::from_str::<WireResult>(&text).unwrap().into_result(&["a".to_owned()]).unwrap();
        let bits = |r: &RunResult| r.figures.iter().map(|(n, v)| (*n, v.map(f64::to_bits))).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&result));
        assert_eq!(
            back.strategies[0].1.iter().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>(),
            result.strategies[0].1.iter().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>()
        );
        assert_eq!(back.error, result.error);
    }

    #[test]
    fn an_outcome_of_another_shape_is_refused() {
        let failed = |strategies: &[String]| WireResult::from_result(&RunResult::failed("x".to_owned(), strategies));
        let mut wire = failed(&[]);
        wire.figures.pop();
        assert!(wire.into_result(&[]).unwrap_err().contains("figures"));
        assert!(failed(&["a".to_owned()]).into_result(&[]).is_err(), "strategy columns differ");
    }

    #[test]
    fn a_missing_or_rebuilt_plugin_is_named() {
        let registry = crate::registry().unwrap();
        let sma = registry.iter().find(|c| *c.descriptor.name == *"sma-cross").unwrap();
        let need = PluginNeed {
            kind: sma.descriptor.kind.to_string(),
            name: "sma-cross".to_owned(),
            version: sma.version.to_string(),
            digest: sma.digest.clone(),
        };
        assert_eq!(need.missing_from(&registry), None);
        let newer = PluginNeed { version: "99.0.0".to_owned(), ..need.clone() };
        let message = newer.missing_from(&registry).unwrap();
        assert!(message.starts_with("strategy sma-cross@99.0.0 is not in this worker (it has "), "{message}");
        let rebuilt = PluginNeed { digest: Some("other".to_owned()), ..need.clone() };
        if need.digest.is_some() {
            assert!(rebuilt.missing_from(&registry).unwrap().contains("built from other sources"));
        }
        let absent = PluginNeed { name: "no-such".to_owned(), ..need };
        assert_eq!(
            absent.missing_from(&registry).unwrap(),
            format!("strategy no-such@{} is not in this worker", absent.version)
        );
    }
}
