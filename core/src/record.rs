//! The records a run document stores, and how each is encoded in Automerge.
//!
//! A graft never changes once made, so it is stored as *one* string value (compact JSON)
//! under its id in one of the bucket maps inside `grafts`: one Automerge op per graft instead of one per field,
//! which keeps grafting and loading fast. Prune marks are stored the same way. Flags are
//! plain Automerge scalars so that concurrent values surface as Automerge conflicts.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Grafts are spread over this many maps inside `grafts`, all made by the genesis change.
///
/// Automerge applies a remote change by walking every op of each object it touches, so
/// one map holding every graft makes each remote graft cost O(grafts) (2 ms at 10,000).
/// With 64 buckets a remote graft walks only its bucket (each empty bucket costs
/// about 150 bytes of memory per loaded run, so not more). A bucket holds consecutive
/// lamport ranges, so a replica's recent grafts stay together.
pub(crate) const GRAFT_BUCKETS: usize = 64;
const LAMPORTS_PER_BUCKET: u64 = 128;

/// The bucket a graft with this lamport timestamp is written to.
pub(crate) fn graft_bucket(lamport: u64) -> usize {
    ((lamport / LAMPORTS_PER_BUCKET) % GRAFT_BUCKETS as u64) as usize
}

/// The key of a bucket inside the `grafts` map: two hex digits.
pub(crate) fn bucket_key(bucket: usize) -> String {
    format!("{bucket:02x}")
}

/// The root keys of a run document.
pub(crate) mod keys {
    pub const STEPS: &str = "steps";
    pub const GRAFTS: &str = "grafts";
    pub const PRUNED: &str = "pruned";
    pub const FLAGS: &str = "flags";
    pub const TITLE: &str = "title";
    /// The run's UUID, written by the creating change so saved bytes name their run.
    pub const RUN_ID: &str = "runId";
    /// For a fork: the run and heads it came from (JSON), written by the forking change.
    pub const FORK_OF: &str = "forkOf";
    pub const STEP_ID: &str = "id";
    pub const STEP_NAME: &str = "name";
    pub const STEP_AGENT: &str = "agent";
}

/// A graft as stored: everything but its id, which is the map key. Read back borrowing
/// from the stored text (a full read parses every graft).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraftRecord<'a> {
    #[serde(borrow)]
    pub after: Cow<'a, str>,
    #[serde(borrow)]
    pub agent_name: Cow<'a, str>,
    #[serde(borrow)]
    pub by: Cow<'a, str>,
    #[serde(borrow)]
    pub region: Cow<'a, str>,
    pub lamport: u64,
    /// Milliseconds since the Unix epoch, as the writer's clock said.
    pub at: u64,
    /// Set when an undo took the graft out of the pipeline (the record is written again
    /// with it; clearing it puts the graft back). Absent from every other record, so the
    /// plain scan reads those.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub retracted: Option<RetractRecord<'a>>,
}

/// Who retracted a graft, where, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RetractRecord<'a> {
    #[serde(borrow)]
    pub by: Cow<'a, str>,
    #[serde(borrow)]
    pub region: Cow<'a, str>,
    pub at: u64,
}

/// A prune mark as stored under the pruned node's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PruneRecord<'a> {
    #[serde(borrow)]
    pub by: Cow<'a, str>,
    #[serde(borrow)]
    pub region: Cow<'a, str>,
    pub lamport: u64,
    pub at: u64,
}

pub(crate) fn encode<T: Serialize>(record: &T) -> String {
    serde_json::to_string(record).expect("records are plain structs of strings and numbers")
}

