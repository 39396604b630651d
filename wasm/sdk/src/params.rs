//! A module's parameters, as the host hands them over: one `key=value` line per parameter of the
//! manifest's `[params]`, each with the config's value or the default, already type-checked
//! against the default by the host.

use crate::types::Price;

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

    /// Price `key` (a number in the manifest, `2.5` in the config), as the host books it: the
    /// number's shortest decimal text, at most 8 decimal places, never rounded, exactly as a
    /// compiled-in plugin's `Price` parameter reads the same config value.
    ///
    /// # Errors
    /// The key is not declared, not a number, or has more than 8 decimal places.
    pub fn price(&self, key: &str) -> Result<Price, String> {
        let number = self.float(key)?;
        // `Display` of an f64 is its shortest decimal text, never an exponent.
        let text = number.to_string();
        decimal(&text)
            .map(Price)
            .ok_or_else(|| format!("parameter {key}: expected a price with at most 8 decimal places, got {text}"))
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

/// Decimal text (`-12.345`) as raw fixed-point units, or `None` if it has more than 8 decimal
/// places or does not fit.
fn decimal(text: &str) -> Option<i64> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let fraction = fraction.trim_end_matches('0');
    if whole.is_empty() || fraction.len() > 8 || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut raw: i64 = whole.parse::<i64>().ok()?.checked_mul(crate::PRICE_SCALE)?;
    let mut scale = crate::PRICE_SCALE;
    for digit in fraction.bytes() {
        scale /= 10;
        raw = raw.checked_add(i64::from(digit - b'0') * scale)?;
    }
    Some(if negative { -raw } else { raw })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price_reads_exactly_and_a_ninth_decimal_is_refused() {
        let params = Params::new("a=2.5\nb=0.1\nc=-3\nd=1e-9\ne=12345678.12345678\n".to_owned());
        assert_eq!(params.price("a"), Ok(Price(250_000_000)));
        assert_eq!(params.price("b"), Ok(Price(10_000_000)));
        assert_eq!(params.price("c"), Ok(Price(-300_000_000)));
        assert!(params.price("d").unwrap_err().contains("at most 8 decimal places"));
        assert_eq!(params.price("e"), Ok(Price(1_234_567_812_345_678)));
    }
}
