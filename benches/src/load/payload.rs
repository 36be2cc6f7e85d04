//! What a publisher puts in each RTP payload so subscribers can measure:
//! a sequence number, the send time and the publisher's index, then filler
//! up to an Opus-sized packet.
//!
//! The send time is `CLOCK_MONOTONIC` in nanoseconds; publisher and
//! subscribers run on the same host, so one-way latency is a subtraction.

use ringcast_dataplane::rtp::RtpHeader;

/// Bytes of the stamp at the start of the payload.
pub const STAMP_LEN: usize = 16;
/// RTP fixed header, no CSRCs, no extensions.
pub const RTP_HEADER_LEN: usize = 12;
/// Opus at 48 kHz advances the RTP clock by 960 per 20 ms frame.
pub const OPUS_TICKS_PER_FRAME: u32 = 960;

/// The measurement stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Counts every packet the publisher sent, from 0.
    pub seq: u32,
    /// `CLOCK_MONOTONIC` at send, nanoseconds.
    pub sent_ns: u64,
    /// The publisher's global index (room-major).
    pub publisher: u32,
}

impl Stamp {
    /// Writes the stamp at the start of `out` (big-endian `seq`, `sent_ns`,
    /// `publisher`). `out` must hold [`STAMP_LEN`] bytes.
    pub fn write(&self, out: &mut [u8]) -> Option<()> {
        let out = out.get_mut(..STAMP_LEN)?;
        out[0..4].copy_from_slice(&self.seq.to_be_bytes());
        out[4..12].copy_from_slice(&self.sent_ns.to_be_bytes());
        out[12..16].copy_from_slice(&self.publisher.to_be_bytes());
        Some(())
    }

    /// Reads a stamp from the start of an RTP payload.
    #[must_use]
    pub fn read(payload: &[u8]) -> Option<Stamp> {
        let p = payload.get(..STAMP_LEN)?;
        Some(Stamp {
            seq: u32::from_be_bytes(p[0..4].try_into().ok()?),
            sent_ns: u64::from_be_bytes(p[4..12].try_into().ok()?),
            publisher: u32::from_be_bytes(p[12..16].try_into().ok()?),
        })
    }
}

/// `CLOCK_MONOTONIC` now, in nanoseconds.
#[must_use]
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// Writes a plain RTP packet (version 2, marker clear) with `stamp` at the
/// start of a `payload_len`-byte payload (filler after it). Returns the
/// packet length, or `None` if `out` is too small or `payload_len` cannot
/// hold the stamp.
pub fn write_rtp(
    out: &mut [u8],
    payload_type: u8,
    rtp_seq: u16,
    rtp_ts: u32,
    ssrc: u32,
    stamp: &Stamp,
    payload_len: usize,
) -> Option<usize> {
    if payload_len < STAMP_LEN {
        return None;
    }
    let len = RTP_HEADER_LEN + payload_len;
    let pkt = out.get_mut(..len)?;
    pkt[0] = 0x80;
    pkt[1] = 0;
    RtpHeader::write_ids(pkt, payload_type, rtp_seq, rtp_ts, ssrc);
    stamp.write(&mut pkt[RTP_HEADER_LEN..])?;
    // Filler that is not all zeros, like a real Opus frame.
    for (i, b) in pkt[RTP_HEADER_LEN + STAMP_LEN..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31) ^ 0x5a;
    }
    Some(len)
}

/// The stamp in an (unprotected) RTP packet, wherever the server put the
/// payload (it may add header extensions or CSRCs).
#[must_use]
pub fn stamp_of_rtp(pkt: &[u8]) -> Option<Stamp> {
    let h = RtpHeader::parse(pkt).ok()?;
    Stamp::read(h.payload(pkt))
}

/// VP8 payload type we offer (LiveKit's default table).
pub const VP8_PT: u8 = 96;
/// Video RTP clock rate.
pub const VIDEO_CLOCK_HZ: u32 = 90_000;
/// Bytes of a video payload before the stamp: the one-byte VP8 payload
/// descriptor (RFC 7741 4.2) and room for a keyframe's 10-byte VP8 frame
/// header (3-byte frame tag, start code, width, height). Every video packet
/// keeps the stamp at this offset, so a subscriber finds it without
/// depacketizing.
pub const VP8_PREFIX: usize = 11;

/// Where a video packet sits in its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Part {
    /// The first packet of the frame (descriptor S=1, PID=0, followed by
    /// the frame header the forwarder reads to find keyframes).
    pub first: bool,
    /// The frame is a keyframe (the frame tag's P bit clear).
    pub keyframe: bool,
    /// The last packet of the frame (RTP marker bit).
    pub last: bool,
}

/// One RFC 8285 one-byte header extension element: id 1..=14 and 1..=16
/// bytes of value.
pub type Extension<'a> = (u8, &'a [u8]);

