//! Our transport-wide congestion control feedback parses with webrtc-rs's
//! `rtcp` crate (the oracle) and says what arrived, what was lost and when:
//! statuses per sequence number, receive deltas in 250 µs ticks summing to
//! the arrival times, successive packets continuing where the last ended.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ringcast_dataplane::rtcp::TwccRecorder;
use rtcp::transport_feedbacks::transport_layer_cc::{
    PacketStatusChunk, SymbolTypeTcc, TransportLayerCc,
};
use webrtc_util::marshal::Unmarshal;

fn statuses(fb: &TransportLayerCc) -> Vec<SymbolTypeTcc> {
    let mut out = Vec::new();
    for c in &fb.packet_chunks {
        match c {
            PacketStatusChunk::RunLengthChunk(r) => out.extend(std::iter::repeat_n(
                r.packet_status_symbol,
                r.run_length as usize,
            )),
            PacketStatusChunk::StatusVectorChunk(v) => out.extend(v.symbol_list.iter().copied()),
        }
    }
    out.truncate(fb.packet_status_count as usize);
    out
}

fn parse(buf: &[u8]) -> TransportLayerCc {
    let mut b = Bytes::copy_from_slice(buf);
    TransportLayerCc::unmarshal(&mut b).expect("oracle parses our feedback")
}

#[test]
fn feedback_reports_arrivals_losses_and_deltas() {
    let t0 = Instant::now();
    let mut rec = TwccRecorder::new(t0);
    // 10 packets, 5 ms apart, #3 and #7 lost, #5 arrives after #6.
    let arrivals: [(u16, u64); 8] = [
        (100, 0),
        (101, 5),
        (102, 10),
        (104, 20),
        (106, 30),
        (105, 31),
        (108, 40),
        (109, 45),
    ];
    for (seq, ms) in arrivals {
        rec.record(seq, 0xABCD, t0 + Duration::from_millis(ms));
    }
    let mut out = [0u8; 1500];
    let n = rec.build(t0 + Duration::from_millis(50), 1, &mut out);
    assert!(n > 20 && n.is_multiple_of(4), "length {n}");
    let fb = parse(&out[..n]);
    assert_eq!(fb.base_sequence_number, 100);
    assert_eq!(fb.packet_status_count, 10);
    assert_eq!(fb.media_ssrc, 0xABCD);
    assert_eq!(fb.fb_pkt_count, 0);
    let st = statuses(&fb);
    let received: Vec<bool> = st
        .iter()
        .map(|s| *s != SymbolTypeTcc::PacketNotReceived)
        .collect();
    assert_eq!(
        received,
        [true, true, true, false, true, true, true, false, true, true]
    );
    // Deltas (µs) in sequence order: 0,5,10,(lost),20,31,30,(lost),40,45 ms;
    // #106 is 1 ms before #105 in sequence order, a negative delta.
    let deltas: Vec<i64> = fb.recv_deltas.iter().map(|d| d.delta).collect();
    let mut t = i64::from(fb.reference_time) * 64_000;
    let mut times = Vec::new();
    for d in &deltas {
        t += d;
        times.push(t);
    }
    let rel: Vec<i64> = times.iter().map(|x| (x - times[0]) / 1000).collect();
    assert_eq!(rel, [0, 5, 10, 20, 31, 30, 40, 45]);

    // The next feedback continues at 110, with an increased count.
    rec.record(110, 0xABCD, t0 + Duration::from_millis(55));
    let n = rec.build(t0 + Duration::from_millis(100), 1, &mut out);
    let fb = parse(&out[..n]);
    assert_eq!((fb.base_sequence_number, fb.packet_status_count), (110, 1));
    assert_eq!(fb.fb_pkt_count, 1);
    // Nothing new: nothing sent.
    assert_eq!(rec.build(t0 + Duration::from_millis(150), 1, &mut out), 0);
}

#[test]
fn a_late_packet_already_reported_lost_is_not_reported_again() {
    let t0 = Instant::now();
    let mut rec = TwccRecorder::new(t0);
    rec.record(10, 1, t0);
    rec.record(12, 1, t0 + Duration::from_millis(2));
    let mut out = [0u8; 1500];
    let n = rec.build(t0 + Duration::from_millis(50), 1, &mut out);
    assert_eq!(parse(&out[..n]).packet_status_count, 3);
    rec.record(11, 1, t0 + Duration::from_millis(60));
    rec.record(13, 1, t0 + Duration::from_millis(61));
    let n = rec.build(t0 + Duration::from_millis(100), 1, &mut out);
    let fb = parse(&out[..n]);
    assert_eq!((fb.base_sequence_number, fb.packet_status_count), (13, 1));
}
