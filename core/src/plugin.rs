//! The plugin model: component kinds, descriptors, the [`Plugin`] trait and one-line registration.
//!
//! A plugin crate defines a type, implements [`Plugin`] (metadata, typed parameters, `build`) and the
//! trait of its kind ([`Strategy`], [`RiskValidator`], [`Indicator`], [`Feed`] or
//! [`MatchingAlgorithm`]), then registers it with one line:
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tradsys_core::prelude::*;
//! use tradsys_core::registry::Registry;
//!
//! /// Sends nothing: the smallest strategy there is.
//! #[derive(Debug)]
//! pub struct Idle;
//!
//! /// `idle` takes no parameters.
//! #[derive(Debug, Default, Serialize, Deserialize)]
//! pub struct NoParams {}
//!
//! impl Plugin for Idle {
//!     type Params = NoParams;
//!     const SUMMARY: &'static str = "sends nothing";
//!     fn build(_params: NoParams) -> Result<Self, ComponentError> {
//!         Ok(Idle)
//!     }
//! }
//! impl Strategy for Idle {}
//!
//! register_strategy!(Idle, "idle", "0.1.0");
//!
//! // Every registration in the binary is found at start-up, with its summary and defaults.
//! let registry = Registry::discover().unwrap();
//! let idle = registry.iter().find(|c| c.descriptor.name == "idle").unwrap();
//! assert_eq!((idle.descriptor.kind, idle.version.to_string()), (Kind::Strategy, "0.1.0".to_owned()));
//! assert_eq!(idle.descriptor.summary, "sends nothing");
//! ```
//!
//! The macro submits a static [`ComponentDescriptor`] through `inventory`; plugin crates never touch
//! inventory themselves. One crate may register several components, and several versions of one
//! component (each version is its own type), so configs can migrate at their own pace.
//!
//! Parameters are a serde struct with a `Default`: the defaults are what `tradsys plugins` lists, a
//! key the defaults do not have is rejected (with the nearest name), and a value of the wrong type is
//! rejected with its key path.

use std::fmt;
use std::sync::Arc;

/// Borrowed or owned text and lists of a descriptor (re-exported for the registration macros).
pub use std::borrow::Cow;

/// A table of parameters (or snapshot state), as config files write them.
pub use figment::value::Dict;
use figment::value::{Tag, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::boundary::{self, Call};
use crate::component::{ComponentError, ComponentId, Feed, Indicator, RiskValidator, Strategy};
use crate::matching::{BoxedMatching, MatchingAlgorithm};
use crate::metrics::Meter;
use crate::suggest::did_you_mean;

/// The plugin API version this core implements. A plugin built against another major version (or a
/// newer minor one) is refused by the registry.
pub const PLUGIN_API_VERSION: &str = "1.1.0";

/// What a component does in a trading system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Decides orders from market data.
    Strategy,
    /// Checks each order before it reaches the venue.
    Risk,
    /// Market-data processor: derives values (or bars) from market data.
    Indicator,
    /// Allocates quantity within a price level of the order book.
    Matching,
    /// Source of market data.
    Feed,
}

impl Kind {
    /// Every kind, in the order listings use.
    pub const ALL: [Kind; 5] = [Kind::Feed, Kind::Matching, Kind::Indicator, Kind::Risk, Kind::Strategy];

    /// The kind's name in config files and listings.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Strategy => "strategy",
            Kind::Risk => "risk",
            Kind::Indicator => "indicator",
            Kind::Matching => "matching",
            Kind::Feed => "feed",
        }
    }

    /// Whether components of this kind are built on first use unless the config says otherwise.
    ///
    /// Indicators are lazy (most are built only when a strategy asks for them); every other kind is
    /// built at startup, so its errors show before the first event.
    #[must_use]
    pub const fn lazy_by_default(self) -> bool {
        matches!(self, Kind::Indicator)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(text: &str) -> Result<Kind, String> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == text).ok_or_else(|| {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            format!(
                "unknown kind {text:?}{}; expected one of {}",
                did_you_mean(text, names.iter().copied()),
                names.join(", ")
            )
        })
    }
}

/// A component's declared need for another component: kind, name and semver requirement.
///
/// ```
/// use tradsys_core::prelude::*;
///
/// const DEPENDENCIES: &[Dependency] = &[Dependency::indicator("rsi", "^1")];
/// assert_eq!((DEPENDENCIES[0].kind, &*DEPENDENCIES[0].name, &*DEPENDENCIES[0].req), (Kind::Indicator, "rsi", "^1"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// The kind needed.
    pub kind: Kind,
    /// The component's name.
    pub name: Cow<'static, str>,
    /// A semver requirement, e.g. `^1`.
    pub req: Cow<'static, str>,
}

impl Dependency {
    /// A dependency on an indicator.
    #[must_use]
    pub const fn indicator(name: &'static str, req: &'static str) -> Dependency {
        Dependency { kind: Kind::Indicator, name: Cow::Borrowed(name), req: Cow::Borrowed(req) }
    }

