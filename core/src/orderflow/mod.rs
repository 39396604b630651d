//! The order-flow file format: one command per CSV row, read by `replay` and the order-flow feed,
//! written by `gen orders` and the synthetic feed.
//!
//! ```text
//! action,id,symbol,side,type,price,qty,tif,owner
//! new,1,XYZ,buy,limit,101.25,5,gtc,alice
//! modify,1,XYZ,,,101.50,,,
//! cancel,1,,,,,,,
//! ```
//!
//! Columns are found by header name (any order); an optional `ts` column gives each row a time in
//! nanoseconds since the epoch. Fields are plain text: no quoting, so no field may hold a comma
//! (symbols and owners are `[A-Za-z0-9._/-]`). See `docs/order-flow-format.md` for every rule.
//! Malformed rows are reported with their line number; well-formed but invalid orders (zero
//! quantity, price off tick) are left for the book to reject, so they show up as `rejected` events.

pub mod generator;

use std::io::{self, Write};

use rustc_hash::FxHashMap;

use crate::book::NewOrder;
use crate::instrument::InstrumentTable;
use crate::limits::{MAX_OWNERS, TIMESTAMP_YEARS, excerpt, timestamp_range};
use crate::types::{InstrumentId, OrderId, OrderType, OwnerId, Price, Qty, Side, TimeInForce, Timestamp};

/// One command of an order flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderCommand {
    /// A new order.
    New {
        /// The instrument.
        instrument: InstrumentId,
        /// The order.
        order: NewOrder,
    },
    /// Cancel a resting order; without an instrument, every book is searched in instrument order.
    Cancel {
        /// The instrument, if given.
        instrument: Option<InstrumentId>,
        /// The order.
        id: OrderId,
    },
    /// Change a resting order's price and/or open quantity.
    Modify {
        /// The instrument, if given.
        instrument: Option<InstrumentId>,
        /// The order.
        id: OrderId,
        /// The new price, if changed.
        price: Option<Price>,
        /// The new open quantity, if changed.
        qty: Option<Qty>,
    },
}

impl OrderCommand {
    /// The order id the command names.
    #[must_use]
    pub fn id(&self) -> OrderId {
        match self {
            OrderCommand::New { order, .. } => order.id,
            OrderCommand::Cancel { id, .. } | OrderCommand::Modify { id, .. } => *id,
        }
    }
}

/// The header `gen orders` writes.
pub const HEADER: &str = "action,id,symbol,side,type,price,qty,tif,owner";

const COLUMNS: [&str; 9] = ["action", "id", "symbol", "side", "type", "price", "qty", "tif", "owner"];
const TS_COLUMN: usize = 9;

/// A row that could not be read, with its 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RowError {
    /// The line number, counting the header as line 1.
    pub line: u64,
    /// What was wrong and what was expected.
    pub message: String,
}

/// A parsed row: the command and, if the file has a `ts` column, its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderFlowRow {
    /// The command.
    pub command: OrderCommand,
    /// The row's time, if given.
    pub ts: Option<Timestamp>,
}

/// Reads order-flow rows, interning symbols into an [`InstrumentTable`] and owners into [`OwnerId`]s.
#[derive(Debug)]
pub struct OrderFlowParser {
    /// Column index of each field in `COLUMNS` order, then `ts`.
    positions: [Option<usize>; 10],
    width: usize,
    owners: FxHashMap<String, OwnerId>,
    last_symbol: Option<(String, InstrumentId)>,
}

impl OrderFlowParser {
    /// Reads the header row.
    ///
    /// # Errors
    /// A required column is missing, or a column is unknown or repeated.
    pub fn from_header(header: &str) -> Result<OrderFlowParser, RowError> {
        let mut positions = [None; 10];
        let fields: Vec<&str> = header.trim_end_matches(['\r', '\n']).split(',').map(str::trim).collect();
        for (at, name) in fields.iter().enumerate() {
            let slot = COLUMNS.iter().position(|c| c == name).or((*name == "ts").then_some(TS_COLUMN));
            let Some(slot) = slot else {
                return Err(RowError {
                    line: 1,
                    message: format!(
                        "unknown column {}{}; expected the header {HEADER} (and optionally ts)",
                        excerpt(name),
                        crate::suggest::did_you_mean(name, COLUMNS.iter().copied().chain(["ts"]))
                    ),
                });
            };
            if positions[slot].replace(at).is_some() {
                return Err(RowError { line: 1, message: format!("column {} appears twice", excerpt(name)) });
            }
        }
        for required in ["action", "id"] {
            if positions[COLUMNS.iter().position(|c| *c == required).unwrap_or(0)].is_none() {
                return Err(RowError {
                    line: 1,
                    message: format!("missing column {required:?}; expected the header {HEADER}"),
                });
            }
        }
        Ok(OrderFlowParser { positions, width: fields.len(), owners: FxHashMap::default(), last_symbol: None })
    }

