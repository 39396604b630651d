//! Fixture descriptors for unit tests of the registry and factory.

use figment::value::Dict;

use crate::component::{ComponentError, Strategy};
use std::sync::Arc;

use crate::plugin::{ComponentDescriptor, Dependency, Kind, NativeBuild, Plugin};

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
    let build = NativeBuild::Strategy(crate::plugin::builders::strategy::<NullStrategy>);
    let mut descriptor = ComponentDescriptor::native::<NullStrategy>(kind, name, version, "fixture", build);
    descriptor.dependencies = dependencies.to_vec().into();
    descriptor
}

/// A shared descriptor, as registries hold them.
pub(crate) fn descriptor(
    kind: Kind,
    name: &'static str,
    version: &'static str,
    dependencies: &[Dependency],
) -> Arc<ComponentDescriptor> {
    Arc::new(make_descriptor(kind, name, version, dependencies))
}