/// Writes a VP8 RTP packet whose payload looks like a real VP8 frame's to
/// the forwarder (descriptor, and on a frame's first packet the frame tag
/// with the keyframe bit and, on keyframes, the start code and size), with
/// `stamp` at [`VP8_PREFIX`] and filler up to `payload_len`, and the given
/// one-byte header extensions (rid and mid for simulcast, as the SDKs
/// send). Returns the packet length, or `None` if `out` is too small,
/// `payload_len` cannot hold prefix and stamp, or an extension is invalid.
#[allow(clippy::too_many_arguments)]
pub fn write_vp8_rtp(
    out: &mut [u8],
    rtp_seq: u16,
    rtp_ts: u32,
    ssrc: u32,
    extensions: &[Extension<'_>],
    part: Vp8Part,
    stamp: &Stamp,
    payload_len: usize,
) -> Option<usize> {
    if payload_len < VP8_PREFIX + STAMP_LEN {
        return None;
    }
    let ext_bytes: usize = extensions.iter().map(|(_, v)| 1 + v.len()).sum();
    let ext_words = ext_bytes.div_ceil(4);
    let header_len = RTP_HEADER_LEN
        + if extensions.is_empty() {
            0
        } else {
            4 + 4 * ext_words
        };
    let len = header_len + payload_len;
    let pkt = out.get_mut(..len)?;
    pkt[0] = if extensions.is_empty() { 0x80 } else { 0x90 };
    pkt[1] = if part.last { 0x80 } else { 0 };
    RtpHeader::write_ids(pkt, VP8_PT, rtp_seq, rtp_ts, ssrc);
    if !extensions.is_empty() {
        pkt[12..14].copy_from_slice(&[0xBE, 0xDE]);
        pkt[14..16].copy_from_slice(&u16::try_from(ext_words).ok()?.to_be_bytes());
        let mut at = 16;
        for &(id, v) in extensions {
            if !(1..=14).contains(&id) || v.is_empty() || v.len() > 16 {
                return None;
            }
            pkt[at] = (id << 4) | (v.len() as u8 - 1);
            pkt[at + 1..at + 1 + v.len()].copy_from_slice(v);
            at += 1 + v.len();
        }
        pkt[at..header_len].fill(0);
    }
    let p = &mut pkt[header_len..];
    // Descriptor: X=0, N=0, S on the frame's first packet, PID 0.
    p[0] = if part.first { 0x10 } else { 0 };
    for (i, b) in p[1..VP8_PREFIX].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(29) ^ 0xa5;
    }
    if part.first {
        // Frame tag: P (bit 0) clear on keyframes, show_frame set.
        p[1] = if part.keyframe { 0x10 } else { 0x11 };
        p[2] = 0x02;
        p[3] = 0x00;
        if part.keyframe {
            // Start code, then 1280x720 (no scaling).
            p[4..7].copy_from_slice(&[0x9d, 0x01, 0x2a]);
            p[7..9].copy_from_slice(&1280u16.to_le_bytes());
            p[9..11].copy_from_slice(&720u16.to_le_bytes());
        }
    }
    stamp.write(&mut p[VP8_PREFIX..])?;
    for (i, b) in p[VP8_PREFIX + STAMP_LEN..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31) ^ 0x5a;
    }
    Some(len)
}

/// The stamp in an (unprotected) RTP packet of either kind: after the VP8
/// prefix when the payload type is `video_pt`, at the start otherwise.
#[must_use]
pub fn stamp_of_media(pkt: &[u8], video_pt: u8) -> Option<Stamp> {
    let h = RtpHeader::parse(pkt).ok()?;
    let payload = h.payload(pkt);
    if h.payload_type == video_pt {
        Stamp::read(payload.get(VP8_PREFIX..)?)
    } else {
        Stamp::read(payload)
    }
}

/// A video stream's packet pattern: frames at a fixed rate, each split into
/// packets of at most [`VIDEO_MTU_PAYLOAD`] bytes, so the bitrate holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoPattern {
    pub packets_per_frame: u32,
    pub payload_bytes: usize,
}

/// Frames per second of every simulated video stream.
pub const VIDEO_FPS: u32 = 30;
/// Largest RTP payload of a video packet (what libwebrtc aims for).
pub const VIDEO_MTU_PAYLOAD: usize = 1200;

impl VideoPattern {
    /// The pattern for `bits_per_second` at [`VIDEO_FPS`]: each frame is
    /// `bitrate / 8 / fps` bytes in equal packets of at most
    /// [`VIDEO_MTU_PAYLOAD`] (at least one packet holding prefix and stamp).
    #[must_use]
    pub fn for_bitrate(bits_per_second: u64) -> VideoPattern {
        let frame_bytes = (bits_per_second / 8 / u64::from(VIDEO_FPS)).max(1) as usize;
        let packets = frame_bytes.div_ceil(VIDEO_MTU_PAYLOAD).max(1);
        VideoPattern {
            packets_per_frame: packets as u32,
            payload_bytes: (frame_bytes / packets).clamp(VP8_PREFIX + STAMP_LEN, VIDEO_MTU_PAYLOAD),
        }
    }

    /// Packets a second.
    #[must_use]
    pub fn packets_per_second(&self) -> u32 {
        self.packets_per_frame * VIDEO_FPS
    }
}
