//! `cargo xtask guides`: follows the plugin guides in `docs/plugins/` the way a new user would,
//! in a scratch copy of the repository, and fails at the first step that does not work.
//!
//! A guide is ordinary Markdown. Every ` ```sh ` block is run (with `bash -euo pipefail`, from the
//! copy's root); blocks in other languages are what the reader writes, and the guide says where
//! with an HTML comment the reader does not see, on the line before the block:
//!
//! - `<!-- guide: file PATH -->` writes the next block to `PATH` (replacing the file);
//! - `<!-- guide: expect TEXT -->` after a `sh` block: its output must contain `TEXT`;
//! - `<!-- guide: skip -->` before a `sh` block: shown, not run (a command that needs what CI
//!   lacks, such as a long-running server; the guide says so).
//!
//! So a guide's code is the code that builds, its commands the ones that pass, and its claimed
//! output the output.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// One thing a guide asks the reader to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Write `text` to `path` (relative to the repository root).
    Write {
        /// Where.
        path: String,
        /// What.
        text: String,
    },
    /// Run `script` in the repository root; its output must contain each of `expect`.
    Run {
        /// The block's commands.
        script: String,
        /// Text its output must contain.
        expect: Vec<String>,
        /// The guide's line where the block starts, for messages.
        line: usize,
    },
}

/// Reads a guide's steps.
///
/// # Errors
/// A directive that names no file or is not followed by a block, or an unclosed block.
pub(crate) fn steps(guide: &str) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    let mut pending_file: Option<String> = None;
    let mut skip_next = false;
    let mut lines = guide.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        let trimmed = line.trim();
        if let Some(directive) = trimmed.strip_prefix("<!-- guide:").and_then(|rest| rest.strip_suffix("-->")) {
            let directive = directive.trim();
            if let Some(path) = directive.strip_prefix("file ") {
                pending_file = Some(path.trim().to_owned());
            } else if directive == "skip" {
                skip_next = true;
            } else if let Some(text) = directive.strip_prefix("expect ") {
                match steps.last_mut() {
                    Some(Step::Run { expect, .. }) => expect.push(text.trim().to_owned()),
                    _ => bail!("line {}: `expect` must follow a sh block", number + 1),
                }
            } else {
                bail!("line {}: unknown guide directive {directive:?}", number + 1);
            }
            continue;
        }
        let Some(language) = trimmed.strip_prefix("```") else {
            if !trimmed.is_empty() && pending_file.is_some() {
                bail!("line {}: a `file` directive must be followed by a code block", number + 1);
            }
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        let mut body = String::new();
        let mut closed = false;
        for (_, inner) in lines.by_ref() {
            if inner.trim() == "```" {
                closed = true;
                break;
            }
            body.push_str(inner.get(indent..).unwrap_or(inner.trim_start()));
            body.push('\n');
        }
        if !closed {
            bail!("line {}: the code block is not closed", number + 1);
        }
        if let Some(path) = pending_file.take() {
            steps.push(Step::Write { path, text: body });
        } else if language.trim() == "sh" && !std::mem::take(&mut skip_next) {
            steps.push(Step::Run { script: body, expect: Vec::new(), line: number + 1 });
        }
    }
    if pending_file.is_some() {
        bail!("the guide ends after a `file` directive");
    }
    Ok(steps)
}

/// Follows every guide (or the ones named) in a scratch copy of the repository at `root`.
///
/// # Errors
/// The first step that fails, with the guide, its line and the output.
pub(crate) fn follow(root: &Path, only: &[String]) -> Result<()> {
    let mut all: Vec<PathBuf> = fs::read_dir(root.join("docs/plugins"))
        .context("reading docs/plugins")?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    all.sort();
    let stem = |path: &Path| path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let stems: Vec<String> = all.iter().map(|path| stem(path)).collect();
    if let Some(unknown) = only.iter().find(|name| !stems.contains(name)) {
        bail!("no guide named {unknown:?} in docs/plugins (guides: {})", stems.join(", "));
    }
    let guides: Vec<PathBuf> = all.into_iter().filter(|path| only.is_empty() || only.contains(&stem(path))).collect();
    let scratch = std::env::temp_dir().join(format!("tradsys-guides-{}", std::process::id()));
    copy_tracked(root, &scratch)?;
    // The copy builds into this repository's target directory, so third-party crates are reused,
    // and reaches it as `target/`, so a guide's `target/debug/tradsys` is where a reader finds it.
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    fs::create_dir_all(&target)?;
    link_target(&target, &scratch.join("target"))?;
    let mut followed = Vec::new();
    for guide in &guides {
        let outcome = follow_one(root, guide, &scratch);
        // A guide that starts a server writes its pid to `serve.pid`; stop it even if a later
        // step failed, so no server outlives the run.
        stop_server(&scratch);
        if outcome? {
            followed.push(guide.file_name().unwrap_or_default().to_string_lossy().into_owned());
        }
    }
    fs::remove_dir_all(&scratch).ok();
    eprintln!("guides followed: {}", followed.join(", "));
    Ok(())
}

