//! tradsys developer tasks, run as `cargo xtask <task>` (never linked into the app).
//!
//! - `build --plugins a,b [--release] [--out DIR]`: a `tradsys` binary with exactly those plugins.
//! - `plugins`: the plugins the workspace offers (read from cargo metadata, never a hand-kept list).
//! - `new-plugin NAME --kind KIND`: scaffolds a plugin crate and wires it into the app's features.
//! - `guides [NAME...]`: follows the plugin guides in `docs/plugins/` in a scratch copy, running
//!   every command and writing every file they show.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use cargo_metadata::{Metadata, MetadataCommand, Package};
use clap::{Parser, Subcommand};

mod guides;
mod scaffold;

/// tradsys developer tasks.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Build a tradsys binary with exactly the given plugins.
    Build {
        /// Plugin features, comma-separated (see `cargo xtask plugins`).
        #[arg(long, value_delimiter = ',')]
        plugins: Vec<String>,
        /// Build with the release profile.
        #[arg(long)]
        release: bool,
        /// Copy the binary into this directory (default: target/custom).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Build even if the set cannot run a session (no feed, or no matching algorithm).
        #[arg(long)]
        allow_incomplete: bool,
        /// Other features of the binary, comma-separated: `parquet` (Parquet bar files for
        /// feed-bars-csv).
        #[arg(long, value_delimiter = ',')]
        features: Vec<String>,
    },
    /// List the plugins the workspace offers.
    Plugins,
    /// Scaffold a plugin crate and wire it into the app.
    NewPlugin {
        /// The plugin's name (kebab-case); also its crate folder and Cargo feature.
        name: String,
        /// strategy, risk, indicator, matching or feed.
        #[arg(long)]
        kind: String,
    },
    /// Follow the plugin guides (docs/plugins/*.md) in a scratch copy of the repository: write
    /// every file they show, run every command, check the output they promise.
    Guides {
        /// Only these guides (file stems: strategy, risk, ...); all when none.
        names: Vec<String>,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let metadata = MetadataCommand::new().no_deps().exec().context("reading cargo metadata")?;
    match cli.task {
        Task::Build { plugins, release, out, allow_incomplete, features } => {
            build(&metadata, &plugins, &features, release, out, allow_incomplete)
        }
        Task::Plugins => {
            for plugin in workspace_plugins(&metadata)? {
                println!(
                    "{:<26} {:<8} {}",
                    plugin.feature,
                    if plugin.default { "default" } else { "" },
                    plugin.description
                );
            }
            Ok(())
        }
        Task::Guides { names } => guides::follow(metadata.workspace_root.as_std_path(), &names),
        Task::NewPlugin { name, kind } => {
            let root = metadata.workspace_root.as_std_path();
            scaffold::new_plugin(root, &name, &kind)?;
            println!(
                "created plugins/{name} and wired feature {name:?} (in the default set) into app/Cargo.toml and app/src/plugins.rs"
            );
            println!("test it: cargo test -p tradsys-plugin-{name}");
            println!("run it:  cargo run -p tradsys -- run --config plugins/{name}/example.toml --verbose");
            Ok(())
        }
    }
}

/// A plugin as the workspace offers it.
#[derive(Debug)]
struct WorkspacePlugin {
    feature: String,
    default: bool,
    description: String,
    /// What it registers and needs, read from its sources.
    registrations: Registrations,
}

/// What a plugin crate's sources register and need, read from its `register_*!` lines and its
/// `Dependency::indicator(..)` / `Dependency::on(Kind::.., ..)` declarations.
#[derive(Debug, Default)]
struct Registrations {
    /// (kind, name) of every component it registers.
    components: Vec<(String, String)>,
    /// (kind, name) of every component its components depend on.
    dependencies: Vec<(String, String)>,
}

