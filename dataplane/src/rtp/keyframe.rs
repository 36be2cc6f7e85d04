//! Whether an RTP packet begins a keyframe, per codec payload format. The
//! forwarder starts a down-track (and switches simulcast layers) only there,
//! so a subscriber's decoder never starts on a delta frame.

/// The video codecs we forward, as far as keyframe detection cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum VideoCodec {
    Vp8 = 0,
    Vp9 = 1,
    H264 = 2,
    Av1 = 3,
    /// Unknown format: every packet counts as a start (never waits).
    Other = 255,
}

impl VideoCodec {
    pub fn from_u8(v: u8) -> Self {
        match v {
            0 => VideoCodec::Vp8,
            1 => VideoCodec::Vp9,
            2 => VideoCodec::H264,
            3 => VideoCodec::Av1,
            _ => VideoCodec::Other,
        }
    }
}

/// True if `payload` (the RTP payload) is the first packet of a keyframe.
pub fn is_keyframe_start(codec: VideoCodec, payload: &[u8]) -> bool {
    match codec {
        VideoCodec::Vp8 => vp8(payload),
        VideoCodec::Vp9 => vp9(payload),
        VideoCodec::H264 => h264(payload),
        VideoCodec::Av1 => av1(payload),
        VideoCodec::Other => true,
    }
}

/// RFC 7741 4.2: descriptor, then the VP8 frame header whose P bit is 0 on
/// keyframes; only at S=1, PID=0 (start of the first partition).
fn vp8(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    let start = b0 & 0x10 != 0 && b0 & 0x07 == 0;
    if !start {
        return false;
    }
    let mut i = 1;
    if b0 & 0x80 != 0 {
        let Some(&x) = p.get(1) else { return false };
        i = 2;
        if x & 0x80 != 0 {
            // PictureID: 7 or 15 bits.
            let Some(&pid) = p.get(i) else { return false };
            i += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            i += 1; // TID/Y/KEYIDX
        }
    }
    p.get(i).is_some_and(|&h| h & 0x01 == 0)
}

/// VP9 payload descriptor (RFC 9628 4.2): B (start of frame) set and P
/// (inter-picture predicted) clear.
fn vp9(p: &[u8]) -> bool {
    p.first().is_some_and(|&b| b & 0x08 != 0 && b & 0x40 == 0)
}

/// H.264 (RFC 6184): an IDR or SPS NAL unit, alone, first in a STAP-A, or
/// starting a FU-A.
fn h264(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    let is_key = |t: u8| t == 5 || t == 7;
    match b0 & 0x1f {
        24 => {
            // STAP-A: [hdr][size16][nal]...
            let mut i = 1;
            while let Some(sz) = p.get(i..i + 2) {
                let size = usize::from(u16::from_be_bytes([sz[0], sz[1]]));
                let Some(&nal) = p.get(i + 2) else {
                    return false;
                };
                if is_key(nal & 0x1f) {
                    return true;
                }
                i += 2 + size;
            }
            false
        }
        28 => p
            .get(1)
            .is_some_and(|&fu| fu & 0x80 != 0 && is_key(fu & 0x1f)),
        t => is_key(t),
    }
}

/// AV1 aggregation header (AV1 RTP spec 4.4): N = first packet of a coded
/// video sequence, i.e. a keyframe.
fn av1(p: &[u8]) -> bool {
    p.first().is_some_and(|&b| b & 0x08 != 0)
}
