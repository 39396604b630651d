//! Text files read line by line with bounded memory: every input file tradsys parses (order flow,
//! CSV bars) goes through [`LineReader`].
//!
//! `BufRead::read_line` grows its buffer until it meets a line break, so a file without one
//! (`/dev/zero`, a sparse file, a corrupt upload) takes all the memory there is, and invalid UTF-8
//! fails the whole read without saying which line. Here a line longer than
//! [`MAX_LINE_BYTES`] is skipped to its end without being kept, and
//! a line that is not UTF-8 is reported with its number; both leave the reader at the next line, so
//! the caller decides whether a bad line is fatal (strict mode) or skipped.
//!
//! ```
//! use tradsys_core::lines::{LineError, LineReader};
//! let mut reader = LineReader::new(&b"a,b\r\nbad \xff\nlast"[..]);
//! assert_eq!(reader.next_line().unwrap(), Some((1, Ok("a,b"))));
//! assert!(matches!(reader.next_line().unwrap(), Some((2, Err(LineError::NotUtf8 { .. })))));
//! assert_eq!(reader.next_line().unwrap(), Some((3, Ok("last"))));
//! assert_eq!(reader.next_line().unwrap(), None);
//! ```

use std::io::{self, BufRead};

use crate::limits::MAX_LINE_BYTES;

/// Why one line could not be read as text. The reader has moved past it either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The line is longer than the limit; it was skipped without being kept.
    #[error("the line is {bytes} bytes long; lines of at most {limit} bytes are read")]
    TooLong {
        /// The line's length, without its line break.
        bytes: u64,
        /// The limit it crossed.
        limit: usize,
    },
    /// The line is not valid UTF-8.
    #[error("not UTF-8 text (invalid byte at column {column})")]
    NotUtf8 {
        /// The 1-based byte position of the first invalid byte.
        column: usize,
    },
}

/// Reads lines (ending in `\n` or `\r\n`, the last one possibly without) from a buffered input.
#[derive(Debug)]
pub struct LineReader<R> {
    input: R,
    buffer: Vec<u8>,
    line: u64,
    limit: usize,
}

impl<R: BufRead> LineReader<R> {
    /// A reader with the default limit, [`MAX_LINE_BYTES`].
    pub fn new(input: R) -> LineReader<R> {
        LineReader::with_limit(input, MAX_LINE_BYTES)
    }

    /// A reader that skips lines longer than `limit` bytes.
    pub fn with_limit(input: R, limit: usize) -> LineReader<R> {
        LineReader { input, buffer: Vec::with_capacity(256), line: 0, limit }
    }

    /// The number of the line last returned (1-based; 0 before the first).
    #[must_use]
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// The next line's number and text (without its line break), or why its text cannot be read;
    /// `None` at the end of the input.
    ///
    /// # Errors
    /// An I/O error of the input.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, Result<&str, LineError>)>> {
        self.buffer.clear();
        let mut bytes: u64 = 0;
        let mut read_any = false;
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                if !read_any {
                    return Ok(None);
                }
                break;
            }
            read_any = true;
            let (chunk, consumed, ended) = match memchr::memchr(b'\n', available) {
                Some(at) => (&available[..at], at + 1, true),
                None => (available, available.len(), false),
            };
            bytes += chunk.len() as u64;
            // Past the limit, nothing more of the line is kept (and what was kept is let go).
            if bytes <= self.limit as u64 {
                self.buffer.extend_from_slice(chunk);
            } else if !self.buffer.is_empty() {
                self.buffer = Vec::with_capacity(256);
            }
            self.input.consume(consumed);
            if ended {
                break;
            }
        }
        self.line += 1;
        if bytes > self.limit as u64 {
            return Ok(Some((self.line, Err(LineError::TooLong { bytes, limit: self.limit }))));
        }
        if self.buffer.last() == Some(&b'\r') {
            self.buffer.pop();
        }
        Ok(Some((
            self.line,
            std::str::from_utf8(&self.buffer).map_err(|error| LineError::NotUtf8 { column: error.valid_up_to() + 1 }),
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn lines(input: &[u8], limit: usize) -> Vec<(u64, Result<String, LineError>)> {
        let mut reader = LineReader::with_limit(io::BufReader::with_capacity(4, input), limit);
        let mut out = Vec::new();
        while let Some((n, line)) = reader.next_line().unwrap() {
            out.push((n, line.map(str::to_owned)));
        }
        out
    }

    #[test]
    fn lines_end_in_lf_or_crlf_and_the_last_may_have_none() {
        assert_eq!(
            lines(b"one\r\ntwo\n\nthree", 100),
            [(1, Ok("one".into())), (2, Ok("two".into())), (3, Ok(String::new())), (4, Ok("three".into()))]
        );
        assert!(lines(b"", 100).is_empty());
    }

    #[test]
    fn a_line_past_the_limit_is_skipped_with_its_length_and_the_next_one_is_read() {
        let mut input = vec![b'x'; 1000];
        input.extend_from_slice(b"\nok\n");
        assert_eq!(lines(&input, 10), [(1, Err(LineError::TooLong { bytes: 1000, limit: 10 })), (2, Ok("ok".into()))]);
        assert_eq!(lines(b"0123456789\n", 10), [(1, Ok("0123456789".into()))], "exactly the limit is read");
    }

    #[test]
    fn invalid_utf8_is_one_bad_line_not_a_failed_read() {
        assert_eq!(
            lines(b"a\n\xc3\x28b\nc\n", 100),
            [(1, Ok("a".into())), (2, Err(LineError::NotUtf8 { column: 1 })), (3, Ok("c".into()))]
        );
    }

    #[test]
    fn memory_stays_bounded_on_an_endless_line() {
        // 64 MiB of zeros and no line break: the reader keeps at most the limit.
        let mut reader = LineReader::with_limit(io::BufReader::new(io::repeat(0).take(64 << 20)), 1 << 10);
        let (_, line) = reader.next_line().unwrap().unwrap();
        assert_eq!(line, Err(LineError::TooLong { bytes: 64 << 20, limit: 1 << 10 }));
        assert!(reader.buffer.capacity() <= 1 << 10, "kept {} bytes", reader.buffer.capacity());
    }
}
