//! Our `DtlsSession` against an independent DTLS implementation (webrtc-rs's
//! sans-IO `rtc-dtls`), in both roles and for each SRTP profile. The oracle's
//! own RFC 5705 exporter checks our SRTP keys byte for byte.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use ringcast_dataplane::dtls::{
    sha256_fingerprint, DtlsCertificate, DtlsEvent, DtlsSession, SrtpKeyingMaterial, SrtpProfile,
};
use ringcast_shared::records::{DtlsRole, FailReason};
use rtc_dtls::config::{ClientAuthType, ConfigBuilder, ExtendedMasterSecretType, HandshakeConfig};
use rtc_dtls::crypto::Certificate;
use rtc_dtls::crypto_provider::RTCCryptoProvider;
use rtc_dtls::endpoint::{Endpoint, EndpointEvent};
use rtc_dtls::extension::extension_use_srtp::SrtpProtectionProfile;
use rtc_shared::TransportProtocol;

const OUR_ADDR: &str = "10.0.0.1:5000";
const PEER_ADDR: &str = "10.0.0.2:6000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

struct Oracle {
    endpoint: Endpoint,
    fingerprint: [u8; 32],
    config: Arc<HandshakeConfig>,
}

fn oracle_profile(p: SrtpProfile) -> SrtpProtectionProfile {
    match p {
        SrtpProfile::Aes128CmHmacSha1_80 => SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
        SrtpProfile::AeadAes128Gcm => SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm,
        SrtpProfile::AeadAes256Gcm => SrtpProtectionProfile::Srtp_Aead_Aes_256_Gcm,
    }
}

/// An rtc-dtls peer offering (as client) or accepting (as server) only `profile`.
fn oracle(is_client: bool, profile: SrtpProfile) -> Oracle {
    let provider: Arc<dyn RTCCryptoProvider> =
        rtc_dtls::crypto_provider::default_provider().unwrap();
    let cert =
        Certificate::generate_self_signed(vec!["oracle".to_owned()], provider.crypto()).unwrap();
    let fingerprint = sha256_fingerprint(cert.certificate[0].as_ref());
    let config = Arc::new(
        ConfigBuilder::default()
            .with_crypto_provider(provider)
            .with_certificates(vec![cert])
            .with_srtp_protection_profiles(vec![oracle_profile(profile)])
            .with_client_auth(ClientAuthType::RequireAnyClientCert)
            // WebRTC peers are self-signed: no chain to verify, the
            // fingerprint check is ours to do.
            .with_insecure_skip_verify(true)
            .with_extended_master_secret(ExtendedMasterSecretType::Require)
            .build(is_client, None)
            .unwrap(),
    );
    let server_config = (!is_client).then(|| Arc::clone(&config));
    Oracle {
        endpoint: Endpoint::new(addr(PEER_ADDR), TransportProtocol::UDP, server_config),
        fingerprint,
        config,
    }
}

struct Outcome {
    ours: Vec<DtlsEvent>,
    oracle_connected: bool,
    oracle_data: Vec<Vec<u8>>,
}

/// Shuttles datagrams between `session` and the oracle until quiet.
fn run(session: &mut DtlsSession, oracle: &mut Oracle, now: Instant, out: &mut Outcome) {
    for _ in 0..30 {
        let mut moved = false;
        while let Some(d) = session.poll_transmit() {
            moved = true;
            // Errors (e.g. a failed handshake on the oracle side) end its part.
            if let Ok(events) =
                oracle
                    .endpoint
                    .read(now, addr(OUR_ADDR), None, BytesMut::from(&d[..]))
            {
                for e in events {
                    match e {
                        EndpointEvent::HandshakeComplete => out.oracle_connected = true,
                        EndpointEvent::ApplicationData(d) => out.oracle_data.push(d.to_vec()),
                        _ => {}
                    }
                }
            }
        }
        while let Some(t) = oracle.endpoint.poll_transmit() {
            moved = true;
            session.handle_packet(now, &t.message);
        }
        while let Some(e) = session.poll_event() {
            out.ours.push(e);
        }
        if !moved {
            return;
        }
    }
}

fn our_keys(events: &[DtlsEvent]) -> SrtpKeyingMaterial {
    events
        .iter()
        .find_map(|e| match e {
            DtlsEvent::Connected { srtp } => Some(*srtp),
            _ => None,
        })
        .unwrap_or_else(|| panic!("not connected: {events:?}"))
}

fn oracle_exported(oracle: &Oracle, len: usize) -> Vec<u8> {
    let state = oracle
        .endpoint
        .get_connection_state(addr(OUR_ADDR))
        .unwrap();
    state
        .export_keying_material("EXTRACTOR-dtls_srtp", &[], len)
        .unwrap()
        .as_ref()
        .to_vec()
}

fn handshake(role: DtlsRole, profile: SrtpProfile) -> (DtlsSession, Oracle, Outcome) {
    let now = Instant::now();
    let cert = DtlsCertificate::generate().unwrap();
    let mut oracle = oracle(role == DtlsRole::Server, profile);
    let mut session = DtlsSession::new(role, &cert, oracle.fingerprint, now);
    if role == DtlsRole::Server {
        let config = Arc::clone(&oracle.config);
        oracle
            .endpoint
            .connect(now, addr(OUR_ADDR), config, None)
            .unwrap();
    }
    let mut out = Outcome {
        ours: Vec::new(),
        oracle_connected: false,
        oracle_data: Vec::new(),
    };
    run(&mut session, &mut oracle, now, &mut out);
    (session, oracle, out)
}

