//! A worker's data rings: messages go up in order even through a full ring
//! (bounded backlog, then counted drops), and routed messages for transports
//! the worker cannot serve are counted, never sent.

use std::net::SocketAddr;
use std::time::Instant;

use ringcast_dataplane::dtls::DtlsCertificate;
use ringcast_dataplane::runtime::data_path::{data_path, DATA_IN_BACKLOG};
use ringcast_dataplane::runtime::{DatagramOut, WorkerCore};
use ringcast_shared::data_ring::{ChannelKind, DataRecord};
use ringcast_shared::records::{Command, DtlsRole, Event, Fingerprint, InlineStr, TransportId};
use ringcast_shared::ring::channel;

#[derive(Default)]
struct Out(Vec<(SocketAddr, Vec<u8>)>);

impl DatagramOut for Out {
    fn send_to(&mut self, to: SocketAddr, payload: &[u8]) {
        self.0.push((to, payload.to_vec()));
    }
}

#[test]
fn upward_messages_survive_a_full_ring_in_order_then_drop_and_count() {
    let (up_tx, mut up_rx) = channel::<DataRecord>(4).unwrap();
    let (_down_tx, down_rx) = channel::<DataRecord>(4).unwrap();
    let (mut up, _down) = data_path(up_tx, down_rx);
    let n = 4 + DATA_IN_BACKLOG;
    for i in 0..n as u32 {
        up.deliver(TransportId(1), ChannelKind::Reliable, &i.to_be_bytes());
    }
    up.deliver(TransportId(1), ChannelKind::Reliable, b"lost");
    assert_eq!(up.counters.in_dropped_full, 1);
    up.deliver(TransportId(1), ChannelKind::Reliable, &vec![0; 70_000]);
    assert_eq!(up.counters.in_too_large, 1);
    let mut got = Vec::new();
    while got.len() < n {
        while let Some(r) = up_rx.try_pop() {
            assert_eq!(r.kind(), Some(ChannelKind::Reliable));
            got.push(u32::from_be_bytes(r.payload().try_into().unwrap()));
        }
        up.flush();
    }
    assert_eq!(got, (0..n as u32).collect::<Vec<_>>());
    assert_eq!(up.counters.in_forwarded, n as u64);
}

#[test]
fn routed_messages_for_unknown_or_unconnected_transports_are_counted_not_sent() {
    let cert = DtlsCertificate::generate().unwrap();
    let (mut cmd_tx, cmd_rx) = channel::<Command>(16).unwrap();
    let (ev_tx, _ev_rx) = channel::<Event>(16).unwrap();
    let (up_tx, _up_rx) = channel::<DataRecord>(4).unwrap();
    let (mut down_tx, down_rx) = channel::<DataRecord>(4).unwrap();
    let mut core = WorkerCore::new(0, cert, cmd_rx, ev_tx).with_data(up_tx, down_rx);
    let now = Instant::now();
    let mut out = Out::default();
    cmd_tx
        .try_push(Command::AddTransport {
            id: TransportId(2),
            local_ufrag: InlineStr::new("ufragufragufrag1").unwrap(),
            local_pwd: InlineStr::new("passwordpasswordpassword12").unwrap(),
            remote_ufrag: InlineStr::new("peer").unwrap(),
            role: DtlsRole::Client,
            fingerprint: Fingerprint { sha256: [1; 32] },
        })
        .unwrap();
    core.on_tick(now, &mut out);
    let rec = |id| DataRecord::new(TransportId(id), ChannelKind::Reliable, b"x").unwrap();
    assert!(down_tx.try_push(rec(99)).is_ok());
    assert!(down_tx.try_push(rec(2)).is_ok());
    core.on_tick(now, &mut out);
    let c = core.data_counters();
    assert_eq!(c.out_unknown_transport, 1);
    assert_eq!(c.out_not_open, 1);
    assert_eq!(c.out_sent, 0);
    assert!(out.0.is_empty());
}
