//! Host candidate lines and the trickle `candidateInit` JSON.

use std::net::IpAddr;

use ringcast_controlplane::sdp::{Candidate, CandidateInit, HostCandidate, SdpError};

fn host(ip: &str, index: u16) -> HostCandidate {
    HostCandidate {
        ip: ip.parse().unwrap(),
        port: 7882,
        index,
    }
}

#[test]
fn host_candidate_line_has_the_rfc_8839_shape() {
    let c = host("192.0.2.10", 0);
    let line = c.to_sdp_value();
    let want = format!(
        "candidate:{} 1 udp 2130706431 192.0.2.10 7882 typ host generation 0",
        c.foundation()
    );
    assert_eq!(line, want);
    let parsed = Candidate::parse(&line).unwrap();
    assert_eq!(parsed.priority, 2130706431);
    assert_eq!(
        parsed.extensions,
        [("generation".to_string(), "0".to_string())]
    );
}

#[test]
fn priority_prefers_earlier_addresses_and_foundation_is_per_address() {
    let ips: Vec<IpAddr> = vec![
        "192.0.2.10".parse().unwrap(),
        "2001:db8::1".parse().unwrap(),
    ];
    let cs = HostCandidate::for_addresses(&ips, 7882);
    assert_eq!(cs.len(), 2);
    assert!(cs[0].priority() > cs[1].priority());
    // Type preference 126 in the top byte (RFC 8445 5.1.2.1).
    assert_eq!(cs[1].priority() >> 24, 126);
    assert_ne!(cs[0].foundation(), cs[1].foundation());
    assert_eq!(cs[0].foundation(), host("192.0.2.10", 5).foundation());
    assert!(cs[1].to_sdp_value().contains(" 2001:db8::1 7882 typ host"));
}

#[test]
fn trickle_json_always_has_sdp_mid_and_mline_index() {
    let json = host("192.0.2.10", 0).to_candidate_init_json("0", 0, "subUfrag");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["sdpMid"], "0");
    assert_eq!(v["sdpMLineIndex"], 0);
    assert_eq!(v["usernameFragment"], "subUfrag");
    assert!(v["candidate"].as_str().unwrap().starts_with("candidate:"));
    let back = CandidateInit::parse_json(&json).unwrap();
    assert_eq!(back.candidate().unwrap().unwrap().port, 7882);
}

#[test]
fn client_candidate_init_is_parsed_tolerantly() {
    let js = r#"{"candidate":"candidate:3 1 udp 2122194687 8f2c7a63-1b2c-4d5e-8f90-123456789abc.local 50000 typ host generation 0 ufrag Xk3P network-id 1","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"Xk3P"}"#;
    let init = CandidateInit::parse_json(js).unwrap();
    assert_eq!(init.sdp_mid.as_deref(), Some("0"));
    let c = init.candidate().unwrap().unwrap();
    assert_eq!(c.address, "8f2c7a63-1b2c-4d5e-8f90-123456789abc.local");
    assert_eq!(c.ip(), None);

    let rust = r#"{"candidate":"candidate:1 1 UDP 1677729535 198.51.100.7 61000 typ srflx raddr 0.0.0.0 rport 0","sdpMid":null,"sdpMLineIndex":null,"extra":true}"#;
    let init = CandidateInit::parse_json(rust).unwrap();
    assert_eq!(
        (init.sdp_mid.as_deref(), init.sdp_m_line_index),
        (None, None)
    );
    let c = init.candidate().unwrap().unwrap();
    assert_eq!((c.transport.as_str(), c.typ.as_str()), ("udp", "srflx"));

    let end = CandidateInit::parse_json(r#"{"candidate":""}"#).unwrap();
    assert_eq!(end.candidate(), Ok(None));
}

#[test]
fn bad_candidate_input_is_an_error() {
    assert_eq!(
        CandidateInit::parse_json("not json"),
        Err(SdpError::BadCandidateInit)
    );
    assert_eq!(
        CandidateInit::parse_json(r#"{"candidate":5}"#),
        Err(SdpError::BadCandidateInit)
    );
    for bad in [
        "candidate:1 1 udp",
        "candidate:1 1 udp x 1.2.3.4 5 typ host",
        "candidate:1 1 udp 1 1.2.3.4 99999 typ host",
        "candidate:1 1 udp 1 1.2.3.4 5 type host",
        "candidate:1 1 udp 1 1.2.3.4 5 typ host raddr",
    ] {
        assert_eq!(Candidate::parse(bad), Err(SdpError::BadCandidate), "{bad}");
    }
}