    /// Reads one data row (`line` is its 1-based line number, for errors).
    ///
    /// # Errors
    /// The row is malformed: wrong number of fields, unknown action/side/type/tif, unreadable number,
    /// a missing field the action needs, or a bad symbol.
    #[inline]
    pub fn parse(
        &mut self,
        text: &str,
        line: u64,
        instruments: &mut InstrumentTable,
    ) -> Result<OrderFlowRow, RowError> {
        let text = text.trim_end_matches(['\r', '\n']);
        let mut fields = [""; 10];
        let count = split_fields(text, &mut fields);
        if count != self.width {
            return Err(row_error(line, format!("expected {} fields, found {count}", self.width)));
        }
        let field = |slot: usize| self.positions[slot].map_or("", |at| fields[at]);
        let (action, id_text, symbol, side, order_type, price, qty, tif, owner) =
            (field(0), field(1), field(2), field(3), field(4), field(5), field(6), field(7), field(8));
        let ts = match field(TS_COLUMN) {
            "" => None,
            text => Some(parse_ts(text, line)?),
        };
        let id = OrderId(parse_int(id_text, "id", line).and_then(|v| {
            u64::try_from(v)
                .map_err(|_| row_error(line, format!("id must be a non-negative integer, got {}", excerpt(id_text))))
        })?);
        let command = match action {
            "new" => {
                if symbol.is_empty() {
                    return Err(row_error(line, "new order without a symbol".to_owned()));
                }
                let instrument = self.instrument(symbol, line, instruments)?;
                let side = match side {
                    "buy" => Side::Buy,
                    "sell" => Side::Sell,
                    other => return Err(row_error(line, format!("side must be buy or sell, got {}", excerpt(other)))),
                };
                let order_type = match order_type {
                    "limit" => OrderType::Limit,
                    "market" => OrderType::Market,
                    other => {
                        return Err(row_error(line, format!("type must be limit or market, got {}", excerpt(other))));
                    }
                };
                let tif = match tif {
                    "" | "gtc" => TimeInForce::Gtc,
                    "ioc" => TimeInForce::Ioc,
                    "fok" => TimeInForce::Fok,
                    "gtx" => TimeInForce::Gtx,
                    other => {
                        return Err(row_error(
                            line,
                            format!("tif must be gtc, ioc, fok or gtx, got {}", excerpt(other)),
                        ));
                    }
                };
                if qty.is_empty() {
                    return Err(row_error(line, "new order without a qty".to_owned()));
                }
                let owner = self.owner(owner, line)?;
                let order = NewOrder {
                    id,
                    side,
                    order_type,
                    price: parse_price(price, line)?,
                    trigger: None,
                    qty: Qty(parse_int(qty, "qty", line)?),
                    tif,
                    owner,
                };
                OrderCommand::New { instrument, order }
            }
            "cancel" => OrderCommand::Cancel { instrument: self.optional_instrument(symbol, line, instruments)?, id },
            "modify" => OrderCommand::Modify {
                instrument: self.optional_instrument(symbol, line, instruments)?,
                id,
                price: parse_price(price, line)?,
                qty: if qty.is_empty() { None } else { Some(Qty(parse_int(qty, "qty", line)?)) },
            },
            other => {
                return Err(row_error(line, format!("action must be new, cancel or modify, got {}", excerpt(other))));
            }
        };
        Ok(OrderFlowRow { command, ts })
    }

    /// The name an owner id was interned from.
    #[must_use]
    pub fn owner_name(&self, owner: OwnerId) -> Option<&str> {
        self.owners.iter().find(|(_, id)| **id == owner).map(|(name, _)| name.as_str())
    }

    fn optional_instrument(
        &mut self,
        symbol: &str,
        line: u64,
        instruments: &mut InstrumentTable,
    ) -> Result<Option<InstrumentId>, RowError> {
        if symbol.is_empty() { Ok(None) } else { self.instrument(symbol, line, instruments).map(Some) }
    }

