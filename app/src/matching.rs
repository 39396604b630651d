//! The closed set of matching algorithms compiled into this binary, dispatched by `match`.
//!
//! Written by core's [`compiled_matching!`](tradsys_core::compiled_matching): one variant per
//! compiled-in matching plugin (behind its feature), plus `External` for a registered algorithm from
//! outside the workspace, called through a trait object. A matching plugin adds its variant line here.

use anyhow::{Context, Result, anyhow};
use figment::value::Dict;
use semver::VersionReq;
use tradsys_core::engine::AlgorithmSource;
use tradsys_core::matching::BoxedMatching;
use tradsys_core::plugin::{ComponentDescriptor, Instance, Kind};
use tradsys_core::registry::Registry;

tradsys_core::compiled_matching! {
    /// The matching algorithms this binary compiled in.
    #[derive(Debug)]
    pub enum CompiledMatching {
        /// Price-time priority.
        #[cfg(feature = "matching-fifo")]
        Fifo(tradsys_plugin_matching_fifo::FifoMatching),
        /// Pro-rata.
        #[cfg(feature = "matching-pro-rata")]
        ProRata(tradsys_plugin_matching_pro_rata::ProRataMatching),
    }
}

/// A validated recipe for matching-algorithm instances (one per order book).
#[derive(Debug, Clone)]
pub struct MatchingRecipe {
    descriptor: &'static ComponentDescriptor,
    params: Dict,
}

impl MatchingRecipe {
    /// Finds the algorithm and checks its parameters.
    ///
    /// # Errors
    /// Unknown algorithm, unmet version, or bad parameters.
    pub fn new(registry: &Registry, name: &str, req: &VersionReq, params: Dict) -> Result<MatchingRecipe> {
        let found = registry.find(Kind::Matching, name, req)?;
        (found.descriptor.check_params)(&params)
            .with_context(|| format!("matching {}: bad parameters", found.descriptor.label()))?;
        Ok(MatchingRecipe { descriptor: found.descriptor, params })
    }

    /// `name@version`.
    #[must_use]
    pub fn label(&self) -> String {
        self.descriptor.label()
    }

    /// Builds one instance as the compiled-in variant when there is one.
    ///
    /// # Errors
    /// The plugin refused to build.
    pub fn build(&self) -> Result<CompiledMatching> {
        Ok(CompiledMatching::from_boxed(self.build_boxed()?))
    }

    /// A source of fresh instances, one per order book, for the matching engine.
    ///
    /// # Panics
    /// The returned closure panics if the plugin refuses parameters it accepted before (a plugin bug:
    /// callers build one instance first, which validates them).
    #[must_use]
    pub fn into_source(self) -> AlgorithmSource<CompiledMatching> {
        Box::new(move || self.build().unwrap_or_else(|error| panic!("matching plugin failed to rebuild: {error:#}")))
    }

    /// Builds one instance behind a trait object (for dispatch-cost comparisons).
    ///
    /// # Errors
    /// The plugin refused to build.
    pub fn build_boxed(&self) -> Result<BoxedMatching> {
        match self.descriptor.build(&self.params)? {
            Instance::Matching(algo) => Ok(algo),
            other => Err(anyhow!("{} registered as matching but built {other:?}", self.descriptor.label())),
        }
    }
}
