//! Result tables as columns for Python: numbers as little-endian bytes (`numpy.frombuffer` reads
//! them without a copy per value), text as lists.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

/// One column's values.
#[derive(Debug)]
pub(crate) enum Values {
    /// Integers.
    Int(Vec<i64>),
    /// Floats (fixed-point prices and money divided by 10⁸: exact to the eighth decimal).
    Float(Vec<f64>),
    /// Nanoseconds since the Unix epoch, UTC.
    Time(Vec<i64>),
    /// Text (`None` for a missing value).
    Text(Vec<Option<String>>),
}

/// A table: named columns of equal length, in order.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub(crate) columns: Vec<(String, Values)>,
}

impl Table {
    /// The table as `[(name, kind, data), ...]`: kind `int`, `float`, `time` (data: bytes) or
    /// `text` (data: a list).
    pub(crate) fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (name, values) in &self.columns {
            let (kind, data): (&str, Bound<'py, PyAny>) = match values {
                Values::Int(values) => ("int", bytes(py, values.iter().map(|v| v.to_le_bytes()))),
                Values::Time(values) => ("time", bytes(py, values.iter().map(|v| v.to_le_bytes()))),
                Values::Float(values) => ("float", bytes(py, values.iter().map(|v| v.to_le_bytes()))),
                Values::Text(values) => ("text", PyList::new(py, values)?.into_any()),
            };
            list.append(PyTuple::new(
                py,
                [name.into_pyobject(py)?.into_any(), kind.into_pyobject(py)?.into_any(), data],
            )?)?;
        }
        Ok(list)
    }
}

fn bytes<'py>(py: Python<'py>, values: impl ExactSizeIterator<Item = [u8; 8]>) -> Bound<'py, PyAny> {
    let mut out = Vec::with_capacity(values.len() * 8);
    for value in values {
        out.extend_from_slice(&value);
    }
    PyBytes::new(py, &out).into_any()
}
