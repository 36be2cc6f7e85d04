//! Loss recovery against a publisher whose NACK answers may be lost, built
//! from our own sans-IO peers (STUN check, DTLS client, SRTP) connected to a
//! worker in memory, as in `media_forwarding.rs`. The publisher here has no
//! RTX (the LiveKit Rust/Python SDKs offer only the primary codec), so it
//! answers a NACK by sending the original packet again on the media SSRC.
//! Proves: an unanswered NACK to the publisher is repeated until the packet
//! arrives; the repair is forwarded, cached and counted; a packet never
//! repaired (padding, which libwebrtc does not keep) is given up after a
//! bounded number of NACKs, without a keyframe request.

mod ice_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ringcast_dataplane::dtls::{DtlsCertificate, DtlsEvent, DtlsSession};
use ringcast_dataplane::forward::{CrossPacket, CROSS_RING_SLOTS, MAX_RESENDS, NACK_MAX_TRIES};
use ringcast_dataplane::rtcp::{self, Feedback};
use ringcast_dataplane::rtp::RtpHeader;
use ringcast_dataplane::runtime::{DatagramOut, WorkerCore};
use ringcast_dataplane::srtp::SrtpContext;
use ringcast_shared::records::{
    CodecId, Command, DownTrackSpec, DtlsRole, Event, Fingerprint, InlineStr, MediaKind,
    TransportId,
};
use ringcast_shared::ring::{channel, Consumer, Producer};

const PUB: TransportId = TransportId(1);
const SUB: TransportId = TransportId(2);
const VIDEO_SSRC: u32 = 0x1111_0001;
const OUT_VIDEO_SSRC: u32 = 0xAAAA_0001;

#[derive(Default)]
struct Out(Vec<(SocketAddr, Vec<u8>)>);

impl DatagramOut for Out {
    fn send_to(&mut self, to: SocketAddr, payload: &[u8]) {
        self.0.push((to, payload.to_vec()));
    }
}

struct Worker {
    core: WorkerCore,
    cmd: Producer<Command>,
    _events: Consumer<Event>,
}

impl Worker {
    fn command(&mut self, now: Instant, cmd: Command, out: &mut Out) {
        self.cmd.try_push(cmd).unwrap();
        self.core.on_tick(now, out);
    }
}

fn workers(cert: &DtlsCertificate, n: usize) -> Vec<Worker> {
    let mut peers: Vec<Vec<Producer<CrossPacket>>> = (0..n).map(|_| Vec::new()).collect();
    let mut inbox: Vec<Vec<Consumer<CrossPacket>>> = (0..n).map(|_| Vec::new()).collect();
    for (from, p) in peers.iter_mut().enumerate() {
        for (to, i) in inbox.iter_mut().enumerate() {
            if from != to {
                let (tx, rx) = channel(CROSS_RING_SLOTS).unwrap();
                p.push(tx);
                i.push(rx);
            }
        }
    }
    peers
        .into_iter()
        .zip(inbox)
        .enumerate()
        .map(|(w, (p, i))| {
            let (cmd, cmd_rx) = channel(64).unwrap();
            let (ev_tx, events) = channel(1024).unwrap();
            Worker {
                core: WorkerCore::new(w as u16, cert.clone(), cmd_rx, ev_tx).with_peers(p, i),
                cmd,
                _events: events,
            }
        })
        .collect()
}

/// A client peer: we are the DTLS client towards the server's DTLS server.
struct Peer {
    addr: SocketAddr,
    ufrag: String,
    dtls: DtlsSession,
    tx: Option<SrtpContext>,
    rx: Option<SrtpContext>,
}

impl Peer {
    fn new(
        now: Instant,
        server: &DtlsCertificate,
        port: u16,
        ufrag: &str,
    ) -> (Self, DtlsCertificate) {
        let cert = DtlsCertificate::generate().unwrap();
        let dtls = DtlsSession::new(DtlsRole::Client, &cert, server.fingerprint_sha256, now);
        let addr = SocketAddr::from(([192, 0, 2, 20], port));
        (
            Peer {
                addr,
                ufrag: ufrag.to_string(),
                dtls,
                tx: None,
                rx: None,
            },
            cert,
        )
    }

