//! Automerge's columns, decoded only to count: how many rows each declares, how many
//! bytes its strings would take once expanded, and the values that Automerge later sizes
//! allocations or indexes with (actor indices, op counters, dependency indices).
//!
//! The encodings are the documented ones: run-length (a signed count; a positive count
//! repeats one value, a negative one is a literal run, zero is a run of nulls whose length
//! follows), delta (run-length of signed differences), boolean (alternating run lengths,
//! false first), and raw values sized by a value-metadata column.

use super::reader::Reader;
use super::{BoundsError, Budget};

/// One column's place and encoding, as its chunk declares it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Column {
    pub spec: u32,
    pub len: u64,
}

impl Column {
    pub fn id(self) -> u32 {
        self.spec >> 4
    }
    pub fn kind(self) -> Kind {
        match self.spec & 0b111 {
            0 => Kind::Group,
            1 => Kind::Actor,
            2 => Kind::Integer,
            3 => Kind::Delta,
            4 => Kind::Boolean,
            5 => Kind::String,
            6 => Kind::ValueMeta,
            _ => Kind::Value,
        }
    }
    pub fn deflated(self) -> bool {
        self.spec & 0b1000 != 0
    }
}

/// How a column's bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Group,
    Actor,
    Integer,
    Delta,
    Boolean,
    String,
    ValueMeta,
    Value,
}

/// What counting one column found.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tally {
    /// Rows the column declares.
    pub rows: u64,
    /// The largest value (unsigned columns) or running total (delta columns) seen.
    pub max: u64,
    /// Value-metadata columns: the bytes their values occupy in the paired value column.
    pub value_bytes: u64,
}

/// Reads a column-metadata list: a count, then `(spec, length)` pairs.
pub(super) fn read_columns(r: &mut Reader<'_>) -> Result<Vec<Column>, BoundsError> {
    // Each pair takes at least two bytes.
    let count = r.count(2, "column count")?;
    let mut columns = Vec::with_capacity(count as usize);
    let mut total: u64 = 0;
    for _ in 0..count {
        let spec = r.uleb("column spec")?;
        let spec = u32::try_from(spec).map_err(|_| BoundsError::Number {
            what: "column spec",
        })?;
        let len = r.uleb("column length")?;
        total = total.saturating_add(len);
        columns.push(Column { spec, len });
    }
    if total > r.remaining() as u64 {
        return Err(BoundsError::Truncated {
            what: "column data",
            declared: total,
            available: r.remaining(),
        });
    }
    Ok(columns)
}

/// Counts one column's rows (refusing at once when they pass what `budget` allows) and
/// returns what Automerge will size allocations from.
pub(super) fn tally(kind: Kind, data: &[u8], budget: &mut Budget) -> Result<Tally, BoundsError> {
    let mut r = Reader::new(data);
    let mut t = Tally::default();
    match kind {
        Kind::Value => {
            t.rows = data.len() as u64;
        }
        Kind::Boolean => {
            while !r.is_empty() {
                let run = r.uleb("boolean run")?;
                t.rows = budget.rows(t.rows, run)?;
            }
        }
        Kind::Delta => {
            let mut current: i64 = 0;
            rle(&mut r, budget, &mut t, |r, count, t| {
                let delta = r.sleb("delta value")?;
                // A run of `count` equal deltas ends at current + count * delta.
                let reach = i128::from(current) + i128::from(delta) * i128::from(count);
                current = i64::try_from(reach).map_err(|_| BoundsError::Number {
                    what: "delta column",
                })?;
                t.max = t.max.max(current.unsigned_abs());
                Ok(0)
            })?;
        }
        Kind::String => {
            // Strings repeated by a run would take `count * len` bytes expanded.
            let expanded = rle(&mut r, budget, &mut t, |r, count, _| {
                let s = r.prefixed("string value")?;
                Ok(count.saturating_mul(s.len() as u64))
            })?;
            budget.expand(expanded)?;
        }
        Kind::ValueMeta => {
            rle(&mut r, budget, &mut t, |r, count, t| {
                let meta = r.uleb("value metadata")?;
                let bytes = (meta >> 4).saturating_mul(count);
                t.value_bytes = t.value_bytes.saturating_add(bytes);
                Ok(0)
            })?;
        }
        Kind::Group | Kind::Actor | Kind::Integer => {
            rle(&mut r, budget, &mut t, |r, _, t| {
                let value = r.uleb("column value")?;
                t.max = t.max.max(value);
                Ok(0)
            })?;
        }
    }
    Ok(t)
}

/// Walks a run-length encoded column; `value` reads one value and learns how many rows
/// it stands for. Returns the sum of what `value` returned (for strings: expanded bytes).
fn rle(
    r: &mut Reader<'_>,
    budget: &Budget,
    t: &mut Tally,
    mut value: impl FnMut(&mut Reader<'_>, u64, &mut Tally) -> Result<u64, BoundsError>,
) -> Result<u64, BoundsError> {
    let mut sum: u64 = 0;
    while !r.is_empty() {
        let n = r.sleb("run length")?;
        if n > 0 {
            let count = n as u64;
            t.rows = budget.rows(t.rows, count)?;
            sum = sum.saturating_add(value(r, count, t)?);
        } else if n < 0 {
            // A literal run: each of its values is in the bytes, so the loop ends with them.
            for _ in 0..n.unsigned_abs() {
                t.rows = budget.rows(t.rows, 1)?;
                sum = sum.saturating_add(value(r, 1, t)?);
            }
        } else {
            let nulls = r.uleb("null run length")?;
            t.rows = budget.rows(t.rows, nulls)?;
        }
    }
    Ok(sum)
}
