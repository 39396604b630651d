//! The closed set of matching algorithms compiled into this binary, dispatched by `match`.
//!
//! Written by core's [`compiled_matching!`](tradsys_core::compiled_matching): one variant per
//! compiled-in matching plugin (behind its feature), plus `External` for a registered algorithm from
//! outside the workspace, called through a trait object. A matching plugin adds its variant line here.

use anyhow::{Context, Result};
use figment::value::Dict;
use semver::VersionReq;
use std::sync::Arc;
use tradsys_core::boundary::{self, Call, CallError};
use tradsys_core::component::ComponentId;
use tradsys_core::engine::AlgorithmSource;
use tradsys_core::matching::BoxedMatching;
use tradsys_core::metrics::Meter;
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
    descriptor: Arc<ComponentDescriptor>,
    params: Dict,
}

impl MatchingRecipe {
    /// Finds the algorithm and checks its parameters.
    ///
    /// # Errors
    /// Unknown algorithm, unmet version, or bad parameters.
    pub fn new(registry: &Registry, name: &str, req: &VersionReq, params: Dict) -> Result<MatchingRecipe> {
        let found = registry.find(Kind::Matching, name, req)?;
        found
            .descriptor
            .check(&Self::component(), &params)
            .with_context(|| format!("matching {}: bad parameters", found.descriptor.label()))?;
        Ok(MatchingRecipe { descriptor: found.descriptor, params })
    }

    /// `name@version`.
    #[must_use]
    pub fn label(&self) -> String {
        self.descriptor.label()
    }

    /// The matching component's id (`matching`, as configured).
    #[must_use]
    pub fn component() -> ComponentId {
        ComponentId::new(Kind::Matching, "matching")
    }

    /// Builds one instance as the compiled-in variant when there is one.
    ///
    /// # Errors
    /// The plugin refused to build, or panicked.
    pub fn build(&self) -> Result<CompiledMatching, MatchingBuildError> {
        Ok(CompiledMatching::from_boxed(self.build_boxed()?))
    }

    /// A source of fresh instances, one per order book, for the matching engine. A refusal or a
    /// panic in the plugin's build is the engine's reason to refuse the book, never a panic here.
    #[must_use]
    pub fn into_source(self) -> AlgorithmSource<CompiledMatching> {
        Box::new(move || self.build().map_err(|error| format!("{error:#}")))
    }

    /// Builds one instance behind a trait object (for dispatch-cost comparisons), through the
    /// boundary: a panic in the plugin's build is an error naming it.
    ///
    /// # Errors
    /// The plugin refused to build, or panicked.
    pub fn build_boxed(&self) -> Result<BoxedMatching, MatchingBuildError> {
        let descriptor = &self.descriptor;
        let params = &self.params;
        let label = descriptor.label();
        let built = boundary::contain_fallible(&Self::component(), &mut Meter::detached(), Call::Build, || {
            descriptor.build(params)
        });
        match built {
            Ok(Instance::Matching(algo)) => Ok(algo),
            Ok(other) => {
                // Dropped through the boundary too: it is plugin code.
                let _ = boundary::contain(&Self::component(), &mut Meter::detached(), Call::Drop, move || drop(other));
                Err(MatchingBuildError::WrongKind { label })
            }
            Err(CallError::Refused(error)) => Err(MatchingBuildError::Refused { label, message: error.to_string() }),
            Err(CallError::Panicked(panicked)) => Err(MatchingBuildError::Panicked { label, panicked }),
        }
    }
}

/// Why a matching algorithm could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MatchingBuildError {
    /// The plugin refused its parameters.
    #[error("matching {label}: {message}")]
    Refused {
        /// `name@version`.
        label: String,
        /// Its words.
        message: String,
    },
    /// The plugin panicked while building (a bug in it).
    #[error("matching {label}: {panicked}")]
    Panicked {
        /// `name@version`.
        label: String,
        /// The contained panic.
        panicked: tradsys_core::boundary::Panicked,
    },
    /// The plugin registered as matching built another kind (a bug in it).
    #[error("{label} registered as matching but built another kind")]
    WrongKind {
        /// `name@version`.
        label: String,
    },
}

impl MatchingBuildError {
    /// Whether the plugin is at fault (a bug), rather than its parameters.
    #[must_use]
    pub fn is_internal(&self) -> bool {
        !matches!(self, MatchingBuildError::Refused { .. })
    }
}
