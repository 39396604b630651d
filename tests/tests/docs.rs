//! The documentation's links lead somewhere: every relative link in the README, ARCHITECTURE.md,
//! DEVELOPERS.md, BENCHMARKS.md and docs/ names a file that exists and, with `#anchor`, a heading
//! of that file (as GitHub renders anchors).

use std::path::{Path, PathBuf};

use tradsys_core::troubleshooting::heading_anchor;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn markdown_files() -> Vec<PathBuf> {
    let root = root();
    let mut files: Vec<PathBuf> =
        ["README.md", "ARCHITECTURE.md", "DEVELOPERS.md", "BENCHMARKS.md"].iter().map(|f| root.join(f)).collect();
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The targets of `[text](target)` links outside code blocks and code spans.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        // Code spans may hold `[x](y)`-shaped text that is not a link.
        let outside: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = outside.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            found.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    found
}

fn anchors(text: &str) -> Vec<String> {
    text.lines().filter(|line| line.starts_with('#')).map(|line| heading_anchor(line.trim_start_matches('#'))).collect()
}

#[test]
fn every_relative_link_names_a_file_and_a_heading_that_exist() {
    let files = markdown_files();
    assert!(files.len() > 20, "{files:?}");
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = link.split_once('#').map_or((link.as_str(), None), |(p, a)| (p, Some(a)));
            let target = if path.is_empty() { file.clone() } else { file.parent().unwrap().join(path) };
            checked += 1;
            if !target.exists() {
                problems.push(format!("{}: {link}: no such file", file.display()));
                continue;
            }
            if let Some(anchor) = anchor
                && target.extension().is_some_and(|ext| ext == "md")
                && !anchors(&std::fs::read_to_string(&target).unwrap()).iter().any(|a| a == anchor)
            {
                problems.push(format!("{}: {link}: no heading with that anchor", file.display()));
            }
        }
    }
    assert!(checked > 100, "only {checked} links checked");
    assert!(problems.is_empty(), "broken links:\n{}", problems.join("\n"));
}

#[test]
fn links_are_found_outside_code_only() {
    let text = "See [a](a.md#x) and `[b](b.md)`.\n```\n[c](c.md)\n```\n[d](d.md)\n";
    assert_eq!(links(text), ["a.md#x", "d.md"]);
}
