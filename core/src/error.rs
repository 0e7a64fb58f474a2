//! [`RunError`]: everything a run document refuses, each naming the bad value and the limit.

use crate::id::{InvalidNodeId, NodeId};

/// Why an operation on a run document was refused. Nothing is applied when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The agent name was empty (or only whitespace).
    #[error("agent name is empty")]
    EmptyAgentName,
    /// The agent name was longer than the limit.
    #[error("agent name is {len} characters long, the limit is {max}")]
    AgentNameTooLong {
        /// Its length in characters.
        len: usize,
        /// The limit in characters.
        max: usize,
    },
    /// The title was longer than the limit.
    #[error("title is {len} characters long, the limit is {max}")]
    TitleTooLong {
        /// Its length in characters.
        len: usize,
        /// The limit in characters.
        max: usize,
    },
    /// A step name was empty or too long.
    #[error("step {id:?}: name is {len} characters long, it must be 1 to {max}")]
    InvalidStepName {
        /// The step.
        id: String,
        /// The name's length in characters.
        len: usize,
        /// The limit in characters.
        max: usize,
    },
    /// Two steps of a new run had the same id.
    #[error("step id \"{0}\" appears twice")]
    DuplicateStep(NodeId),
    /// A new run had more steps than the limit.
    #[error("{count} steps given, the limit is {max}")]
    TooManySteps {
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A node id (step, graft or anchor) was malformed.
    #[error("invalid {what}: {source}")]
    InvalidNodeId {
        /// Which id: "anchor", "node", "step id".
        what: &'static str,
        /// What was wrong with it.
        source: InvalidNodeId,
    },
    /// A graft named an anchor that is neither a step nor a graft of this run.
    #[error("unknown anchor \"{anchor}\": the run has no step or graft with that id")]
    UnknownAnchor {
        /// The anchor asked for.
        anchor: NodeId,
    },
    /// Prune or restore named a node that is neither a step nor a graft of this run.
    #[error("unknown node \"{node}\": the run has no step or graft with that id")]
    UnknownNode {
        /// The node asked for.
        node: NodeId,
    },
    /// A flag key was empty or too long.
    #[error("invalid flag key {key:?}: it must be 1 to {max} bytes")]
    InvalidFlagKey {
        /// The rejected key (cut to 80 characters).
        key: String,
        /// The limit in bytes.
        max: usize,
    },
    /// A name (agent, step, title, flag key) held a character people cannot read.
    #[error(
        "{field} holds the character {found} at position {at}: names may not hold control, bidirectional or invisible formatting characters"
    )]
    UnreadableText {
        /// Which name: "agent name", "title", "step \"x\" name", "flag key".
        field: String,
        /// The character, escaped (`\u{202E}`).
        found: String,
        /// Its position, in characters from the start.
        at: usize,
    },
    /// A flag value was not a JSON scalar within the limits.
    #[error("invalid value for flag {key:?}: {reason}")]
    InvalidFlagValue {
        /// The flag.
        key: String,
        /// What was wrong with the value.
        reason: String,
    },
    /// A region or user label was empty, too long or held control characters.
    #[error("invalid {what} {value:?}: it must be 1 to {max} bytes without control characters")]
    InvalidLabel {
        /// "region" or "user".
        what: &'static str,
        /// The rejected value (cut to 80 characters).
        value: String,
        /// The limit in bytes.
        max: usize,
    },
    /// Bytes given to load or merge were not an Automerge document or changes.
    #[error("corrupt document bytes ({len} bytes): {source}")]
    CorruptBytes {
        /// How many bytes were given.
        len: usize,
        /// What Automerge found wrong.
        source: Box<automerge::AutomergeError>,
    },
    /// The bytes name another run than the one they were opened as: loaded under the
    /// wrong id they would be synced into it, joining two unrelated histories.
    #[error("the bytes ({len} bytes) are run {named}, not run {wanted}")]
    OtherRun {
        /// How many bytes were given.
        len: usize,
        /// The run the bytes name.
        named: crate::id::RunId,
        /// The run they were opened as.
        wanted: crate::id::RunId,
    },
    /// The bytes declared more than they hold or more than a stated ceiling, and were
    /// refused before Automerge parsed them (see `bounds`).
    #[error("refused document bytes ({len} bytes): {source}")]
    Refused {
        /// How many bytes were given.
        len: usize,
        /// What was declared, and the limit.
        source: crate::bounds::BoundsError,
    },
    /// Automerge failed while parsing the bytes (a panic inside it, caught here).
    #[error("corrupt document bytes ({len} bytes): automerge failed while parsing them: {reason}")]
    Unparsable {
        /// How many bytes were given.
        len: usize,
        /// What automerge said.
        reason: String,
    },
    /// A loaded document's changes could not be rebuilt from its ops (Automerge panicked
    /// doing so: ops that do not fit together).
    #[error("the document loaded, but its changes cannot be read back from its ops: {0}")]
    ChangesUnreadable(String),
    /// Bytes given as Automerge chunks were not chunks, or a chunk did not parse.
    #[error("corrupt document bytes ({len} bytes): {reason}")]
    BadChunk {
        /// How many bytes the chunk (or what was left) had.
        len: usize,
        /// What was wrong.
        reason: String,
    },
    /// The bytes hold a run but not its id (runs created by another tool or as a bare
    /// genesis do not record it).
    #[error("these bytes do not say which run they hold: pass the run id")]
    UnknownRunId,
    /// A point in the run's past was named by heads this document does not have.
    #[error("{what}: this run has no change {hash}")]
    UnknownHeads {
        /// Which point (`at`, `from`, `to`).
        what: &'static str,
        /// The hash it does not have (hex).
        hash: String,
    },
    /// A point in the run's past was named by no heads at all.
    #[error("{0}: no heads given (name a point by one or more change hashes)")]
    NoHeads(&'static str),
    /// The change named cannot be undone at all (the genesis, the creation, a fork or
    /// merge record, a change that altered nothing the run shows).
    #[error("change {hash} cannot be undone: {why}")]
    CannotUndo {
        /// The change (hex).
        hash: String,
        /// Why not.
        why: String,
    },
    /// A later change already replaced what the change named did.
    #[error("change {hash} cannot be undone: {why}")]
    Superseded {
        /// The change (hex).
        hash: String,
        /// What superseded it.
        why: String,
    },
    /// A graft was asked to anchor on a graft that an undo took out of the pipeline.
    #[error("graft \"{node}\" was retracted: graft after a node in the pipeline")]
    RetractedAnchor {
        /// The retracted graft.
        node: NodeId,
    },
    /// Two runs were to be merged that share no history (neither is a fork of the other).
    #[error(
        "run {other} shares no history with run {run}: only a fork and the run it came from can merge"
    )]
    Unrelated {
        /// The run merged into.
        run: crate::id::RunId,
        /// The run merged from.
        other: crate::id::RunId,
    },
    /// A change without dependencies other than the run's genesis: it would start a
    /// history of its own inside the run (see `lineage.rs`).
    #[error(
        "change {hash} depends on no other change but is not the run's genesis: every change of a run must descend from its genesis (refused, nothing applied)"
    )]
    ForeignRoot {
        /// The change (hex).
        hash: String,
    },
    /// A change with sequence number above 1 from an actor that wrote no change the
    /// document holds, without that actor's first change before it (see
    /// `lineage/writers.rs`: Automerge would panic on the live document).
    #[error(
        "change {seq} of actor {actor}: the document holds no change by that actor and its change 1 does not come first (refused, nothing applied)"
    )]
    UnknownWriter {
        /// The actor (hex).
        actor: String,
        /// The change's sequence number.
        seq: u64,
    },
    /// A change whose ops name an actor that wrote no change the document holds nor a
    /// first change applied before it (see `lineage/writers.rs`).
    #[error(
        "change {seq} of actor {writer} names actor {actor}, which wrote no change the document holds and whose change 1 does not come first (refused, nothing applied)"
    )]
    UnknownActor {
        /// The unknown actor (hex).
        actor: String,
        /// The actor that wrote the change (hex).
        writer: String,
        /// The change's sequence number.
        seq: u64,
    },
    /// A change making an object nested deeper than the limit (see `lineage/admission.rs`).
    #[error(
        "change {seq} of actor {writer} makes an object nested more than {limit} deep below the root (refused, nothing applied)"
    )]
    TooDeep {
        /// The change's writer (hex).
        writer: String,
        /// The change's sequence number.
        seq: u64,
        /// The deepest an object may lie.
        limit: usize,
    },
    /// A change whose bytes are not how Automerge encodes its content (see
    /// `lineage/writers.rs`: a save holding it could not be loaded).
    #[error(
        "change {seq} of actor {writer} is not encoded as Automerge encodes it (a save holding it could not be loaded again) (refused, nothing applied)"
    )]
    NotCanonical {
        /// The change's writer (hex).
        writer: String,
        /// The change's sequence number.
        seq: u64,
    },
    /// A change whose first op counter is not above every op of the changes it depends
    /// on (Automerge's saves order ops by these counters; such a save cannot be loaded).
    #[error(
        "change {seq} of actor {writer} starts at op {start_op}, but a change it depends on already has op {dep_max_op}: a change's ops must come after those of its dependencies (refused, nothing applied)"
    )]
    OpsOutOfOrder {
        /// The change's writer (hex).
        writer: String,
        /// The change's sequence number.
        seq: u64,
        /// Its first op counter.
        start_op: u64,
        /// The largest op counter among its dependencies.
        dep_max_op: u64,
    },
    /// A change whose first op counter leaves a gap after its dependencies' ops. Automerge
    /// starts every change right after them; a save holding one without ops that starts
    /// later cannot be loaded again.
    #[error(
        "change {seq} of actor {writer} starts at op {start_op}, but its dependencies end at op {dep_max_op}: a change starts right after them (refused, nothing applied)"
    )]
    OpsSkipped {
        /// The change's writer (hex).
        writer: String,
        /// The change's sequence number.
        seq: u64,
        /// Its first op counter.
        start_op: u64,
        /// The largest op counter among its dependencies.
        dep_max_op: u64,
    },
    /// Changes sent together that name each other's ops in a way too costly to check
    /// (a long chain whose every change names the first one's ops).
    #[error(
        "these {changes} changes name ops of changes far back in their own history more than one input may have checked: send them in smaller batches (refused, nothing applied)"
    )]
    TooTangled {
        /// How many changes came together.
        changes: usize,
    },
    /// A change writing into an object that neither the document nor the changes with it
    /// make (Automerge 0.12 panics mid-apply on it).
    #[error(
        "change {seq} of actor {writer} writes into object {object}, which neither the document nor the changes with it make (refused, nothing applied)"
    )]
    UnknownObject {
        /// The change's writer (hex).
        writer: String,
        /// The change's sequence number.
        seq: u64,
        /// The object (`counter@actor`).
        object: String,
    },
    /// Automerge failed while applying changes that passed every check (it panicked), or
    /// took them in a form it cannot save (`lineage/kept.rs`): the document may hold them.
    /// A relay drops it and loads the run again from its store.
    #[error(
        "automerge could not apply these changes as they came ({reason}); refused: the document as held in memory now holds them and must be loaded again from what was saved before (a relay does so itself, with nothing stored)"
    )]
    ApplyFailed {
        /// What Automerge said.
        reason: String,
    },
    /// A change naming an op of a change it has not seen (see `lineage/seen.rs`).
    #[error(
        "change {seq} of actor {writer} names op {op}, which belongs to a change it does not depend on (refused, nothing applied)"
    )]
    UnseenOp {
        /// The change's writer (hex).
        writer: String,
        /// The change's sequence number.
        seq: u64,
        /// The op (`counter@actor`).
        op: String,
    },
    /// A writer's change that does not come after the same writer's previous change.
    #[error(
        "change {seq} of actor {writer} does not come after that actor's change {prev} (refused, nothing applied)",
        prev = seq - 1
    )]
    SkipsOwnChange {
        /// The change's writer (hex).
        writer: String,
        /// The change's sequence number.
        seq: u64,
    },
    /// A change carrying something runs do not use (see `lineage/admission.rs`).
    #[error("change {seq} of actor {writer} carries {what} (refused, nothing applied)")]
    Unsupported {
        /// The change's writer (hex).
        writer: String,
        /// The change's sequence number.
        seq: u64,
        /// What it carries.
        what: String,
    },
    /// Changes that would leave the document with more heads than the limit.
    #[error(
        "these changes would leave the document with {heads} concurrent heads, more than the limit of {limit}: merge them (make a change that depends on them) before sending (refused, nothing applied)"
    )]
    TooManyHeads {
        /// The heads there would be.
        heads: usize,
        /// The most there may be.
        limit: usize,
    },
    /// Changes waiting for dependencies that have not come, past the limit.
    #[error(
        "these changes would leave {changes} changes ({bytes} bytes) waiting for dependencies that have not come; at most {limit} changes or {limit_bytes} bytes may wait: send the dependencies first (refused, nothing applied)"
    )]
    TooManyWaiting {
        /// The changes that would wait.
        changes: usize,
        /// Their bytes.
        bytes: usize,
        /// The most changes that may wait.
        limit: usize,
        /// The most bytes they may take.
        limit_bytes: usize,
    },
    /// The genesis of a run, sent into a document that already holds other changes.
    #[error(
        "these changes carry a run's genesis into a document that already holds other changes: a document that is not a run cannot become one (refused, nothing applied)"
    )]
    GenesisIntoOther,
    /// The bytes were a valid Automerge document, but not a run.
    #[error("not a run document: {0}")]
    NotARun(String),
    /// Automerge refused an operation that our own checks let through (a bug in runmesh).
    #[error("automerge refused the operation: {0}")]
    Automerge(Box<automerge::AutomergeError>),
}

impl From<automerge::AutomergeError> for RunError {
    fn from(e: automerge::AutomergeError) -> Self {
        Self::Automerge(Box::new(e))
    }
}

impl RunError {
    pub(crate) fn node_id(what: &'static str, source: InvalidNodeId) -> Self {
        Self::InvalidNodeId { what, source }
    }
}
