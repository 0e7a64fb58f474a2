//! [`ReachMessage`]: claims on a mesh link, bounded and checked as they are decoded.

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};

use crate::id::DocumentId;
use crate::reach::{Claim, StoreEpoch};
use crate::sync::PeerId;

/// Claims in one message (a link that comes up is told every claim, in many messages).
pub const MAX_CLAIMS: usize = 256;

/// Heads in one claim: as many as a sync message may name.
pub const MAX_CLAIM_HEADS: usize = crate::bounds::MAX_HEADS as usize;

/// Bytes of a region's name or a reporter's peer id.
pub const MAX_REGION_BYTES: usize = 128;

/// Claims one relay passes to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachMessage {
    /// The claims, in no particular order.
    pub claims: Vec<Claim>,
}

/// A reach message that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReachError {
    /// Not CBOR of a reach message.
    #[error("not a reach message: {0}")]
    Malformed(String),
    /// More claims than one message may carry.
    #[error("a reach message of {count} claims is over the limit of {MAX_CLAIMS}")]
    TooManyClaims {
        /// Claims sent.
        count: usize,
    },
    /// A claim's heads are not whole 32-byte hashes, or too many.
    #[error(
        "a reach claim's heads are {len} bytes: expected whole 32-byte hashes, at most {MAX_CLAIM_HEADS}"
    )]
    Heads {
        /// Bytes sent.
        len: usize,
    },
    /// A run id that is not 16 bytes.
    #[error("a reach claim's run is {len} bytes, not 16")]
    Run {
        /// Bytes sent.
        len: usize,
    },
    /// A region or reporter that is empty or too long.
    #[error("a reach claim's {what} is {len} bytes: expected 1 to {MAX_REGION_BYTES}")]
    Name {
        /// `region` or `reporter`.
        what: &'static str,
        /// Bytes sent.
        len: usize,
    },
}

#[derive(Serialize, Deserialize)]
struct RawMessage {
    claims: Vec<RawClaim>,
}

#[derive(Serialize, Deserialize)]
struct RawClaim {
    region: String,
    epoch: (u64, u64),
    reporter: String,
    seq: u64,
    #[serde(with = "serde_bytes")]
    run: Vec<u8>,
    #[serde(with = "serde_bytes")]
    heads: Vec<u8>,
}

impl ReachMessage {
    /// The message as CBOR.
    pub fn encode(&self) -> Vec<u8> {
        let raw = RawMessage {
            claims: self.claims.iter().map(raw).collect(),
        };
        let mut out = Vec::new();
        ciborium::ser::into_writer(&raw, &mut out).expect("writing CBOR to a Vec cannot fail");
        out
    }

    /// The message from its CBOR, or what is wrong with it.
    pub fn decode(bytes: &[u8]) -> Result<Self, ReachError> {
        let raw: RawMessage =
            ciborium::de::from_reader(bytes).map_err(|e| ReachError::Malformed(e.to_string()))?;
        if raw.claims.len() > MAX_CLAIMS {
            return Err(ReachError::TooManyClaims {
                count: raw.claims.len(),
            });
        }
        let claims = raw
            .claims
            .into_iter()
            .map(claim)
            .collect::<Result<_, _>>()?;
        Ok(Self { claims })
    }
}

fn raw(claim: &Claim) -> RawClaim {
    RawClaim {
        region: claim.region.clone(),
        epoch: (claim.epoch.created_ms, claim.epoch.nonce),
        reporter: claim.reporter.as_str().to_owned(),
        seq: claim.seq,
        run: claim.run.as_bytes().to_vec(),
        heads: claim.heads.iter().flat_map(|h| h.0).collect(),
    }
}

fn claim(raw: RawClaim) -> Result<Claim, ReachError> {
    for (what, name) in [("region", &raw.region), ("reporter", &raw.reporter)] {
        if name.is_empty() || name.len() > MAX_REGION_BYTES {
            return Err(ReachError::Name {
                what,
                len: name.len(),
            });
        }
    }
    let run: [u8; 16] = raw.run[..]
        .try_into()
        .map_err(|_| ReachError::Run { len: raw.run.len() })?;
    let len = raw.heads.len();
    if !len.is_multiple_of(32) || len / 32 > MAX_CLAIM_HEADS {
        return Err(ReachError::Heads { len });
    }
    let heads = raw
        .heads
        .chunks_exact(32)
        .map(|h| ChangeHash(h.try_into().expect("32-byte chunks")))
        .collect();
    Ok(Claim {
        region: raw.region,
        epoch: StoreEpoch {
            created_ms: raw.epoch.0,
            nonce: raw.epoch.1,
        },
        reporter: PeerId::from(raw.reporter),
        seq: raw.seq,
        run: DocumentId::from_bytes(run),
        heads,
    })
}
