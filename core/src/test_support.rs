//! Fixture descriptors for unit tests of the registry and factory.

use figment::value::Dict;

use crate::component::{ComponentError, Strategy};
use crate::plugin::{Builder, ComponentDescriptor, Dependency, Kind, PLUGIN_API_VERSION, Plugin};

/// A strategy that does nothing.
#[derive(Debug, Default)]
pub(crate) struct NullStrategy;

impl Strategy for NullStrategy {}

impl Plugin for NullStrategy {
    type Params = Dict;
    const SUMMARY: &'static str = "does nothing";
    fn build(_params: Dict) -> Result<Self, ComponentError> {
        Ok(NullStrategy)
    }
}

/// An owned descriptor of `kind`, building a [`NullStrategy`] whatever the kind says.
pub(crate) fn make_descriptor(
    kind: Kind,
    name: &'static str,
    version: &'static str,
    dependencies: &[Dependency],
) -> ComponentDescriptor {
    ComponentDescriptor {
        kind,
        name,
        version,
        api_version: PLUGIN_API_VERSION,
        crate_name: "fixture",
        summary: "fixture",
        dependencies: Box::leak(dependencies.to_vec().into_boxed_slice()),
        capabilities: &[],
        file_params: &[],
        default_params: crate::plugin::default_params::<NullStrategy>,
        check_params: crate::plugin::check_params::<NullStrategy>,
        builder: Builder::Strategy(crate::plugin::builders::strategy::<NullStrategy>),
    }
}

/// A leaked descriptor, as registries hold them.
pub(crate) fn descriptor(
    kind: Kind,
    name: &'static str,
    version: &'static str,
    dependencies: &[Dependency],
) -> &'static ComponentDescriptor {
    Box::leak(Box::new(make_descriptor(kind, name, version, dependencies)))
}