    #[inline]
    fn instrument(
        &mut self,
        symbol: &str,
        line: u64,
        instruments: &mut InstrumentTable,
    ) -> Result<InstrumentId, RowError> {
        if let Some((last, id)) = &self.last_symbol
            && last == symbol
        {
            return Ok(*id);
        }
        let id = instruments.resolve(symbol).map_err(|error| row_error(line, error.to_string()))?;
        // The symbol changes on every row of a many-symbol file: keep the one allocation.
        match &mut self.last_symbol {
            Some((last, last_id)) => {
                last.clear();
                last.push_str(symbol);
                *last_id = id;
            }
            None => self.last_symbol = Some((symbol.to_owned(), id)),
        }
        Ok(id)
    }

    fn owner(&mut self, owner: &str, line: u64) -> Result<Option<OwnerId>, RowError> {
        if owner.is_empty() {
            return Ok(None);
        }
        if let Some(&id) = self.owners.get(owner) {
            return Ok(Some(id));
        }
        if !crate::instrument::is_valid_symbol(owner) {
            return Err(row_error(
                line,
                format!("bad owner {}: expected 1 to 64 letters, digits, '.', '_', '/' or '-'", excerpt(owner)),
            ));
        }
        if self.owners.len() >= MAX_OWNERS {
            return Err(row_error(line, format!("owner {owner}: more than {MAX_OWNERS} owners in one file")));
        }
        let id =
            OwnerId::new(self.owners.len() as u32 + 1).ok_or_else(|| row_error(line, "too many owners".to_owned()))?;
        self.owners.insert(owner.to_owned(), id);
        Ok(Some(id))
    }
}

/// Splits a row at its commas into `fields` (the first ten; the rest are only counted) and returns
/// the number of fields. A plain byte scan: `str::split` cost about 20% of a whole replay on rows
/// this short (a word-at-a-time scan measured no faster than this loop).
#[inline]
fn split_fields<'a>(text: &'a str, fields: &mut [&'a str; 10]) -> usize {
    let mut count = 0;
    let mut start = 0;
    for (at, &byte) in text.as_bytes().iter().enumerate() {
        if byte == b',' {
            if count < fields.len() {
                // ',' is ASCII, so both ends are character boundaries.
                fields[count] = &text[start..at];
            }
            count += 1;
            start = at + 1;
        }
    }
    if count < fields.len() {
        fields[count] = &text[start..];
    }
    count + 1
}

#[cold]
#[inline(never)]
fn row_error(line: u64, message: String) -> RowError {
    RowError { line, message }
}

#[inline]
fn parse_int(text: &str, what: &str, line: u64) -> Result<i64, RowError> {
    text.parse::<i64>().map_err(|_| row_error(line, format!("{what} must be an integer, got {}", excerpt(text))))
}

/// A `ts` field: nanoseconds since the epoch, inside the timestamp range.
#[inline]
fn parse_ts(text: &str, line: u64) -> Result<Timestamp, RowError> {
    let nanos = parse_int(text, "ts", line)?;
    let (first, last) = timestamp_range();
    if (first.0..=last.0).contains(&nanos) {
        return Ok(Timestamp(nanos));
    }
    Err(row_error(
        line,
        format!(
            "ts {nanos} is outside the years {} to {} (nanoseconds since the epoch)",
            TIMESTAMP_YEARS.0, TIMESTAMP_YEARS.1
        ),
    ))
}

#[inline]
fn parse_price(text: &str, line: u64) -> Result<Option<Price>, RowError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<Price>().map(Some).map_err(|error| row_error(line, format!("price: {error}")))
}