    /// A dependency on a component of any kind.
    #[must_use]
    pub const fn on(kind: Kind, name: &'static str, req: &'static str) -> Dependency {
        Dependency { kind, name: Cow::Borrowed(name), req: Cow::Borrowed(req) }
    }
}

pub use crate::capability::Capability;

/// Why parameters could not be turned into a component's typed `Params`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A key the component does not take.
    #[error("unknown parameter {key:?}{suggestion}; expected one of: {expected}")]
    UnknownKey {
        /// The key given.
        key: String,
        /// `; did you mean "..."?`, or empty.
        suggestion: String,
        /// The keys the component takes.
        expected: String,
    },
    /// A value of the wrong type or out of range.
    #[error("parameter {key}: {message}")]
    Invalid {
        /// The key path, e.g. `fast`.
        key: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// The plugin's `Params` default does not serialize to a table (a plugin bug).
    #[error("the plugin's parameter type does not serialize to a table: {0}")]
    NotATable(String),
    /// The plugin's parameter code (its `Default` or serde impl) panicked (a plugin bug).
    #[error("the plugin panicked reading its parameters: {0}")]
    Panicked(String),
}

/// A component's typed parameters and how to build it. Implemented by every plugin type.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tradsys_core::prelude::*;
///
/// plugin_params! {
///     /// Parameters of `fast-slow`.
///     #[derive(Debug, Serialize, Deserialize)]
///     #[serde(default, deny_unknown_fields)]
///     pub struct Params {
///         /// The short look-back, in bars.
///         /// Range: >= 1, <= 1_000_000
///         pub fast: u32,
///         /// The long look-back, in bars; longer than `fast`.
///         /// Range: >= 1, <= 1_000_000
///         pub slow: u32,
///     }
/// }
///
/// impl Default for Params {
///     fn default() -> Params {
///         Params { fast: 10, slow: 30 }
///     }
/// }
///
/// struct FastSlow;
///
/// impl Plugin for FastSlow {
///     type Params = Params;
///     const SUMMARY: &'static str = "compares a fast and a slow average";
///     const PARAM_DOCS: &'static [ParamDoc] = Params::PARAM_DOCS;
///     const DEPENDENCIES: &'static [Dependency] = &[Dependency::indicator("sma", "^1")];
///     const CAPABILITIES: &'static [Capability] = &[Capability::Indicators, Capability::SubmitOrders];
///
///     // Types check each value; `build` refuses values that make no sense together.
///     fn build(params: Params) -> Result<Self, ComponentError> {
///         if params.fast >= params.slow {
///             return Err(ComponentError::new(format!("need fast < slow, got {} and {}", params.fast, params.slow)));
///         }
///         Ok(FastSlow)
///     }
/// }
///
/// assert!(FastSlow::build(Params::default()).is_ok());
/// let refused = FastSlow::build(Params { fast: 30, slow: 10 }).err().map(|error| error.to_string());
/// assert_eq!(refused.as_deref(), Some("need fast < slow, got 30 and 10"));
/// assert_eq!(FastSlow::PARAM_DOCS[1].text(), "The long look-back, in bars; longer than `fast`.");
/// ```
pub trait Plugin: Sized + Send + 'static {
    /// The parameters a config passes; `Default` gives the documented defaults.
    type Params: Serialize + DeserializeOwned + Default;
    /// One line saying what the component does.
    const SUMMARY: &'static str;
    /// Components this one needs (kind, name, semver requirement).
    const DEPENDENCIES: &'static [Dependency] = &[];
    /// What the component does through its context handle.
    const CAPABILITIES: &'static [Capability] = &[];
    /// Parameters that name input files (`["path"]`). A relative path is resolved against the
    /// directory of the config file that set it (the working directory for `--set`, `TRADSYS_`
    /// variables and the API); `config check` opens them, and no output may overwrite them.
    const FILE_PARAMS: &'static [&'static str] = &[];
    /// What each parameter means, for `tradsys plugins` and the config reference: written by
    /// [`plugin_params!`](crate::plugin_params) from the parameter struct's doc comments
    /// (`const PARAM_DOCS: &'static [ParamDoc] = Params::PARAM_DOCS;`); empty by default.
    const PARAM_DOCS: &'static [ParamDoc] = &[];

    /// Builds an instance from validated parameters.
    ///
    /// # Errors
    /// Parameters that are well-typed but inconsistent (e.g. `fast >= slow`).
    fn build(params: Self::Params) -> Result<Self, ComponentError>;

    /// Components one instance needs beyond [`DEPENDENCIES`](Self::DEPENDENCIES), read from its
    /// parameters: for a proxy, whose needs are those of what it stands for (a `remote` strategy
    /// lists the indicators its hosted strategy asks for). The plan resolves and admits them as
    /// it does declared ones. None by default.
    fn dependencies_of(_params: &Self::Params) -> Vec<Dependency> {
        Vec::new()
    }
}

