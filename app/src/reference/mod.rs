//! `tradsys config schema`: the configuration reference, generated from the config structs (their
//! doc comments, types, defaults and documented ranges) and from the registry (every compiled-in
//! component's parameters, and those of the modules given with `--module`), as Markdown for
//! people or JSON Schema for editors.
//!
//! Generated rather than written, so it cannot drift: the committed `docs/config-reference.md`
//! and `docs/config.schema.json` are compared with this output by a test.

mod json_schema;
mod markdown;
mod value_type;

use figment::value::Dict;
use tradsys_core::config::{SectionDoc, sections};
use tradsys_core::plugin::{Kind, ParamDoc};
use tradsys_core::registry::{Origin, RegisteredComponent, Registry};

use crate::cli::{SchemaArgs, SchemaFormat};
use crate::failure::Failure;
use crate::plugins::{TEST_ONLY, feature_of_crate};

/// Writes the reference in the format asked for.
///
/// # Errors
/// A plugin whose documented range does not read (a bug in the plugin's doc comment).
pub fn schema(args: &SchemaArgs, registry: &Registry) -> Result<String, Failure> {
    let reference = Reference::gather(registry);
    reference.check_ranges().map_err(|problem| Failure::Internal(anyhow::anyhow!(problem)))?;
    Ok(match args.format {
        SchemaFormat::Markdown => markdown::render(&reference),
        SchemaFormat::JsonSchema => json_schema::render(&reference),
    })
}

/// What the reference documents: the config's sections and the components a config can name.
struct Reference {
    sections: Vec<SectionDoc>,
    components: Vec<ComponentDoc>,
}

/// One component version, as the reference shows it.
struct ComponentDoc {
    kind: Kind,
    name: String,
    version: String,
    summary: String,
    /// Where it comes from: `plugin feature: ...` or `module: wasm:...`.
    origin: String,
    dependencies: Vec<String>,
    capabilities: Vec<&'static str>,
    file_params: Vec<&'static str>,
    params: Vec<ParamDoc>,
    defaults: Dict,
}

impl Reference {
    /// The config's sections and this binary's compiled-in components, test-only plugins left out.
    fn gather(registry: &Registry) -> Reference {
        let components = registry
            .iter()
            .filter(|component| {
                feature_of_crate(&component.descriptor.crate_name).is_none_or(|feature| !TEST_ONLY.contains(&feature))
            })
            .map(ComponentDoc::of)
            .collect();
        Reference { sections: sections(), components }
    }

    /// Every documented range reads.
    fn check_ranges(&self) -> Result<(), String> {
        let section_keys = self.sections.iter().flat_map(|section| section.keys.iter());
        let params = self.components.iter().flat_map(|component| component.params.iter());
        for key in section_keys.chain(params) {
            key.range()?;
        }
        Ok(())
    }

    /// The components of one kind.
    fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &ComponentDoc> {
        self.components.iter().filter(move |component| component.kind == kind)
    }
}

impl ComponentDoc {
    fn of(component: &RegisteredComponent) -> ComponentDoc {
        let d = &component.descriptor;
        let defaults = d.defaults().unwrap_or_default();
        // Every parameter the defaults show, in the order the plugin documents them, then any the
        // plugin left undocumented.
        let mut params: Vec<ParamDoc> = d.param_docs.to_vec();
        for key in defaults.keys() {
            if !params.iter().any(|doc| doc.name == key.as_str()) {
                params.push(ParamDoc { name: key.clone().into(), ty: "".into(), doc: "".into() });
            }
        }
        ComponentDoc {
            kind: d.kind,
            name: d.name.to_string(),
            version: component.version.to_string(),
            summary: d.summary.to_string(),
            origin: match &component.origin {
                Origin::CompiledIn => {
                    format!("plugin feature: `{}`", feature_of_crate(&d.crate_name).unwrap_or(&d.crate_name))
                }
                module => format!("module: `{}`", module.describe()),
            },
            dependencies: d.dependencies.iter().map(|dep| format!("{} `{}` {}", dep.kind, dep.name, dep.req)).collect(),
            capabilities: d.capabilities.iter().map(|c| c.as_str()).collect(),
            file_params: d.file_params.to_vec(),
            params,
            defaults,
        }
    }
}

/// The config section that configures components of `kind`.
fn section_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Feed => "feed",
        Kind::Matching => "matching",
        Kind::Indicator => "indicators.<id>",
        Kind::Risk => "risk.<id>",
        Kind::Strategy => "strategies.<id>",
    }
}