    fn add_command(&self, id: TransportId, cert: &DtlsCertificate) -> Command {
        Command::AddTransport {
            id,
            local_ufrag: InlineStr::new(&format!("srv{}", self.ufrag)).unwrap(),
            local_pwd: InlineStr::new("serverpassword0123456789abcdef").unwrap(),
            remote_ufrag: InlineStr::new(&self.ufrag).unwrap(),
            role: DtlsRole::Server,
            fingerprint: Fingerprint {
                sha256: cert.fingerprint_sha256,
            },
        }
    }

    /// ICE check, then DTLS until both sides have SRTP keys.
    fn connect(&mut self, now: Instant, w: &mut Worker) {
        let mut out = Out::default();
        let user = format!("srv{}:{}", self.ufrag, self.ufrag);
        let mut check = ice_support::Req::new(&user, "serverpassword0123456789abcdef")
            .nominate()
            .encode();
        w.core.on_datagram(now, self.addr, &mut check, &mut out);
        let mut to_server: Vec<Vec<u8>> = Vec::new();
        for _ in 0..100 {
            while let Some(p) = self.dtls.poll_transmit() {
                to_server.push(p.to_vec());
            }
            for mut p in to_server.drain(..) {
                w.core.on_datagram(now, self.addr, &mut p, &mut out);
            }
            w.core.on_tick(now, &mut out);
            for (to, p) in out.0.drain(..) {
                if to == self.addr && p.first().is_some_and(|b| (20..=63).contains(b)) {
                    self.dtls.handle_packet(now, &p);
                }
            }
            while let Some(ev) = self.dtls.poll_event() {
                if let DtlsEvent::Connected { srtp } = ev {
                    self.tx = Some(SrtpContext::new(srtp.profile(), srtp.local()).unwrap());
                    self.rx = Some(SrtpContext::new(srtp.profile(), srtp.remote()).unwrap());
                }
            }
            if self.tx.is_some() && self.dtls.poll_transmit().is_none() {
                // Let the server see our last flight.
                w.core.on_tick(now, &mut out);
                return;
            }
        }
        panic!("DTLS did not connect");
    }

    fn send_rtp(&mut self, now: Instant, w: &mut Worker, plain: &[u8], out: &mut Out) {
        let mut buf = vec![0u8; plain.len() + 32];
        buf[..plain.len()].copy_from_slice(plain);
        let n = self
            .tx
            .as_mut()
            .unwrap()
            .protect_rtp(&mut buf, plain.len())
            .unwrap();
        buf.truncate(n);
        w.core.on_datagram(now, self.addr, &mut buf, out);
    }

    fn send_rtcp(&mut self, now: Instant, w: &mut Worker, plain: &[u8], out: &mut Out) {
        let mut buf = vec![0u8; plain.len() + 32];
        buf[..plain.len()].copy_from_slice(plain);
        let n = self
            .tx
            .as_mut()
            .unwrap()
            .protect_rtcp(&mut buf, plain.len())
            .unwrap();
        buf.truncate(n);
        w.core.on_datagram(now, self.addr, &mut buf, out);
    }

    /// Decrypts what the server sent to us: (RTP packets, RTCP packets).
    fn take(&mut self, out: &mut Out) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let mut rtp_pkts = Vec::new();
        let mut rtcp_pkts = Vec::new();
        let mine: Vec<Vec<u8>> = out
            .0
            .iter()
            .filter(|(to, _)| *to == self.addr)
            .map(|(_, p)| p.clone())
            .collect();
        out.0.retain(|(to, _)| *to != self.addr);
        for mut p in mine {
            if p.len() < 2 || !(128..=191).contains(&p[0]) {
                continue;
            }
            let rx = self.rx.as_mut().unwrap();
            if (192..=223).contains(&p[1]) {
                let n = rx
                    .unprotect_rtcp(&mut p)
                    .expect("SRTCP from server authenticates");
                p.truncate(n);
                rtcp_pkts.push(p);
            } else {
                let n = rx
                    .unprotect_rtp(&mut p)
                    .expect("SRTP from server authenticates");
                p.truncate(n);
                rtp_pkts.push(p);
            }
        }
        (rtp_pkts, rtcp_pkts)
    }
}

