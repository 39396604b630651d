//! The registry: every component descriptor this binary links, checked and indexed.
//!
//! [`Registry::discover`] reads what the plugin crates submitted through `inventory`. A plugin crate
//! that nothing in the final binary names is dropped by the linker together with its registration, so
//! the binary names each enabled plugin crate (see `app/src/plugins.rs`) and a test checks that the
//! registry sees exactly the enabled set.
//!
//! Lookups take a kind, a name and a semver requirement; the highest matching version wins.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use semver::{Version, VersionReq};

use crate::plugin::{ComponentDescriptor, Kind, PLUGIN_API_VERSION, Registration};
use crate::suggest::did_you_mean;
use crate::troubleshooting::Topic;

/// Where a registered component comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Linked into this binary (a plugin crate behind a Cargo feature).
    CompiledIn,
    /// Loaded at run time from a WebAssembly module.
    WebAssembly {
        /// The module's file.
        path: PathBuf,
    },
}

impl Origin {
    /// `compiled-in`, or `wasm:<file>`, as listings show it.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Origin::CompiledIn => "compiled-in".to_owned(),
            Origin::WebAssembly { path } => format!("wasm:{}", path.display()),
        }
    }
}

/// A checked descriptor with its parsed version, where it came from, and the digest of its code
/// (what an approval names; `None` for a compiled-in plugin whose binary was built without them).
#[derive(Debug, Clone)]
pub struct RegisteredComponent {
    /// The descriptor as registered (shared: a running instance keeps it alive after it is
    /// unregistered).
    pub descriptor: Arc<ComponentDescriptor>,
    /// Its version, parsed.
    pub version: Version,
    /// Where it comes from.
    pub origin: Origin,
    /// `sha256:<hex>` of its code: the plugin crate's sources, or the module's bytes.
    pub digest: Option<String>,
}

/// Why a descriptor was refused at discovery.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Two registrations of one kind, name and version.
    #[error("duplicate registration of {kind} {name}@{version}: by crate {first_crate} and by crate {second_crate}")]
    Duplicate {
        /// The kind.
        kind: Kind,
        /// The name.
        name: String,
        /// The version.
        version: String,
        /// The crate registered first.
        first_crate: String,
        /// The crate registered second.
        second_crate: String,
    },
    /// A name that is not kebab-case.
    #[error("crate {crate_name}: bad {kind} name {name:?}: expected kebab-case ([a-z][a-z0-9]* joined by '-')")]
    BadName {
        /// The kind.
        kind: Kind,
        /// The name.
        name: String,
        /// The registering crate.
        crate_name: String,
    },
    /// A version that is not semver.
    #[error("crate {crate_name}: {kind} {name} has version {version:?}, which is not semver: {reason}")]
    BadVersion {
        /// The kind.
        kind: Kind,
        /// The name.
        name: String,
        /// The version text.
        version: String,
        /// The registering crate.
        crate_name: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A plugin built against an incompatible plugin API.
    #[error(
        "crate {crate_name}: {kind} {name}@{version} was built against plugin API {api_version}, incompatible with this core's {core_api}"
    )]
    IncompatibleApi {
        /// The kind.
        kind: Kind,
        /// The name.
        name: String,
        /// The version.
        version: String,
        /// The registering crate.
        crate_name: String,
        /// The API it was built against.
        api_version: String,
        /// This core's API.
        core_api: &'static str,
    },
    /// A dependency whose requirement does not parse.
    #[error(
        "crate {crate_name}: {kind} {name} declares dependency {dep_kind} {dep_name} with bad requirement {req:?}: {reason}"
    )]
    BadDependency {
        /// The kind.
        kind: Kind,
        /// The name.
        name: String,
        /// The registering crate.
        crate_name: String,
        /// The dependency's kind.
        dep_kind: Kind,
        /// The dependency's name.
        dep_name: String,
        /// The requirement text.
        req: String,
        /// The parser's complaint.
        reason: String,
    },
}

