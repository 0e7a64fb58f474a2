//! Automerge's chunks: a magic number, a checksum, a type and a length, then a document,
//! a change, or a deflated change.

use std::io::Read;

use super::columns::{Column, Kind, Tally, read_columns, tally};
use super::reader::Reader;
use super::{BoundsError, Budget};

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const DOCUMENT: u8 = 0;
const CHANGE: u8 = 1;
const COMPRESSED_CHANGE: u8 = 2;
const BUNDLE: u8 = 3;

/// Columns of a document's change metadata that Automerge indexes or sizes by.
const DOC_SEQ_OR_ACTOR: u32 = 0;
const DOC_MAX_OP: u32 = 1;
const DOC_DEPS: u32 = 4;

/// Walks every chunk of `bytes`.
pub(super) fn check_chunks(bytes: &[u8], budget: &mut Budget) -> Result<(), BoundsError> {
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let at = bytes.len() - r.remaining();
        if r.take(4, "chunk header")? != MAGIC {
            return Err(BoundsError::Malformed(format!(
                "byte {at}: not an Automerge chunk (no magic number)"
            )));
        }
        r.take(4, "chunk checksum")?;
        let kind = r.byte("chunk type")?;
        let body = r.prefixed("chunk")?;
        match kind {
            DOCUMENT => document(body, budget)?,
            CHANGE => change(body, budget)?,
            COMPRESSED_CHANGE => change(&inflate(body, budget)?, budget)?,
            BUNDLE => {
                return Err(BoundsError::Malformed(format!(
                    "byte {at}: an Automerge bundle (chunk type 3, experimental): runmesh does not take bundles"
                )));
            }
            other => {
                return Err(BoundsError::Malformed(format!(
                    "byte {at}: unknown Automerge chunk type {other}"
                )));
            }
        }
    }
    Ok(())
}

/// A saved document: actors, heads, change columns, op columns, their data.
fn document(body: &[u8], budget: &mut Budget) -> Result<(), BoundsError> {
    let mut r = Reader::new(body);
    let actors = actor_list(&mut r)?;
    let heads = r.count(32, "heads")?;
    r.take(heads * 32, "heads")?;
    let change_columns = read_columns(&mut r)?;
    let op_columns = read_columns(&mut r)?;
    let changes = section(&mut r, &change_columns, budget, "change columns")?;
    let ops = section(&mut r, &op_columns, budget, "op columns")?;
    // What follows (the heads' indices) is read by Automerge without allocating by it.

    actors_in_range(&changes, actors)?;
    actors_in_range(&ops, actors)?;
    let change_rows = changes
        .iter()
        .filter(|(c, _)| c.id() == DOC_SEQ_OR_ACTOR && c.kind() == Kind::Actor)
        .map(|(_, t)| t.rows)
        .max()
        .unwrap_or(0);
    budget.changes = budget.changes.saturating_add(change_rows);
    for (column, t) in &changes {
        match (column.id(), column.kind()) {
            // Sequence numbers and op counters size per-change buffers.
            (DOC_SEQ_OR_ACTOR | DOC_MAX_OP, Kind::Delta) if t.max > budget.max_rows => {
                return Err(budget.over(
                    "an op counter or sequence number",
                    t.max,
                    budget.max_rows,
                ));
            }
            // Dependencies index the document's changes.
            (DOC_DEPS, Kind::Delta) if t.rows > 0 && t.max >= change_rows => {
                return Err(BoundsError::OutOfRange {
                    what: "dependency index",
                    value: t.max,
                    bound: change_rows,
                });
            }
            _ => {}
        }
    }
    spend(budget, &changes, &ops);
    Ok(())
}

/// One change: dependencies, actor, sequence number, first op, time, message, other
/// actors, op columns, their data, extra bytes.
fn change(body: &[u8], budget: &mut Budget) -> Result<(), BoundsError> {
    let mut r = Reader::new(body);
    let deps = r.count(32, "dependencies")?;
    r.take(deps * 32, "dependencies")?;
    r.prefixed("actor id")?;
    r.uleb("sequence number")?;
    r.uleb("start op")?;
    r.sleb("time")?;
    r.prefixed("message")?;
    let actors = 1 + actor_list(&mut r)?;
    let columns = read_columns(&mut r)?;
    if columns.iter().any(|c| c.deflated()) {
        return Err(BoundsError::Malformed(
            "a change with deflated columns (only documents deflate columns)".into(),
        ));
    }
    let ops = section(&mut r, &columns, budget, "op columns")?;
    actors_in_range(&ops, actors)?;
    spend(budget, &ops, &[]);
    budget.changes = budget.changes.saturating_add(1);
    // A change without ops still weighs one, as it does as a row of a saved document.
    if ops
        .iter()
        .all(|(c, t)| c.kind() == Kind::Value || t.rows == 0)
    {
        budget.spend_rows(1);
    }
    Ok(())
}

