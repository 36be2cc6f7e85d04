//! Protobuf at the wire level: rewrite a few top-level fields of a message
//! and copy every other field byte for byte.
//!
//! The forwarded `DataPacket` must reach the receivers intact, including
//! fields a newer SDK knows and our `livekit-protocol` does not (prost drops
//! unknown fields when it re-encodes). So the router decodes the packet to
//! read it, but builds the outgoing bytes by patching the original: the
//! fields it stamps are removed and appended anew (protobuf allows any field
//! order, and the last value of a scalar wins), everything else is copied.

use std::ops::Range;

/// Why bytes are not a protobuf message we can walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A varint ran past the end or past 10 bytes.
    #[error("bad varint")]
    BadVarint,
    /// A field's length runs past the end of the buffer.
    #[error("truncated field")]
    Truncated,
    /// Groups (wire types 3/4) and unknown wire types are not used by LiveKit.
    #[error("unsupported wire type {0}")]
    WireType(u8),
    /// Field number 0 is invalid.
    #[error("field number 0")]
    ZeroTag,
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let b = *buf.get(*pos).ok_or(WireError::BadVarint)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(WireError::BadVarint)
}

/// The top-level fields of `buf`: field number and the byte range of the
/// whole field (key included).
pub fn fields(buf: &[u8]) -> Result<Vec<(u32, Range<usize>)>, WireError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let start = pos;
        let key = read_varint(buf, &mut pos)?;
        let tag = u32::try_from(key >> 3).map_err(|_| WireError::Truncated)?;
        if tag == 0 {
            return Err(WireError::ZeroTag);
        }
        let skip = match (key & 7) as u8 {
            0 => {
                read_varint(buf, &mut pos)?;
                0
            }
            1 => 8,
            2 => usize::try_from(read_varint(buf, &mut pos)?).map_err(|_| WireError::Truncated)?,
            5 => 4,
            t => return Err(WireError::WireType(t)),
        };
        let end = pos.checked_add(skip).ok_or(WireError::Truncated)?;
        if end > buf.len() {
            return Err(WireError::Truncated);
        }
        pos = end;
        out.push((tag, start..end));
    }
    Ok(out)
}

/// `buf` without the top-level fields numbered in `drop`, followed by
/// whatever `append` writes.
pub fn patch(
    buf: &[u8],
    drop: &[u32],
    append: impl FnOnce(&mut Vec<u8>),
) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(buf.len() + 64);
    for (tag, range) in fields(buf)? {
        if !drop.contains(&tag) {
            // `fields` checked every range against `buf`.
            out.extend_from_slice(buf.get(range).unwrap_or(&[]));
        }
    }
    append(&mut out);
    Ok(out)
}

/// The content of the length-delimited field at `range` (as returned by
/// [`fields`]): the bytes after its key and length.
pub fn payload_of(buf: &[u8], range: Range<usize>) -> Result<&[u8], WireError> {
    let field = buf.get(range).ok_or(WireError::Truncated)?;
    let mut pos = 0;
    let key = read_varint(field, &mut pos)?;
    if key & 7 != 2 {
        return Err(WireError::WireType((key & 7) as u8));
    }
    let len = usize::try_from(read_varint(field, &mut pos)?).map_err(|_| WireError::Truncated)?;
    let end = pos.checked_add(len).ok_or(WireError::Truncated)?;
    field.get(pos..end).ok_or(WireError::Truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_truncation_is_an_error_or_a_prefix_never_a_panic() {
        // field 1 varint 150, field 2 bytes "abc", field 3 fixed32, field 4 fixed64
        let msg = [
            0x08, 0x96, 0x01, 0x12, 3, b'a', b'b', b'c', 0x1d, 1, 2, 3, 4, 0x21, 1, 2, 3, 4, 5, 6,
            7, 8,
        ];
        assert_eq!(fields(&msg).map(|f| f.len()), Ok(4));
        for n in 0..msg.len() {
            let _ = fields(&msg[..n]);
        }
        assert_eq!(fields(&[0x12, 5, 1]), Err(WireError::Truncated));
        assert_eq!(fields(&[0x0b]), Err(WireError::WireType(3)));
        assert_eq!(fields(&[0x00, 0x00]), Err(WireError::ZeroTag));
    }

    #[test]
    fn patch_drops_named_fields_keeps_the_rest_and_appends() {
        let msg = [0x08, 0x01, 0x12, 1, b'x', 0x18, 0x05];
        let out = patch(&msg, &[2], |o| o.extend_from_slice(&[0x12, 1, b'y'])).unwrap();
        assert_eq!(out, vec![0x08, 0x01, 0x18, 0x05, 0x12, 1, b'y']);
    }
}
