//! ICE-lite agent: checks, nomination, address validation, consent,
//! driven with explicit Instants (no sleeping).

mod ice_support;

use ice_support::*;
use ringcast_dataplane::ice::stun::MAX_RESPONSE_LEN;
use ringcast_dataplane::ice::{ConsentTimeouts, IceError, IceEvent, IceLite, IceState};
use ringcast_shared::records::FailReason;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const UFRAG: &str = "srvU";
const PWD: &str = "server-password-0123456789";
const REMOTE: &str = "cliU";
const USERNAME: &str = "srvU:cliU";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn agent() -> IceLite {
    IceLite::new(UFRAG, PWD, REMOTE).unwrap()
}

fn check(
    ice: &mut IceLite,
    now: Instant,
    from: SocketAddr,
    nominate: bool,
) -> Result<(usize, bool, Option<IceEvent>), IceError> {
    let mut req = Req::new(USERNAME, PWD);
    req.use_candidate = nominate;
    let pkt = req.encode();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    let o = ice.handle_binding(now, from, &pkt, &mut out)?;
    let (_, mapped) = decode_success(&out[..o.response_len], PWD).expect("response valid");
    assert_eq!(mapped, from, "XOR-MAPPED-ADDRESS is the sender");
    Ok((o.response_len, o.selected, o.event))
}

#[test]
fn valid_check_gets_response_with_the_request_transaction_id() {
    let mut ice = agent();
    let pkt = Req::new(USERNAME, PWD).txid([0xab; 12]).encode();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    let from = addr("198.51.100.7:40000");
    let o = ice
        .handle_binding(Instant::now(), from, &pkt, &mut out)
        .unwrap();
    let (txid, mapped) = decode_success(&out[..o.response_len], PWD).unwrap();
    assert_eq!(txid, [0xab; 12]);
    assert_eq!(mapped, from);
}

#[test]
fn first_valid_check_selects_its_address_before_nomination() {
    let mut ice = agent();
    let t0 = Instant::now();
    let a = addr("198.51.100.7:40000");
    assert_eq!(ice.state(), IceState::New);
    let (_, selected, event) = check(&mut ice, t0, a, false).unwrap();
    assert!(selected);
    assert_eq!(event, Some(IceEvent::Connected { remote: a }));
    assert_eq!(ice.state(), IceState::Connected);
    assert_eq!(ice.selected(), Some(a));
    assert!(!ice.is_nominated());
}

#[test]
fn use_candidate_nominates_and_later_nomination_switches_address() {
    let mut ice = agent();
    let t0 = Instant::now();
    let a = addr("198.51.100.7:40000");
    let b = addr("[2001:db8::7]:40001");
    // a checked first (provisional), then b is nominated.
    check(&mut ice, t0, a, false).unwrap();
    let (_, selected, event) = check(&mut ice, t0, b, true).unwrap();
    assert!(selected);
    assert_eq!(event, Some(IceEvent::Connected { remote: b }));
    assert!(ice.is_nominated());
    assert_eq!(ice.selected(), Some(b));
    // An unnominated check on a does not take selection back.
    let (_, selected, event) = check(&mut ice, t0, a, false).unwrap();
    assert!(!selected);
    assert_eq!(event, None);
    assert_eq!(ice.selected(), Some(b));
    // Repeated nomination of b: no new event.
    let (_, selected, event) = check(&mut ice, t0, b, true).unwrap();
    assert!(selected);
    assert_eq!(event, None);
    // Network change: the peer nominates a.
    let (_, selected, event) = check(&mut ice, t0, a, true).unwrap();
    assert!(selected);
    assert_eq!(event, Some(IceEvent::Connected { remote: a }));
    assert_eq!(ice.selected(), Some(a));
}

#[test]
fn unvalidated_address_is_not_a_valid_remote() {
    let mut ice = agent();
    let a = addr("198.51.100.7:40000");
    let stranger = addr("198.51.100.8:40000");
    assert!(!ice.is_valid_remote(a));
    check(&mut ice, Instant::now(), a, true).unwrap();
    assert!(ice.is_valid_remote(a));
    assert!(!ice.is_valid_remote(stranger));
    assert!(!ice.is_valid_remote(addr("198.51.100.7:40001")));
}

#[test]
fn wrong_password_is_unauthorized_and_changes_nothing() {
    let mut ice = agent();
    let a = addr("198.51.100.7:40000");
    let pkt = Req::new(USERNAME, "not-the-password-12345")
        .nominate()
        .encode();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    assert_eq!(
        ice.handle_binding(Instant::now(), a, &pkt, &mut out),
        Err(IceError::Unauthorized)
    );
    assert_eq!(ice.state(), IceState::New);
    assert!(!ice.is_valid_remote(a));
    assert_eq!(ice.selected(), None);
}

