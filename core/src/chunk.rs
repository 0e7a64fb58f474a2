//! Automerge's storage chunks, split without parsing their bodies: what the sync engine
//! and the hub need to tell a whole document from a change.

/// Every storage chunk starts with these bytes.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// The type byte of a chunk that holds a whole document (a change is 1, a compressed
/// change 2).
pub(crate) const DOCUMENT: u8 = 0;

/// The first chunk of `bytes`: its type, its whole bytes (header included) and what
/// follows it. A chunk is the magic bytes, a 4-byte checksum, a type byte, the body's
/// length as unsigned LEB128, and the body.
pub(crate) fn split_chunk(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    if bytes.get(..4)? != MAGIC {
        return None;
    }
    let kind = *bytes.get(8)?;
    let (mut len, mut shift, mut at) = (0u64, 0u32, 9usize);
    loop {
        let byte = *bytes.get(at)?;
        at += 1;
        len |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
    let end = at.checked_add(usize::try_from(len).ok()?)?;
    (end <= bytes.len()).then(|| (kind, &bytes[..end], &bytes[end..]))
}