/// What one parameter means: its name, its Rust type and its doc comment (the first line says
/// what it is; the rest, when there is more, says why or how). A doc line `Range: >= 1, <= 1000`
/// states the values the parameter accepts: the config reference and its JSON Schema show it,
/// and a test holds every plugin to it (a value just outside is refused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamDoc {
    /// The parameter's key.
    pub name: Cow<'static, str>,
    /// Its Rust type as written in the struct (`Option<Price>`), from which the reference
    /// derives the config type.
    pub ty: Cow<'static, str>,
    /// Its doc comment as written, a line each (see [`text`](Self::text)).
    pub doc: Cow<'static, str>,
}

/// One bound of a documented [`ParamDoc::range`]: the value and whether it is allowed itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bound {
    /// The limit.
    pub value: f64,
    /// Whether the limit itself is allowed (`>=`, `<=`) or not (`>`, `<`).
    pub inclusive: bool,
}

/// The values a numeric parameter accepts, read from its `Range:` doc line.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Range {
    /// The lower bound, if any.
    pub min: Option<Bound>,
    /// The upper bound, if any.
    pub max: Option<Bound>,
}

impl Range {
    /// Whether `value` lies within the range.
    #[must_use]
    pub fn contains(&self, value: f64) -> bool {
        let above = |bound: &Bound| if bound.inclusive { value >= bound.value } else { value > bound.value };
        let below = |bound: &Bound| if bound.inclusive { value <= bound.value } else { value < bound.value };
        self.min.as_ref().is_none_or(above) && self.max.as_ref().is_none_or(below)
    }
}

/// Declares a plugin's parameter struct (core's config sections use it too) and keeps each field's
/// name, type and doc comment as `PARAM_DOCS`, so that what a parameter means is written once,
/// beside the field, and shown by `tradsys plugins` and the generated config reference. A field
/// takes doc comments, then `#[serde(...)]` attributes, and no others.
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// tradsys_core::plugin_params! {
///     /// Parameters of `my-strategy`.
///     #[derive(Clone, Debug, Default, Serialize, Deserialize)]
///     #[serde(default, deny_unknown_fields)]
///     pub struct Params {
///         /// Lots per order.
///         pub qty: i64,
///         /// Bars to wait after a fill
///         /// before trading again.
///         /// Range: >= 0, <= 1000
///         pub cooldown: u32,
///     }
/// }
///
/// assert_eq!(Params::PARAM_DOCS[0].name, "qty");
/// assert_eq!(Params::PARAM_DOCS[0].ty, "i64");
/// assert_eq!(Params::PARAM_DOCS[1].text(), "Bars to wait after a fill before trading again.");
/// let range = Params::PARAM_DOCS[1].range().unwrap().unwrap();
/// assert_eq!(range.max.map(|bound| bound.value), Some(1000.0));
/// ```
#[macro_export]
macro_rules! plugin_params {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $(#[serde($($serde:tt)*)])*
                $field_vis:vis $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(
                $(#[doc = $doc])*
                $(#[serde($($serde)*)])*
                $field_vis $field: $ty,
            )*
        }

        impl $name {
            /// What each parameter means (from the fields' doc comments).
            pub const PARAM_DOCS: &'static [$crate::plugin::ParamDoc] = &[
                $(
                    $crate::plugin::ParamDoc {
                        name: $crate::plugin::Cow::Borrowed(::core::stringify!($field)),
                        ty: $crate::plugin::Cow::Borrowed(::core::stringify!($ty)),
                        doc: $crate::plugin::Cow::Borrowed(::core::concat!($($doc, "\n"),*)),
                    },
                )*
            ];
        }
    };
}

/// Text with rustdoc's link targets dropped: `` [`X`](path::X) `` becomes `` [`X`] ``.
fn without_link_targets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("`](") {
        out.push_str(&rest[..at + 2]);
        rest = &rest[at + 3..];
        rest = rest.find(')').map_or(rest, |end| &rest[end + 1..]);
    }
    out.push_str(rest);
    out
}

/// The doc line that states a parameter's range.
const RANGE_PREFIX: &str = "Range:";

