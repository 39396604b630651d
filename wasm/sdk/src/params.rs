//! A module's parameters, as the host hands them over: one `key=value` line per parameter of the
//! manifest's `[params]`, each with the config's value or the default, already type-checked
//! against the default by the host.

/// The parameters given to `configure`.
#[derive(Clone, Debug)]
pub struct Params {
    text: String,
}

impl Params {
    pub(crate) fn new(text: String) -> Params {
        Params { text }
    }

    /// The text of `key`, if the manifest declares it.
    #[must_use]
    pub fn text(&self, key: &str) -> Option<&str> {
        self.text.lines().find_map(|line| line.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))
    }

    /// Integer `key`.
    ///
    /// # Errors
    /// The key is not declared, or not an integer.
    pub fn int(&self, key: &str) -> Result<i64, String> {
        let text = self.text(key).ok_or_else(|| format!("no parameter {key}"))?;
        text.parse().map_err(|_| format!("parameter {key}: expected an integer, got {text}"))
    }

    /// Number `key`.
    ///
    /// # Errors
    /// The key is not declared, or not a number.
    pub fn float(&self, key: &str) -> Result<f64, String> {
        let text = self.text(key).ok_or_else(|| format!("no parameter {key}"))?;
        text.parse().map_err(|_| format!("parameter {key}: expected a number, got {text}"))
    }

    /// Boolean `key`.
    ///
    /// # Errors
    /// The key is not declared, or not `true` or `false`.
    pub fn flag(&self, key: &str) -> Result<bool, String> {
        match self.text(key) {
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(format!("parameter {key}: expected true or false, got {other}")),
            None => Err(format!("no parameter {key}")),
        }
    }
}
