//! The in-memory media rig shared by `media_forwarding.rs` and
//! `loss_recovery.rs`: workers wired by their cross-worker rings, and client
//! peers built from our own sans-IO pieces (STUN check, DTLS client, SRTP)
//! that connect to them, publish and receive.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Instant;

use ringcast_dataplane::dtls::{DtlsCertificate, DtlsEvent, DtlsSession};
use ringcast_dataplane::forward::{CrossPacket, CROSS_RING_SLOTS};
use ringcast_dataplane::rtcp::{self, Feedback};
use ringcast_dataplane::runtime::{DatagramOut, WorkerCore};
use ringcast_dataplane::srtp::SrtpContext;
use ringcast_shared::records::{
    CodecId, Command, DownTrackSpec, DtlsRole, Event, Fingerprint, InlineStr, MediaKind,
    TransportId,
};
use ringcast_shared::ring::{channel, Consumer, Producer};

use crate::ice_support;

pub const PUB: TransportId = TransportId(1);
pub const SUB: TransportId = TransportId(2);
pub const VIDEO_SSRC: u32 = 0x1111_0001;
pub const OUT_VIDEO_SSRC: u32 = 0xAAAA_0001;

#[derive(Default)]
pub struct Out(pub Vec<(SocketAddr, Vec<u8>)>);

impl DatagramOut for Out {
    fn send_to(&mut self, to: SocketAddr, payload: &[u8]) {
        self.0.push((to, payload.to_vec()));
    }
}

pub struct Worker {
    pub core: WorkerCore,
    pub cmd: Producer<Command>,
    pub events: Consumer<Event>,
}

impl Worker {
    pub fn command(&mut self, now: Instant, cmd: Command, out: &mut Out) {
        self.cmd.try_push(cmd).unwrap();
        self.core.on_tick(now, out);
    }
}

pub fn workers(cert: &DtlsCertificate, n: usize) -> Vec<Worker> {
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
                events,
            }
        })
        .collect()
}

/// A client peer: we are the DTLS client towards the server's DTLS server.
pub struct Peer {
    pub addr: SocketAddr,
    pub ufrag: String,
    pub dtls: DtlsSession,
    pub tx: Option<SrtpContext>,
    pub rx: Option<SrtpContext>,
}

impl Peer {
    pub fn new(
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

    pub fn add_command(&self, id: TransportId, cert: &DtlsCertificate) -> Command {
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
    pub fn connect(&mut self, now: Instant, w: &mut Worker) {
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

    pub fn send_rtp(&mut self, now: Instant, w: &mut Worker, plain: &[u8], out: &mut Out) {
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

    pub fn send_rtcp(&mut self, now: Instant, w: &mut Worker, plain: &[u8], out: &mut Out) {
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
    pub fn take(&mut self, out: &mut Out) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
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
pub fn rtp_packet(
    ssrc: u32,
    pt: u8,
    seq: u16,
    ts: u32,
    payload: &[u8],
    level: Option<u8>,
) -> Vec<u8> {
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
pub fn vp8(key: bool, start: bool, fill: u8) -> Vec<u8> {
    let mut p = vec![
        if start { 0x10 } else { 0x00 },
        if key { 0x00 } else { 0x01 },
    ];
    p.extend(std::iter::repeat_n(fill, 200));
    p
}

pub fn spec(
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

pub fn plis_for(rtcp_pkts: &[Vec<u8>], ssrc: u32) -> usize {
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

pub fn setup(n_workers: usize) -> (Instant, Vec<Worker>, Peer, Peer, usize) {
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
