//! Ed25519 keys and signatures in minisign's text formats, so that approvals can be checked with
//! `minisign -V` as well as by tradsys, and keys made by either can be trusted by the other.
//!
//! - A public key is the line `RW…`: base64 of `Ed`, an 8-byte key id and the 32-byte key, after a
//!   `untrusted comment:` line.
//! - A signature file (`FILE.minisig`) is minisign's: an untrusted comment, base64 of `Ed`, the key
//!   id and the 64-byte signature of the file's bytes; a `trusted comment:` line; and base64 of the
//!   signature of the first signature followed by the trusted comment (so the comment cannot be
//!   changed either). `Ed` is minisign's plain (not pre-hashed) Ed25519, which every version of
//!   minisign verifies.
//! - A secret key is tradsys's own: `Ed`, the key id and the 32-byte seed, in base64, unencrypted
//!   (keep the file private: it is written readable by its owner only). minisign's encrypted secret
//!   keys are not read; sign with tradsys, verify with either.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// What was wrong with a key or signature text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not the expected lines.
    #[error("expected {0}")]
    Shape(&'static str),
    /// A line is not base64.
    #[error("a line is not base64: {0}")]
    Base64(String),
    /// Decoded bytes of the wrong length or algorithm.
    #[error("not an Ed25519 {0} (wrong length or algorithm)")]
    Algorithm(&'static str),
}

/// A key id: 8 bytes, shown as 16 upper-case hex digits as minisign shows it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // minisign prints the id as a little-endian 64-bit number in hex.
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A public key with its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// Its id.
    pub id: KeyId,
    key: VerifyingKey,
}

/// A secret key with its id.
pub struct SecretKey {
    /// Its id.
    pub id: KeyId,
    key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

/// A verified signature's trusted comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The key that signed.
    pub key: KeyId,
    /// The trusted comment.
    pub trusted_comment: String,
}

/// Why a signature was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature file is malformed.
    #[error("malformed signature: {0}")]
    Format(#[from] FormatError),
    /// Signed by a key that is not trusted.
    #[error("signed by key {0}, which is not trusted")]
    UnknownKey(KeyId),
    /// The signature does not match the file (changed since it was signed, or forged).
    #[error("the signature does not match the file (changed since it was signed, or not signed by key {0})")]
    Mismatch(KeyId),
    /// The trusted comment was changed.
    #[error("the trusted comment does not match its signature")]
    Comment,
}

fn decode(line: &str) -> Result<Vec<u8>, FormatError> {
    STANDARD.decode(line.trim()).map_err(|e| FormatError::Base64(e.to_string()))
}

impl SecretKey {
    /// A new key from 32 random bytes (the seed) and 8 more (the id).
    #[must_use]
    pub fn from_random(seed: [u8; 32], id: [u8; 8]) -> SecretKey {
        SecretKey { id: KeyId(id), key: SigningKey::from_bytes(&seed) }
    }

    /// Its public half.
    #[must_use]
    pub fn public(&self) -> PublicKey {
        PublicKey { id: self.id, key: self.key.verifying_key() }
    }

    /// The secret key file's text.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut bytes = b"Ed".to_vec();
        bytes.extend_from_slice(&self.id.0);
        bytes.extend_from_slice(&self.key.to_bytes());
        format!("untrusted comment: tradsys secret key {}\n{}\n", self.id, STANDARD.encode(bytes))
    }

    /// Reads a secret key file's text.
    ///
    /// # Errors
    /// Not a tradsys secret key.
    pub fn from_text(text: &str) -> Result<SecretKey, FormatError> {
        let line = text.lines().find(|l| !l.starts_with("untrusted comment:") && !l.trim().is_empty());
        let bytes = decode(line.ok_or(FormatError::Shape("a secret key line"))?)?;
        if bytes.len() != 42 || &bytes[..2] != b"Ed" {
            return Err(FormatError::Algorithm("secret key"));
        }
        let id: [u8; 8] = bytes[2..10].try_into().map_err(|_| FormatError::Algorithm("secret key"))?;
        let seed: [u8; 32] = bytes[10..].try_into().map_err(|_| FormatError::Algorithm("secret key"))?;
        Ok(SecretKey::from_random(seed, id))
    }

    /// Signs `data` as minisign does (legacy `Ed`), with `trusted_comment`; the `.minisig` text.
    #[must_use]
    pub fn sign(&self, data: &[u8], trusted_comment: &str) -> String {
        let signature = self.key.sign(data).to_bytes();
        let mut global = signature.to_vec();
        global.extend_from_slice(trusted_comment.as_bytes());
        let global = self.key.sign(&global).to_bytes();
        let mut line = b"Ed".to_vec();
        line.extend_from_slice(&self.id.0);
        line.extend_from_slice(&signature);
        format!(
            "untrusted comment: signature from tradsys secret key {}\n{}\ntrusted comment: {trusted_comment}\n{}\n",
            self.id,
            STANDARD.encode(line),
            STANDARD.encode(global)
        )
    }
}

