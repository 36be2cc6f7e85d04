//! A client peer built from our own sans-IO pieces (a STUN check, a DTLS
//! client, an SCTP client) runs against a worker's `TransportSet` in memory:
//! ICE-lite nominates, DTLS completes with fingerprint checks, SCTP comes up
//! and the server-created data channels open. Wrong passwords and wrong
//! fingerprints never connect.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use ringcast_dataplane::dtls::{DtlsCertificate, DtlsEvent, DtlsSession};
use ringcast_dataplane::sctp::channels::DataSendError;
use ringcast_dataplane::sctp::{SctpEvent, SctpTransport};
use ringcast_dataplane::transport::{TransportSet, TransportSink};
use ringcast_shared::data_ring::ChannelKind;
use ringcast_shared::records::{
    Command, DtlsRole, Event, FailReason, Fingerprint, InlineStr, TransportId,
};
use sha1::Sha1;

const SERVER_UFRAG: &str = "srvUfrag12345678";
const SERVER_PWD: &str = "srvPassword0123456789abcdefghijk";
const CLIENT_UFRAG: &str = "cliU";

#[derive(Default)]
struct Capture {
    sent: Vec<(SocketAddr, Vec<u8>)>,
    events: Vec<Event>,
    /// Data-channel messages the transport handed up to the worker.
    data: Vec<(TransportId, ChannelKind, Vec<u8>)>,
}

impl TransportSink for Capture {
    fn send(&mut self, to: SocketAddr, payload: &[u8]) {
        self.sent.push((to, payload.to_vec()));
    }
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
    fn data(&mut self, from: TransportId, kind: ChannelKind, payload: &[u8]) {
        self.data.push((from, kind, payload.to_vec()));
    }
}

/// A STUN Binding Request with USERNAME, PRIORITY, ICE-CONTROLLING,
/// optional USE-CANDIDATE, MESSAGE-INTEGRITY and FINGERPRINT (RFC 8489/8445).
fn binding_request(username: &str, pwd: &str, use_candidate: bool, txid: [u8; 12]) -> Vec<u8> {
    let mut attrs = Vec::new();
    let put = |t: u16, v: &[u8], attrs: &mut Vec<u8>| {
        attrs.extend_from_slice(&t.to_be_bytes());
        attrs.extend_from_slice(&(v.len() as u16).to_be_bytes());
        attrs.extend_from_slice(v);
        while !attrs.len().is_multiple_of(4) {
            attrs.push(0);
        }
    };
    put(0x0006, username.as_bytes(), &mut attrs);
    put(0x0024, &0x6e7f_00ffu32.to_be_bytes(), &mut attrs);
    put(0x802a, &7u64.to_be_bytes(), &mut attrs);
    if use_candidate {
        put(0x0025, &[], &mut attrs);
    }
    let header = |len: usize| {
        let mut h = Vec::new();
        h.extend_from_slice(&0x0001u16.to_be_bytes());
        h.extend_from_slice(&(len as u16).to_be_bytes());
        h.extend_from_slice(&0x2112_A442u32.to_be_bytes());
        h.extend_from_slice(&txid);
        h
    };
    // MESSAGE-INTEGRITY covers the header with a length that includes itself.
    let mut msg = header(attrs.len() + 24);
    msg.extend_from_slice(&attrs);
    let mut mac = Hmac::<Sha1>::new_from_slice(pwd.as_bytes()).unwrap();
    mac.update(&msg);
    let tag = mac.finalize().into_bytes();
    let mut with_mi = attrs.clone();
    with_mi.extend_from_slice(&0x0008u16.to_be_bytes());
    with_mi.extend_from_slice(&20u16.to_be_bytes());
    with_mi.extend_from_slice(&tag);
    let mut msg = header(with_mi.len() + 8);
    msg.extend_from_slice(&with_mi);
    let crc = crc32fast::hash(&msg) ^ 0x5354_554e;
    msg.extend_from_slice(&0x8028u16.to_be_bytes());
    msg.extend_from_slice(&4u16.to_be_bytes());
    msg.extend_from_slice(&crc.to_be_bytes());
    msg
}

