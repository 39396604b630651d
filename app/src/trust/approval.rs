//! Approval files: which plugins may run, signed.
//!
//! ```toml
//! # written by `tradsys approve`; its signature is `<file>.minisig`
//! expires = "2027-06-30T00:00:00Z"
//!
//! [[plugins]]
//! kind = "strategy"
//! name = "sma-cross"
//! version = "1.0.0"
//! digest = "sha256:6db1…"
//! capabilities = ["indicators", "read-position", "submit-orders"]
//! ```
//!
//! An approval is read only through [`load`], which verifies its signature against the trusted
//! keys and its date first: an approval that is unsigned, signed by an unknown key, changed after
//! signing or expired yields nothing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tradsys_core::capability::{Capabilities, Capability};
use tradsys_core::plugin::Kind;
use tradsys_core::trust::ApprovedPlugin;

use super::minisign::{self, PublicKey, SignatureError};

/// One plugin an approval file lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalEntry {
    /// Its kind.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// Its exact version.
    pub version: semver::Version,
    /// The digest of its code, `sha256:<hex>`.
    pub digest: String,
    /// The capabilities approved for it.
    pub capabilities: Vec<Capability>,
}

/// An approval file's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalFile {
    /// When the approval stops holding (RFC 3339); it holds forever when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The plugins approved.
    #[serde(default)]
    pub plugins: Vec<ApprovalEntry>,
}

/// Why an approval file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// The file or its signature cannot be read.
    #[error("{path}: cannot read: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// The signature does not hold.
    #[error("{path}: {error}")]
    Signature {
        /// The approval file.
        path: PathBuf,
        /// Why.
        error: SignatureError,
    },
    /// The file is not an approval.
    #[error("{path}: not an approval file: {message}")]
    Format {
        /// The approval file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// It expired.
    #[error("{path}: expired on {expires}")]
    Expired {
        /// The approval file.
        path: PathBuf,
        /// When.
        expires: String,
    },
}

/// How an approval kept beside modules in a plugin directory is named: `<name>.approval.toml`.
pub const BESIDE_MODULES: &str = ".approval.toml";

/// The signature file of an approval: `<file>.minisig`.
#[must_use]
pub fn signature_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".minisig");
    PathBuf::from(name)
}

/// Reads an approval after verifying its signature against `keys` and its date against `now`.
///
/// # Errors
/// Unreadable, unsigned, signed by an untrusted key, changed, malformed or expired.
pub fn load(path: &Path, keys: &[PublicKey], now: jiff::Timestamp) -> Result<Vec<ApprovedPlugin>, ApprovalError> {
    let read = |path: &Path| std::fs::read(path).map_err(|error| ApprovalError::Read { path: path.to_owned(), error });
    let data = read(path)?;
    let signature = read(&signature_path(path))?;
    verify(path, &data, &String::from_utf8_lossy(&signature), keys, now)
}

/// An approval's plugins, from its bytes and signature (read from files or received), after
/// verifying the signature against `keys` and the date against `now`; `path` names it in errors.
///
/// # Errors
/// Unsigned, signed by an untrusted key, changed, malformed or expired.
pub fn verify(
    path: &Path,
    data: &[u8],
    signature: &str,
    keys: &[PublicKey],
    now: jiff::Timestamp,
) -> Result<Vec<ApprovedPlugin>, ApprovalError> {
    minisign::verify(data, signature, keys)
        .map_err(|error| ApprovalError::Signature { path: path.to_owned(), error })?;
    let format = |message: String| ApprovalError::Format { path: path.to_owned(), message };
    let text = std::str::from_utf8(data).map_err(|_| format("not UTF-8".to_owned()))?;
    let file: ApprovalFile = toml::from_str(text).map_err(|e| format(e.message().to_owned()))?;
    if let Some(expires) = &file.expires {
        let at: jiff::Timestamp =
            expires.parse().map_err(|e| format(format!("expires {expires:?}: expected RFC 3339 ({e})")))?;
        if at <= now {
            return Err(ApprovalError::Expired { path: path.to_owned(), expires: expires.clone() });
        }
    }
    Ok(file
        .plugins
        .into_iter()
        .map(|entry| ApprovedPlugin {
            kind: entry.kind,
            name: entry.name,
            version: entry.version,
            digest: entry.digest,
            capabilities: entry.capabilities.into_iter().collect::<Capabilities>(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::minisign::SecretKey;
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tradsys-approval-test-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write_signed(dir: &Path, text: &str, key: &SecretKey) -> PathBuf {
        let path = dir.join("approval.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::write(signature_path(&path), key.sign(text.as_bytes(), "file:approval.toml")).unwrap();
        path
    }

    const ONE: &str = "expires = \"2030-01-01T00:00:00Z\"\n\n[[plugins]]\nkind = \"strategy\"\nname = \"s\"\nversion = \"1.0.0\"\ndigest = \"sha256:aa\"\ncapabilities = [\"submit-orders\"]\n";

    #[test]
    fn a_signed_current_approval_is_read_and_nothing_else_is() {
        let dir = scratch("load");
        let key = SecretKey::from_random([3; 32], [3; 8]);
        let now: jiff::Timestamp = "2026-12-02T00:00:00Z".parse().unwrap();
        let path = write_signed(&dir, ONE, &key);
        let plugins = load(&path, &[key.public()], now).unwrap();
        assert_eq!((plugins.len(), plugins[0].name.as_str()), (1, "s"));
        // Signed by a key that is not trusted.
        let stranger = SecretKey::from_random([4; 32], [4; 8]);
        assert!(matches!(load(&path, &[stranger.public()], now), Err(ApprovalError::Signature { .. })));
        // Changed after signing.
        std::fs::write(&path, ONE.replace("submit-orders", "read-files")).unwrap();
        let error = load(&path, &[key.public()], now).unwrap_err().to_string();
        assert!(error.contains("the signature does not match the file"), "{error}");
        // Expired.
        let path = write_signed(&dir, ONE, &key);
        let later: jiff::Timestamp = "2031-01-01T00:00:00Z".parse().unwrap();
        assert!(matches!(load(&path, &[key.public()], later), Err(ApprovalError::Expired { .. })));
        // No signature at all.
        std::fs::remove_file(signature_path(&path)).unwrap();
        assert!(matches!(load(&path, &[key.public()], now), Err(ApprovalError::Read { .. })));
    }
}
