//! Automerge sync messages: a type byte, heads, needs, "have" summaries with Bloom
//! filters, changes, and optional flags.

use super::chunk::check_chunks;
use super::reader::Reader;
use super::{BoundsError, Budget};

const V1: u8 = 0x42;
const V2: u8 = 0x43;

/// The most probes a peer's Bloom filter may ask for per hash. Automerge writes 7;
/// Automerge reads the number from the wire and allocates a vector of that many probes
/// for every hash it tests (four billion would be 16 GiB).
pub const MAX_BLOOM_PROBES: u64 = 64;
/// The most bits per entry a Bloom filter may declare (Automerge writes 10).
const MAX_BLOOM_BITS_PER_ENTRY: u64 = 64;
/// The most "have" summaries a message may carry. Automerge writes at most one; when
/// answering, it tests every change of the document against every summary's Bloom filter,
/// and keeps doing so on each message it sends until the peer speaks again (measured: a
/// 60 KB message of 10,000 summaries cost 0.9 s of the run's task per reply on a run of
/// 200 changes).
pub const MAX_HAVE_SUMMARIES: u64 = 8;
/// The most bytes the Bloom filters of one message's "have" summaries may hold together.
/// Automerge writes one filter of 10 bits per change the sender made since it last
/// synced (a run of 262,144 changes: 320 KiB); the relay keeps the last filters of every
/// peer for every run it syncs (seventh attack, E18: 15 MB messages of 8 filters took a
/// relay past 3.6 GB).
pub const MAX_BLOOM_BYTES: u64 = 1024 * 1024;
/// The most heads a message may list (in itself, or as a summary's last sync heads). A
/// run has one head per line of edits nobody has seen together yet; the relay keeps the
/// last heads each peer sent for each run it syncs, so 256 MB of heads sent was 430 MB
/// kept (seventh attack, E16).
pub const MAX_HEADS: u64 = 256;
/// The most changes a message may ask for by hash.
pub const MAX_NEEDS: u64 = 4096;

/// Checks an encoded sync message, and the changes it carries, before it is decoded.
pub fn check_sync_message(bytes: &[u8]) -> Result<(), BoundsError> {
    let mut budget = Budget::for_input(bytes.len());
    let mut r = Reader::new(bytes);
    match r.byte("message type")? {
        V1 | V2 => {}
        other => {
            return Err(BoundsError::Malformed(format!(
                "not an Automerge sync message: type byte {other:#04x}"
            )));
        }
    }
    hashes(&mut r, "heads", MAX_HEADS)?;
    // Automerge sends a change once per time it is listed, and fails (a panic, not an
    // error) collecting a change listed twice.
    no_repeats(hashes(&mut r, "needs", MAX_NEEDS)?, "needs")?;
    // Each summary is at least two empty lists.
    let haves = r.count(2, "have summaries")?;
    if haves > MAX_HAVE_SUMMARIES {
        return Err(BoundsError::OutOfRange {
            what: "have summaries",
            value: haves,
            bound: MAX_HAVE_SUMMARIES,
        });
    }
    let mut bloom_bytes = 0u64;
    for _ in 0..haves {
        hashes(&mut r, "last sync heads", MAX_HEADS)?;
        let filter = r.prefixed("bloom filter")?;
        bloom_bytes += filter.len() as u64;
        if bloom_bytes > MAX_BLOOM_BYTES {
            return Err(BoundsError::OutOfRange {
                what: "bytes of bloom filters",
                value: bloom_bytes,
                bound: MAX_BLOOM_BYTES,
            });
        }
        bloom(filter)?;
    }
    let changes = r.count(1, "changes")?;
    for _ in 0..changes {
        check_chunks(r.prefixed("change")?, &mut budget)?;
    }
    if !r.is_empty() {
        r.prefixed("message flags")?;
    }
    Ok(())
}

fn hashes<'a>(r: &mut Reader<'a>, what: &'static str, most: u64) -> Result<&'a [u8], BoundsError> {
    let count = r.count(32, what)?;
    if count > most {
        return Err(BoundsError::OutOfRange {
            what,
            value: count,
            bound: most,
        });
    }
    r.take(count * 32, what)
}

/// Refuses a list of hashes that names one twice.
fn no_repeats(hashes: &[u8], what: &'static str) -> Result<(), BoundsError> {
    let mut sorted: Vec<&[u8]> = hashes.chunks_exact(32).collect();
    sorted.sort_unstable();
    match sorted.windows(2).find(|pair| pair[0] == pair[1]) {
        Some(pair) => Err(BoundsError::Malformed(format!(
            "{what} lists change {} twice",
            hex(pair[0])
        ))),
        None => Ok(()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A Bloom filter: empty, or entries, bits per entry, probes, then exactly the bits
/// those declare.
fn bloom(bytes: &[u8]) -> Result<(), BoundsError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut r = Reader::new(bytes);
    let entries = u32_field(&mut r, "bloom filter entries")?;
    let bits_per_entry = u32_field(&mut r, "bloom filter bits per entry")?;
    let probes = u32_field(&mut r, "bloom filter probes")?;
    if probes > MAX_BLOOM_PROBES {
        return Err(BoundsError::OutOfRange {
            what: "bloom filter probes",
            value: probes,
            bound: MAX_BLOOM_PROBES,
        });
    }
    if bits_per_entry > MAX_BLOOM_BITS_PER_ENTRY {
        return Err(BoundsError::OutOfRange {
            what: "bloom filter bits per entry",
            value: bits_per_entry,
            bound: MAX_BLOOM_BITS_PER_ENTRY,
        });
    }
    let bits = (entries * bits_per_entry).div_ceil(8);
    // A filter with entries but no bits makes Automerge divide by zero.
    if entries > 0 && bits == 0 {
        return Err(BoundsError::Malformed(format!(
            "a bloom filter of {entries} entries with no bits"
        )));
    }
    r.take(bits, "bloom filter bits")?;
    Ok(())
}

fn u32_field(r: &mut Reader<'_>, what: &'static str) -> Result<u64, BoundsError> {
    let value = r.uleb(what)?;
    if value > u64::from(u32::MAX) {
        return Err(BoundsError::Number { what });
    }
    Ok(value)
}