impl ParamDoc {
    /// The doc comment as one paragraph: lines joined with single spaces, rustdoc's link
    /// brackets around code (`` [`X`] ``) dropped, and the `Range:` line left to [`range`](Self::range).
    #[must_use]
    pub fn text(&self) -> String {
        let text = self
            .doc
            .split('\n')
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with(RANGE_PREFIX))
            .collect::<Vec<_>>()
            .join(" ");
        without_link_targets(&text).replace("[`", "`").replace("`]", "`")
    }

    /// The `Range:` doc line as written (`>= 1, <= 1000000`), if there is one.
    #[must_use]
    pub fn range_text(&self) -> Option<&str> {
        self.doc.split('\n').map(str::trim).find_map(|line| line.strip_prefix(RANGE_PREFIX)).map(str::trim)
    }

    /// The documented range: comma-separated bounds, each `>=`, `>`, `<=` or `<` and a number
    /// (`_` separators allowed). `None` without a `Range:` line.
    ///
    /// # Errors
    /// A `Range:` line that does not read so (a documentation bug, which a test catches).
    pub fn range(&self) -> Result<Option<Range>, String> {
        let Some(text) = self.range_text() else { return Ok(None) };
        let mut range = Range::default();
        for part in text.split(',').map(str::trim) {
            let (op, number) = ["<=", ">=", "<", ">"]
                .iter()
                .find_map(|op| part.strip_prefix(op).map(|rest| (*op, rest.trim())))
                .ok_or_else(|| {
                    format!("parameter {}: range bound {part:?} does not start with >=, >, <= or <", self.name)
                })?;
            let value: f64 = number
                .replace('_', "")
                .parse()
                .map_err(|_| format!("parameter {}: range bound {part:?} is not a number", self.name))?;
            let bound = Bound { value, inclusive: op.ends_with('=') };
            let slot = if op.starts_with('>') { &mut range.min } else { &mut range.max };
            if slot.replace(bound).is_some() {
                return Err(format!("parameter {}: range {text:?} bounds the same side twice", self.name));
            }
        }
        Ok(Some(range))
    }
}

/// Builds a compiled-in component of one kind from parameters, as a trait object.
#[derive(Clone, Copy)]
pub enum NativeBuild {
    /// Builds a strategy.
    Strategy(fn(&Dict) -> Result<Box<dyn Strategy>, BuildError>),
    /// Builds a risk validator.
    Risk(fn(&Dict) -> Result<Box<dyn RiskValidator>, BuildError>),
    /// Builds an indicator.
    Indicator(fn(&Dict) -> Result<Box<dyn Indicator>, BuildError>),
    /// Builds a matching algorithm.
    Matching(fn(&Dict) -> Result<BoxedMatching, BuildError>),
    /// Builds a feed.
    Feed(fn(&Dict) -> Result<Box<dyn Feed>, BuildError>),
}

impl fmt::Debug for NativeBuild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            NativeBuild::Strategy(_) => "strategy",
            NativeBuild::Risk(_) => "risk",
            NativeBuild::Indicator(_) => "indicator",
            NativeBuild::Matching(_) => "matching",
            NativeBuild::Feed(_) => "feed",
        };
        write!(f, "NativeBuild::{kind}")
    }
}

/// A component loaded at run time (a WebAssembly module): it describes its own parameters and
/// builds instances of itself. Held behind an `Arc` by its descriptor, so the module lives as long
/// as a registry entry or a running instance needs it, and no longer.
pub trait LoadedComponent: Send + Sync + fmt::Debug {
    /// The default parameters, as a table.
    ///
    /// # Errors
    /// The defaults are unusable (a broken manifest).
    fn default_params(&self) -> Result<Dict, ParamError>;

    /// Checks parameters without building.
    ///
    /// # Errors
    /// Unknown or ill-typed parameters.
    fn check_params(&self, params: &Dict) -> Result<(), ParamError>;

    /// Builds an instance.
    ///
    /// # Errors
    /// Bad parameters, or the component refused them.
    fn build(&self, params: &Dict) -> Result<Instance, BuildError>;
}

/// How a component's parameters are read and its instances built.
#[derive(Clone)]
pub enum Builder {
    /// A compiled-in plugin: its `Params` type and `build`, through function pointers.
    Native {
        /// The defaults, as a table.
        defaults: fn() -> Result<Dict, ParamError>,
        /// Checks parameters without building (so lazy components stay unbuilt).
        check: fn(&Dict) -> Result<(), ParamError>,
        /// The dependencies one instance's parameters add ([`Plugin::dependencies_of`]).
        dependencies_of: fn(&Dict) -> Result<Vec<Dependency>, ParamError>,
        /// Builds an instance.
        build: NativeBuild,
    },
    /// A component loaded at run time.
    Loaded(Arc<dyn LoadedComponent>),
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Builder::Native { build, .. } => write!(f, "{build:?}"),
            Builder::Loaded(loaded) => write!(f, "Loaded({loaded:?})"),
        }
    }
}

/// A built component, owned by whoever runs it.
pub enum Instance {
    /// A strategy.
    Strategy(Box<dyn Strategy>),
    /// A risk validator.
    Risk(Box<dyn RiskValidator>),
    /// An indicator.
    Indicator(Box<dyn Indicator>),
    /// A matching algorithm.
    Matching(BoxedMatching),
    /// A feed.
    Feed(Box<dyn Feed>),
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Instance::Strategy(_) => f.write_str("Instance::Strategy"),
            Instance::Risk(_) => f.write_str("Instance::Risk"),
            Instance::Indicator(_) => f.write_str("Instance::Indicator"),
            Instance::Matching(m) => write!(f, "Instance::Matching({m:?})"),
            Instance::Feed(_) => f.write_str("Instance::Feed"),
        }
    }
}

