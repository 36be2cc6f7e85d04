//! Two `DtlsSession`s, our client and our server, handshaking in memory in
//! explicit time.

use std::time::{Duration, Instant};

use ringcast_dataplane::dtls::{DtlsCertificate, DtlsError, DtlsEvent, DtlsSession, SrtpProfile};
use ringcast_shared::records::{DtlsRole, FailReason};

/// A client and a server joined by a lossless wire that can drop chosen
/// datagrams from the client.
struct Pair {
    client: DtlsSession,
    server: DtlsSession,
    now: Instant,
    client_events: Vec<DtlsEvent>,
    server_events: Vec<DtlsEvent>,
    /// Drop this many of the client's next datagrams.
    drop_from_client: usize,
    client_datagrams_sent: usize,
}

fn certs() -> (DtlsCertificate, DtlsCertificate) {
    (
        DtlsCertificate::generate().unwrap(),
        DtlsCertificate::generate().unwrap(),
    )
}

impl Pair {
    fn new() -> Self {
        let (c, s) = certs();
        Self::with_fingerprints(&c, &s, s.fingerprint_sha256, c.fingerprint_sha256)
    }

    /// `client_expects` is what the client checks the server's certificate
    /// against, `server_expects` the reverse.
    fn with_fingerprints(
        client_cert: &DtlsCertificate,
        server_cert: &DtlsCertificate,
        client_expects: [u8; 32],
        server_expects: [u8; 32],
    ) -> Self {
        let now = Instant::now();
        Self {
            client: DtlsSession::new(DtlsRole::Client, client_cert, client_expects, now),
            server: DtlsSession::new(DtlsRole::Server, server_cert, server_expects, now),
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
            drop_from_client: 0,
            client_datagrams_sent: 0,
        }
    }

    /// Moves every queued datagram once in each direction. True if any moved.
    fn shuttle(&mut self) -> bool {
        let mut moved = false;
        while let Some(d) = self.client.poll_transmit() {
            moved = true;
            self.client_datagrams_sent += 1;
            if self.drop_from_client > 0 {
                self.drop_from_client -= 1;
            } else {
                self.server.handle_packet(self.now, &d);
            }
            self.client.recycle(d);
        }
        while let Some(d) = self.server.poll_transmit() {
            moved = true;
            self.client.handle_packet(self.now, &d);
        }
        self.collect();
        moved
    }

    fn collect(&mut self) {
        while let Some(e) = self.client.poll_event() {
            self.client_events.push(e);
        }
        while let Some(e) = self.server.poll_event() {
            self.server_events.push(e);
        }
    }