#[test]
fn username_for_another_transport_or_remote_is_rejected() {
    let mut ice = agent();
    let a = addr("198.51.100.7:40000");
    let mut out = [0u8; MAX_RESPONSE_LEN];
    let other_local = Req::new("xxxx:cliU", PWD).encode();
    assert_eq!(
        ice.handle_binding(Instant::now(), a, &other_local, &mut out),
        Err(IceError::UfragMismatch)
    );
    let other_remote = Req::new("srvU:zzzz", PWD).encode();
    assert_eq!(
        ice.handle_binding(Instant::now(), a, &other_remote, &mut out),
        Err(IceError::RemoteUfragMismatch)
    );
    // Unknown remote ufrag (our offer went first): any remote half passes.
    let mut lax = IceLite::new(UFRAG, PWD, "").unwrap();
    assert!(lax
        .handle_binding(Instant::now(), a, &other_remote, &mut out)
        .is_ok());
}

#[test]
fn truncated_checks_never_panic_and_never_validate() {
    let mut ice = agent();
    let a = addr("198.51.100.7:40000");
    let pkt = Req::new(USERNAME, PWD).nominate().encode();
    let mut out = [0u8; MAX_RESPONSE_LEN];
    for n in 0..pkt.len() {
        assert!(ice
            .handle_binding(Instant::now(), a, &pkt[..n], &mut out)
            .is_err());
    }
    assert!(!ice.is_valid_remote(a));
    assert_eq!(ice.state(), IceState::New);
}

#[test]
fn small_output_buffer_is_an_error_and_changes_nothing() {
    let mut ice = agent();
    let a = addr("198.51.100.7:40000");
    let pkt = Req::new(USERNAME, PWD).nominate().encode();
    let mut out = [0u8; 10];
    assert!(ice
        .handle_binding(Instant::now(), a, &pkt, &mut out)
        .is_err());
    assert!(!ice.is_valid_remote(a));
}