impl Instance {
    /// Runs the instance's `init` hook (matching algorithms have none).
    ///
    /// # Errors
    /// The component's refusal.
    pub fn init(&mut self, ctx: &mut crate::component::InitContext<'_>) -> Result<(), ComponentError> {
        match self {
            Instance::Strategy(c) => c.init(ctx),
            Instance::Risk(c) => c.init(ctx),
            Instance::Indicator(c) => c.init(ctx),
            Instance::Feed(c) => c.init(ctx),
            Instance::Matching(_) => Ok(()),
        }
    }

    /// Runs the instance's `start` hook.
    ///
    /// # Errors
    /// The component's refusal.
    pub fn start(&mut self) -> Result<(), ComponentError> {
        match self {
            Instance::Strategy(c) => c.start(),
            Instance::Risk(c) => c.start(),
            Instance::Indicator(c) => c.start(),
            Instance::Feed(c) => c.start(),
            Instance::Matching(_) => Ok(()),
        }
    }

    /// Runs the instance's `stop` hook.
    ///
    /// # Errors
    /// The component's refusal.
    pub fn stop(&mut self) -> Result<(), ComponentError> {
        match self {
            Instance::Strategy(c) => c.stop(),
            Instance::Risk(c) => c.stop(),
            Instance::Indicator(c) => c.stop(),
            Instance::Feed(c) => c.stop(),
            Instance::Matching(_) => Ok(()),
        }
    }

    /// Offers the instance new parameters ([`Reconfigured::Rebuild`](crate::component::Reconfigured::Rebuild) for matching algorithms, whose
    /// every book owns an instance of its own).
    ///
    /// # Errors
    /// The component's refusal.
    pub fn reconfigure(&mut self, params: &Dict) -> Result<crate::component::Reconfigured, ComponentError> {
        match self {
            Instance::Strategy(c) => c.reconfigure(params),
            Instance::Risk(c) => c.reconfigure(params),
            Instance::Indicator(c) => c.reconfigure(params),
            Instance::Feed(c) => c.reconfigure(params),
            Instance::Matching(_) => Ok(crate::component::Reconfigured::Rebuild),
        }
    }

    /// Runs the instance's `unload` hook.
    pub fn unload(&mut self) {
        match self {
            Instance::Strategy(c) => c.unload(),
            Instance::Risk(c) => c.unload(),
            Instance::Indicator(c) => c.unload(),
            Instance::Feed(c) => c.unload(),
            Instance::Matching(_) => {}
        }
    }
}

/// Why a component could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Its parameters were refused.
    #[error(transparent)]
    Params(#[from] ParamError),
    /// Its `build` refused the parameters.
    #[error("{0}")]
    Component(#[from] ComponentError),
}

/// Everything the registry knows about one component version: written by the registration macros
/// for compiled-in plugins (every field borrowed from the binary), or built from a WebAssembly
/// module's manifest (every field owned) when the module is loaded.
#[derive(Clone, Debug)]
pub struct ComponentDescriptor {
    /// Its kind.
    pub kind: Kind,
    /// Its name: kebab-case, unique within its kind.
    pub name: Cow<'static, str>,
    /// Its semver version.
    pub version: Cow<'static, str>,
    /// The [`PLUGIN_API_VERSION`] it was built against.
    pub api_version: Cow<'static, str>,
    /// The crate that registered it (a loaded module: its file name).
    pub crate_name: Cow<'static, str>,
    /// One line saying what it does.
    pub summary: Cow<'static, str>,
    /// What it needs.
    pub dependencies: Cow<'static, [Dependency]>,
    /// What it does through its context.
    pub capabilities: Cow<'static, [Capability]>,
    /// Parameters that name input files ([`Plugin::FILE_PARAMS`]).
    pub file_params: Cow<'static, [&'static str]>,
    /// What each parameter means ([`Plugin::PARAM_DOCS`]); empty where the plugin says nothing.
    pub param_docs: Cow<'static, [ParamDoc]>,
    /// How its parameters are read and its instances built.
    pub builder: Builder,
}