/// Follows one guide in the scratch copy; `false` for a page with no command to run.
fn follow_one(root: &Path, guide: &Path, scratch: &Path) -> Result<bool> {
    let name = guide.strip_prefix(root).unwrap_or(guide).display().to_string();
    let steps = steps(&fs::read_to_string(guide)?).with_context(|| name.clone())?;
    if !steps.iter().any(|step| matches!(step, Step::Run { .. })) {
        return Ok(false);
    }
    eprintln!("== {name}");
    for step in steps {
        match step {
            Step::Write { path, text } => {
                let file = scratch.join(&path);
                if let Some(parent) = file.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::write(&file, text).with_context(|| format!("{name}: writing {path}"))?;
                eprintln!("-- wrote {path}");
            }
            Step::Run { script, expect, line } => {
                eprintln!("-- {name}:{line}\n{}", script.trim_end());
                let output = Command::new("bash")
                    .args(["-euo", "pipefail", "-c", &script])
                    .current_dir(scratch)
                    .env_remove("CARGO_TARGET_DIR")
                    .output()
                    .with_context(|| format!("{name}:{line}: running bash"))?;
                let text =
                    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
                if !output.status.success() {
                    bail!("{name}:{line}: the block failed ({}):\n{text}", output.status);
                }
                for wanted in &expect {
                    if !text.contains(wanted.as_str()) {
                        bail!("{name}:{line}: the output does not contain {wanted:?}:\n{text}");
                    }
                }
            }
        }
    }
    Ok(true)
}

/// Stops the server a guide left running, if any.
fn stop_server(scratch: &Path) {
    let pid_file = scratch.join("serve.pid");
    if let Ok(pid) = fs::read_to_string(&pid_file) {
        // Already gone when the guide stopped it itself: nothing to say.
        let _ = Command::new("kill").arg(pid.trim()).stderr(std::process::Stdio::null()).status();
        let _ = fs::remove_file(pid_file);
    }
}

/// Makes `link` lead to the target directory `target`.
#[cfg(unix)]
fn link_target(target: &Path, link: &Path) -> Result<()> {
    std::os::unix::fs::symlink(target.canonicalize()?, link).with_context(|| format!("linking {}", link.display()))
}

/// Makes `link` lead to the target directory `target`.
#[cfg(not(unix))]
fn link_target(_target: &Path, _link: &Path) -> Result<()> {
    bail!("cargo xtask guides needs a Unix system (it links the target directory and runs bash)")
}

/// Copies the files git tracks (what a fresh clone has) from `root` to `to`.
fn copy_tracked(root: &Path, to: &Path) -> Result<()> {
    let listing = Command::new("git").args(["ls-files", "-z"]).current_dir(root).output().context("running git")?;
    if !listing.status.success() {
        bail!("git ls-files failed: {}", String::from_utf8_lossy(&listing.stderr));
    }
    if to.exists() {
        fs::remove_dir_all(to)?;
    }
    for path in listing.stdout.split(|byte| *byte == 0).filter(|path| !path.is_empty()) {
        let path = Path::new(std::str::from_utf8(path).context("a tracked path is not UTF-8")?);
        let (from, dest) = (root.join(path), to.join(path));
        if !from.exists() {
            // Deleted in the working tree but not yet in the index.
            continue;
        }
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(&from, &dest).with_context(|| format!("copying {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Step, steps};

    #[test]
    fn a_guide_reads_as_files_to_write_and_commands_to_run() {
        let guide = "# Guide\n\n<!-- guide: file plugins/x/src/lib.rs -->\n```rust\nfn a() {}\n```\n\n```sh\ncargo test -p x\n```\n<!-- guide: expect test result: ok -->\n\n<!-- guide: skip -->\n```sh\ncargo run --release\n```\n\n```toml\nshown = true\n```\n";
        assert_eq!(
            steps(guide).unwrap(),
            [
                Step::Write { path: "plugins/x/src/lib.rs".into(), text: "fn a() {}\n".into() },
                Step::Run { script: "cargo test -p x\n".into(), expect: vec!["test result: ok".into()], line: 8 },
            ]
        );
    }

    #[test]
    fn a_directive_out_of_place_is_refused() {
        for bad in [
            "<!-- guide: file a.rs -->\ntext\n```rust\n```\n",
            "<!-- guide: expect ok -->\n",
            "<!-- guide: frobnicate -->\n",
            "```sh\nls\n",
            "<!-- guide: file a.rs -->\n",
        ] {
            assert!(steps(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn blocks_in_a_list_lose_the_list_s_indent() {
        let guide = "1. Run:\n   ```sh\n   cargo test\n   ```\n";
        assert_eq!(steps(guide).unwrap(), [Step::Run { script: "cargo test\n".into(), expect: vec![], line: 2 }]);
    }
}
