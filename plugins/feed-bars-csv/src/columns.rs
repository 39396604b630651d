//! Which column holds what: found by name (with the names published files use), or by position
//! in a file without a header row.

/// Names each column goes by in published files, compared after [`normalize`].
const TIME: &[&str] = &[
    "time",
    "date",
    "datetime",
    "date_time",
    "timestamp",
    "open time",
    "open_time",
    "opentime",
    // pandas' name for an unnamed index it writes to a Parquet file.
    "__index_level_0__",
];
const OPEN: &[&str] = &["open", "o"];
const HIGH: &[&str] = &["high", "h"];
const LOW: &[&str] = &["low", "l"];
/// `close/last` is Nasdaq's download.
const CLOSE: &[&str] = &["close", "close/last", "last", "c"];
/// Yahoo Finance's adjusted close.
const ADJ_CLOSE: &[&str] = &["adj close", "adj_close", "adjclose", "adjusted close", "adjusted_close"];
const VOLUME: &[&str] = &["volume", "vol", "v"];

/// The position of each field a bar needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) time: usize,
    pub(crate) open: usize,
    pub(crate) high: usize,
    pub(crate) low: usize,
    pub(crate) close: usize,
    /// Present when the adjusted close is asked for.
    pub(crate) adj_close: Option<usize>,
    pub(crate) volume: Option<usize>,
}

impl Layout {
    /// The order of a file without a header row and without a `columns` parameter: time, open,
    /// high, low, close, and volume when there is a sixth field (Binance klines begin this way).
    pub(crate) fn positional(fields: usize) -> Layout {
        Layout { time: 0, open: 1, high: 2, low: 3, close: 4, adj_close: None, volume: (fields > 5).then_some(5) }
    }

    /// Finds the columns by name; the time is the first column when no column is named for it
    /// (pandas writes its index with an empty name).
    ///
    /// # Errors
    /// A price column (or the adjusted close, when `adjusted`) that no name matches, naming it.
    pub(crate) fn from_names<S: AsRef<str>>(names: &[S], adjusted: bool) -> Result<Layout, String> {
        let names: Vec<String> = names.iter().map(|name| normalize(name.as_ref())).collect();
        let find = |aliases: &[&str]| names.iter().position(|name| aliases.contains(&name.as_str()));
        let need = |aliases: &[&str], what: &str| find(aliases).ok_or_else(|| format!("no {what} column"));
        let layout = Layout {
            open: need(OPEN, "open")?,
            high: need(HIGH, "high")?,
            low: need(LOW, "low")?,
            close: need(CLOSE, "close")?,
            adj_close: if adjusted { Some(need(ADJ_CLOSE, "adjusted close (Adj Close)")?) } else { None },
            volume: find(VOLUME),
            time: 0,
        };
        let time = match find(TIME) {
            Some(time) => time,
            None if !layout.uses(0) => 0,
            None => return Err("no time column (name it time, date or timestamp)".to_owned()),
        };
        Ok(Layout { time, ..layout })
    }

    fn uses(&self, at: usize) -> bool {
        [Some(self.open), Some(self.high), Some(self.low), Some(self.close), self.adj_close, self.volume]
            .contains(&Some(at))
    }
}

/// A column name as compared: trimmed, lower case, without a byte-order mark or angle brackets
/// (`<CLOSE>` in MetaTrader exports).
pub(crate) fn normalize(name: &str) -> String {
    let name = name.trim_start_matches('\u{feff}').trim();
    let name = name.strip_prefix('<').and_then(|n| n.strip_suffix('>')).unwrap_or(name);
    name.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_headers_are_understood() {
        let cases: &[(&[&str], Layout)] = &[
            // pandas' to_csv with an unnamed index
            (
                &["", "Open", "High", "Low", "Close", "Volume"],
                Layout { time: 0, open: 1, high: 2, low: 3, close: 4, adj_close: None, volume: Some(5) },
            ),
            // Nasdaq's download: newest first, Close/Last before Open
            (
                &["Date", "Close/Last", "Volume", "Open", "High", "Low"],
                Layout { time: 0, open: 3, high: 4, low: 5, close: 1, adj_close: None, volume: Some(2) },
            ),
            // Binance klines with names, and a byte-order mark from Excel
            (
                &["\u{feff}open_time", "open", "high", "low", "close", "volume", "close_time"],
                Layout { time: 0, open: 1, high: 2, low: 3, close: 4, adj_close: None, volume: Some(5) },
            ),
            // The time elsewhere than first, MetaTrader's brackets
            (
                &["<OPEN>", "<HIGH>", "<LOW>", "<CLOSE>", "<DATE>"],
                Layout { time: 4, open: 0, high: 1, low: 2, close: 3, adj_close: None, volume: None },
            ),
        ];
        for (names, expected) in cases {
            assert_eq!(Layout::from_names(names, false).as_ref(), Ok(expected), "{names:?}");
        }
    }

    #[test]
    fn the_adjusted_close_is_required_only_when_asked_for() {
        let yahoo = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"];
        assert_eq!(Layout::from_names(&yahoo, true).unwrap().adj_close, Some(5));
        assert_eq!(Layout::from_names(&yahoo, false).unwrap().adj_close, None);
        let plain = ["Date", "Open", "High", "Low", "Close"];
        assert_eq!(Layout::from_names(&plain, true).unwrap_err(), "no adjusted close (Adj Close) column");
    }

    #[test]
    fn a_missing_column_is_named() {
        assert_eq!(Layout::from_names(&["date", "open", "high", "low"], false).unwrap_err(), "no close column");
        assert_eq!(
            Layout::from_names(&["open", "high", "low", "close"], false).unwrap_err(),
            "no time column (name it time, date or timestamp)"
        );
    }
}