impl ComponentDescriptor {
    /// The descriptor of a compiled-in plugin type `P` (what the registration macros write, for
    /// registries assembled by hand: tests, embedders). `crate_name` names where it comes from.
    #[must_use]
    pub fn native<P: Plugin>(
        kind: Kind,
        name: impl Into<Cow<'static, str>>,
        version: impl Into<Cow<'static, str>>,
        crate_name: &'static str,
        build: NativeBuild,
    ) -> ComponentDescriptor {
        ComponentDescriptor {
            kind,
            name: name.into(),
            version: version.into(),
            api_version: Cow::Borrowed(PLUGIN_API_VERSION),
            crate_name: Cow::Borrowed(crate_name),
            summary: Cow::Borrowed(P::SUMMARY),
            dependencies: Cow::Borrowed(P::DEPENDENCIES),
            capabilities: Cow::Borrowed(P::CAPABILITIES),
            file_params: Cow::Borrowed(P::FILE_PARAMS),
            param_docs: Cow::Borrowed(P::PARAM_DOCS),
            builder: Builder::Native {
                defaults: default_params::<P>,
                check: check_params::<P>,
                dependencies_of: dependencies_of::<P>,
                build,
            },
        }
    }

    /// `name@version`, the label used in logs and errors.
    #[must_use]
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Checks parameters without building, through the boundary (a panicking `Default` or serde
    /// impl becomes [`ParamError::Panicked`]), blaming `component`.
    ///
    /// # Errors
    /// Unknown or ill-typed parameters, or a panic in the plugin's parameter code.
    pub fn check(&self, component: &ComponentId, params: &Dict) -> Result<(), ParamError> {
        boundary::contain(component, &mut Meter::detached(), Call::CheckParams, || match &self.builder {
            Builder::Native { check, .. } => check(params),
            Builder::Loaded(loaded) => loaded.check_params(params),
        })
        .unwrap_or_else(|panicked| Err(ParamError::Panicked(panicked.message)))
    }

    /// The dependencies one instance's `params` add to the declared ones
    /// ([`Plugin::dependencies_of`]), through the boundary.
    ///
    /// # Errors
    /// Parameters that do not decode, or a panic in the plugin's parameter code.
    pub fn added_dependencies(&self, component: &ComponentId, params: &Dict) -> Result<Vec<Dependency>, ParamError> {
        let Builder::Native { dependencies_of, .. } = &self.builder else { return Ok(Vec::new()) };
        boundary::contain(component, &mut Meter::detached(), Call::CheckParams, || dependencies_of(params))
            .unwrap_or_else(|panicked| Err(ParamError::Panicked(panicked.message)))
    }

    /// The plugin's default parameters, through the boundary.
    ///
    /// # Errors
    /// The defaults do not serialize to a table, or the plugin's parameter code panicked.
    pub fn defaults(&self) -> Result<Dict, ParamError> {
        let plugin = ComponentId::new(self.kind, &*self.name);
        boundary::contain(&plugin, &mut Meter::detached(), Call::DefaultParams, || match &self.builder {
            Builder::Native { defaults, .. } => defaults(),
            Builder::Loaded(loaded) => loaded.default_params(),
        })
        .unwrap_or_else(|panicked| Err(ParamError::Panicked(panicked.message)))
    }

    /// Builds an instance from parameters (validated here). Plugin code: callers pass it through
    /// [`boundary::contain`] (the assembly, `check_builds` and the matching recipe do).
    ///
    /// # Errors
    /// Unknown or ill-typed parameters, or the component's own refusal.
    pub fn build(&self, params: &Dict) -> Result<Instance, BuildError> {
        Ok(match &self.builder {
            Builder::Native { build, .. } => match build {
                NativeBuild::Strategy(build) => Instance::Strategy(build(params)?),
                NativeBuild::Risk(build) => Instance::Risk(build(params)?),
                NativeBuild::Indicator(build) => Instance::Indicator(build(params)?),
                NativeBuild::Matching(build) => Instance::Matching(build(params)?),
                NativeBuild::Feed(build) => Instance::Feed(build(params)?),
            },
            Builder::Loaded(loaded) => loaded.build(params)?,
        })
    }
}

/// One registered descriptor, as submitted to `inventory`.
#[derive(Debug)]
pub struct Registration {
    /// The component described.
    pub descriptor: ComponentDescriptor,
}

inventory::collect!(Registration);

/// Serializes a plugin's default parameters into a table.
///
/// # Errors
/// The default does not serialize to a table.
pub fn default_params<P: Plugin>() -> Result<Dict, ParamError> {
    match Value::serialize(P::Params::default()) {
        Ok(Value::Dict(_, dict)) => Ok(dict),
        Ok(other) => Err(ParamError::NotATable(format!("{other:?}"))),
        Err(error) => Err(ParamError::NotATable(error.to_string())),
    }
}

/// Decodes parameters into a plugin's `Params`: unknown keys are refused, missing keys take defaults.
///
/// # Errors
/// Every unknown key (the first is reported, with the nearest name), or the first ill-typed value.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tradsys_core::prelude::*;
/// use tradsys_core::testing::params;
///
/// plugin_params! {
///     /// Parameters of `sized`.
///     #[derive(Debug, Serialize, Deserialize)]
///     #[serde(default, deny_unknown_fields)]
///     pub struct Params {
///         /// Lots per order.
///         pub qty: i64,
///     }
/// }
///
/// impl Default for Params {
///     fn default() -> Params {
///         Params { qty: 1 }
///     }
/// }
///
/// struct Sized;
///
/// impl Plugin for Sized {
///     type Params = Params;
///     const SUMMARY: &'static str = "an example";
///     fn build(_params: Params) -> Result<Self, ComponentError> {
///         Ok(Sized)
///     }
/// }
///
/// assert_eq!(decode_params::<Sized>(&params("qty = 3")).unwrap().qty, 3);
/// assert_eq!(decode_params::<Sized>(&params("")).unwrap().qty, 1, "a missing key takes its default");
/// let typo = decode_params::<Sized>(&params("qyt = 3")).unwrap_err().to_string();
/// assert!(typo.contains("qyt") && typo.contains("qty"), "{typo}");
/// ```
pub fn decode_params<P: Plugin>(given: &Dict) -> Result<P::Params, ParamError> {
    let mut merged = default_params::<P>()?;
    for (key, value) in given {
        if !merged.contains_key(key) {
            let expected: Vec<&str> = merged.keys().map(String::as_str).collect();
            return Err(ParamError::UnknownKey {
                key: key.clone(),
                suggestion: did_you_mean(key, expected.iter().copied()),
                expected: if expected.is_empty() { "(none)".to_owned() } else { expected.join(", ") },
            });
        }
        merged.insert(key.clone(), value.clone());
    }
    Value::Dict(Tag::Default, merged).deserialize::<P::Params>().map_err(|error| ParamError::Invalid {
        key: if error.path.is_empty() { "(params)".to_owned() } else { error.path.join(".") },
        message: crate::limits::shorten(&error.kind.to_string(), 300).into_owned(),
    })
}

/// Reconfigures a component in place by building it anew from `params` (checked as a fresh build
/// would be) and putting the result in `this`: the [`reconfigure`](crate::component::Strategy::reconfigure)
/// of a component whose only state is its parameters. A component with more state keeps it around
/// this call (see the `order-rate` validator, which keeps its token buckets).
///
/// # Errors
/// Parameters that do not decode, or that the plugin's `build` refuses; `this` is then unchanged.
pub fn rebuild_in_place<P: Plugin>(
    this: &mut P,
    params: &Dict,
) -> Result<crate::component::Reconfigured, ComponentError> {
    let decoded = decode_params::<P>(params).map_err(|error| ComponentError::new(error.to_string()))?;
    *this = P::build(decoded)?;
    Ok(crate::component::Reconfigured::InPlace)
}

/// Checks parameters the way [`decode_params`] does, discarding the result.
///
/// # Errors
/// As [`decode_params`].
pub fn check_params<P: Plugin>(given: &Dict) -> Result<(), ParamError> {
    decode_params::<P>(given).map(drop)
}

/// The dependencies an instance's parameters add ([`Plugin::dependencies_of`]).
///
/// # Errors
/// As [`decode_params`].
pub fn dependencies_of<P: Plugin>(given: &Dict) -> Result<Vec<Dependency>, ParamError> {
    decode_params::<P>(given).map(|params| P::dependencies_of(&params))
}

/// Builders the registration macros point at; not for direct use.
#[doc(hidden)]
pub mod builders {
    use super::*;