fn assert_profile_negotiated(role: DtlsRole, profile: SrtpProfile) {
    let (session, oracle, out) = handshake(role, profile);
    assert!(
        out.oracle_connected,
        "oracle did not finish: {:?}",
        out.ours
    );
    let keys = our_keys(&out.ours);
    assert!(session.is_connected());
    assert_eq!(keys.profile(), profile);
    assert_eq!(keys.role(), role);
    let state = oracle
        .endpoint
        .get_connection_state(addr(OUR_ADDR))
        .unwrap();
    assert_eq!(state.srtp_protection_profile(), oracle_profile(profile));
    assert_eq!(
        keys.exported(),
        oracle_exported(&oracle, profile.material_len())
    );
    assert_eq!(keys.local().key.len(), profile.key_len());
    assert_eq!(keys.local().salt.len(), profile.salt_len());
}

#[test]
fn dtls_oracle_server_role_negotiates_each_srtp_profile() {
    for profile in [
        SrtpProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm,
        SrtpProfile::Aes128CmHmacSha1_80,
    ] {
        assert_profile_negotiated(DtlsRole::Server, profile);
    }
}

#[test]
fn dtls_oracle_client_role_negotiates_each_srtp_profile() {
    for profile in [
        SrtpProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm,
        SrtpProfile::Aes128CmHmacSha1_80,
    ] {
        assert_profile_negotiated(DtlsRole::Client, profile);
    }
}

#[test]
fn dtls_oracle_application_data_flows_both_ways() {
    let now = Instant::now();
    let (mut session, mut oracle, mut out) =
        handshake(DtlsRole::Client, SrtpProfile::AeadAes128Gcm);
    assert!(session.is_connected());
    session.send_application_data(b"sctp from us").unwrap();
    oracle
        .endpoint
        .write(now, addr(OUR_ADDR), b"sctp from oracle")
        .unwrap();
    run(&mut session, &mut oracle, now, &mut out);
    assert_eq!(out.oracle_data, vec![b"sctp from us".to_vec()]);
    assert!(out
        .ours
        .contains(&DtlsEvent::ApplicationData(b"sctp from oracle".to_vec())));
}

#[test]
fn dtls_oracle_wrong_fingerprint_fails_in_both_roles() {
    for role in [DtlsRole::Client, DtlsRole::Server] {
        let now = Instant::now();
        let cert = DtlsCertificate::generate().unwrap();
        let mut oracle = oracle(role == DtlsRole::Server, SrtpProfile::AeadAes128Gcm);
        let mut session = DtlsSession::new(role, &cert, [0x17; 32], now);
        if role == DtlsRole::Server {
            let config = Arc::clone(&oracle.config);
            oracle
                .endpoint
                .connect(now, addr(OUR_ADDR), config, None)
                .unwrap();
        }
        let mut out = Outcome {
            ours: Vec::new(),
            oracle_connected: false,
            oracle_data: Vec::new(),
        };
        run(&mut session, &mut oracle, now, &mut out);
        assert_eq!(
            out.ours,
            vec![DtlsEvent::Failed(FailReason::FingerprintMismatch)],
            "{role:?}"
        );
        assert!(!out.oracle_connected, "{role:?}");
    }
}

/// A client that answers CertificateRequest with no certificate is refused
/// (WebRTC is mutually authenticated), and our server tells it with a fatal
/// alert instead of leaving it to time out.
#[test]
fn dtls_oracle_client_without_certificate_is_refused_with_alert() {
    let now = Instant::now();
    let provider: Arc<dyn RTCCryptoProvider> =
        rtc_dtls::crypto_provider::default_provider().unwrap();
    let config = Arc::new(
        ConfigBuilder::default()
            .with_crypto_provider(provider)
            .with_srtp_protection_profiles(vec![SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm])
            .with_insecure_skip_verify(true)
            .with_extended_master_secret(ExtendedMasterSecretType::Require)
            .build(true, None)
            .unwrap(),
    );
    let mut endpoint = Endpoint::new(addr(PEER_ADDR), TransportProtocol::UDP, None);
    endpoint.connect(now, addr(OUR_ADDR), config, None).unwrap();
    let cert = DtlsCertificate::generate().unwrap();
    let mut session = DtlsSession::new(DtlsRole::Server, &cert, [0; 32], now);
    let mut alerts_sent = 0;
    let mut events = Vec::new();
    for _ in 0..10 {
        while let Some(t) = endpoint.poll_transmit() {
            session.handle_packet(now, &t.message);
        }
        while let Some(d) = session.poll_transmit() {
            if d.first() == Some(&21) && session.is_stopped() {
                alerts_sent += 1;
            }
            let _ = endpoint.read(now, addr(OUR_ADDR), None, BytesMut::from(&d[..]));
        }
        while let Some(e) = session.poll_event() {
            events.push(e);
        }
    }
    assert_eq!(events, vec![DtlsEvent::Failed(FailReason::DtlsFailed)]);
    assert_eq!(alerts_sent, 1);
}
