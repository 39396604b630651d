//! "Did you mean" suggestions for names typed by hand (plugin names, config keys, parameters).

/// Returns `; did you mean "x"?` for the candidate closest to `typed`, or an empty string when none is
/// close enough (Jaro-Winkler similarity above 0.8, the threshold clap uses).
#[must_use]
pub fn did_you_mean<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(typed, candidates).map(|name| format!("; did you mean {name:?}?")).unwrap_or_default()
}

/// Names joined with `, `, or `none` for an empty list: the "available: ..." part of messages.
#[must_use]
pub fn list_or_none<S: AsRef<str>>(names: &[S]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
}

/// The candidate closest to `typed`, if any is close enough.
#[must_use]
pub fn nearest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|name| (strsim::jaro_winkler(typed, name), name))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_name_only_when_close() {
        assert_eq!(did_you_mean("sma-crosss", ["sma-cross", "market-maker"]), "; did you mean \"sma-cross\"?");
        assert_eq!(did_you_mean("zzz", ["sma-cross", "market-maker"]), "");
    }
}