/// Why a lookup found nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No component of that kind and name.
    #[error("unknown {kind} plugin {name:?}{suggestion} (available: {available}); {see}", see = Topic::PluginNotInRegistry.see())]
    Unknown {
        /// The kind.
        kind: Kind,
        /// The name asked for.
        name: String,
        /// `; did you mean "..."?` or empty.
        suggestion: String,
        /// Names of that kind, comma-separated.
        available: String,
    },
    /// The component exists, but no version meets the requirement.
    #[error("no version of {kind} plugin {name:?} matches {req} (available: {available}); {see}", see = Topic::VersionNotFound.see())]
    NoMatchingVersion {
        /// The kind.
        kind: Kind,
        /// The name.
        name: String,
        /// The requirement.
        req: VersionReq,
        /// Versions available, highest first.
        available: String,
    },
}

/// Every registered component, by kind and name, versions highest first. Cheap to clone (the
/// descriptors are shared), so a running system can hand out snapshots and replace its registry
/// whole when a module is loaded or unloaded.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    components: BTreeMap<(Kind, String), Vec<RegisteredComponent>>,
}

impl Registry {
    /// Reads every descriptor submitted through `inventory` into a checked registry; `digest_of`
    /// gives the digest of a plugin crate's sources by crate name (computed when the binary was
    /// built), where known.
    ///
    /// # Errors
    /// Every refused descriptor: duplicates, bad names or versions, incompatible plugin API.
    pub fn discover_with(digest_of: impl Fn(&str) -> Option<String>) -> Result<Registry, Vec<RegistryError>> {
        let mut registry = Registry::default();
        let mut errors = Vec::new();
        for registration in inventory::iter::<Registration> {
            let descriptor = Arc::new(registration.descriptor.clone());
            let digest = digest_of(&descriptor.crate_name);
            if let Err(error) = registry.register(descriptor, Origin::CompiledIn, digest) {
                errors.push(error);
            }
        }
        if errors.is_empty() { Ok(registry) } else { Err(errors) }
    }

    /// [`discover_with`](Self::discover_with) without digests.
    ///
    /// # Errors
    /// As [`discover_with`](Self::discover_with).
    pub fn discover() -> Result<Registry, Vec<RegistryError>> {
        Self::discover_with(|_| None)
    }

    /// Builds a checked registry from compiled-in descriptors (tests).
    ///
    /// # Errors
    /// Every refused descriptor.
    pub fn from_descriptors(
        descriptors: impl IntoIterator<Item = Arc<ComponentDescriptor>>,
    ) -> Result<Registry, Vec<RegistryError>> {
        let mut registry = Registry::default();
        let errors: Vec<RegistryError> = descriptors
            .into_iter()
            .filter_map(|descriptor| registry.register(descriptor, Origin::CompiledIn, None).err())
            .collect();
        if errors.is_empty() { Ok(registry) } else { Err(errors) }
    }

    /// Adds one component version (checked as discovery checks it).
    ///
    /// # Errors
    /// A bad name, version or dependency, an incompatible plugin API, or a version already registered.
    pub fn register(
        &mut self,
        descriptor: Arc<ComponentDescriptor>,
        origin: Origin,
        digest: Option<String>,
    ) -> Result<RegisteredComponent, RegistryError> {
        let core_api = Version::parse(PLUGIN_API_VERSION).expect("PLUGIN_API_VERSION is semver");
        let version = check_descriptor(&descriptor, &core_api)?;
        let versions = self.components.entry((descriptor.kind, descriptor.name.to_string())).or_default();
        if let Some(existing) = versions.iter().find(|c| c.version == version) {
            return Err(RegistryError::Duplicate {
                kind: descriptor.kind,
                name: descriptor.name.to_string(),
                version: version.to_string(),
                first_crate: existing.descriptor.crate_name.to_string(),
                second_crate: descriptor.crate_name.to_string(),
            });
        }
        let registered = RegisteredComponent { descriptor, version, origin, digest };
        versions.push(registered.clone());
        versions.sort_by(|a, b| b.version.cmp(&a.version));
        Ok(registered)
    }

