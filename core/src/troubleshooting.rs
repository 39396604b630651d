//! Pointers from error messages to the troubleshooting guide (`docs/troubleshooting.md`), for the
//! errors whose fix needs more than the message can say: why a plugin is missing from a binary,
//! how versions are chosen, what capabilities and approvals are.
//!
//! A message ends with [`Topic::see`]; the test below reads the guide and fails when a topic's
//! anchor names no entry, so a pointer never leads nowhere.

/// An entry of the troubleshooting guide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// A config names a plugin the binary does not have.
    PluginNotInRegistry,
    /// No version of a plugin meets the config's requirement.
    VersionNotFound,
    /// Two requirements on one plugin that no version meets together.
    VersionConflict,
    /// A plugin needs another that the binary does not have.
    MissingDependency,
    /// Components that need each other.
    DependencyCycle,
    /// A config grants less than a plugin declares.
    CapabilityNotGranted,
    /// A running component called something it was not granted.
    CallRefused,
    /// `security.require_approval` refused a plugin.
    ApprovalRefused,
}

impl Topic {
    /// Every topic, for the test that checks each has its entry.
    pub const ALL: [Topic; 8] = [
        Topic::PluginNotInRegistry,
        Topic::VersionNotFound,
        Topic::VersionConflict,
        Topic::MissingDependency,
        Topic::DependencyCycle,
        Topic::CapabilityNotGranted,
        Topic::CallRefused,
        Topic::ApprovalRefused,
    ];

    /// The entry's anchor: its heading as GitHub links it.
    #[must_use]
    pub const fn anchor(self) -> &'static str {
        match self {
            Topic::PluginNotInRegistry => "plugin-not-in-the-registry",
            Topic::VersionNotFound => "version-not-found",
            Topic::VersionConflict => "version-conflict",
            Topic::MissingDependency => "missing-dependency",
            Topic::DependencyCycle => "dependency-cycle",
            Topic::CapabilityNotGranted => "capability-not-granted",
            Topic::CallRefused => "a-call-refused-while-running",
            Topic::ApprovalRefused => "approval-refused",
        }
    }

    /// The pointer a message ends with: `see docs/troubleshooting.md#version-not-found`.
    ///
    /// ```
    /// use tradsys_core::troubleshooting::Topic;
    /// assert_eq!(Topic::VersionNotFound.see(), "see docs/troubleshooting.md#version-not-found");
    /// ```
    #[must_use]
    pub fn see(self) -> String {
        format!("see docs/troubleshooting.md#{}", self.anchor())
    }
}

/// The anchor a Markdown heading gets on GitHub (and in most renderers): lower case, spaces as
/// `-`, other punctuation dropped. Shared by the troubleshooting pointers and the generated
/// config reference's links, so both link the way the documents render.
///
/// ```
/// use tradsys_core::troubleshooting::heading_anchor;
/// assert_eq!(heading_anchor("Risk validators (risk)"), "risk-validators-risk");
/// assert_eq!(heading_anchor("`[session.bars]`"), "sessionbars");
/// ```
#[must_use]
pub fn heading_anchor(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Topic, heading_anchor};

    #[test]
    fn every_pointer_leads_to_an_entry_of_the_guide() {
        let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/troubleshooting.md"))
            .expect("docs/troubleshooting.md");
        let anchors: Vec<String> =
            guide.lines().filter_map(|line| line.strip_prefix("### ")).map(heading_anchor).collect();
        for topic in Topic::ALL {
            assert!(
                anchors.iter().any(|a| a == topic.anchor()),
                "{topic:?}: no heading with anchor {}",
                topic.anchor()
            );
            assert!(guide.contains(&topic.see()), "{topic:?}: the guide does not show the message's pointer");
        }
    }
}