/// RTP with a one-byte extension block (mid=1 "0", audio level id 2).
fn rtp_packet(ssrc: u32, pt: u8, seq: u16, ts: u32, payload: &[u8], level: Option<u8>) -> Vec<u8> {
    let mut p = vec![0x90, pt, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    p[8..12].copy_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x01]);
    p.extend_from_slice(&[0x10, b'0', 0x20, level.unwrap_or(127)]);
    p.extend_from_slice(payload);
    p
}

/// A VP8 payload: descriptor S=1 PID=0, then the frame header's P bit.
fn vp8(key: bool, start: bool, fill: u8) -> Vec<u8> {
    let mut p = vec![
        if start { 0x10 } else { 0x00 },
        if key { 0x00 } else { 0x01 },
    ];
    p.extend(std::iter::repeat_n(fill, 200));
    p
}

fn spec(
    source_ssrc: u32,
    source_pt: u8,
    ssrc: u32,
    pt: u8,
    kind: MediaKind,
    codec: CodecId,
) -> Command {
    Command::AddDownTrack {
        spec: DownTrackSpec {
            source: PUB,
            source_ssrc,
            source_pt,
            sink: SUB,
            ssrc,
            payload_type: pt,
            kind,
            codec,
        },
    }
}

fn plis_for(rtcp_pkts: &[Vec<u8>], ssrc: u32) -> usize {
    let mut n = 0;
    for p in rtcp_pkts {
        rtcp::for_each_feedback(p, |fb| {
            if fb == (Feedback::Pli { media_ssrc: ssrc }) {
                n += 1;
            }
        })
        .unwrap();
    }
    n
}

fn setup(n_workers: usize) -> (Instant, Vec<Worker>, Peer, Peer, usize) {
    let now = Instant::now();
    let server = DtlsCertificate::generate().unwrap();
    let mut ws = workers(&server, n_workers);
    let (mut publisher, pub_cert) = Peer::new(now, &server, 40000, "pubA");
    let (mut subscriber, sub_cert) = Peer::new(now, &server, 40001, "subB");
    let mut out = Out::default();
    for w in ws.iter_mut() {
        w.command(now, publisher.add_command(PUB, &pub_cert), &mut out);
        w.command(now, subscriber.add_command(SUB, &sub_cert), &mut out);
        w.command(
            now,
            Command::SetRtpExtensions {
                id: PUB,
                audio_level: 2,
                mid: 1,
                rid: 0,
                repaired_rid: 0,
                transport_cc: 0,
                abs_send_time: 0,
            },
            &mut out,
        );
    }
    publisher.connect(now, &mut ws[0]);
    let sub_worker = n_workers - 1;
    subscriber.connect(now, &mut ws[sub_worker]);
    (now, ws, publisher, subscriber, sub_worker)
}

/// The NACKed sequence numbers in RTCP sent to the publisher.
fn nacked(rtcp_pkts: &[Vec<u8>]) -> Vec<u16> {
    let mut v = Vec::new();
    for p in rtcp_pkts {
        rtcp::for_each_feedback(p, |fb| {
            if let Feedback::Nack {
                media_ssrc,
                pid,
                blp,
            } = fb
            {
                assert_eq!(media_ssrc, VIDEO_SSRC);
                v.push(pid);
                for b in 0..16 {
                    if blp & (1 << b) != 0 {
                        v.push(pid.wrapping_add(b + 1));
                    }
                }
            }
        })
        .unwrap();
    }
    v
}

fn frame(seq: u16, key: bool) -> Vec<u8> {
    rtp_packet(
        VIDEO_SSRC,
        96,
        seq,
        u32::from(seq) * 3000,
        &vp8(key, true, seq as u8),
        None,
    )
}

