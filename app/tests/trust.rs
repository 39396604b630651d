//! Signed approval through the real binary: keys, approvals, verification, and a run that admits
//! only approved plugins, refusing the rest before any of their code runs.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{text, tradsys};

fn scratch(name: &str) -> support::Scratch {
    support::dir(&format!("trust-{name}"))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A bar session that uses exactly: bars-csv, fifo, sma-cross (and its sma), max-order-qty.
fn session_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("run.toml");
    let data = workspace().join("examples/data/EURUSD-1h.csv");
    std::fs::write(
        &path,
        format!(
            "[session]\nmax_events = 500\n[instruments.EURUSD]\ntick = \"0.00001\"\nlot_size = 1000\n\
             [feed]\nplugin = \"bars-csv\"\nparams = {{ path = {:?}, symbol = \"EURUSD\" }}\n\
             [strategies.trend]\nplugin = \"sma-cross\"\n[risk.size]\nplugin = \"max-order-qty\"\n{extra}",
            data.display().to_string()
        ),
    )
    .unwrap();
    path
}

const SECURITY: &str =
    "[security]\nrequire_approval = true\ntrusted_keys = [\"team.pub\"]\napprovals = [\"approval.toml\"]\n";

fn approve(dir: &Path, plugins: &[&str]) -> Output {
    let mut args = vec!["approve", "--key", "team.key", "--out", "approval.toml", "--expires", "2099-01-01T00:00:00Z"];
    for plugin in plugins {
        args.push("--plugin");
        args.push(plugin);
    }
    tradsys(dir, &args)
}

const RUN_SET: [&str; 5] =
    ["feed:bars-csv", "matching:fifo", "strategy:sma-cross", "indicator:sma", "risk:max-order-qty"];

#[test]
fn only_approved_plugins_run_and_a_changed_or_foreign_approval_admits_nothing() {
    let dir = scratch("run");
    assert!(tradsys(&dir, &["keys", "generate", "--out", "team"]).status.success());
    let again = tradsys(&dir, &["keys", "generate", "--out", "team"]);
    assert_eq!(again.status.code(), Some(2), "a key is never overwritten");
    assert!(approve(&dir, &RUN_SET).status.success());
    let config = session_config(&dir, SECURITY);
    let run = tradsys(&dir, &["run", "--config", config.to_str().unwrap(), "--quiet"]);
    assert!(run.status.success(), "every plugin is approved: {}", text(&run.stderr));

    // A plugin the approval does not list is refused, naming it, before its code runs: this one
    // would panic while reading its parameters, and never gets to.
    let faulty = session_config(
        &dir,
        &format!("{SECURITY}[strategies.bad]\nplugin = \"faulty-strategy\"\nparams = {{ panic_in = \"build\" }}\n"),
    );
    let out = tradsys(&dir, &["config", "check", faulty.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    if !text(&tradsys(&dir, &["plugins", "--kind", "strategy"]).stdout).contains("faulty-strategy") {
        panic!("this test needs the test-faulty plugins: run it with `cargo test --workspace`");
    }
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("key strategies.bad: strategy faulty-strategy@1.0.0 is not approved: no approval lists it"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "no code of an unapproved plugin ran: {stderr}");

    // The approval changed after it was signed: nothing is admitted.
    let original = std::fs::read_to_string(dir.join("approval.toml")).unwrap();
    std::fs::write(dir.join("approval.toml"), original.replace("\"read-position\"", "\"read-portfolio\"")).unwrap();
    let out = tradsys(&dir, &["run", "--config", config.to_str().unwrap(), "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("the signature does not match the file"), "{}", text(&out.stderr));
    std::fs::write(dir.join("approval.toml"), &original).unwrap();

    // Signed by a key that is not trusted.
    assert!(tradsys(&dir, &["keys", "generate", "--out", "stranger"]).status.success());
    let foreign = session_config(&dir, &SECURITY.replace("team.pub", "stranger.pub"));
    let out = tradsys(&dir, &["run", "--config", foreign.to_str().unwrap(), "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("which is not trusted"), "{}", text(&out.stderr));

    // Expired.
    let out = tradsys(
        &dir,
        &["approve", "--key", "team.key", "--out", "old.toml", "--expires", "2020-01-01T00:00:00Z", "--all"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let expired = session_config(&dir, &SECURITY.replace("approval.toml", "old.toml"));
    let out = tradsys(&dir, &["run", "--config", expired.to_str().unwrap(), "--quiet"]);
    assert!(text(&out.stderr).contains("old.toml: expired on 2020-01-01T00:00:00Z"), "{}", text(&out.stderr));
}

#[test]
fn verify_reports_each_plugin_against_this_binary_and_refuses_a_tampered_signature() {
    let dir = scratch("verify");
    assert!(tradsys(&dir, &["keys", "generate", "--out", "team"]).status.success());
    assert!(approve(&dir, &RUN_SET).status.success());
    let out = tradsys(&dir, &["verify", "--approval", "approval.toml", "--trusted", "team.pub"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("signature and date hold; 5 plugins listed"), "{stdout}");
    assert_eq!(stdout.matches("ok: this binary's code is the approved code").count(), 5, "{stdout}");
    // A listed plugin whose code here differs is a failure (the approval is for other code).
    let original = std::fs::read_to_string(dir.join("approval.toml")).unwrap();
    let digest = original.lines().find(|l| l.starts_with("digest")).unwrap().to_owned();
    let changed = original.replacen(&digest, "digest = \"sha256:00\"", 1);
    std::fs::write(dir.join("approval.toml"), &changed).unwrap();
    let out = tradsys(&dir, &["verify", "--approval", "approval.toml", "--trusted", "team.pub"]);
    assert_eq!(out.status.code(), Some(2), "the signature no longer holds");
    assert!(text(&out.stderr).contains("the signature does not match the file"), "{}", text(&out.stderr));
}

/// minisign itself verifies tradsys's signatures, and tradsys verifies minisign's (legacy `-l`).
#[test]
fn approvals_are_minisign_compatible_both_ways() {
    let available = Command::new("minisign").arg("-v").output().is_ok();
    if !available {
        assert!(
            std::env::var_os("CI").is_none(),
            "minisign is not installed: .ci/run installs it (apt-get install minisign)"
        );
        eprintln!("minisign is not installed here; skipping the compatibility check");
        return;
    }
    let dir = scratch("minisign");
    assert!(tradsys(&dir, &["keys", "generate", "--out", "team"]).status.success());
    assert!(approve(&dir, &["matching:fifo"]).status.success());
    let out =
        Command::new("minisign").args(["-Vm", "approval.toml", "-p", "team.pub"]).current_dir(&dir).output().unwrap();
    assert!(out.status.success(), "minisign rejects our signature: {}", text(&out.stderr));
    // A key and a signature made by minisign, checked by tradsys.
    let out = Command::new("minisign")
        .args(["-G", "-W", "-p", "mini.pub", "-s", "mini.key", "-f"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::copy(dir.join("approval.toml"), dir.join("theirs.toml")).unwrap();
    let out = Command::new("minisign")
        .args(["-S", "-l", "-s", "mini.key", "-m", "theirs.toml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = tradsys(&dir, &["verify", "--approval", "theirs.toml", "--trusted", "mini.pub"]);
    assert!(out.status.success(), "tradsys rejects minisign's signature: {}", text(&out.stderr));
}
