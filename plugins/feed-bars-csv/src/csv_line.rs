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
        // The common line, without quotes: its commas are found eight bytes at a time, and the
        // first quote sends the line to the quoting rules instead (this runs on every row).
        let bytes = line.as_bytes();
        let (words, rest) = bytes.as_chunks::<8>();
        let mut start = 0;
        for (index, word) in words.iter().enumerate() {
            let word = u64::from_le_bytes(*word);
            if bytes_equal_to(word, b'"') != 0 {
                return self.split_quoted(line);
            }
            let mut commas = bytes_equal_to(word, b',');
            while commas != 0 {
                let at = index * 8 + (commas.trailing_zeros() / 8) as usize;
                self.fields.push(start..at);
                start = at + 1;
                commas &= commas - 1;
            }
        }
        let tail = words.len() * 8;
        for (offset, &byte) in rest.iter().enumerate() {
            if byte == b'"' {
                return self.split_quoted(line);
            }
            if byte == b',' {
                self.fields.push(start..tail + offset);
                start = tail + offset + 1;
            }
        }
        self.fields.push(start..line.len());
        self.text.push_str(line);
        Ok(())
    }

    /// [`Self::split`] for a line with a quote in it (RFC 4180 quoting inside the line).
    #[cold]
    fn split_quoted(&mut self, line: &str) -> Result<(), String> {
        self.text.clear();
        self.fields.clear();
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

/// The high bit of every byte of `word` that equals `byte`, and no other bit.
///
/// XOR zeroes the matching bytes. For each byte of the result, adding 0x7F to its low seven bits
/// sets the high bit unless they are all zero, and cannot carry into the next byte; OR-ing the
/// byte itself adds its own high bit. So the high bit stays clear exactly where the byte was zero,
/// with no false match from a borrow (unlike the shorter `(x - 0x01..) & !x` test).
#[inline]
fn bytes_equal_to(word: u64, byte: u8) -> u64 {
    const LOW_SEVEN: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let zeroed = word ^ (0x0101_0101_0101_0101 * u64::from(byte));
    !(((zeroed & LOW_SEVEN) + LOW_SEVEN) | zeroed | LOW_SEVEN)
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

    /// What the quoting rules make of `line`, which they read field by field.
    fn split_by_the_quoting_rules(line: &str) -> Result<Vec<String>, String> {
        let mut fields = CsvLine::default();
        fields.split_quoted(line)?;
        Ok(fields.iter().map(str::to_owned).collect())
    }

    proptest::proptest! {
        /// The word-at-a-time scan agrees with the plain field-by-field rules on any line, quotes
        /// or not, commas in any byte of a word (multi-byte characters included).
        #[test]
        fn the_word_scan_agrees_with_the_quoting_rules(line in "[a1,\" \t\u{e9}\u{20ac}]{0,40}") {
            proptest::prop_assert_eq!(split(&line), split_by_the_quoting_rules(&line), "{:?}", line);
        }

        /// Without quotes a line's fields are its comma-separated pieces, trimmed.
        #[test]
        fn a_line_without_quotes_is_its_comma_separated_pieces(line in "[a1, \t\u{e9}]{0,40}") {
            let pieces: Vec<String> = line.split(',').map(|piece| piece.trim_ascii().to_owned()).collect();
            proptest::prop_assert_eq!(split(&line), Ok(pieces), "{:?}", line);
        }
    }

    #[test]
    fn bytes_equal_to_marks_exactly_the_matching_bytes() {
        for byte in [b',', b'"', 0, 0x80, 0xFF] {
            for others in [0u8, 1, b'+', b'-', 0x7F, 0x81, 0xFE, 0xFF] {
                for mask in 0u32..256 {
                    let bytes: [u8; 8] = std::array::from_fn(|at| if mask >> at & 1 == 1 { byte } else { others });
                    let expected: u64 = (0..8).filter(|at| bytes[*at] == byte).map(|at| 0x80 << (8 * at)).sum();
                    assert_eq!(bytes_equal_to(u64::from_le_bytes(bytes), byte), expected, "{bytes:?} for {byte}");
                }
            }
        }
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