fn subscribe_video(now: Instant, w: &mut Worker, publisher: &mut Peer) {
    let mut out = Out::default();
    w.command(
        now,
        spec(
            VIDEO_SSRC,
            96,
            OUT_VIDEO_SSRC,
            96,
            MediaKind::Video,
            CodecId::Vp8,
        ),
        &mut out,
    );
    // The PLI asked on subscription.
    publisher.take(&mut out);
}

/// Our NACK, or the publisher's answer to it, was lost: we ask again a
/// retry interval later (not at every packet), the repair sent on the media
/// SSRC reaches the subscriber and is cached, and nothing more is asked.
#[test]
fn an_unanswered_publisher_nack_is_repeated_until_the_packet_arrives() {
    let (t0, mut ws, mut publisher, mut subscriber, _) = setup(1);
    let w = &mut ws[0];
    subscribe_video(t0, w, &mut publisher);
    let mut out = Out::default();
    for seq in [200u16, 201, 203] {
        publisher.send_rtp(t0, w, &frame(seq, seq == 200), &mut out);
    }
    let (_, to_pub) = publisher.take(&mut out);
    assert_eq!(nacked(&to_pub), [202], "the gap is NACKed at once");
    let (got, _) = subscriber.take(&mut out);
    assert_eq!(got.len(), 3);
    let first_out = RtpHeader::parse(&got[0]).unwrap().sequence;

    // Packets keep coming; within the retry interval nothing is asked again.
    publisher.send_rtp(
        t0 + Duration::from_millis(30),
        w,
        &frame(204, false),
        &mut out,
    );
    let (_, to_pub) = publisher.take(&mut out);
    assert_eq!(
        nacked(&to_pub),
        [] as [u16; 0],
        "not NACKed at every packet"
    );

    // No answer came: the next packet after the interval brings a retry.
    let t1 = t0 + Duration::from_millis(150);
    publisher.send_rtp(t1, w, &frame(205, false), &mut out);
    let (_, to_pub) = publisher.take(&mut out);
    assert_eq!(nacked(&to_pub), [202], "the unanswered NACK is repeated");
    assert_eq!(w.core.forward_counters().nack_out, 2);

    // The publisher resends 202 as it was (no RTX negotiated).
    publisher.send_rtp(
        t1 + Duration::from_millis(5),
        w,
        &frame(202, false),
        &mut out,
    );
    let (got, _) = subscriber.take(&mut out);
    assert_eq!(got.len(), 3, "204, 205, then the repaired 202");
    let repaired = RtpHeader::parse(&got[2]).unwrap();
    assert_eq!(repaired.sequence, first_out.wrapping_add(2));
    assert_eq!(repaired.payload(&got[2]), &vp8(false, true, 202)[..]);
    assert_eq!(w.core.forward_counters().nack_repaired, 1);

    // Repaired: not asked for any more.
    for (i, seq) in (206u16..212).enumerate() {
        let t = t1 + Duration::from_millis(100 * (i as u64 + 1));
        publisher.send_rtp(t, w, &frame(seq, false), &mut out);
    }
    let (_, to_pub) = publisher.take(&mut out);
    assert_eq!(nacked(&to_pub), [] as [u16; 0]);

    // The repair was cached: a subscriber that lost it too gets it resent.
    subscriber.take(&mut out);
    subscriber.rx.as_mut().unwrap().set_replay_protection(false);
    let mut nack = [0u8; 64];
    let n = rtcp::write_nack(&mut nack, 0x5555, OUT_VIDEO_SSRC, &[(repaired.sequence, 0)]);
    subscriber.send_rtcp(t1, w, &nack[..n], &mut out);
    let (again, _) = subscriber.take(&mut out);
    assert_eq!(
        again,
        [got[2].clone()],
        "the repaired packet is resent from the cache"
    );
    assert_eq!(w.core.forward_counters().nack_miss, 0);
}