/// Writes one command as a CSV row (no `ts` column); owners are written as `u<id>`.
///
/// # Errors
/// The writer's I/O errors.
pub fn write_command(out: &mut impl Write, command: &OrderCommand, instruments: &InstrumentTable) -> io::Result<()> {
    let symbol = |instrument: Option<InstrumentId>| instrument.map_or("", |i| instruments.get(i).symbol.as_str());
    match command {
        OrderCommand::New { instrument, order } => {
            write!(
                out,
                "new,{},{},{},{},",
                order.id,
                symbol(Some(*instrument)),
                order.side,
                order.order_type.as_str()
            )?;
            if let Some(price) = order.price {
                write!(out, "{price}")?;
            }
            write!(out, ",{},{},", order.qty, order.tif.as_str())?;
            if let Some(owner) = order.owner {
                write!(out, "u{}", owner.0)?;
            }
            writeln!(out)
        }
        OrderCommand::Cancel { instrument, id } => writeln!(out, "cancel,{id},{},,,,,,", symbol(*instrument)),
        OrderCommand::Modify { instrument, id, price, qty } => {
            write!(out, "modify,{id},{},,,", symbol(*instrument))?;
            if let Some(price) = price {
                write!(out, "{price}")?;
            }
            write!(out, ",")?;
            if let Some(qty) = qty {
                write!(out, "{qty}")?;
            }
            writeln!(out, ",,")
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn split_fields_agrees_with_str_split(text in "([a-z0-9.é€-]{0,9},){0,14}[a-z0-9.é€-]{0,9}") {
            let mut fields = [""; 10];
            let count = split_fields(&text, &mut fields);
            let expected: Vec<&str> = text.split(',').collect();
            prop_assert_eq!(count, expected.len());
            let kept = expected.len().min(10);
            prop_assert_eq!(&fields[..kept], &expected[..kept]);
        }
    }

    fn parse_all(text: &str) -> (Vec<Result<OrderFlowRow, RowError>>, InstrumentTable) {
        let mut lines = text.lines();
        let mut parser = OrderFlowParser::from_header(lines.next().unwrap()).unwrap();
        let mut instruments = InstrumentTable::default();
        let rows = lines.enumerate().map(|(i, l)| parser.parse(l, i as u64 + 2, &mut instruments)).collect();
        (rows, instruments)
    }

    #[test]
    fn rows_round_trip_through_the_writer() {
        let text = "action,id,symbol,side,type,price,qty,tif,owner
new,1,XYZ,buy,limit,101.25,5,gtc,u1
new,2,XYZ,sell,market,,3,ioc,
modify,1,XYZ,,,101.5,,,
modify,1,,,,,4,,
cancel,1,XYZ,,,,,,
";
        let (rows, instruments) = parse_all(text);
        let mut out = Vec::new();
        writeln!(out, "{HEADER}").unwrap();
        for row in rows {
            write_command(&mut out, &row.unwrap().command, &instruments).unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), text);
    }

    #[test]
    fn malformed_rows_name_their_line_and_problem() {
        let (rows, _) = parse_all(
            "action,id,symbol,side,type,price,qty,tif,owner
new,1,XYZ,up,limit,1,5,gtc,
new,x,XYZ,buy,limit,1,5,gtc,
new,2,XYZ,buy,limit,1.2.3,5,gtc,
new,3,XYZ,buy,limit,1,5,day,
new,4,XYZ,buy,limit,1,5,gtc
explode,5,,,,,,,
new,6,,buy,limit,1,5,gtc,
new,7,XYZ,buy,limit,1,,gtc,",
        );
        let errors: Vec<String> = rows.into_iter().map(|r| r.unwrap_err().to_string()).collect();
        assert_eq!(
            errors,
            [
                "line 2: side must be buy or sell, got \"up\"",
                "line 3: id must be an integer, got \"x\"",
                "line 4: price: not a decimal number: \"1.2.3\"",
                "line 5: tif must be gtc, ioc, fok or gtx, got \"day\"",
                "line 6: expected 9 fields, found 8",
                "line 7: action must be new, cancel or modify, got \"explode\"",
                "line 8: new order without a symbol",
                "line 9: new order without a qty",
            ]
        );
    }

    #[test]
    fn header_columns_may_come_in_any_order_with_optional_ts() {
        let mut parser = OrderFlowParser::from_header("id,action,qty,price,side,symbol,type,tif,owner,ts").unwrap();
        let mut instruments = InstrumentTable::default();
        let row = parser.parse("7,new,2,10,sell,ABC,limit,,,1500", 2, &mut instruments).unwrap();
        assert_eq!(row.ts, Some(Timestamp(1500)));
        assert_eq!(row.command.id(), OrderId(7));
        assert!(OrderFlowParser::from_header("action,id,sym").unwrap_err().message.contains("did you mean \"symbol\""));
        assert!(OrderFlowParser::from_header("symbol,side").unwrap_err().message.contains("missing column \"action\""));
    }
}