    fn build<P: Plugin>(params: &Dict) -> Result<P, BuildError> {
        Ok(P::build(decode_params::<P>(params)?)?)
    }

    /// Builds a strategy.
    pub fn strategy<P: Plugin + Strategy>(params: &Dict) -> Result<Box<dyn Strategy>, BuildError> {
        Ok(Box::new(build::<P>(params)?))
    }

    /// Builds a risk validator.
    pub fn risk<P: Plugin + RiskValidator>(params: &Dict) -> Result<Box<dyn RiskValidator>, BuildError> {
        Ok(Box::new(build::<P>(params)?))
    }

    /// Builds an indicator.
    pub fn indicator<P: Plugin + Indicator>(params: &Dict) -> Result<Box<dyn Indicator>, BuildError> {
        Ok(Box::new(build::<P>(params)?))
    }

    /// Builds a matching algorithm.
    pub fn matching<P: Plugin + MatchingAlgorithm>(params: &Dict) -> Result<BoxedMatching, BuildError> {
        Ok(Box::new(build::<P>(params)?))
    }

    /// Builds a feed.
    pub fn feed<P: Plugin + Feed>(params: &Dict) -> Result<Box<dyn Feed>, BuildError> {
        Ok(Box::new(build::<P>(params)?))
    }
}

/// Writes the descriptor of one component; the `register_*` macros call this.
#[doc(hidden)]
#[macro_export]
macro_rules! __register_component {
    ($kind:ident, $builder:ident, $ty:ty, $name:literal, $version:literal) => {
        $crate::inventory::submit! {
            $crate::plugin::Registration {
                descriptor: $crate::plugin::ComponentDescriptor {
                    kind: $crate::plugin::Kind::$kind,
                    name: $crate::plugin::Cow::Borrowed($name),
                    version: $crate::plugin::Cow::Borrowed($version),
                    api_version: $crate::plugin::Cow::Borrowed($crate::plugin::PLUGIN_API_VERSION),
                    crate_name: $crate::plugin::Cow::Borrowed(::core::env!("CARGO_PKG_NAME")),
                    summary: $crate::plugin::Cow::Borrowed(<$ty as $crate::plugin::Plugin>::SUMMARY),
                    dependencies: $crate::plugin::Cow::Borrowed(<$ty as $crate::plugin::Plugin>::DEPENDENCIES),
                    capabilities: $crate::plugin::Cow::Borrowed(<$ty as $crate::plugin::Plugin>::CAPABILITIES),
                    file_params: $crate::plugin::Cow::Borrowed(<$ty as $crate::plugin::Plugin>::FILE_PARAMS),
                    param_docs: $crate::plugin::Cow::Borrowed(<$ty as $crate::plugin::Plugin>::PARAM_DOCS),
                    builder: $crate::plugin::Builder::Native {
                        defaults: $crate::plugin::default_params::<$ty>,
                        check: $crate::plugin::check_params::<$ty>,
                        dependencies_of: $crate::plugin::dependencies_of::<$ty>,
                        build: $crate::plugin::NativeBuild::$kind($crate::plugin::builders::$builder::<$ty>),
                    },
                },
            }
        }
    };
}

/// Registers a strategy: `register_strategy!(SmaCrossStrategy, "sma-cross", "1.0.0");`
#[macro_export]
macro_rules! register_strategy {
    ($ty:ty, $name:literal, $version:literal) => {
        $crate::__register_component!(Strategy, strategy, $ty, $name, $version);
    };
}

/// Registers a risk validator: `register_risk!(MaxNotionalRisk, "max-notional", "1.0.0");`
#[macro_export]
macro_rules! register_risk {
    ($ty:ty, $name:literal, $version:literal) => {
        $crate::__register_component!(Risk, risk, $ty, $name, $version);
    };
}

/// Registers an indicator: `register_indicator!(SmaIndicator, "sma", "1.0.0");`
#[macro_export]
macro_rules! register_indicator {
    ($ty:ty, $name:literal, $version:literal) => {
        $crate::__register_component!(Indicator, indicator, $ty, $name, $version);
    };
}

/// Registers a matching algorithm: `register_matching!(FifoMatching, "fifo", "1.0.0");`
#[macro_export]
macro_rules! register_matching {
    ($ty:ty, $name:literal, $version:literal) => {
        $crate::__register_component!(Matching, matching, $ty, $name, $version);
    };
}

/// Registers a feed: `register_feed!(BarsCsvFeed, "bars-csv", "1.0.0");`
#[macro_export]
macro_rules! register_feed {
    ($ty:ty, $name:literal, $version:literal) => {
        $crate::__register_component!(Feed, feed, $ty, $name, $version);
    };
}

#[cfg(test)]
mod tests {
    use super::{Bound, Cow, ParamDoc, Range};