fn add_transport(id: u64, role: DtlsRole, peer_fp: [u8; 32]) -> Command {
    Command::AddTransport {
        id: TransportId(id),
        local_ufrag: InlineStr::new(SERVER_UFRAG).unwrap(),
        local_pwd: InlineStr::new(SERVER_PWD).unwrap(),
        remote_ufrag: InlineStr::new(CLIENT_UFRAG).unwrap(),
        role,
        fingerprint: Fingerprint { sha256: peer_fp },
    }
}

struct Client {
    addr: SocketAddr,
    dtls: DtlsSession,
    sctp: Option<SctpTransport>,
    sctp_events: Vec<SctpEvent>,
    connected: bool,
    failed: bool,
}

impl Client {
    /// Feeds server datagrams to the client and returns what it sends back.
    fn receive(&mut self, now: Instant, pkts: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        for p in pkts {
            if p.first().is_some_and(|b| (20..=63).contains(b)) {
                self.dtls.handle_packet(now, &p);
            }
        }
        self.pump(now)
    }

    fn pump(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for _ in 0..16 {
            while let Some(ev) = self.dtls.poll_event() {
                match ev {
                    DtlsEvent::Connected { .. } => {
                        self.connected = true;
                        // The server is the DTLS server here, so we start SCTP.
                        self.sctp = Some(SctpTransport::new(true));
                    }
                    DtlsEvent::ApplicationData(d) => {
                        if let Some(s) = self.sctp.as_mut() {
                            s.handle_input(now, &d);
                        }
                    }
                    DtlsEvent::Failed(_) | DtlsEvent::Closed => self.failed = true,
                }
            }
            if let Some(s) = self.sctp.as_mut() {
                while let Some(p) = s.poll_transmit(now) {
                    let _ = self.dtls.send_application_data(&p);
                }
                while let Some(e) = s.poll_event() {
                    self.sctp_events.push(e);
                }
            }
            let before = out.len();
            while let Some(p) = self.dtls.poll_transmit() {
                out.push(p);
            }
            if out.len() == before {
                break;
            }
        }
        out
    }
}

fn run(
    server_cert: &DtlsCertificate,
    client_cert: &DtlsCertificate,
    expected_by_server: [u8; 32],
) -> (Capture, Client, TransportSet) {
    let mut now = Instant::now();
    let mut set = TransportSet::new(0, server_cert.clone(), 16);
    let mut cap = Capture::default();
    set.apply(
        now,
        add_transport(7, DtlsRole::Server, expected_by_server),
        &mut cap,
    );

    let addr: SocketAddr = "192.0.2.10:50000".parse().unwrap();
    let check = binding_request(
        &format!("{SERVER_UFRAG}:{CLIENT_UFRAG}"),
        SERVER_PWD,
        true,
        [1; 12],
    );
    set.handle_datagram(now, addr, &check, &mut cap);
    let mut client = Client {
        addr,
        dtls: DtlsSession::new(
            DtlsRole::Client,
            client_cert,
            server_cert.fingerprint_sha256,
            now,
        ),
        sctp: None,
        sctp_events: Vec::new(),
        connected: false,
        failed: false,
    };
    let mut to_server = client.pump(now);
    for _ in 0..200 {
        for p in to_server.drain(..) {
            set.handle_datagram(now, client.addr, &p, &mut cap);
        }
        let from_server: Vec<Vec<u8>> = cap
            .sent
            .drain(..)
            .filter(|(to, _)| *to == client.addr)
            .map(|(_, p)| p)
            .collect();
        to_server = client.receive(now, from_server);
        if to_server.is_empty() && cap.sent.is_empty() {
            now += Duration::from_millis(20);
            set.handle_timeouts(now, &mut cap);
            if let Some(s) = client.sctp.as_mut() {
                s.handle_timeout(now);
            }
            to_server = client.pump(now);
            if to_server.is_empty() && cap.sent.is_empty() && client.sctp_events.len() >= 4 {
                break;
            }
        }
    }
    (cap, client, set)
}