impl Registrations {
    fn read(manifest: &std::path::Path) -> Registrations {
        let mut sources = String::new();
        let mut pending = vec![manifest.with_file_name("src")];
        while let Some(dir) = pending.pop() {
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    sources.push_str(&fs::read_to_string(&path).unwrap_or_default());
                }
            }
        }
        let quoted = |text: &str| text.split('"').nth(1).map(str::to_owned);
        let mut found = Registrations::default();
        for line in sources.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("tradsys_core::register_").or_else(|| line.strip_prefix("register_"))
                && let Some((kind, args)) = rest.split_once("!(")
                && let Some(name) = quoted(args)
            {
                found.components.push((kind.to_owned(), name));
            }
            for part in line.split("Dependency::").skip(1) {
                let kind = if let Some(args) = part.strip_prefix("indicator(") {
                    Some(("indicator".to_owned(), args))
                } else {
                    part.strip_prefix("on(Kind::").and_then(|args| {
                        let (kind, rest) = args.split_once(',')?;
                        Some((kind.trim().to_lowercase(), rest))
                    })
                };
                if let Some((kind, args)) = kind
                    && let Some(name) = quoted(args)
                {
                    found.dependencies.push((kind, name));
                }
            }
        }
        found
    }

    fn kinds(&self) -> impl Iterator<Item = &str> {
        self.components.iter().map(|(kind, _)| kind.as_str())
    }
}

fn app_package(metadata: &Metadata) -> Result<&Package> {
    metadata
        .workspace_packages()
        .into_iter()
        .find(|p| p.name.as_str() == "tradsys")
        .context("no `tradsys` package in the workspace")
}

/// The app's features that switch on exactly one plugin crate.
fn workspace_plugins(metadata: &Metadata) -> Result<Vec<WorkspacePlugin>> {
    let app = app_package(metadata)?;
    let default: Vec<&String> = app.features.get("default").map(|d| d.iter().collect()).unwrap_or_default();
    let mut plugins = Vec::new();
    for (feature, enables) in &app.features {
        let [only] = enables.as_slice() else { continue };
        let Some(krate) = only.strip_prefix("dep:").filter(|c| c.starts_with("tradsys-plugin-")) else { continue };
        let package = metadata.workspace_packages().into_iter().find(|p| p.name.as_str() == krate);
        let description = package.and_then(|p| p.description.clone()).unwrap_or_default();
        let registrations = package.map(|p| Registrations::read(p.manifest_path.as_std_path())).unwrap_or_default();
        plugins.push(WorkspacePlugin {
            feature: feature.clone(),
            default: default.contains(&feature),
            description,
            registrations,
        });
    }
    plugins.sort_by(|a, b| a.feature.cmp(&b.feature));
    Ok(plugins)
}