    /// Removes one component version; running instances keep their descriptor until they end.
    /// Returns what was removed, if it was registered.
    pub fn unregister(&mut self, kind: Kind, name: &str, version: &Version) -> Option<RegisteredComponent> {
        let key = (kind, name.to_owned());
        let versions = self.components.get_mut(&key)?;
        let at = versions.iter().position(|c| c.version == *version)?;
        let removed = versions.remove(at);
        if versions.is_empty() {
            self.components.remove(&key);
        }
        Some(removed)
    }

    /// Finds the highest version of `kind`/`name` matching `req`.
    ///
    /// # Errors
    /// No such component (with the nearest name), or no version matching (with those available).
    pub fn find(&self, kind: Kind, name: &str, req: &VersionReq) -> Result<RegisteredComponent, LookupError> {
        let versions = self.versions(kind, name)?;
        versions.iter().find(|c| req.matches(&c.version)).cloned().ok_or_else(|| LookupError::NoMatchingVersion {
            kind,
            name: name.to_owned(),
            req: req.clone(),
            available: versions.iter().map(|c| c.version.to_string()).collect::<Vec<_>>().join(", "),
        })
    }

    /// Every version of `kind`/`name`, highest first.
    ///
    /// # Errors
    /// No such component.
    pub fn versions(&self, kind: Kind, name: &str) -> Result<&[RegisteredComponent], LookupError> {
        self.components.iter().find(|((k, n), _)| *k == kind && *n == name).map(|(_, v)| v.as_slice()).ok_or_else(
            || {
                let names: Vec<&str> = self.names(kind).collect();
                LookupError::Unknown {
                    kind,
                    name: name.to_owned(),
                    suggestion: did_you_mean(name, names.iter().copied()),
                    available: if names.is_empty() { "none compiled in".to_owned() } else { names.join(", ") },
                }
            },
        )
    }

    /// Names of the components of one kind, sorted.
    pub fn names(&self, kind: Kind) -> impl Iterator<Item = &str> + '_ {
        self.components.keys().filter(move |(k, _)| *k == kind).map(|(_, name)| name.as_str())
    }

    /// Every registered component version, by kind, name, then version (highest first).
    pub fn iter(&self) -> impl Iterator<Item = &RegisteredComponent> + '_ {
        let mut keys: Vec<&(Kind, String)> = self.components.keys().collect();
        keys.sort_by_key(|(kind, name)| (Kind::ALL.iter().position(|k| k == kind), name.clone()));
        keys.into_iter().flat_map(move |key| self.components[key].iter())
    }

    /// The number of registered component versions.
    #[must_use]
    pub fn len(&self) -> usize {
        self.components.values().map(Vec::len).sum()
    }

    /// Whether nothing is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.components.is_empty()
    }
}

fn check_descriptor(descriptor: &ComponentDescriptor, core_api: &Version) -> Result<Version, RegistryError> {
    let kind = descriptor.kind;
    let name = descriptor.name.to_string();
    let crate_name = descriptor.crate_name.to_string();
    if !is_kebab_case(&descriptor.name) {
        return Err(RegistryError::BadName { kind, name, crate_name });
    }
    let version = Version::parse(&descriptor.version).map_err(|error| RegistryError::BadVersion {
        kind,
        name: name.clone(),
        version: descriptor.version.to_string(),
        crate_name: crate_name.clone(),
        reason: error.to_string(),
    })?;
    let compatible = Version::parse(&descriptor.api_version).is_ok_and(|api| api_compatible(&api, core_api));
    if !compatible {
        return Err(RegistryError::IncompatibleApi {
            kind,
            name,
            version: version.to_string(),
            crate_name,
            api_version: descriptor.api_version.to_string(),
            core_api: PLUGIN_API_VERSION,
        });
    }
    for dep in descriptor.dependencies.iter() {
        if let Err(error) = VersionReq::parse(&dep.req) {
            return Err(RegistryError::BadDependency {
                kind,
                name,
                crate_name,
                dep_kind: dep.kind,
                dep_name: dep.name.to_string(),
                req: dep.req.to_string(),
                reason: error.to_string(),
            });
        }
    }
    Ok(version)
}

/// A plugin built against `api` runs on `core` if the major versions agree (minor too, below 1.0) and
/// the plugin expects no newer minor version than the core has.
fn api_compatible(api: &Version, core: &Version) -> bool {
    if api.major != core.major {
        return false;
    }
    if core.major == 0 {
        return api.minor == core.minor && api.patch <= core.patch;
    }
    api.minor <= core.minor
}

