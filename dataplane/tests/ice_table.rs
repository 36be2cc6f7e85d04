//! The worker's routing table: ufrag and address to transport, bounded.

mod ice_support;

use ice_support::*;
use ringcast_dataplane::ice::{username_ufrag, TableError, TransportTable};
use std::net::SocketAddr;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn unbound_stun_is_routed_by_the_ufrag_in_username() {
    let mut t = TransportTable::with_capacity(4, 8);
    t.insert_ufrag(b"aaaa", 0).unwrap();
    t.insert_ufrag(b"bbbb", 1).unwrap();
    let pkt = Req::new("bbbb:peer", "pw").encode();
    let ufrag = username_ufrag(&pkt).unwrap();
    assert_eq!(t.by_ufrag(ufrag), Some(1));
    assert_eq!(t.by_ufrag(b"cccc"), None);
    assert_eq!(t.by_ufrag(b""), None);
}

#[test]
fn bound_addresses_route_to_their_transport() {
    let mut t = TransportTable::with_capacity(4, 8);
    let a = addr("198.51.100.7:40000");
    let b = addr("[2001:db8::1]:40000");
    assert_eq!(t.bind_addr(a, 3), Ok(None));
    assert_eq!(t.bind_addr(b, 2), Ok(None));
    assert_eq!(t.by_addr(a), Some(3));
    assert_eq!(t.by_addr(b), Some(2));
    assert_eq!(t.by_addr(addr("198.51.100.7:40001")), None);
    // Rebinding to the same transport is a no-op, to another moves it.
    assert_eq!(t.bind_addr(a, 3), Ok(None));
    assert_eq!(t.bind_addr(a, 1), Ok(Some(3)));
    assert_eq!(t.by_addr(a), Some(1));
    assert_eq!(t.unbind_addr(a), Some(1));
    assert_eq!(t.by_addr(a), None);
}

#[test]
fn table_refuses_to_grow_past_its_bounds() {
    let mut t = TransportTable::with_capacity(2, 2);
    t.insert_ufrag(b"u1", 0).unwrap();
    t.insert_ufrag(b"u2", 1).unwrap();
    assert_eq!(t.insert_ufrag(b"u3", 2), Err(TableError::Full));
    assert_eq!(t.insert_ufrag(b"u1", 5), Err(TableError::DuplicateUfrag));
    t.bind_addr(addr("10.0.0.1:1"), 0).unwrap();
    t.bind_addr(addr("10.0.0.2:1"), 1).unwrap();
    assert_eq!(t.bind_addr(addr("10.0.0.3:1"), 1), Err(TableError::Full));
    // An existing address can still be rebound when full.
    assert_eq!(t.bind_addr(addr("10.0.0.2:1"), 0), Ok(Some(1)));
}

#[test]
fn removing_a_transport_drops_its_ufrag_and_addresses_only() {
    let mut t = TransportTable::with_capacity(4, 8);
    t.insert_ufrag(b"u0", 0).unwrap();
    t.insert_ufrag(b"u1", 1).unwrap();
    t.bind_addr(addr("10.0.0.1:1"), 0).unwrap();
    t.bind_addr(addr("10.0.0.2:1"), 0).unwrap();
    t.bind_addr(addr("10.0.0.3:1"), 1).unwrap();
    t.remove_transport(0);
    assert_eq!(t.by_ufrag(b"u0"), None);
    assert_eq!(t.by_addr(addr("10.0.0.1:1")), None);
    assert_eq!(t.by_addr(addr("10.0.0.2:1")), None);
    assert_eq!(t.by_ufrag(b"u1"), Some(1));
    assert_eq!(t.by_addr(addr("10.0.0.3:1")), Some(1));
    assert_eq!((t.transports(), t.bound_addrs()), (1, 1));
    // Freed room can be reused.
    assert_eq!(t.remove_ufrag(b"u1"), Some(1));
    assert_eq!(t.transports(), 0);
}