#[test]
fn ice_dtls_and_sctp_come_up_and_server_channels_open() {
    let server_cert = DtlsCertificate::generate().unwrap();
    let client_cert = DtlsCertificate::generate().unwrap();
    let (cap, client, set) = run(&server_cert, &client_cert, client_cert.fingerprint_sha256);
    assert!(client.connected, "client DTLS did not connect");
    assert!(
        matches!(
            cap.events.first(),
            Some(Event::IceConnected {
                id: TransportId(7),
                ..
            })
        ),
        "{:?}",
        cap.events
    );
    assert!(
        cap.events
            .contains(&Event::DtlsConnected { id: TransportId(7) }),
        "{:?}",
        cap.events
    );
    assert!(
        cap.events
            .contains(&Event::SctpConnected { id: TransportId(7) }),
        "{:?}",
        cap.events
    );
    let labels: Vec<String> = client
        .sctp_events
        .iter()
        .filter_map(|e| match e {
            SctpEvent::ChannelOpen { label, .. } => Some(label.clone()),
            _ => None,
        })
        .collect();
    for want in ["_reliable", "_lossy", "_data_track"] {
        assert!(
            labels.iter().any(|l| l == want),
            "missing {want}: {labels:?}"
        );
    }
    assert!(set.get(TransportId(7)).and_then(|t| t.srtp()).is_some());
}

#[test]
fn certificate_not_matching_the_fingerprint_never_connects() {
    let server_cert = DtlsCertificate::generate().unwrap();
    let client_cert = DtlsCertificate::generate().unwrap();
    let (cap, _client, set) = run(&server_cert, &client_cert, [0x42; 32]);
    assert!(
        !cap.events
            .iter()
            .any(|e| matches!(e, Event::DtlsConnected { .. })),
        "{:?}",
        cap.events
    );
    assert!(
        cap.events.contains(&Event::TransportFailed {
            id: TransportId(7),
            reason: FailReason::FingerprintMismatch
        }),
        "{:?}",
        cap.events
    );
    assert!(set.get(TransportId(7)).and_then(|t| t.srtp()).is_none());
}

#[test]
fn wrong_password_and_unchecked_addresses_are_dropped_and_counted() {
    let cert = DtlsCertificate::generate().unwrap();
    let now = Instant::now();
    let mut set = TransportSet::new(0, cert.clone(), 16);
    let mut cap = Capture::default();
    set.apply(now, add_transport(1, DtlsRole::Client, [9; 32]), &mut cap);
    let addr: SocketAddr = "192.0.2.20:40000".parse().unwrap();
    let bad = binding_request(
        &format!("{SERVER_UFRAG}:{CLIENT_UFRAG}"),
        "wrong-password-wrong-password!!",
        true,
        [2; 12],
    );
    set.handle_datagram(now, addr, &bad, &mut cap);
    assert!(cap.sent.is_empty(), "a bad check must get no answer");
    assert!(cap.events.is_empty());
    assert_eq!(set.counters.stun_rejected, 1);
    // DTLS from an address that never passed a check is not handed to DTLS.
    set.handle_datagram(now, addr, &[22, 254, 253, 0, 0], &mut cap);
    assert_eq!(set.counters.unbound_dropped, 1);
    assert!(cap.sent.is_empty());
    // Unknown ufrag.
    let other = binding_request("nobody:x", SERVER_PWD, true, [3; 12]);
    set.handle_datagram(now, addr, &other, &mut cap);
    assert_eq!(set.counters.stun_unknown_ufrag, 1);
}

#[test]
fn a_good_check_is_answered_and_binds_the_address() {
    let cert = DtlsCertificate::generate().unwrap();
    let now = Instant::now();
    let mut set = TransportSet::new(0, cert, 16);
    let mut cap = Capture::default();
    set.apply(now, add_transport(3, DtlsRole::Client, [9; 32]), &mut cap);
    let addr: SocketAddr = "192.0.2.30:40000".parse().unwrap();
    let good = binding_request(
        &format!("{SERVER_UFRAG}:{CLIENT_UFRAG}"),
        SERVER_PWD,
        true,
        [4; 12],
    );
    set.handle_datagram(now, addr, &good, &mut cap);
    let (to, resp) = cap.sent.first().expect("a response");
    assert_eq!(*to, addr);
    assert_eq!(&resp[0..2], &[0x01, 0x01], "binding success response");
    assert_eq!(&resp[8..20], &[4; 12], "same transaction id");
    // As DTLS client the transport sends its ClientHello right after nomination.
    assert!(
        cap.sent.iter().any(|(_, p)| p.first() == Some(&22)),
        "ClientHello sent"
    );
    assert!(matches!(
        cap.events.first(),
        Some(Event::IceConnected { .. })
    ));
}