/// Why a plugin set cannot run a session: a missing feed or matching algorithm, or a dependency no
/// chosen plugin registers (each with the plugins that would provide it).
fn incompleteness(offered: &[WorkspacePlugin], wanted: &[String]) -> Vec<String> {
    let chosen: Vec<&WorkspacePlugin> = offered.iter().filter(|p| wanted.contains(&p.feature)).collect();
    let providers = |kind: &str, name: Option<&str>| -> String {
        let names: Vec<&str> = offered
            .iter()
            .filter(|p| !p.feature.starts_with("test-"))
            .filter(|p| p.registrations.components.iter().any(|(k, n)| k == kind && name.is_none_or(|name| n == name)))
            .map(|p| p.feature.as_str())
            .collect();
        names.join(", ")
    };
    let mut problems: Vec<String> = ["feed", "matching"]
        .into_iter()
        .filter(|kind| !chosen.iter().any(|p| p.registrations.kinds().any(|k| k == *kind)))
        .map(|kind| format!("no {kind} plugin (add one of: {})", providers(kind, None)))
        .collect();
    for plugin in &chosen {
        for (kind, name) in &plugin.registrations.dependencies {
            let provided =
                chosen.iter().any(|p| p.registrations.components.iter().any(|(k, n)| k == kind && n == name));
            if !provided {
                problems.push(format!(
                    "{} needs {kind} {name}, which no chosen plugin registers (add {})",
                    plugin.feature,
                    providers(kind, Some(name))
                ));
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

fn build(
    metadata: &Metadata,
    wanted: &[String],
    features: &[String],
    release: bool,
    out: Option<PathBuf>,
    allow_incomplete: bool,
) -> Result<()> {
    let offered = workspace_plugins(metadata)?;
    let names: Vec<&str> = offered.iter().map(|p| p.feature.as_str()).collect();
    let mut unknown = Vec::new();
    for plugin in wanted {
        if !names.contains(&plugin.as_str()) {
            let suggestion = names
                .iter()
                .map(|n| (strsim::jaro_winkler(plugin, n), *n))
                .filter(|(score, _)| *score > 0.8)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, n)| format!("; did you mean {n:?}?"))
                .unwrap_or_default();
            unknown.push(format!("unknown plugin {plugin:?}{suggestion}"));
        }
    }
    if !unknown.is_empty() {
        bail!("{}\navailable plugins: {}", unknown.join("\n"), names.join(", "));
    }
    // Refused before the (long) build: a binary without a feed or a matching algorithm, or with a
    // component whose dependency no chosen plugin provides, runs nothing.
    if !allow_incomplete {
        let problems = incompleteness(&offered, wanted);
        if !problems.is_empty() {
            bail!(
                "this plugin set cannot run a session: {}; pass --allow-incomplete to build it anyway",
                problems.join("; ")
            );
        }
    }
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cargo.args(["build", "--package", "tradsys", "--bin", "tradsys", "--no-default-features"]);
    let features: Vec<&String> = wanted.iter().chain(features).collect();
    if !features.is_empty() {
        cargo.args(["--features", &features.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(",")]);
    }
    if release {
        cargo.arg("--release");
    }
    // The workspace's own target directory: the third-party crates the default build compiled are
    // reused, and cargo keeps each feature set's artifacts apart. Cargo would leave the custom
    // binary at the standard binary's path, though, where the next `target/release/tradsys serve`
    // would run it: the standard one is set aside for the build and put back after it.
    let target = metadata.target_directory.as_std_path().to_path_buf();
    let profile = if release { "release" } else { "debug" };
    let binary = target.join(profile).join(format!("tradsys{}", std::env::consts::EXE_SUFFIX));
    let standard = SetAside::new(&binary)?;
    let built = cargo.status().context("running cargo build");
    let copied = built.and_then(|status| {
        if !status.success() {
            bail!("cargo build failed ({status})");
        }
        let out_dir = out.unwrap_or_else(|| target.join("custom"));
        fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
        let dest = out_dir.join(binary.file_name().unwrap_or_default());
        fs::copy(&binary, &dest).with_context(|| format!("copying {} to {}", binary.display(), dest.display()))?;
        Ok(dest)
    });
    standard.restore()?;
    println!("{}", copied?.display());
    Ok(())
}

/// The standard binary moved out of the way of a custom build (renamed beside itself), to be put
/// back by [`SetAside::restore`]: whatever the build left at its path is replaced by it, or
/// removed when there was none.
#[derive(Debug)]
struct SetAside {
    path: PathBuf,
    saved: Option<PathBuf>,
}

impl SetAside {
    fn new(path: &Path) -> Result<SetAside> {
        let saved = path.with_file_name(format!(
            ".{}.standard",
            path.file_name().map(|name| name.to_string_lossy()).unwrap_or_default()
        ));
        let saved = match fs::rename(path, &saved) {
            Ok(()) => Some(saved),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(error).with_context(|| format!("setting {} aside", path.display())),
        };
        Ok(SetAside { path: path.to_path_buf(), saved })
    }

    fn restore(self) -> Result<()> {
        match &self.saved {
            Some(saved) => fs::rename(saved, &self.path)
                .with_context(|| format!("putting {} back at {}", saved.display(), self.path.display())),
            None => match fs::remove_file(&self.path) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    Err(error).with_context(|| format!("removing the custom build's {}", self.path.display()))
                }
                _ => Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custom_build_leaves_the_standard_binary_in_place() {
        let dir = std::env::temp_dir().join(format!("xtask-set-aside-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let binary = dir.join("tradsys");
        fs::write(&binary, "standard").unwrap();
        let aside = SetAside::new(&binary).unwrap();
        assert!(!binary.exists(), "set aside for the build");
        // What cargo does: the custom binary at the standard path.
        fs::write(&binary, "custom").unwrap();
        aside.restore().unwrap();
        assert_eq!(fs::read_to_string(&binary).unwrap(), "standard");
        // With no standard binary before, the custom one does not stay behind as if it were.
        fs::remove_file(&binary).unwrap();
        let aside = SetAside::new(&binary).unwrap();
        fs::write(&binary, "custom").unwrap();
        aside.restore().unwrap();
        assert!(!binary.exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