#[test]
fn consent_disconnects_after_10s_and_fails_after_15s() {
    let mut ice = agent();
    let t0 = Instant::now();
    let a = addr("198.51.100.7:40000");
    assert_eq!(ice.poll_timeout(), None, "no timer before the first check");
    check(&mut ice, t0, a, true).unwrap();
    assert_eq!(ice.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    assert_eq!(ice.handle_timeout(t0 + Duration::from_millis(9_999)), None);
    assert_eq!(ice.state(), IceState::Connected);
    assert_eq!(
        ice.handle_timeout(t0 + Duration::from_secs(10)),
        Some(IceEvent::Disconnected)
    );
    assert_eq!(ice.state(), IceState::Disconnected);
    // Reported once.
    assert_eq!(ice.handle_timeout(t0 + Duration::from_secs(11)), None);
    assert_eq!(ice.poll_timeout(), Some(t0 + Duration::from_secs(15)));
    assert_eq!(
        ice.handle_timeout(t0 + Duration::from_secs(15)),
        Some(IceEvent::Failed(FailReason::ConsentTimeout))
    );
    assert_eq!(ice.state(), IceState::Failed);
    assert_eq!(ice.poll_timeout(), None);
    assert_eq!(ice.handle_timeout(t0 + Duration::from_secs(60)), None);
    // Failed is terminal: no more answers, nothing valid.
    assert!(!ice.is_valid_remote(a));
    assert_eq!(
        check(&mut ice, t0 + Duration::from_secs(61), a, true),
        Err(IceError::Failed)
    );
}

#[test]
fn consent_checks_keep_the_transport_connected() {
    let mut ice = agent();
    let t0 = Instant::now();
    let a = addr("198.51.100.7:40000");
    for i in 0..10u64 {
        let now = t0 + Duration::from_secs(5 * i);
        assert_eq!(ice.handle_timeout(now), None);
        check(&mut ice, now, a, i == 0).unwrap();
    }
    assert_eq!(ice.state(), IceState::Connected);
    assert_eq!(ice.poll_timeout(), Some(t0 + Duration::from_secs(55)));
}

#[test]
fn checks_on_other_pairs_do_not_refresh_consent_of_the_selected_one() {
    let mut ice = agent();
    let t0 = Instant::now();
    let a = addr("198.51.100.7:40000");
    let b = addr("198.51.100.9:40000");
    check(&mut ice, t0, a, true).unwrap();
    check(&mut ice, t0 + Duration::from_secs(8), b, false).unwrap();
    assert_eq!(
        ice.handle_timeout(t0 + Duration::from_secs(10)),
        Some(IceEvent::Disconnected)
    );
}

#[test]
fn a_check_after_disconnected_returns_to_connected() {
    let mut ice = agent();
    let t0 = Instant::now();
    let a = addr("198.51.100.7:40000");
    check(&mut ice, t0, a, true).unwrap();
    assert_eq!(
        ice.handle_timeout(t0 + Duration::from_secs(12)),
        Some(IceEvent::Disconnected)
    );
    let t1 = t0 + Duration::from_secs(13);
    let (_, selected, event) = check(&mut ice, t1, a, false).unwrap();
    assert!(selected);
    assert_eq!(event, Some(IceEvent::Connected { remote: a }));
    assert_eq!(ice.state(), IceState::Connected);
    // The clock restarted at the recovering check.
    assert_eq!(ice.poll_timeout(), Some(t1 + Duration::from_secs(10)));
    assert_eq!(ice.handle_timeout(t0 + Duration::from_secs(15)), None);
}

#[test]
fn a_late_timeout_call_reports_disconnected_then_failed() {
    let mut ice = agent();
    let t0 = Instant::now();
    check(&mut ice, t0, addr("198.51.100.7:40000"), true).unwrap();
    let late = t0 + Duration::from_secs(100);
    assert_eq!(ice.handle_timeout(late), Some(IceEvent::Disconnected));
    assert!(ice.poll_timeout().is_some_and(|t| t <= late));
    assert_eq!(
        ice.handle_timeout(late),
        Some(IceEvent::Failed(FailReason::ConsentTimeout))
    );
}

#[test]
fn custom_timeouts_are_honoured() {
    let timeouts = ConsentTimeouts {
        disconnected_after: Duration::from_millis(100),
        failed_after: Duration::from_millis(300),
    };
    let mut ice = IceLite::with_timeouts(UFRAG, PWD, REMOTE, timeouts).unwrap();
    let t0 = Instant::now();
    check(&mut ice, t0, addr("198.51.100.7:40000"), true).unwrap();
    assert_eq!(ice.poll_timeout(), Some(t0 + Duration::from_millis(100)));
    assert_eq!(
        ice.handle_timeout(t0 + Duration::from_millis(100)),
        Some(IceEvent::Disconnected)
    );
    assert_eq!(ice.poll_timeout(), Some(t0 + Duration::from_millis(300)));
}

#[test]
fn valid_remotes_are_bounded_and_keep_the_selected_one() {
    let mut ice = agent();
    let t0 = Instant::now();
    let sel = addr("198.51.100.1:1000");
    check(&mut ice, t0, sel, true).unwrap();
    for i in 0..20u16 {
        let a = SocketAddr::from(([203, 0, 113, 1], 2000 + i));
        check(
            &mut ice,
            t0 + Duration::from_millis(u64::from(i) + 1),
            a,
            false,
        )
        .unwrap();
    }
    assert!(ice.is_valid_remote(sel), "selected address never evicted");
    // The most recent ones are still valid, the oldest were evicted.
    assert!(ice.is_valid_remote(SocketAddr::from(([203, 0, 113, 1], 2019))));
    assert!(!ice.is_valid_remote(SocketAddr::from(([203, 0, 113, 1], 2000))));
}

#[test]
fn empty_credentials_are_rejected() {
    assert_eq!(
        IceLite::new("", PWD, REMOTE).err(),
        Some(IceError::BadCredentials)
    );
    assert_eq!(
        IceLite::new(UFRAG, "", REMOTE).err(),
        Some(IceError::BadCredentials)
    );
}

#[test]
fn rfc5769_sample_request_is_answered_by_the_agent() {
    // The RFC's request is ICE-CONTROLLED and has no USE-CANDIDATE; a lite
    // agent still answers it and selects the address provisionally.
    let mut ice = IceLite::new("evtj", RFC5769_PASSWORD, "h6vY").unwrap();
    let from = addr("192.0.2.1:32853");
    let mut out = [0u8; MAX_RESPONSE_LEN];
    let o = ice
        .handle_binding(Instant::now(), from, &RFC5769_REQUEST, &mut out)
        .unwrap();
    let (txid, mapped) = decode_success(&out[..o.response_len], RFC5769_PASSWORD).unwrap();
    assert_eq!(txid, RFC5769_TXID);
    assert_eq!(mapped, from);
    assert_eq!(&out[20..32], &RFC5769_XMA_V4);
    assert!(o.selected);
}

#[test]
fn counters_record_answered_unauthorized_and_rejected_checks() {
    let mut ice = agent();
    let a = addr("198.51.100.7:40000");
    let mut out = [0u8; MAX_RESPONSE_LEN];
    check(&mut ice, Instant::now(), a, true).unwrap();
    let bad_pwd = Req::new(USERNAME, "wrong-password-000000000").encode();
    let _ = ice.handle_binding(Instant::now(), a, &bad_pwd, &mut out);
    let _ = ice.handle_binding(Instant::now(), a, &[0, 1, 0], &mut out);
    let c = ice.counters();
    assert_eq!((c.answered, c.unauthorized, c.rejected), (1, 1, 1));
}
