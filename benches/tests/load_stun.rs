//! The client side of a STUN check (`write_binding_request`,
//! `binding_success_transaction`) agrees with the server side the worker
//! runs: the server parses and authenticates our request, and we recognise
//! its answer.

use std::net::SocketAddr;

use ringcast_dataplane::ice::stun::{
    binding_request_len, binding_success_len, binding_success_transaction, parse_binding_request,
    write_binding_request, write_binding_success, IntegrityKey, PeerRole, StunError,
};

fn request(username: &str, pwd: &str, use_candidate: bool) -> Vec<u8> {
    let mut buf = vec![0u8; binding_request_len(username.len(), use_candidate)];
    let n = write_binding_request(
        &mut buf,
        &[7; 12],
        username.as_bytes(),
        0x6e00_01ff,
        42,
        use_candidate,
        &IntegrityKey::new(pwd.as_bytes()),
    )
    .unwrap();
    assert_eq!(n, buf.len());
    buf
}

#[test]
fn our_check_is_parsed_and_authenticated_by_the_server_side() {
    // 17 bytes: USERNAME needs padding.
    for (username, nominate) in [("srvUfrag:cliUfrag", true), ("abcd:efgh", false)] {
        let pkt = request(username, "server-password-0123456789", nominate);
        let req = parse_binding_request(&pkt).unwrap();
        assert_eq!(req.username, username.as_bytes());
        assert_eq!(req.transaction_id, [7; 12]);
        assert_eq!(req.priority, Some(0x6e00_01ff));
        assert_eq!(req.use_candidate, nominate);
        assert_eq!(req.role, Some(PeerRole::Controlling(42)));
        req.verify_integrity(&IntegrityKey::new(b"server-password-0123456789"))
            .unwrap();
        assert_eq!(
            req.verify_integrity(&IntegrityKey::new(b"another-password")),
            Err(StunError::BadIntegrity)
        );
    }
}

#[test]
fn a_short_buffer_is_refused_not_overrun() {
    let mut buf = vec![0u8; 20];
    assert_eq!(
        write_binding_request(
            &mut buf,
            &[1; 12],
            b"a:b",
            1,
            1,
            true,
            &IntegrityKey::new(b"x")
        ),
        Err(StunError::BufferTooSmall)
    );
}

#[test]
fn the_servers_success_response_is_recognised_by_transaction() {
    let mapped: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let mut out = vec![0u8; binding_success_len(&mapped)];
    let n = write_binding_success(&mut out, &[9; 12], mapped, &IntegrityKey::new(b"pw")).unwrap();
    assert_eq!(binding_success_transaction(&out[..n]), Some([9; 12]));
    // A request is not a response; a corrupted response fails FINGERPRINT.
    assert_eq!(
        binding_success_transaction(&request("a:b", "pw", true)),
        None
    );
    let mut bad = out[..n].to_vec();
    bad[25] ^= 1;
    assert_eq!(binding_success_transaction(&bad), None);
    assert_eq!(binding_success_transaction(&out[..n - 1]), None);
    assert_eq!(binding_success_transaction(&[]), None);
}
