//! The load generator's media peer (our STUN check, DTLS client, SRTP)
//! against a worker's `TransportSet` in memory: it connects, and SRTP
//! flows both ways with keys both sides agree on.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ringcast_benches::load::payload::{stamp_of_rtp, write_rtp, Stamp};
use ringcast_benches::load::peer::{MediaPeer, PeerState, Received, RemoteIce};
use ringcast_dataplane::dtls::DtlsCertificate;
use ringcast_dataplane::srtp::SrtpContext;
use ringcast_dataplane::transport::{TransportSet, TransportSink};
use ringcast_shared::data_ring::ChannelKind;
use ringcast_shared::records::{Command, DtlsRole, Event, Fingerprint, InlineStr, TransportId};

const SERVER_UFRAG: &str = "srvUfrag12345678";
const SERVER_PWD: &str = "srvPassword0123456789abcdefghijk";
const CLIENT_UFRAG: &str = "cliUfrag";

#[derive(Default)]
struct Capture {
    sent: Vec<(SocketAddr, Vec<u8>)>,
    events: Vec<Event>,
}

impl TransportSink for Capture {
    fn send(&mut self, to: SocketAddr, payload: &[u8]) {
        self.sent.push((to, payload.to_vec()));
    }
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
    fn data(&mut self, _: TransportId, _: ChannelKind, _: &[u8]) {}
}

struct Setup {
    set: TransportSet,
    cap: Capture,
    peer: MediaPeer,
    addr: SocketAddr,
    now: Instant,
}

/// `our_role` is the load peer's DTLS role; the worker takes the other.
fn setup(server_pwd_told_to_client: &str, our_role: DtlsRole) -> Setup {
    let now = Instant::now();
    let server_cert = DtlsCertificate::generate().unwrap();
    let client_cert = DtlsCertificate::generate().unwrap();
    let mut set = TransportSet::new(0, server_cert.clone(), 16);
    let mut cap = Capture::default();
    let server_role = match our_role {
        DtlsRole::Client => DtlsRole::Server,
        DtlsRole::Server => DtlsRole::Client,
    };
    set.apply(
        now,
        Command::AddTransport {
            id: TransportId(1),
            local_ufrag: InlineStr::new(SERVER_UFRAG).unwrap(),
            local_pwd: InlineStr::new(SERVER_PWD).unwrap(),
            remote_ufrag: InlineStr::new(CLIENT_UFRAG).unwrap(),
            role: server_role,
            fingerprint: Fingerprint {
                sha256: client_cert.fingerprint_sha256,
            },
        },
        &mut cap,
    );
    let remote = RemoteIce {
        ufrag: SERVER_UFRAG.into(),
        pwd: server_pwd_told_to_client.into(),
        fingerprint: server_cert.fingerprint_sha256,
    };
    let peer = MediaPeer::new(CLIENT_UFRAG, &remote, our_role, client_cert, now);
    Setup {
        set,
        cap,
        peer,
        addr: "127.0.0.1:40000".parse().unwrap(),
        now,
    }
}

/// Moves datagrams both ways, ticking 10 ms when both sides are quiet.
fn pump(s: &mut Setup, rounds: usize) -> Vec<Vec<u8>> {
    let mut rtp_to_peer = Vec::new();
    for _ in 0..rounds {
        let mut moved = false;
        while let Some(p) = s.peer.poll_transmit() {
            s.set.handle_datagram(s.now, s.addr, &p, &mut s.cap);
            moved = true;
        }
        for (to, mut p) in std::mem::take(&mut s.cap.sent) {
            assert_eq!(to, s.addr);
            moved = true;
            if let Received::Rtp(n) = s.peer.handle_datagram(s.now, &mut p) {
                rtp_to_peer.push(p[..n].to_vec());
            }
        }
        if !moved {
            s.now += Duration::from_millis(10);
            s.set.handle_timeouts(s.now, &mut s.cap);
            s.peer.handle_timeout(s.now);
        }
    }
    rtp_to_peer
}

#[test]
fn peer_connects_as_dtls_client_and_srtp_flows_both_ways() {
    srtp_flows_both_ways(DtlsRole::Client);
}

#[test]
fn peer_connects_as_dtls_server_and_srtp_flows_both_ways() {
    srtp_flows_both_ways(DtlsRole::Server);
}

fn srtp_flows_both_ways(our_role: DtlsRole) {
    let mut s = setup(SERVER_PWD, our_role);
    assert_eq!(s.peer.state(), PeerState::Checking);
    pump(&mut s, 200);
    assert_eq!(s.peer.state(), PeerState::Connected, "{:?}", s.cap.events);
    assert!(s
        .cap
        .events
        .contains(&Event::DtlsConnected { id: TransportId(1) }));
    assert!(s.peer.counters.checks_answered >= 1);

    // Client -> server: the server's keys open what the peer sealed.
    let keys = *s.set.get(TransportId(1)).unwrap().srtp().unwrap();
    let mut server_rx = SrtpContext::new(keys.profile(), keys.remote()).unwrap();
    let mut server_tx = SrtpContext::new(keys.profile(), keys.local()).unwrap();
    let stamp = Stamp {
        seq: 5,
        sent_ns: 123_456_789,
        publisher: 3,
    };
    let mut buf = vec![0u8; 200];
    let len = write_rtp(&mut buf, 111, 1000, 960, 0xabcd, &stamp, 100).unwrap();
    let n = s.peer.protect_rtp(&mut buf, len).unwrap();
    assert!(n > len);
    let mut wire = buf[..n].to_vec();
    let plain = server_rx.unprotect_rtp(&mut wire).unwrap();
    assert_eq!(stamp_of_rtp(&wire[..plain]), Some(stamp));

    // Server -> client: the peer opens what the server sealed.
    let mut buf = vec![0u8; 200];
    let len = write_rtp(&mut buf, 111, 7, 0, 0x1234, &stamp, 100).unwrap();
    let n = server_tx.protect_rtp(&mut buf, len).unwrap();
    let mut wire = buf[..n].to_vec();
    match s.peer.handle_datagram(s.now, &mut wire) {
        Received::Rtp(m) => assert_eq!(stamp_of_rtp(&wire[..m]), Some(stamp)),
        other => panic!("{other:?}"),
    }
    // Tampered SRTP is refused.
    let mut buf = vec![0u8; 200];
    let len = write_rtp(&mut buf, 111, 8, 0, 0x1234, &stamp, 100).unwrap();
    let n = server_tx.protect_rtp(&mut buf, len).unwrap();
    buf[20] ^= 0xff;
    assert_eq!(
        s.peer.handle_datagram(s.now, &mut buf[..n]),
        Received::SrtpError
    );
}

#[test]
fn wrong_ice_password_never_connects_and_fails_in_the_end() {
    let mut s = setup("not-the-server-password-at-all!!", DtlsRole::Server);
    pump(&mut s, 3000);
    assert!(!s
        .cap
        .events
        .iter()
        .any(|e| matches!(e, Event::IceConnected { .. })));
    assert_eq!(s.peer.state(), PeerState::Failed);
    assert_eq!(s.peer.counters.checks_answered, 0);
}

#[test]
fn consent_checks_keep_going_after_connect() {
    let mut s = setup(SERVER_PWD, DtlsRole::Client);
    pump(&mut s, 200);
    let before = s.peer.counters.checks_answered;
    // 5 s of quiet: a check every 2 s, each answered.
    for _ in 0..1000 {
        pump(&mut s, 1);
    }
    assert!(s.peer.counters.checks_answered >= before + 2);
    assert_eq!(s.peer.state(), PeerState::Connected);
}
