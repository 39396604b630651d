//! The linker pitfall, checked in a test artifact of its own: the registry sees exactly the enabled
//! plugin features (through the app library's force-links) plus this crate's own test plugins.

use std::collections::BTreeSet;

use tradsys_core::registry::Registry;
// This artifact must name the crate whose plugins it expects, or the linker drops their registrations.
use tradsys_tests as _;

#[test]
fn the_registry_sees_exactly_the_enabled_plugins() {
    let registry = Registry::discover().expect("no refused registrations");
    let crates: BTreeSet<&str> = registry.iter().map(|c| c.descriptor.crate_name).collect();
    let mut expected: BTreeSet<String> =
        tradsys::plugins::enabled().iter().map(|f| format!("tradsys-plugin-{f}")).collect();
    expected.insert("tradsys-tests".to_owned());
    let found: BTreeSet<String> = crates.iter().map(|c| (*c).to_owned()).collect();
    assert_eq!(found, expected);
    assert_eq!(tradsys::plugins::enabled(), tradsys::plugins::ALL, "this crate builds the app with `full`");
}
