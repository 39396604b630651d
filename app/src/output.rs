//! Output files: checked before any work starts, written whole or not at all.
//!
//! Every path a command writes (`--report`, `--trades`, `--equity`, `--metrics`, `--plot`, and the
//! `--out` of `replay` and `gen orders`) is checked before the command does anything: its directory
//! exists, its extension is one the output is written in, and it is neither an input of the command
//! (the config, a data file a plugin reads) nor another output. Each file is then written to a
//! temporary sibling and renamed over its path only once complete, so an interrupted or failed
//! command leaves the previous file, or none, never half of one. `-` writes to standard output
//! where the output is text.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};

use crate::failure::Failure;

/// One output a command was asked to write.
#[derive(Clone, Copy, Debug)]
pub struct OutputRequest<'a> {
    /// The command-line flag that named it (`--report`), for messages.
    pub flag: &'static str,
    /// The path given (`-` for standard output).
    pub path: &'a Path,
    /// The extensions the output is written in, lower-case, without the dot.
    pub extensions: &'static [&'static str],
    /// Whether `-` (standard output) is allowed.
    pub stdout: bool,
}

impl OutputRequest<'_> {
    fn is_stdout(&self) -> bool {
        self.path.as_os_str() == "-"
    }
}

/// Checks every requested output against the rules above and against `inputs` (a label and a path
/// each, e.g. `("the config", "run.toml")`); lists every problem at once.
///
/// # Errors
/// Bad input naming each flag, path and what was expected.
pub fn check_outputs(outputs: &[OutputRequest<'_>], inputs: &[(String, PathBuf)]) -> Result<(), Failure> {
    let mut problems = Vec::new();
    let inputs: Vec<(&String, PathBuf)> =
        inputs.iter().filter_map(|(label, path)| Some((label, path.canonicalize().ok()?))).collect();
    let mut seen: Vec<(&'static str, PathBuf)> = Vec::new();
    let mut stdout_taken: Option<&'static str> = None;
    for output in outputs {
        let shown = output.path.display();
        if output.is_stdout() {
            if !output.stdout {
                problems
                    .push(format!("{} -: this output cannot go to standard output; expected a file path", output.flag));
            } else if let Some(other) = stdout_taken.replace(output.flag) {
                problems.push(format!("{} -: {other} already writes to standard output", output.flag));
            }
            continue;
        }
        let extension = output.path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        if !extension.as_deref().is_some_and(|e| output.extensions.contains(&e)) {
            problems.push(format!(
                "{} {shown}: expected a file ending in .{}",
                output.flag,
                output.extensions.join(" or .")
            ));
        }
        let Some(name) = output.path.file_name() else {
            problems.push(format!("{} {shown}: expected a file path, not a directory", output.flag));
            continue;
        };
        let parent = match output.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let directory = match parent.canonicalize() {
            Ok(directory) if directory.is_dir() => directory,
            Ok(_) => {
                problems.push(format!("{} {shown}: {} is not a directory", output.flag, parent.display()));
                continue;
            }
            Err(error) => {
                problems.push(format!(
                    "{} {shown}: the directory {} cannot be used: {error}",
                    output.flag,
                    parent.display()
                ));
                continue;
            }
        };
        if output.path.is_dir() {
            problems.push(format!("{} {shown}: is a directory; expected a file path", output.flag));
            continue;
        }
        let target = directory.join(name);
        if let Some((label, _)) = inputs.iter().find(|(_, input)| *input == target) {
            problems.push(format!("{} {shown}: is {label}; an output never overwrites an input", output.flag));
        }
        if let Some((other, _)) = seen.iter().find(|(_, path)| *path == target) {
            problems.push(format!("{} {shown}: {other} writes the same file", output.flag));
        }
        seen.push((output.flag, target));
    }
    if problems.is_empty() { Ok(()) } else { Err(Failure::BadInput(anyhow!(problems.join("\n")))) }
}

/// Where an output's bytes go.
#[derive(Debug)]
enum Target {
    Stdout,
    File {
        /// The path it is renamed to once complete.
        path: PathBuf,
        /// The temporary sibling it is written to first.
        temporary: PathBuf,
    },
}

/// An output being written: to a temporary sibling of its path (renamed over it by
/// [`commit`](Self::commit)), or to standard output for `-`. Dropped without a commit, the
/// temporary file is removed and the path left as it was.
pub struct OutputFile {
    target: Target,
    writer: Option<BufWriter<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for OutputFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputFile").field("target", &self.target).finish()
    }
}

impl OutputFile {
    /// Opens an output (`-` for standard output).
    ///
    /// # Errors
    /// The temporary file cannot be created.
    pub fn create(path: &Path) -> anyhow::Result<OutputFile> {
        if path.as_os_str() == "-" {
            return Ok(OutputFile { target: Target::Stdout, writer: Some(BufWriter::new(Box::new(io::stdout()))) });
        }
        let temporary = temporary_sibling(path);
        let file = File::create(&temporary).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(OutputFile {
            target: Target::File { path: path.to_owned(), temporary },
            writer: Some(BufWriter::with_capacity(1 << 16, Box::new(file))),
        })
    }

    /// Where to write.
    pub fn writer(&mut self) -> &mut BufWriter<Box<dyn Write + Send>> {
        self.writer.as_mut().expect("an output is written until it is committed")
    }

    /// The path being written (the temporary sibling), for writers that open a path themselves
    /// (the plot); `None` for standard output.
    #[must_use]
    pub fn temporary_path(&self) -> Option<&Path> {
        match &self.target {
            Target::Stdout => None,
            Target::File { temporary, .. } => Some(temporary),
        }
    }

    /// Flushes the output and, for a file, syncs it and renames it over its path.
    ///
    /// # Errors
    /// A write, sync or rename failure (the temporary file is removed then).
    pub fn commit(mut self) -> anyhow::Result<()> {
        let writer = self.writer.take().expect("committed once");
        let flushed = writer.into_inner().map_err(|error| error.into_error());
        match &self.target {
            Target::Stdout => flushed.map(drop).context("writing to standard output"),
            Target::File { path, temporary } => {
                // Synced before the rename, so the complete file is on disk when it appears.
                let result = flushed
                    .map(drop)
                    .and_then(|()| File::open(temporary)?.sync_all())
                    .and_then(|()| std::fs::rename(temporary, path));
                result.with_context(|| format!("writing {}", path.display()))
            }
        }
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if let Target::File { temporary, .. } = &self.target
            && self.writer.is_some()
        {
            self.writer = None;
            let _ = std::fs::remove_file(temporary);
        }
    }
}

/// `.NAME.PID.partial.EXT` beside `path`: hidden, unique to this process, and with the same
/// extension (writers that pick a format by extension, like the plot's, still see it).
fn temporary_sibling(path: &Path) -> PathBuf {
    let stem = path.file_stem().map_or_else(|| "output".into(), |s| s.to_string_lossy().into_owned());
    let extension = path.extension().map_or_else(String::new, |e| format!(".{}", e.to_string_lossy()));
    path.with_file_name(format!(".{stem}.{}.partial{extension}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tradsys-output-test-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn request<'a>(flag: &'static str, path: &'a Path) -> OutputRequest<'a> {
        OutputRequest { flag, path, extensions: &["csv"], stdout: true }
    }

    #[test]
    fn every_problem_is_found_before_anything_is_written() {
        let dir = scratch("check");
        let data = dir.join("data.csv");
        std::fs::write(&data, "x").unwrap();
        let (missing, wrong, same) = (dir.join("nope/out.csv"), dir.join("out.txt"), dir.join("same.csv"));
        let outputs = [
            request("--equity", &data),
            request("--trades", &missing),
            request("--report", &wrong),
            request("--a", &same),
            request("--b", &same),
            request("--c", Path::new("-")),
            request("--d", Path::new("-")),
            request("--e", &dir),
        ];
        let Err(Failure::BadInput(error)) = check_outputs(&outputs, &[("the feed's data file".into(), data.clone())])
        else {
            panic!("bad outputs must be refused")
        };
        let text = error.to_string();
        for expected in [
            "--equity",
            "is the feed's data file; an output never overwrites an input",
            "--trades",
            "nope cannot be used",
            "--report",
            "expected a file ending in .csv",
            "--b",
            "--a writes the same file",
            "--d -: --c already writes to standard output",
            "--e",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        assert_eq!(std::fs::read_to_string(&data).unwrap(), "x");
    }

    #[test]
    fn a_file_appears_only_when_committed_and_an_abandoned_one_leaves_the_old() {
        let dir = scratch("whole");
        let path = dir.join("out.csv");
        std::fs::write(&path, "old").unwrap();
        let mut abandoned = OutputFile::create(&path).unwrap();
        abandoned.writer().write_all(b"half").unwrap();
        drop(abandoned);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file is left");
        let mut output = OutputFile::create(&path).unwrap();
        output.writer().write_all(b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old", "not before the commit");
        output.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }
}