/// A count of actor ids, each read (not kept).
fn actor_list(r: &mut Reader<'_>) -> Result<u64, BoundsError> {
    let count = r.count(1, "actors")?;
    for _ in 0..count {
        r.prefixed("actor id")?;
    }
    Ok(count)
}

/// Takes the data of `columns` from `r` and counts each column.
fn section(
    r: &mut Reader<'_>,
    columns: &[Column],
    budget: &mut Budget,
    what: &'static str,
) -> Result<Vec<(Column, Tally)>, BoundsError> {
    let mut tallies = Vec::with_capacity(columns.len());
    for &column in columns {
        let data = r.take(column.len, what)?;
        let t = if column.deflated() && column.kind() == Kind::Value {
            // Raw value bytes: only their length matters, so they are counted, not kept.
            Tally {
                rows: inflated_len(data, budget)?,
                ..Tally::default()
            }
        } else if column.deflated() {
            tally(column.kind(), &inflate(data, budget)?, budget)?
        } else {
            tally(column.kind(), data, budget)?
        };
        tallies.push((column, t));
    }
    // A value column must hold the bytes its metadata column says its values take.
    for (meta, t) in tallies.iter().filter(|(c, _)| c.kind() == Kind::ValueMeta) {
        let held = tallies
            .iter()
            .find(|(c, _)| c.kind() == Kind::Value && c.id() == meta.id())
            .map_or(0, |(_, v)| v.rows);
        if t.value_bytes > held {
            return Err(BoundsError::Truncated {
                what: "value column",
                declared: t.value_bytes,
                available: held as usize,
            });
        }
    }
    Ok(tallies)
}

fn actors_in_range(tallies: &[(Column, Tally)], actors: u64) -> Result<(), BoundsError> {
    for (column, t) in tallies {
        if column.kind() == Kind::Actor && t.rows > 0 && t.max >= actors {
            return Err(BoundsError::OutOfRange {
                what: "actor index",
                value: t.max,
                bound: actors,
            });
        }
    }
    Ok(())
}

/// The chunk's longest column is what the chunks after it may no longer declare.
fn spend(budget: &mut Budget, a: &[(Column, Tally)], b: &[(Column, Tally)]) {
    let rows = a
        .iter()
        .chain(b)
        .filter(|(c, _)| c.kind() != Kind::Value)
        .map(|(_, t)| t.rows)
        .max()
        .unwrap_or(0);
    budget.spend_rows(rows);
}

/// Inflates deflated bytes, refusing (and stopping) once they pass what is left of the
/// input's allowance.
fn inflate(data: &[u8], budget: &mut Budget) -> Result<Vec<u8>, BoundsError> {
    let mut out = Vec::new();
    let len = read_inflated(data, budget, &mut out)?;
    budget.spend_inflated(data.len(), len);
    Ok(out)
}

/// How many bytes deflated `data` inflates to, read through a small buffer.
fn inflated_len(data: &[u8], budget: &mut Budget) -> Result<u64, BoundsError> {
    let len = read_inflated(data, budget, &mut std::io::sink())?;
    budget.spend_inflated(data.len(), len);
    Ok(len)
}

fn read_inflated(
    data: &[u8],
    budget: &Budget,
    out: &mut impl std::io::Write,
) -> Result<u64, BoundsError> {
    let allowed = budget.inflated_left;
    let len = std::io::copy(
        &mut flate2::read::DeflateDecoder::new(data).take(allowed.saturating_add(1)),
        out,
    )
    .map_err(|e| BoundsError::Malformed(format!("deflated data that does not inflate: {e}")))?;
    if len > allowed {
        return Err(budget.over("inflated bytes", len, allowed));
    }
    Ok(len)
}