/// Moves datagrams both ways (with timer ticks) until both sides are quiet.
fn exchange(set: &mut TransportSet, cap: &mut Capture, client: &mut Client, now: &mut Instant) {
    let mut to_server = client.pump(*now);
    let mut idle = 0;
    for _ in 0..400 {
        for p in to_server.drain(..) {
            set.handle_datagram(*now, client.addr, &p, cap);
        }
        let from_server: Vec<Vec<u8>> = cap
            .sent
            .drain(..)
            .filter(|(to, _)| *to == client.addr)
            .map(|(_, p)| p)
            .collect();
        let moved = !from_server.is_empty();
        to_server = client.receive(*now, from_server);
        if moved || !to_server.is_empty() {
            idle = 0;
            continue;
        }
        idle += 1;
        if idle > 5 {
            break;
        }
        *now += Duration::from_millis(20);
        set.handle_timeouts(*now, cap);
        if let Some(s) = client.sctp.as_mut() {
            s.handle_timeout(*now);
        }
        to_server = client.pump(*now);
    }
}

fn client_stream(client: &Client, want: &str) -> u16 {
    client
        .sctp_events
        .iter()
        .find_map(|e| match e {
            SctpEvent::ChannelOpen { stream, label } if label == want => Some(*stream),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{want} not open: {:?}", client.sctp_events))
}

#[test]
fn client_messages_on_livekit_channels_reach_the_worker_with_their_kind() {
    let server_cert = DtlsCertificate::generate().unwrap();
    let client_cert = DtlsCertificate::generate().unwrap();
    let (mut cap, mut client, mut set) =
        run(&server_cert, &client_cert, client_cert.fingerprint_sha256);
    let mut now = Instant::now() + Duration::from_secs(5);
    let reliable = client_stream(&client, "_reliable");
    let lossy = client_stream(&client, "_lossy");
    let track = client_stream(&client, "_data_track");
    let sctp = client.sctp.as_mut().unwrap();
    for i in 0..100u32 {
        sctp.send(reliable, true, &i.to_be_bytes()).unwrap();
    }
    sctp.send(lossy, true, b"lossy").unwrap();
    sctp.send(track, true, b"frame").unwrap();
    // A large message (the SDKs' 64000 limit) arrives whole.
    sctp.send(reliable, true, &[0xab; 64000]).unwrap();
    exchange(&mut set, &mut cap, &mut client, &mut now);

    let reliable_msgs: Vec<&Vec<u8>> = cap
        .data
        .iter()
        .filter(|(id, k, _)| *id == TransportId(7) && *k == ChannelKind::Reliable)
        .map(|(_, _, d)| d)
        .collect();
    assert_eq!(reliable_msgs.len(), 101, "{}", reliable_msgs.len());
    for (i, m) in reliable_msgs.iter().take(100).enumerate() {
        assert_eq!(m.as_slice(), &(i as u32).to_be_bytes(), "in order");
    }
    assert_eq!(reliable_msgs[100].as_slice(), &[0xab; 64000][..]);
    assert!(cap
        .data
        .contains(&(TransportId(7), ChannelKind::Lossy, b"lossy".to_vec())));
    assert!(cap
        .data
        .contains(&(TransportId(7), ChannelKind::DataTrack, b"frame".to_vec())));
}

#[test]
fn send_data_goes_out_binary_on_the_channel_of_its_kind() {
    let server_cert = DtlsCertificate::generate().unwrap();
    let client_cert = DtlsCertificate::generate().unwrap();
    let (mut cap, mut client, mut set) =
        run(&server_cert, &client_cert, client_cert.fingerprint_sha256);
    let mut now = Instant::now() + Duration::from_secs(5);
    client
        .sctp_events
        .retain(|e| !matches!(e, SctpEvent::Message { .. }));
    let t = set.get_mut(TransportId(7)).unwrap();
    t.send_data(now, ChannelKind::Lossy, b"to lossy", &mut cap)
        .unwrap();
    t.send_data(now, ChannelKind::Reliable, &[7; 30000], &mut cap)
        .unwrap();
    // Over the record bound: refused before SCTP sees it.
    assert!(matches!(
        t.send_data(now, ChannelKind::Reliable, &vec![0; 70000], &mut cap),
        Err(DataSendError::TooLarge(70000))
    ));
    exchange(&mut set, &mut cap, &mut client, &mut now);
    let got: Vec<(String, bool, Vec<u8>)> = client
        .sctp_events
        .iter()
        .filter_map(|e| match e {
            SctpEvent::Message {
                label,
                binary,
                data,
                ..
            } => Some((label.clone(), *binary, data.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("_lossy".to_string(), true, b"to lossy".to_vec()),
            ("_reliable".to_string(), true, vec![7; 30000]),
        ]
    );
}

#[test]
fn send_data_before_the_association_is_up_is_refused() {
    let cert = DtlsCertificate::generate().unwrap();
    let now = Instant::now();
    let mut set = TransportSet::new(0, cert, 16);
    let mut cap = Capture::default();
    set.apply(now, add_transport(5, DtlsRole::Client, [9; 32]), &mut cap);
    let t = set.get_mut(TransportId(5)).unwrap();
    assert_eq!(
        t.send_data(now, ChannelKind::Reliable, b"early", &mut cap),
        Err(DataSendError::NoAssociation)
    );
    assert!(cap.sent.is_empty());
}

#[test]
fn a_new_client_on_an_address_still_bound_to_a_gone_one_takes_it_over() {
    // The first client's transport is still there (its participant kept for
    // a resume); a new client reuses its address with its own credentials.
    let cert = DtlsCertificate::generate().unwrap();
    let now = Instant::now();
    let mut set = TransportSet::new(0, cert, 16);
    let mut cap = Capture::default();
    set.apply(now, add_transport(3, DtlsRole::Client, [9; 32]), &mut cap);
    set.apply(
        now,
        Command::AddTransport {
            id: TransportId(4),
            local_ufrag: InlineStr::new("newUfrag87654321").unwrap(),
            local_pwd: InlineStr::new("newPassword0123456789abcdefghij").unwrap(),
            remote_ufrag: InlineStr::new("cli2").unwrap(),
            role: DtlsRole::Client,
            fingerprint: Fingerprint { sha256: [7; 32] },
        },
        &mut cap,
    );
    let addr: SocketAddr = "192.0.2.31:40000".parse().unwrap();
    let first = binding_request(
        &format!("{SERVER_UFRAG}:{CLIENT_UFRAG}"),
        SERVER_PWD,
        true,
        [5; 12],
    );
    set.handle_datagram(now, addr, &first, &mut cap);
    assert!(matches!(
        cap.events.first(),
        Some(Event::IceConnected {
            id: TransportId(3),
            ..
        })
    ));
    cap = Capture::default();
    let second = binding_request(
        "newUfrag87654321:cli2",
        "newPassword0123456789abcdefghij",
        true,
        [6; 12],
    );
    set.handle_datagram(now, addr, &second, &mut cap);
    let (to, resp) = cap
        .sent
        .first()
        .expect("the new client's check is answered");
    assert_eq!(*to, addr);
    assert_eq!(&resp[0..2], &[0x01, 0x01], "binding success response");
    assert_eq!(&resp[8..20], &[6; 12], "its own transaction");
    assert!(
        cap.events.iter().any(|e| matches!(
            e,
            Event::IceConnected {
                id: TransportId(4),
                ..
            }
        )),
        "the new transport connects: {:?}",
        cap.events
    );
    assert_eq!(set.redirect_target(addr, &second), None, "handled here");
}
