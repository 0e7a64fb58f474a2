//! Automerge bytes from outside, checked before Automerge parses them.
//!
//! Automerge's loader sizes some allocations from numbers in its input: a run-length
//! column can declare 2^60 rows in ten bytes, a deflated column can inflate a thousand
//! times, a Bloom filter can ask for four billion probes. Catching a panic does not
//! help (an allocation failure aborts the process), so every path where bytes from
//! outside reach Automerge (a REST `/sync` body, an `import`, a sync message from a
//! client, a mesh peer or the relay, the npm package's `load` and `applyChanges`)
//! first walks them here: each declared length against the bytes given, each column's
//! rows, strings and inflated size against a ceiling that grows with the input, and the
//! values Automerge indexes or sizes by (actor indices, op counters, dependencies)
//! against what the chunk declares. Nothing is allocated in proportion to a declared
//! number; the walk reads each byte once.
//!
//! Bundles (chunk type 3, which Automerge marks experimental and runmesh never writes)
//! are refused outright.

mod chunk;
mod columns;
mod reader;
mod sync_message;

pub use sync_message::{
    MAX_BLOOM_BYTES, MAX_BLOOM_PROBES, MAX_HAVE_SUMMARIES, MAX_HEADS, MAX_NEEDS, check_sync_message,
};

/// The rows any input may declare in one column, whatever its size: 2^24, about 1.9
/// million grafts (a graft is nine operations).
pub const MAX_ROWS: u64 = 1 << 24;
/// Rows a byte of input may declare, above [`BASE_ROWS`].
pub const ROWS_PER_BYTE: u64 = 16;
/// Rows any input may declare, however short.
pub const BASE_ROWS: u64 = 1 << 16;
/// Bytes the strings of one input may take once their runs are expanded, at most.
pub const MAX_EXPANDED_BYTES: u64 = 256 << 20;
/// Bytes deflated data in one input may inflate to, at most: Automerge inflates into a
/// growing vector, whose capacity can reach twice this (an attack that earned 1 GiB here
/// made Automerge ask for 2 GiB and the relay abort). A saved 5,000-graft run inflates
/// to 1.2 MB.
pub const MAX_INFLATED_BYTES: u64 = 256 << 20;
/// What one op weighs against a run's size limit, at least: Automerge's run-length columns
/// let 140 bytes carry 65,000 ops, and the relay's memory and time grow with ops, not
/// bytes (Automerge's index of a loaded document takes about 64 bytes an op, a change
/// from outside is read op by op at about 250 bytes each; a 58-million-op run of 150 KB
/// stopped a relay on its next load). 256 bytes an op gives a 64 MiB run 262,144 ops; a
/// graft is one op.
pub const OP_WEIGHT: u64 = 256;
/// Expanded or inflated bytes a byte of input may stand for, above 1 MiB. A saved run
/// whose grafts all have one name inflates 22 times (measured: 55,620 bytes for 5,000
/// grafts, 1,244,451 inflated); deflate itself reaches about 1,000.
pub const GROWTH_PER_BYTE: u64 = 256;

/// Why bytes were refused before Automerge saw them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundsError {
    /// A length or count declared more bytes than were given.
    #[error("{what} declares {declared} bytes but only {available} follow")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// The bytes it declared.
        declared: u64,
        /// The bytes left.
        available: usize,
    },
    /// A declared amount passed its ceiling.
    #[error("{what}: {declared} declared, the limit for {input} bytes of input is {limit}")]
    OverLimit {
        /// What was counted.
        what: &'static str,
        /// How much was declared.
        declared: u64,
        /// The ceiling.
        limit: u64,
        /// The size of the input the ceiling was set for.
        input: usize,
    },
    /// A LEB128 number was longer than 64 bits.
    #[error("{what}: a number longer than 64 bits")]
    Number {
        /// What was being read.
        what: &'static str,
    },
    /// A value pointed past what its chunk declares.
    #[error("{what} {value} is out of range: the chunk declares {bound}")]
    OutOfRange {
        /// What the value is.
        what: &'static str,
        /// The value.
        value: u64,
        /// What it must stay below (or at).
        bound: u64,
    },
    /// Bytes that are not what their place requires.
    #[error("{0}")]
    Malformed(String),
}

