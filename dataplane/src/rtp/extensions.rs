use super::header::RtpHeader;

/// The RFC 6464 client-to-mixer audio level of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioLevel {
    /// The V flag: the sender's voice activity detector saw speech.
    pub voice: bool,
    /// -dBov, 0 (loudest) to 127 (silence).
    pub dbov: u8,
}

/// Calls `f(id, data)` for each element of a one-byte (0xBEDE) or two-byte
/// (0x100x) extension block; stops at the first malformed element.
fn for_each_element(pkt: &[u8], h: &RtpHeader, mut f: impl FnMut(u8, &[u8]) -> bool) {
    let Some((profile, start, end)) = h.extension else {
        return;
    };
    let Some(block) = pkt.get(start..end) else {
        return;
    };
    let two_byte = profile & 0xfff0 == 0x1000;
    if profile != 0xBEDE && !two_byte {
        return;
    }
    let mut i = 0;
    while i < block.len() {
        let b = block[i];
        if b == 0 {
            i += 1; // padding
            continue;
        }
        let (id, len, data_at) = if two_byte {
            let Some(&l) = block.get(i + 1) else { return };
            (b, usize::from(l), i + 2)
        } else {
            let id = b >> 4;
            if id == 15 {
                return; // reserved: stop parsing (RFC 8285 4.2)
            }
            (id, usize::from(b & 0x0f) + 1, i + 1)
        };
        let Some(data) = block.get(data_at..data_at + len) else {
            return;
        };
        if !f(id, data) {
            return;
        }
        i = data_at + len;
    }
}

/// The audio level carried under extension id `id`, if present.
pub fn audio_level(pkt: &[u8], h: &RtpHeader, id: u8) -> Option<AudioLevel> {
    if id == 0 {
        return None;
    }
    let mut found = None;
    for_each_element(pkt, h, |eid, data| {
        if eid == id {
            if let Some(&b) = data.first() {
                found = Some(AudioLevel {
                    voice: b & 0x80 != 0,
                    dbov: b & 0x7f,
                });
            }
            return false;
        }
        true
    });
    found
}

/// Removes the header extension block (and the X bit) from `pkt[..len]` in
/// place, moving the payload up; returns the new length. Subscribers get no
/// extension ids they did not negotiate: the publisher's `sdes:mid` in
/// particular would misroute the packet on a BUNDLE transport.
pub fn strip_extensions(pkt: &mut [u8], len: usize, h: &RtpHeader) -> usize {
    let Some((_, start, end)) = h.extension else {
        return len;
    };
    let block_start = start - 4;
    if end > len || len > pkt.len() {
        return len;
    }
    pkt.copy_within(end..len, block_start);
    pkt[0] &= !0x10;
    len - (end - block_start)
}

/// The value of extension `id` (e.g. the rid, `sdes:mid`), if present.
pub fn extension_value<'a>(pkt: &'a [u8], h: &RtpHeader, id: u8) -> Option<&'a [u8]> {
    if id == 0 {
        return None;
    }
    let (_, start, end) = h.extension?;
    let mut found: Option<(usize, usize)> = None;
    for_each_element(pkt, h, |eid, data| {
        if eid == id {
            // `data` borrows from `pkt`: remember where it is.
            let off = data.as_ptr() as usize - pkt.as_ptr() as usize;
            found = Some((off, data.len()));
            return false;
        }
        true
    });
    let (off, len) = found?;
    if off < start || off + len > end {
        return None;
    }
    pkt.get(off..off + len)
}