/// A packet the publisher never repairs is NACKed a bounded number of
/// times, then given up. Such packets are mostly padding (libwebrtc keeps
/// none in its history), so no keyframe is asked for: a keyframe per lost
/// padding packet would multiply the publisher's bitrate.
#[test]
fn a_publisher_packet_never_repaired_is_given_up_after_bounded_nacks() {
    let (t0, mut ws, mut publisher, _subscriber, _) = setup(1);
    let w = &mut ws[0];
    subscribe_video(t0, w, &mut publisher);
    let mut out = Out::default();
    let mut asked = 0;
    let mut plis = 0;
    for i in 0..20u16 {
        let seq = 300 + i;
        if seq == 302 {
            continue; // lost, and so is every answer
        }
        let t = t0 + Duration::from_millis(110 * u64::from(i));
        publisher.send_rtp(t, w, &frame(seq, i == 0), &mut out);
        let (_, to_pub) = publisher.take(&mut out);
        asked += nacked(&to_pub).iter().filter(|&&s| s == 302).count();
        plis += plis_for(&to_pub, VIDEO_SSRC);
    }
    assert_eq!(
        asked,
        usize::from(NACK_MAX_TRIES),
        "NACKed a bounded number of times"
    );
    let c = w.core.forward_counters();
    assert_eq!(c.nack_given_up, 1);
    assert_eq!(c.nack_repaired, 0);
    assert_eq!(plis, 0, "giving up asks for no keyframe");
}

/// Two subscribers behind one lossy link lose the same packet: each gets
/// its own [`MAX_RESENDS`] resends, not one budget shared by both.
#[test]
fn each_subscriber_gets_its_own_resends_of_a_packet() {
    const SUB2: TransportId = TransportId(3);
    const OUT2: u32 = 0xAAAA_0002;
    let t0 = Instant::now();
    let server = DtlsCertificate::generate().unwrap();
    let mut ws = workers(&server, 1);
    let w = &mut ws[0];
    let mut out = Out::default();
    let (mut publisher, pub_cert) = Peer::new(t0, &server, 40000, "pubA");
    let (mut subscriber, sub_cert) = Peer::new(t0, &server, 40001, "subB");
    let (mut second, cert2) = Peer::new(t0, &server, 40002, "subC");
    w.command(t0, publisher.add_command(PUB, &pub_cert), &mut out);
    w.command(t0, subscriber.add_command(SUB, &sub_cert), &mut out);
    w.command(t0, second.add_command(SUB2, &cert2), &mut out);
    publisher.connect(t0, w);
    subscriber.connect(t0, w);
    second.connect(t0, w);
    subscribe_video(t0, w, &mut publisher);
    let Command::AddDownTrack { mut spec } =
        spec(VIDEO_SSRC, 96, OUT2, 96, MediaKind::Video, CodecId::Vp8)
    else {
        unreachable!()
    };
    spec.sink = SUB2;
    w.command(t0, Command::AddDownTrack { spec }, &mut out);
    for seq in 400..404u16 {
        publisher.send_rtp(t0, w, &frame(seq, seq == 400), &mut out);
    }
    let (got1, _) = subscriber.take(&mut out);
    let (got2, _) = second.take(&mut out);
    assert_eq!((got1.len(), got2.len()), (4, 4));
    subscriber.rx.as_mut().unwrap().set_replay_protection(false);
    second.rx.as_mut().unwrap().set_replay_protection(false);
    let lost1 = RtpHeader::parse(&got1[2]).unwrap().sequence;
    let lost2 = RtpHeader::parse(&got2[2]).unwrap().sequence;
    let mut resent = [0usize; 2];
    for _ in 0..5 {
        for (k, (peer, ssrc, seq)) in [
            (&mut subscriber, OUT_VIDEO_SSRC, lost1),
            (&mut second, OUT2, lost2),
        ]
        .into_iter()
        .enumerate()
        {
            let mut nack = [0u8; 64];
            let n = rtcp::write_nack(&mut nack, 0x5555, ssrc, &[(seq, 0)]);
            peer.send_rtcp(t0, w, &nack[..n], &mut out);
            let (again, _) = peer.take(&mut out);
            resent[k] += again.len();
        }
    }
    let max = usize::from(MAX_RESENDS);
    assert_eq!(resent, [max, max], "each subscriber's own resend budget");
    assert_eq!(w.core.forward_counters().nack_miss, 4);
}
