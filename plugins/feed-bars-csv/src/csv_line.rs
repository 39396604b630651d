//! One CSV line split into fields, with RFC 4180 quoting inside the line (`"1,234.5"`,
//! `"say ""hi"""`).
//!
//! Bars files are line-oriented: a quote never spans lines, so a stray quote is a bad row (with its
//! number) instead of swallowing the rest of the file. The fields are copied into one reused buffer,
//! so splitting allocates nothing once the buffer has grown to the longest line.

use std::ops::Range;

/// The fields of the last line split, in a reused buffer.
#[derive(Debug, Default)]
pub(crate) struct CsvLine {
    text: String,
    fields: Vec<Range<usize>>,
}

impl CsvLine {
    /// Splits `line` at its commas; quoted fields are unquoted.
    ///
    /// # Errors
    /// A quote that does not close before the end of the line, or text after a closing quote.
    pub(crate) fn split(&mut self, line: &str) -> Result<(), String> {
        self.text.clear();
        self.fields.clear();
        // The common line, without quotes: its commas, found a word at a time.
        if memchr::memchr(b'"', line.as_bytes()).is_none() {
            self.text.push_str(line);
            let mut start = 0;
            for at in memchr::memchr_iter(b',', line.as_bytes()) {
                self.fields.push(start..at);
                start = at + 1;
            }
            self.fields.push(start..line.len());
            return Ok(());
        }
        let mut rest = line;
        loop {
            let start = self.text.len();
            let trimmed = rest.trim_start_matches([' ', '\t']);
            if let Some(quoted) = trimmed.strip_prefix('"') {
                let mut chars = quoted.char_indices();
                let mut closed = None;
                while let Some((at, c)) = chars.next() {
                    if c != '"' {
                        self.text.push(c);
                    } else if quoted[at + 1..].starts_with('"') {
                        self.text.push('"');
                        chars.next();
                    } else {
                        closed = Some(at + 1);
                        break;
                    }
                }
                let Some(after) = closed else {
                    return Err(format!(
                        "field {} opens a quote that does not close on this line",
                        self.fields.len() + 1
                    ));
                };
                self.fields.push(start..self.text.len());
                let after = quoted[after..].trim_start_matches([' ', '\t']);
                match after.strip_prefix(',') {
                    Some(next) => rest = next,
                    None if after.is_empty() => return Ok(()),
                    None => {
                        return Err(format!("field {} has text after its closing quote", self.fields.len()));
                    }
                }
            } else {
                let end = rest.find(',').unwrap_or(rest.len());
                if rest[..end].contains('"') {
                    return Err(format!("field {} has a quote inside an unquoted field", self.fields.len() + 1));
                }
                self.text.push_str(&rest[..end]);
                self.fields.push(start..self.text.len());
                if end == rest.len() {
                    return Ok(());
                }
                rest = &rest[end + 1..];
            }
        }
    }

    /// Field `at` (0-based), trimmed of surrounding ASCII spaces and tabs, if the line has it.
    pub(crate) fn get(&self, at: usize) -> Option<&str> {
        self.fields.get(at).map(|range| self.text[range.clone()].trim_ascii())
    }

    /// The fields, trimmed.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.fields.len()).filter_map(|at| self.get(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Result<Vec<String>, String> {
        let mut fields = CsvLine::default();
        fields.split(line)?;
        Ok(fields.iter().map(str::to_owned).collect())
    }

    #[test]
    fn plain_and_quoted_fields() {
        assert_eq!(split("a,b,,c").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(split("").unwrap(), [""]);
        assert_eq!(split("\"1,234.5\",x").unwrap(), ["1,234.5", "x"]);
        assert_eq!(split("\"say \"\"hi\"\"\", \"\"").unwrap(), ["say \"hi\"", ""]);
    }

    #[test]
    fn a_stray_quote_is_an_error_on_its_line() {
        assert_eq!(
            split("\"2017-01-01,1,2,0.5,1.5").unwrap_err(),
            "field 1 opens a quote that does not close on this line"
        );
        assert_eq!(split("a,\"b\"c").unwrap_err(), "field 2 has text after its closing quote");
        assert_eq!(split("a,b\"c").unwrap_err(), "field 2 has a quote inside an unquoted field");
    }
}
