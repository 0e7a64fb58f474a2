//! One step of reconciliation: a [`DigestMessage`] in, the replies and the runs to offer
//! out.

use std::collections::{BTreeSet, HashMap};

use crate::digest::index::{DigestIndex, KEY_NIBBLES};
use crate::digest::wire::{Body, DigestMessage, Range};
use crate::id::DocumentId;

/// At most this many runs in a range are sent as a list rather than split further.
const LEAF: u32 = 32;

/// Ranges are packed into replies of about this many bytes.
const REPLY_BYTES: usize = 256 * 1024;

/// What one step decided.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reconciled {
    /// Messages to send back, in order (none: this side is done).
    pub replies: Vec<DigestMessage>,
    /// Runs this side holds that the other side lacks, or holds differently where this
    /// side is the one to say so: offer them. The other side offers the rest.
    pub offer: BTreeSet<DocumentId>,
}

/// The first message of a reconciliation: the sums of the whole tree's 16 children.
pub fn start(index: &DigestIndex) -> DigestMessage {
    DigestMessage {
        ranges: vec![Range {
            prefix: Vec::new(),
            body: Body::Sums(Box::new(index.children(&[]))),
        }],
    }
}

/// Compares what the other side sent with `index`.
pub fn respond(index: &DigestIndex, message: &DigestMessage) -> Reconciled {
    let mut out = Reconciled::default();
    let mut ranges = Vec::new();
    for range in &message.ranges {
        match &range.body {
            Body::Sums(theirs) => {
                let ours = index.children(&range.prefix);
                for (nibble, (mine, their)) in ours.iter().zip(theirs.iter()).enumerate() {
                    if mine == their {
                        continue;
                    }
                    let mut prefix = range.prefix.clone();
                    prefix.push(nibble as u8);
                    if their.count == 0 {
                        // They hold nothing here: everything we hold is news to them.
                        out.offer
                            .extend(index.items(&prefix).into_iter().map(|(id, _)| id));
                    } else if mine.count <= LEAF || prefix.len() == KEY_NIBBLES {
                        let items = index.items(&prefix);
                        // With nothing of ours to compare, they need no answer.
                        let reply = !items.is_empty();
                        ranges.push(Range {
                            prefix,
                            body: Body::Items { items, reply },
                        });
                    } else {
                        let body = Body::Sums(Box::new(index.children(&prefix)));
                        ranges.push(Range { prefix, body });
                    }
                }
            }
            Body::Items { items, reply } => {
                let theirs: HashMap<_, _> = items.iter().copied().collect();
                let ours = index.items(&range.prefix);
                // Runs both hold differently are offered by the side that asked for a
                // reply (this side, if `reply`): one sync session settles both ways.
                for (id, fingerprint) in &ours {
                    let differs = match theirs.get(id) {
                        None => true,
                        Some(their) => *reply && their != fingerprint,
                    };
                    if differs {
                        out.offer.insert(*id);
                    }
                }
                if *reply {
                    ranges.push(Range {
                        prefix: range.prefix.clone(),
                        body: Body::Items {
                            items: ours,
                            reply: false,
                        },
                    });
                }
            }
        }
    }
    out.replies = pack(ranges);
    out
}

/// Ranges in messages of about [`REPLY_BYTES`] each.
fn pack(ranges: Vec<Range>) -> Vec<DigestMessage> {
    let mut messages = Vec::new();
    let mut current = Vec::new();
    let mut len = 0;
    for range in ranges {
        let range_len = range.wire_len();
        if len + range_len > REPLY_BYTES && !current.is_empty() {
            messages.push(DigestMessage {
                ranges: std::mem::take(&mut current),
            });
            len = 0;
        }
        len += range_len;
        current.push(range);
    }
    if !current.is_empty() {
        messages.push(DigestMessage { ranges: current });
    }
    messages
}