    fn doc(text: &'static str) -> ParamDoc {
        ParamDoc { name: Cow::Borrowed("p"), ty: Cow::Borrowed("i64"), doc: Cow::Borrowed(text) }
    }

    #[test]
    fn a_range_line_reads_as_bounds_and_leaves_the_text() {
        let cases: &[(&str, Result<Option<Range>, ()>)] = &[
            ("Lots.\n", Ok(None)),
            (
                "Lots.\nRange: >= 1, <= 1_000_000\n",
                Ok(Some(Range {
                    min: Some(Bound { value: 1.0, inclusive: true }),
                    max: Some(Bound { value: 1e6, inclusive: true }),
                })),
            ),
            ("Rate.\nRange: > 0\n", Ok(Some(Range { min: Some(Bound { value: 0.0, inclusive: false }), max: None }))),
            ("Range: < 0.5\n", Ok(Some(Range { min: None, max: Some(Bound { value: 0.5, inclusive: false }) }))),
            ("Range: 1 to 5\n", Err(())),
            ("Range: >= x\n", Err(())),
            ("Range: >= 1, > 2\n", Err(())),
        ];
        for (text, expected) in cases {
            assert_eq!(doc(text).range().map_err(|_| ()), *expected, "{text:?}");
        }
        assert_eq!(doc("Lots per\norder.\nRange: >= 1\n").text(), "Lots per order.");
        assert_eq!(doc("Lots.\nRange: >= 1\n").range_text(), Some(">= 1"));
        assert_eq!(doc("Kind defaults ([`X::y`](crate::X::y)), see [`Z`].").text(), "Kind defaults (`X::y`), see `Z`.");
    }
}
