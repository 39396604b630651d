//! Admission: which plugins may be activated, decided before any of their code runs.
//!
//! With `security.require_approval = true`, a plugin runs only if a signed approval lists it: its
//! kind, name and version, the digest of its code (a compiled-in crate's sources, a module's bytes)
//! and the capabilities approved for it. The binary verifies the approvals' signatures against the
//! trusted keys (in `app`, which holds the cryptography) and hands the planner the verified
//! [`Approvals`]; [`plan_with`](crate::factory::plan_with) asks them about every plugin a run may use
//! before it reads a single parameter with the plugin's code.
//!
//! ```
//! use tradsys_core::trust::{Admission, AdmitAll};
//! // Without approvals required, every registered plugin is admitted.
//! let _all: &dyn Admission = &AdmitAll;
//! ```

use std::fmt;

use crate::capability::{Capabilities, Capability};
use crate::plugin::Kind;
use crate::registry::RegisteredComponent;
use crate::troubleshooting::Topic;

/// Why a plugin may not be activated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// No approval lists this kind, name and version.
    #[error("{kind} {label} is not approved: no approval lists it; {see}", see = Topic::ApprovalRefused.see())]
    NotListed {
        /// Its kind.
        kind: Kind,
        /// `name@version`.
        label: String,
    },
    /// An approval lists it, but its code is not the code approved (changed, or tampered with).
    #[error("{kind} {label} is not approved: its code has digest {actual}, the approval names {approved}; {see}", see = Topic::ApprovalRefused.see())]
    DigestMismatch {
        /// Its kind.
        kind: Kind,
        /// `name@version`.
        label: String,
        /// The digest of the code that would run.
        actual: String,
        /// The digest the approval names.
        approved: String,
    },
    /// Its digest is unknown (a binary built without digests), so no approval can vouch for it.
    #[error("{kind} {label} is not approved: this binary carries no digest of its code; {see}", see = Topic::ApprovalRefused.see())]
    NoDigest {
        /// Its kind.
        kind: Kind,
        /// `name@version`.
        label: String,
    },
    /// It declares capabilities beyond those approved.
    #[error("{kind} {label} is not approved for {missing}: the approval grants only {approved}; {see}", see = Topic::ApprovalRefused.see())]
    Capabilities {
        /// Its kind.
        kind: Kind,
        /// `name@version`.
        label: String,
        /// What it declares but the approval does not grant.
        missing: String,
        /// What the approval grants.
        approved: String,
    },
}

/// Decides whether a registered plugin may be activated.
pub trait Admission: Send + Sync + fmt::Debug {
    /// `Ok` if `component` may run.
    ///
    /// # Errors
    /// Why it may not.
    fn admit(&self, component: &RegisteredComponent) -> Result<(), AdmissionError>;
}

/// Every plugin is admitted (approvals not required).
#[derive(Clone, Copy, Debug, Default)]
pub struct AdmitAll;

impl Admission for AdmitAll {
    fn admit(&self, _component: &RegisteredComponent) -> Result<(), AdmissionError> {
        Ok(())
    }
}

/// One plugin an approval lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovedPlugin {
    /// Its kind.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// Its exact version.
    pub version: semver::Version,
    /// The digest of its code, `sha256:<hex>`.
    pub digest: String,
    /// The capabilities approved for it.
    pub capabilities: Capabilities,
}

/// The plugins of verified approvals: what may run when approvals are required.
#[derive(Clone, Debug, Default)]
pub struct Approvals {
    plugins: Vec<ApprovedPlugin>,
}

impl Approvals {
    /// Approvals of these plugins (from approval files whose signatures and dates were verified).
    #[must_use]
    pub fn new(plugins: Vec<ApprovedPlugin>) -> Approvals {
        Approvals { plugins }
    }

    /// The plugins approved.
    #[must_use]
    pub fn plugins(&self) -> &[ApprovedPlugin] {
        &self.plugins
    }
}

impl Admission for Approvals {
    fn admit(&self, component: &RegisteredComponent) -> Result<(), AdmissionError> {
        let descriptor = &component.descriptor;
        let (kind, label) = (descriptor.kind, descriptor.label());
        let listed: Vec<&ApprovedPlugin> = self
            .plugins
            .iter()
            .filter(|p| p.kind == kind && p.name == *descriptor.name && p.version == component.version)
            .collect();
        let Some(first) = listed.first() else {
            return Err(AdmissionError::NotListed { kind, label });
        };
        let Some(actual) = &component.digest else {
            return Err(AdmissionError::NoDigest { kind, label });
        };
        let Some(approved) = listed.iter().find(|p| p.digest == *actual) else {
            return Err(AdmissionError::DigestMismatch {
                kind,
                label,
                actual: actual.clone(),
                approved: first.digest.clone(),
            });
        };
        let missing = Capabilities::of(&descriptor.capabilities).missing_from(approved.capabilities);
        if !missing.is_empty() {
            return Err(AdmissionError::Capabilities {
                kind,
                label,
                missing: missing.iter().map(Capability::as_str).collect::<Vec<_>>().join(", "),
                approved: approved.capabilities.names(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::registry::Origin;
    use crate::test_support::make_descriptor;

    fn registered(digest: Option<&str>, capabilities: &'static [Capability]) -> RegisteredComponent {
        let mut descriptor = make_descriptor(Kind::Strategy, "s", "1.2.0", &[]);
        descriptor.capabilities = capabilities.into();
        RegisteredComponent {
            descriptor: Arc::new(descriptor),
            version: "1.2.0".parse().unwrap(),
            origin: Origin::CompiledIn,
            digest: digest.map(str::to_owned),
        }
    }

    fn approvals() -> Approvals {
        Approvals::new(vec![ApprovedPlugin {
            kind: Kind::Strategy,
            name: "s".to_owned(),
            version: "1.2.0".parse().unwrap(),
            digest: "sha256:aa".to_owned(),
            capabilities: Capabilities::of(&[Capability::SubmitOrders]),
        }])
    }

    #[test]
    fn only_the_listed_code_with_no_more_than_its_approved_capabilities_is_admitted() {
        let approvals = approvals();
        assert_eq!(approvals.admit(&registered(Some("sha256:aa"), &[Capability::SubmitOrders])), Ok(()));
        let tampered = approvals.admit(&registered(Some("sha256:bb"), &[])).unwrap_err();
        assert_eq!(
            tampered.to_string(),
            "strategy s@1.2.0 is not approved: its code has digest sha256:bb, the approval names sha256:aa; see docs/troubleshooting.md#approval-refused"
        );
        let greedy =
            approvals.admit(&registered(Some("sha256:aa"), &[Capability::SubmitOrders, Capability::ReadFiles]));
        assert!(greedy.unwrap_err().to_string().contains("is not approved for read-files"));
        assert!(matches!(approvals.admit(&registered(None, &[])), Err(AdmissionError::NoDigest { .. })));
        let mut other = registered(Some("sha256:aa"), &[]);
        other.version = "1.3.0".parse().unwrap();
        assert!(matches!(approvals.admit(&other), Err(AdmissionError::NotListed { .. })));
    }
}
