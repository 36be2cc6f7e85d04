use super::{PT_PSFB, PT_RR, PT_RTPFB, PT_SR};

fn header(out: &mut [u8], count_or_fmt: u8, pt: u8, len: usize) {
    out[0] = 0x80 | (count_or_fmt & 0x1f);
    out[1] = pt;
    out[2..4].copy_from_slice(&((len / 4 - 1) as u16).to_be_bytes());
}

/// Writes a PLI from `sender_ssrc` about `media_ssrc`; returns its length
/// (12), or 0 if `out` is too small.
pub fn write_pli(out: &mut [u8], sender_ssrc: u32, media_ssrc: u32) -> usize {
    if out.len() < 12 {
        return 0;
    }
    header(out, 1, PT_PSFB, 12);
    out[4..8].copy_from_slice(&sender_ssrc.to_be_bytes());
    out[8..12].copy_from_slice(&media_ssrc.to_be_bytes());
    12
}

/// Writes a generic NACK with `(pid, blp)` items; returns its length, or 0
/// if `out` is too small.
pub fn write_nack(
    out: &mut [u8],
    sender_ssrc: u32,
    media_ssrc: u32,
    items: &[(u16, u16)],
) -> usize {
    let len = 12 + 4 * items.len();
    if out.len() < len || items.is_empty() {
        return 0;
    }
    header(out, 1, PT_RTPFB, len);
    out[4..8].copy_from_slice(&sender_ssrc.to_be_bytes());
    out[8..12].copy_from_slice(&media_ssrc.to_be_bytes());
    for (i, (pid, blp)) in items.iter().enumerate() {
        let at = 12 + 4 * i;
        out[at..at + 2].copy_from_slice(&pid.to_be_bytes());
        out[at + 2..at + 4].copy_from_slice(&blp.to_be_bytes());
    }
    len
}

/// Writes a sender report without report blocks; returns 28, or 0 if `out`
/// is too small.
pub fn write_sender_report(
    out: &mut [u8],
    ssrc: u32,
    ntp: u64,
    rtp_time: u32,
    packets: u32,
    octets: u32,
) -> usize {
    if out.len() < 28 {
        return 0;
    }
    header(out, 0, PT_SR, 28);
    out[4..8].copy_from_slice(&ssrc.to_be_bytes());
    out[8..16].copy_from_slice(&ntp.to_be_bytes());
    out[16..20].copy_from_slice(&rtp_time.to_be_bytes());
    out[20..24].copy_from_slice(&packets.to_be_bytes());
    out[24..28].copy_from_slice(&octets.to_be_bytes());
    28
}

/// One reception report block (RFC 3550 6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    pub ssrc: u32,
    pub fraction_lost: u8,
    /// 24-bit cumulative loss (clamped).
    pub cumulative_lost: u32,
    pub highest_seq: u32,
    pub jitter: u32,
    pub last_sr: u32,
    pub delay_since_last_sr: u32,
}

/// Writes a receiver report with one block; returns 32, or 0 if `out` is
/// too small.
pub fn write_receiver_report(out: &mut [u8], sender_ssrc: u32, b: &ReportBlock) -> usize {
    if out.len() < 32 {
        return 0;
    }
    header(out, 1, PT_RR, 32);
    out[4..8].copy_from_slice(&sender_ssrc.to_be_bytes());
    out[8..12].copy_from_slice(&b.ssrc.to_be_bytes());
    let lost = b.cumulative_lost.min(0x7f_ffff);
    out[12] = b.fraction_lost;
    out[13..16].copy_from_slice(&lost.to_be_bytes()[1..4]);
    out[16..20].copy_from_slice(&b.highest_seq.to_be_bytes());
    out[20..24].copy_from_slice(&b.jitter.to_be_bytes());
    out[24..28].copy_from_slice(&b.last_sr.to_be_bytes());
    out[28..32].copy_from_slice(&b.delay_since_last_sr.to_be_bytes());
    32
}