/// What one input may declare in all: ceilings set from its length.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    input: usize,
    max_rows: u64,
    rows_left: u64,
    expanded_left: u64,
    inflated_left: u64,
    /// Deflated bytes read so far, and what they inflated to.
    deflated: u64,
    inflated: u64,
    /// Ops (and changes) declared so far: each chunk's longest column.
    ops: u64,
    /// Changes declared so far: one a change chunk, a document's change rows.
    changes: u64,
}

impl Budget {
    pub(crate) fn for_input(len: usize) -> Self {
        let len64 = len as u64;
        let max_rows = MAX_ROWS.min(BASE_ROWS.saturating_add(len64.saturating_mul(ROWS_PER_BYTE)));
        let growth = (1u64 << 20).saturating_add(len64.saturating_mul(GROWTH_PER_BYTE));
        Self {
            input: len,
            max_rows,
            rows_left: max_rows,
            expanded_left: MAX_EXPANDED_BYTES.min(growth),
            inflated_left: MAX_INFLATED_BYTES.min(growth),
            deflated: 0,
            inflated: 0,
            ops: 0,
            changes: 0,
        }
    }

    /// The ceilings for a whole run from outside (a backup's entry): what its length
    /// allows, or what a run weighing `max_weight` may hold if that is more (a run's
    /// snapshot may hold many more ops than its length would allow a stranger).
    fn for_run(len: usize, max_weight: usize) -> Self {
        let mut budget = Self::for_input(len);
        let max_weight = max_weight as u64;
        let rows = BASE_ROWS
            .saturating_add(max_weight / OP_WEIGHT)
            .min(MAX_ROWS);
        budget.max_rows = budget.max_rows.max(rows);
        budget.rows_left = budget.max_rows;
        budget.expanded_left = budget.expanded_left.max(max_weight.min(MAX_EXPANDED_BYTES));
        budget.inflated_left = budget.inflated_left.max(max_weight.min(MAX_INFLATED_BYTES));
        budget
    }

    /// No ceiling but the numbers themselves: for bytes this relay stored (or took in
    /// through the checks), weighed, not guarded.
    fn unbounded(len: usize) -> Self {
        Self {
            input: len,
            max_rows: u64::MAX,
            rows_left: u64::MAX,
            expanded_left: u64::MAX,
            inflated_left: u64::MAX,
            deflated: 0,
            inflated: 0,
            ops: 0,
            changes: 0,
        }
    }

    /// `deflated` bytes of input inflated to `inflated` bytes (within what was left).
    fn spend_inflated(&mut self, deflated: usize, inflated: u64) {
        self.inflated_left -= inflated;
        self.deflated += deflated as u64;
        self.inflated += inflated;
    }

    /// The input's length with every deflated part counted inflated.
    fn uncompressed(&self) -> u64 {
        (self.input as u64 - self.deflated).saturating_add(self.inflated)
    }

    /// What the input weighs: its uncompressed length, or its ops at [`OP_WEIGHT`] each
    /// if that is more.
    fn weight(&self) -> usize {
        let weight = self.uncompressed().max(self.ops.saturating_mul(OP_WEIGHT));
        usize::try_from(weight).unwrap_or(usize::MAX)
    }

    /// `so_far + more` rows in one column, if every chunk of the input may still hold that
    /// many.
    fn rows(&self, so_far: u64, more: u64) -> Result<u64, BoundsError> {
        let rows = so_far.saturating_add(more);
        if rows > self.rows_left {
            return Err(self.over("rows in a column", rows, self.rows_left));
        }
        Ok(rows)
    }

    /// A chunk declared `rows` rows (its longest column): the chunks after it share what
    /// is left.
    fn spend_rows(&mut self, rows: u64) {
        self.rows_left = self.rows_left.saturating_sub(rows);
        self.ops = self.ops.saturating_add(rows);
    }