impl PublicKey {
    /// The public key file's text (minisign's).
    #[must_use]
    pub fn to_text(&self) -> String {
        format!("untrusted comment: minisign public key {}\n{}\n", self.id, self.line())
    }

    /// The key line alone (`RW…`), as a config may give it.
    #[must_use]
    pub fn line(&self) -> String {
        let mut bytes = b"Ed".to_vec();
        bytes.extend_from_slice(&self.id.0);
        bytes.extend_from_slice(self.key.as_bytes());
        STANDARD.encode(bytes)
    }

    /// Reads a public key: a minisign `.pub` file's text, or its key line alone.
    ///
    /// # Errors
    /// Not an Ed25519 minisign public key.
    pub fn from_text(text: &str) -> Result<PublicKey, FormatError> {
        let line = text.lines().find(|l| !l.starts_with("untrusted comment:") && !l.trim().is_empty());
        let bytes = decode(line.ok_or(FormatError::Shape("a public key line"))?)?;
        if bytes.len() != 42 || &bytes[..2] != b"Ed" {
            return Err(FormatError::Algorithm("public key"));
        }
        let id: [u8; 8] = bytes[2..10].try_into().map_err(|_| FormatError::Algorithm("public key"))?;
        let key: [u8; 32] = bytes[10..].try_into().map_err(|_| FormatError::Algorithm("public key"))?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| FormatError::Algorithm("public key"))?;
        Ok(PublicKey { id: KeyId(id), key })
    }
}

/// Verifies `.minisig` text over `data` against the trusted `keys`; the trusted comment if it holds.
///
/// # Errors
/// A malformed signature, an untrusted key, a mismatch (the data or the comment changed).
pub fn verify(data: &[u8], signature: &str, keys: &[PublicKey]) -> Result<Verified, SignatureError> {
    let mut lines = signature.lines().filter(|l| !l.trim().is_empty());
    let (Some(_untrusted), Some(sig_line), Some(comment_line), Some(global_line)) =
        (lines.next(), lines.next(), lines.next(), lines.next())
    else {
        return Err(
            FormatError::Shape("four lines: a comment, the signature, the trusted comment, its signature").into()
        );
    };
    let bytes = decode(sig_line)?;
    if bytes.len() != 74 || &bytes[..2] != b"Ed" {
        return Err(FormatError::Algorithm("signature (only minisign's plain Ed signatures are read)").into());
    }
    let id = KeyId(bytes[2..10].try_into().map_err(|_| FormatError::Algorithm("signature"))?);
    let signature = Signature::from_slice(&bytes[10..]).map_err(|_| FormatError::Algorithm("signature"))?;
    let key = keys.iter().find(|k| k.id == id).ok_or(SignatureError::UnknownKey(id))?;
    key.key.verify(data, &signature).map_err(|_| SignatureError::Mismatch(id))?;
    let comment = comment_line
        .strip_prefix("trusted comment: ")
        .ok_or(FormatError::Shape("a `trusted comment:` line"))?
        .to_owned();
    let global = Signature::from_slice(&decode(global_line)?).map_err(|_| FormatError::Algorithm("signature"))?;
    let mut signed = signature.to_bytes().to_vec();
    signed.extend_from_slice(comment.as_bytes());
    key.key.verify(&signed, &global).map_err(|_| SignatureError::Comment)?;
    Ok(Verified { key: id, trusted_comment: comment })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SecretKey {
        SecretKey::from_random([n; 32], [n; 8])
    }

    #[test]
    fn keys_round_trip_through_their_files() {
        let secret = key(7);
        let again = SecretKey::from_text(&secret.to_text()).unwrap();
        assert_eq!(again.public(), secret.public());
        let public = PublicKey::from_text(&secret.public().to_text()).unwrap();
        assert_eq!(public, secret.public());
        assert_eq!(PublicKey::from_text(&public.line()).unwrap(), public, "the key line alone");
        assert!(public.line().starts_with("RW"), "minisign's Ed25519 keys start RW");
        assert!(PublicKey::from_text("untrusted comment: x\nnot base64!\n").is_err());
    }

    #[test]
    fn a_signature_holds_for_its_data_and_comment_and_nothing_else() {
        let secret = key(1);
        let trusted = [secret.public()];
        let signature = secret.sign(b"approval", "timestamp:1 file:a.toml");
        let verified = verify(b"approval", &signature, &trusted).unwrap();
        assert_eq!(verified.trusted_comment, "timestamp:1 file:a.toml");
        assert_eq!(verify(b"approval!", &signature, &trusted), Err(SignatureError::Mismatch(secret.id)));
        let forged_comment = signature.replace("file:a.toml", "file:b.toml");
        assert_eq!(verify(b"approval", &forged_comment, &trusted), Err(SignatureError::Comment));
        let other = key(2);
        assert_eq!(verify(b"approval", &signature, &[other.public()]), Err(SignatureError::UnknownKey(secret.id)));
        // A key that claims the signer's id but is another key is a mismatch, not a pass.
        let impostor = PublicKey { id: secret.id, key: other.public().key };
        assert_eq!(verify(b"approval", &signature, &[impostor]), Err(SignatureError::Mismatch(secret.id)));
    }
}