impl<'a> GraftRecord<'a> {
    /// Reads a stored graft record. Records in exactly the form [`encode`] writes, with no
    /// escaped characters, are read by a plain scan (a full read of a run parses every
    /// graft); anything else — another writer's spacing or key order, escapes, bad data —
    /// goes through serde_json, whose error names what is wrong.
    pub fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        match Self::scan(text) {
            Some(record) => Ok(record),
            None => serde_json::from_str(text),
        }
    }

    /// `{"after":"…","agentName":"…","by":"…","region":"…","lamport":N,"at":N}` or nothing.
    fn scan(text: &'a str) -> Option<Self> {
        let mut rest = text.strip_prefix("{\"after\":")?;
        let after = scan_str(&mut rest)?;
        rest = rest.strip_prefix(",\"agentName\":")?;
        let agent_name = scan_str(&mut rest)?;
        rest = rest.strip_prefix(",\"by\":")?;
        let by = scan_str(&mut rest)?;
        rest = rest.strip_prefix(",\"region\":")?;
        let region = scan_str(&mut rest)?;
        rest = rest.strip_prefix(",\"lamport\":")?;
        let lamport = scan_u64(&mut rest)?;
        rest = rest.strip_prefix(",\"at\":")?;
        let at = scan_u64(&mut rest)?;
        (rest == "}").then_some(Self {
            after: Cow::Borrowed(after),
            agent_name: Cow::Borrowed(agent_name),
            by: Cow::Borrowed(by),
            region: Cow::Borrowed(region),
            lamport,
            at,
            retracted: None,
        })
    }
}

/// A JSON string with no escapes and no control characters (which JSON forbids raw).
fn scan_str<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let body = rest.strip_prefix('"')?;
    // One pass: the closing quote ends it; an escape or a control character sends the
    // record to serde_json. A quote byte is never inside a multi-byte character.
    for (end, b) in body.bytes().enumerate() {
        match b {
            b'"' => {
                *rest = &body[end + 1..];
                return Some(&body[..end]);
            }
            b'\\' | 0..0x20 => return None,
            _ => {}
        }
    }
    None
}

/// A JSON integer that fits a u64, written without sign, fraction, exponent or leading zeros.
fn scan_u64(rest: &mut &str) -> Option<u64> {
    let len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let digits = &rest[..len];
    if len == 0 || (len > 1 && digits.starts_with('0')) {
        return None;
    }
    let n = digits.parse().ok()?;
    *rest = &rest[len..];
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> GraftRecord<'static> {
        GraftRecord {
            after: "step1".into(),
            agent_name: "Security Agent ✓".into(),
            by: "alice".into(),
            region: "eu-west-1".into(),
            lamport: 42,
            at: 1_700_000_000_000,
            retracted: None,
        }
    }

    #[test]
    fn reads_what_encode_writes_without_serde() {
        let text = encode(&record());
        assert_eq!(GraftRecord::scan(&text), Some(record()));
        assert_eq!(GraftRecord::parse(&text).unwrap(), record());
    }

    #[test]
    fn leaves_every_other_form_to_serde_json_and_agrees_with_it() {
        let texts = [
            r#"{"after":"step1","agentName":"A \"quoted\" name","by":"alice","region":"r","lamport":1,"at":2}"#,
            r#"{ "after": "step1", "agentName": "A", "by": "alice", "region": "r", "lamport": 1, "at": 2 }"#,
            r#"{"agentName":"A","after":"step1","by":"alice","region":"r","lamport":1,"at":2}"#,
            r#"{"after":"step1","agentName":"A","by":"alice","region":"r","lamport":1.5,"at":2}"#,
            r#"{"after":"step1","agentName":"A","by":"alice","region":"r","lamport":01,"at":2}"#,
            r#"{"after":"step1","agentName":"A","by":"alice","region":"r","lamport":99999999999999999999,"at":2}"#,
            r#"{"after":"step1","agentName":"A","by":"alice","region":"r","lamport":1,"at":2,"extra":3}"#,
            r#"{"after":"step1","agentName":"A","by":"alice","region":"r","lamport":1,"at":2} "#,
            "{\"after\":\"st\tep\",\"agentName\":\"A\",\"by\":\"a\",\"region\":\"r\",\"lamport\":1,\"at\":2}",
            r#"{"after":"step1","agentName":"A","by":"alice","region":"r","lamport":1}"#,
            r#"not json"#,
        ];
        for text in texts {
            assert_eq!(GraftRecord::scan(text), None, "{text}");
            let serde: Result<GraftRecord<'_>, _> = serde_json::from_str(text);
            assert_eq!(
                GraftRecord::parse(text).map_err(|e| e.to_string()),
                serde.map_err(|e| e.to_string()),
                "{text}"
            );
        }
    }
}