    fn expand(&mut self, bytes: u64) -> Result<(), BoundsError> {
        if bytes > self.expanded_left {
            return Err(self.over("bytes of expanded strings", bytes, self.expanded_left));
        }
        self.expanded_left -= bytes;
        Ok(())
    }

    fn over(&self, what: &'static str, declared: u64, limit: u64) -> BoundsError {
        BoundsError::OverLimit {
            what,
            declared,
            limit,
            input: self.input,
        }
    }
}

/// Checks Automerge storage bytes (a saved document, changes, compressed changes, or
/// any concatenation of them) before they are parsed.
pub fn check_storage(bytes: &[u8]) -> Result<(), BoundsError> {
    chunk::check_chunks(bytes, &mut Budget::for_input(bytes.len()))
}

/// What Automerge storage bytes weigh, after checking them as [`check_storage`] does:
/// their length with every deflated part counted inflated, or their ops at
/// [`OP_WEIGHT`] each if that is more. A run's size limit weighs this, not the bytes as
/// sent: deflate turns a thousand bytes into one, a run-length column 65,000 ops into
/// 140 bytes, and Automerge holds them expanded.
pub fn weigh(bytes: &[u8]) -> Result<usize, BoundsError> {
    let mut budget = Budget::for_input(bytes.len());
    chunk::check_chunks(bytes, &mut budget)?;
    Ok(budget.weight())
}

/// How many changes `bytes` hold: one for each change chunk, and a document's changes
/// (a 640-byte document can hold 64,000). What a rate limit counts for a body of
/// changes; bytes the bounds refuse count one (applying them refuses them).
pub fn change_count(bytes: &[u8]) -> usize {
    let mut budget = Budget::for_input(bytes.len());
    match chunk::check_chunks(bytes, &mut budget) {
        Ok(()) => usize::try_from(budget.changes).unwrap_or(usize::MAX).max(1),
        Err(_) => 1,
    }
}

/// Checks a whole run from outside (a backup's entry) as [`check_storage`] does, with
/// the ceilings a run weighing `max_weight` needs, and refuses it if it weighs more.
pub fn check_run(bytes: &[u8], max_weight: usize) -> Result<(), BoundsError> {
    let mut budget = Budget::for_run(bytes.len(), max_weight);
    chunk::check_chunks(bytes, &mut budget)?;
    let weight = budget.weight();
    if weight > max_weight {
        return Err(budget.over(
            "bytes the run weighs (uncompressed, 256 an op)",
            weight as u64,
            max_weight as u64,
        ));
    }
    Ok(())
}

/// What bytes from outside weigh ([`weigh`]), or, for bytes the bounds refuse, their
/// length: applying them refuses them on its own, naming why.
pub fn weight(bytes: &[u8]) -> usize {
    weigh(bytes).unwrap_or(bytes.len())
}

/// What bytes this relay stored weigh ([`weigh`], without the ceilings for input from
/// outside: a run's snapshot may hold many more rows than its length would allow a
/// stranger). Bytes that are not Automerge's weigh `usize::MAX`: loading them fails.
pub fn weight_of_stored(bytes: &[u8]) -> usize {
    let mut budget = Budget::unbounded(bytes.len());
    match chunk::check_chunks(bytes, &mut budget) {
        Ok(()) => budget.weight(),
        Err(_) => usize::MAX,
    }
}

/// What the changes of one sync message weigh (see [`weigh`]). Each change is weighed
/// as an input of its own: a message's changes were bounded together when it was
/// decoded ([`check_sync_message`]).
pub fn weigh_changes<'a>(
    changes: impl IntoIterator<Item = &'a [u8]>,
) -> Result<usize, BoundsError> {
    changes
        .into_iter()
        .try_fold(0usize, |sum, chunk| Ok(sum.saturating_add(weigh(chunk)?)))
}

#[cfg(test)]
mod tests;