    /// When the wire is quiet, jumps to the earliest timer and fires both.
    fn fire_timers(&mut self) -> bool {
        let next = [self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { return false };
        self.now = self.now.max(next);
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.collect();
        true
    }

    /// Runs the wire (and timers when it is quiet) for at most `rounds`.
    fn run(&mut self, rounds: usize) {
        for _ in 0..rounds {
            if !self.shuttle() && !self.fire_timers() {
                return;
            }
            if self.both_connected() {
                self.shuttle();
                return;
            }
        }
    }

    fn both_connected(&self) -> bool {
        self.client.is_connected() && self.server.is_connected()
    }
}

fn connected_keys(events: &[DtlsEvent]) -> Option<ringcast_dataplane::dtls::SrtpKeyingMaterial> {
    events.iter().find_map(|e| match e {
        DtlsEvent::Connected { srtp } => Some(*srtp),
        _ => None,
    })
}

fn is_connected_event(e: &DtlsEvent) -> bool {
    matches!(e, DtlsEvent::Connected { .. })
}

#[test]
fn dtls_client_and_server_connect_with_matching_srtp_keys() {
    let mut pair = Pair::new();
    pair.run(50);
    assert!(
        pair.both_connected(),
        "{:?} {:?}",
        pair.client_events,
        pair.server_events
    );
    let client = connected_keys(&pair.client_events).unwrap();
    let server = connected_keys(&pair.server_events).unwrap();
    assert_eq!(client.profile(), server.profile());
    // Both sides prefer GCM; dimpl's server picks AES-256-GCM first.
    assert_eq!(client.profile(), SrtpProfile::AeadAes256Gcm);
    assert_eq!(client.exported(), server.exported());
    assert_eq!(client.local(), server.remote());
    assert_eq!(client.remote(), server.local());
    assert_ne!(client.local(), client.remote());
    assert_eq!(client.local().key.len(), 32);
    assert_eq!(client.local().salt.len(), 12);
    assert_eq!(pair.client.srtp(), Some(&client));
    assert_eq!(
        pair.client_events
            .iter()
            .filter(|e| is_connected_event(e))
            .count(),
        1
    );
}

#[test]
fn dtls_client_has_client_hello_ready_and_server_waits() {
    let (c, s) = certs();
    let now = Instant::now();
    let mut client = DtlsSession::new(DtlsRole::Client, &c, s.fingerprint_sha256, now);
    let mut server = DtlsSession::new(DtlsRole::Server, &s, c.fingerprint_sha256, now);
    let hello = client.poll_transmit().expect("ClientHello on creation");
    assert_eq!(hello[0], 22, "handshake record");
    assert_eq!(hello[13], 1, "ClientHello");
    assert!(server.poll_transmit().is_none());
    assert!(client.poll_timeout().is_some());
    assert!(!client.is_connected());
    assert!(matches!(
        client.send_application_data(b"x"),
        Err(DtlsError::NotConnected)
    ));
}

#[test]
fn dtls_client_rejects_server_with_wrong_fingerprint() {
    let (c, s) = certs();
    let mut pair = Pair::with_fingerprints(&c, &s, [0x42; 32], c.fingerprint_sha256);
    pair.run(200);
    assert_eq!(
        pair.client_events,
        vec![DtlsEvent::Failed(FailReason::FingerprintMismatch)]
    );
    assert!(pair.client.is_stopped());
    assert!(pair.client.poll_timeout().is_none());
    assert!(!pair.server_events.iter().any(is_connected_event));
}

#[test]
fn dtls_server_rejects_client_with_wrong_fingerprint() {
    let (c, s) = certs();
    let mut pair = Pair::with_fingerprints(&c, &s, s.fingerprint_sha256, [0x42; 32]);
    pair.run(200);
    assert_eq!(
        pair.server_events,
        vec![DtlsEvent::Failed(FailReason::FingerprintMismatch)]
    );
    assert!(!pair.client_events.iter().any(is_connected_event));
    assert!(!pair.server.is_connected());
}

#[test]
fn dtls_application_data_flows_both_ways() {
    let mut pair = Pair::new();
    pair.run(50);
    assert!(pair.both_connected());
    let big = vec![0xa5u8; 1200];
    pair.client.send_application_data(b"from client").unwrap();
    pair.server.send_application_data(b"from server").unwrap();
    pair.client.send_application_data(&big).unwrap();
    pair.shuttle();
    let server_data: Vec<_> = pair
        .server_events
        .iter()
        .filter_map(|e| match e {
            DtlsEvent::ApplicationData(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(server_data, vec![b"from client".to_vec(), big]);
    assert!(pair
        .client_events
        .contains(&DtlsEvent::ApplicationData(b"from server".to_vec())));
}

#[test]
fn dtls_lost_first_flight_recovers_by_retransmit() {
    let mut pair = Pair::new();
    let start = pair.now;
    pair.drop_from_client = 1;
    pair.shuttle();
    assert_eq!(pair.client_datagrams_sent, 1);
    assert!(!pair.shuttle(), "nothing moves until the timer fires");
    let due = pair.client.poll_timeout().unwrap();
    assert!(due > start);
    pair.run(50);
    assert!(pair.both_connected());
    assert!(pair.now >= due, "connected only after the retransmit timer");
    assert!(pair.client_datagrams_sent >= 2);
}

#[test]
fn dtls_client_fails_when_server_never_answers() {
    let (c, s) = certs();
    let mut now = Instant::now();
    let mut client = DtlsSession::new(DtlsRole::Client, &c, s.fingerprint_sha256, now);
    let mut sent = 0;
    for _ in 0..100 {
        while client.poll_transmit().is_some() {
            sent += 1;
        }
        match client.poll_timeout() {
            Some(t) => {
                now = now.max(t) + Duration::from_millis(1);
                client.handle_timeout(now);
            }
            None => break,
        }
    }
    assert!(sent >= 2, "retransmitted before giving up");
    assert_eq!(
        client.poll_event(),
        Some(DtlsEvent::Failed(FailReason::DtlsFailed))
    );
    assert!(client.is_stopped());
}

#[test]
fn dtls_close_notify_reaches_peer() {
    let mut pair = Pair::new();
    pair.run(50);
    assert!(pair.both_connected());
    pair.client.close();
    assert!(pair.client.is_stopped());
    pair.shuttle();
    assert_eq!(pair.server_events.last(), Some(&DtlsEvent::Closed));
    assert!(pair.server.is_stopped());
    assert!(matches!(
        pair.client.send_application_data(b"x"),
        Err(DtlsError::Stopped)
    ));
}

/// A real ClientHello, cut at every length and bit-flipped, never panics a
/// waiting server, and does not stop it from accepting the real one after.
#[test]
fn dtls_garbage_and_truncated_client_hello_never_panic() {
    let (c, s) = certs();
    let now = Instant::now();
    let mut client = DtlsSession::new(DtlsRole::Client, &c, s.fingerprint_sha256, now);
    let hello = client.poll_transmit().unwrap();

    let mut server = DtlsSession::new(DtlsRole::Server, &s, c.fingerprint_sha256, now);
    for len in 0..hello.len() {
        server.handle_packet(now, &hello[..len]);
        let mut flipped = hello[..len].to_vec();
        if let Some(b) = flipped.get_mut(len / 2) {
            *b ^= 0xff;
        }
        server.handle_packet(now, &flipped);
    }
    // Plain noise of every short length, first byte in the DTLS range.
    let mut seed = 0x1234_5678u32;
    for len in 0..300 {
        let noise: Vec<u8> = (0..len)
            .map(|i| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                if i == 0 {
                    20 + (seed >> 24) as u8 % 44
                } else {
                    (seed >> 24) as u8
                }
            })
            .collect();
        server.handle_packet(now, &noise);
        client.handle_packet(now, &noise);
    }
    while server.poll_transmit().is_some() {}
    while client.poll_transmit().is_some() {}

    // Both sessions: still alive, or stopped cleanly with a reason.
    let mut server_events = Vec::new();
    while let Some(e) = server.poll_event() {
        server_events.push(e);
    }
    assert!(!server_events.iter().any(is_connected_event));

    // Garbage into a connected session, too.
    let mut pair = Pair::new();
    pair.run(50);
    assert!(pair.both_connected());
    for len in 0..hello.len() {
        pair.server.handle_packet(pair.now, &hello[..len]);
        pair.client.handle_packet(pair.now, &hello[..len]);
    }
    assert!(
        pair.server.is_connected(),
        "garbage must not kill a connected session"
    );
    assert!(pair.client.is_connected());
}

#[test]
fn dtls_waiting_server_survives_truncated_hellos_then_connects() {
    let (c, s) = certs();
    let mut pair = Pair::with_fingerprints(&c, &s, s.fingerprint_sha256, c.fingerprint_sha256);
    let hello = pair.client.poll_transmit().unwrap();
    for len in 0..hello.len() {
        pair.server.handle_packet(pair.now, &hello[..len]);
    }
    while pair.server.poll_transmit().is_some() {}
    pair.server.handle_packet(pair.now, &hello);
    pair.run(50);
    assert!(pair.both_connected(), "{:?}", pair.server_events);
}