/// `[a-z][a-z0-9]*` words joined by single dashes.
#[must_use]
pub fn is_kebab_case(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|word| {
            let mut chars = word.chars();
            chars.next().is_some_and(|c| c.is_ascii_lowercase())
                && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{descriptor, make_descriptor};

    #[test]
    fn highest_matching_version_wins() {
        let registry = Registry::from_descriptors([
            descriptor(Kind::Strategy, "sma-cross", "1.0.0", &[]),
            descriptor(Kind::Strategy, "sma-cross", "1.4.0", &[]),
            descriptor(Kind::Strategy, "sma-cross", "2.0.0", &[]),
        ])
        .unwrap();
        let pick =
            |req: &str| registry.find(Kind::Strategy, "sma-cross", &req.parse().unwrap()).unwrap().version.to_string();
        assert_eq!(pick("^1"), "1.4.0");
        assert_eq!(pick("*"), "2.0.0");
        assert_eq!(pick("=1.0.0"), "1.0.0");
    }

    #[test]
    fn unknown_name_suggests_the_nearest() {
        let registry = Registry::from_descriptors([descriptor(Kind::Strategy, "sma-cross", "1.0.0", &[])]).unwrap();
        let error = registry.find(Kind::Strategy, "sma-crosss", &VersionReq::STAR).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown strategy plugin \"sma-crosss\"; did you mean \"sma-cross\"? (available: sma-cross); see docs/troubleshooting.md#plugin-not-in-the-registry"
        );
    }

    #[test]
    fn unmet_requirement_lists_the_versions_available() {
        let registry = Registry::from_descriptors([
            descriptor(Kind::Strategy, "sma-cross", "1.0.0", &[]),
            descriptor(Kind::Strategy, "sma-cross", "2.1.0", &[]),
        ])
        .unwrap();
        let error = registry.find(Kind::Strategy, "sma-cross", &"^3".parse().unwrap()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no version of strategy plugin \"sma-cross\" matches ^3 (available: 2.1.0, 1.0.0); see docs/troubleshooting.md#version-not-found"
        );
    }

    #[test]
    fn duplicates_bad_names_versions_and_api_are_refused() {
        let mut bad_api = make_descriptor(Kind::Risk, "old", "1.0.0", &[]);
        bad_api.api_version = "2.0.0".into();
        let bad_api = Arc::new(bad_api);
        let errors = Registry::from_descriptors([
            descriptor(Kind::Feed, "bars", "1.0.0", &[]),
            descriptor(Kind::Feed, "bars", "1.0.0", &[]),
            descriptor(Kind::Feed, "Bars_Csv", "1.0.0", &[]),
            descriptor(Kind::Feed, "csv", "one", &[]),
            bad_api,
        ])
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 4, "{text:#?}");
        assert!(text[0].starts_with("duplicate registration of feed bars@1.0.0: by crate fixture"), "{}", text[0]);
        assert!(text[1].contains("bad feed name \"Bars_Csv\""), "{}", text[1]);
        assert!(text[2].contains("version \"one\", which is not semver"), "{}", text[2]);
        assert!(text[3].contains("built against plugin API 2.0.0, incompatible"), "{}", text[3]);
    }

    #[test]
    fn api_compatibility_follows_semver() {
        let v = |s: &str| Version::parse(s).unwrap();
        assert!(api_compatible(&v("1.0.0"), &v("1.2.0")));
        assert!(!api_compatible(&v("1.3.0"), &v("1.2.0")));
        assert!(!api_compatible(&v("2.0.0"), &v("1.2.0")));
        assert!(!api_compatible(&v("0.2.0"), &v("0.3.0")));
    }

    #[test]
    fn kebab_case_names() {
        assert!(is_kebab_case("sma-cross"));
        assert!(is_kebab_case("rsi14"));
        for bad in ["", "Sma", "sma--cross", "-sma", "sma-", "9sma", "sma_cross"] {
            assert!(!is_kebab_case(bad), "{bad}");
        }
    }
}
