//! Both drivers with a worker's `Wake`: an idle worker sleeps (no polling
//! turns), a record handed to it through an SPSC ring plus `notify` wakes
//! it within a bound far below its idle wait, and a stop request ends its
//! wait at once.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ringcast_dataplane::driver::{uring, DriverConfig, DriverKind, PacketHandler, SendQueue};
use ringcast_dataplane::worker::{new_wakes, spawn_workers_woken};
use ringcast_shared::ring::{channel, Consumer};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// The idle wait of the workers under test: far longer than any bound
/// asserted, so only a wake-up can explain a prompt reaction.
const IDLE_WAIT: Duration = Duration::from_secs(5);

/// Pops records on each turn and notes when it saw each.
struct Inbox {
    rx: Consumer<u64>,
    seen: Arc<Mutex<Vec<(u64, Instant)>>>,
}

impl PacketHandler for Inbox {
    fn on_datagram(
        &mut self,
        _: Instant,
        _: SocketAddr,
        _: SocketAddr,
        _: &mut [u8],
        _: &mut SendQueue,
    ) {
    }
    fn on_tick(&mut self, _now: Instant, _out: &mut SendQueue) {
        while let Some(v) = self.rx.try_pop() {
            if let Ok(mut s) = self.seen.lock() {
                s.push((v, Instant::now()));
            }
        }
    }
    fn next_deadline(&self) -> Option<Instant> {
        None
    }
}

fn drivers() -> Vec<DriverKind> {
    if uring::is_supported() {
        vec![DriverKind::Uring, DriverKind::Portable]
    } else {
        println!("NOTICE: io_uring refused by this kernel; testing the portable driver only");
        vec![DriverKind::Portable]
    }
}

#[test]
fn a_sleeping_worker_is_woken_by_a_ring_record_and_by_stop() {
    for kind in drivers() {
        let (mut tx, rx) = channel::<u64>(64).expect("ring");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let wakes = new_wakes(1).expect("eventfd");
        let wake = Arc::clone(&wakes[0]);
        let config = DriverConfig {
            max_wait: IDLE_WAIT,
            ..DriverConfig::default()
        };
        let cell = Mutex::new(Some(rx));
        let seen2 = Arc::clone(&seen);
        let set = spawn_workers_woken(1, &[LOOPBACK], 0, kind, config, wakes, |_| Inbox {
            rx: cell.lock().unwrap().take().expect("one worker"),
            seen: Arc::clone(&seen2),
        })
        .expect("spawn");

        // Let it fall asleep, then count its turns over a quiet spell.
        std::thread::sleep(Duration::from_millis(100));
        let turns = || set.counters()[0].turns.load(Ordering::Relaxed);
        let before = turns();
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            turns() - before <= 1,
            "{kind:?}: an idle worker does not poll ({} turns in 300 ms)",
            turns() - before
        );

        let mut worst = Duration::ZERO;
        for k in 0..5u64 {
            std::thread::sleep(Duration::from_millis(30));
            let t0 = Instant::now();
            tx.try_push(k).expect("room");
            wake.notify();
            loop {
                if seen.lock().unwrap().iter().any(|(v, _)| *v == k) {
                    break;
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(2),
                    "{kind:?}: record {k} not seen; the wake-up was lost"
                );
                std::thread::sleep(Duration::from_micros(200));
            }
            let at = seen
                .lock()
                .unwrap()
                .iter()
                .find(|(v, _)| *v == k)
                .unwrap()
                .1;
            worst = worst.max(at.saturating_duration_since(t0));
        }
        println!("{kind:?}: worst wake-up latency {worst:?}");
        assert!(
            worst < Duration::from_millis(100),
            "{kind:?}: woken in {worst:?}, idle wait is {IDLE_WAIT:?}"
        );

        let t0 = Instant::now();
        set.join().expect("clean stop");
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "{kind:?}: stop took {:?}",
            t0.elapsed()
        );
    }
}

/// Collects nothing: the recheck test sends no datagrams.
struct Discard;

impl ringcast_dataplane::runtime::DatagramOut for Discard {
    fn send_to(&mut self, _: SocketAddr, _: &[u8]) {}
}

/// A turn that stops at a per-turn bound with records or commands left in
/// a ring asks for another turn at once (its wake-up was spent), and stops
/// asking once the rings are drained.
#[test]
fn a_turn_cut_short_by_a_bound_asks_to_turn_again() {
    use ringcast_dataplane::dtls::DtlsCertificate;
    use ringcast_dataplane::forward::CrossPacket;
    use ringcast_dataplane::runtime::WorkerCore;
    use ringcast_shared::records::{Command, Event, TransportId};

    let cert = DtlsCertificate::generate().expect("cert");
    let (mut cmd_tx, cmd_rx) = channel::<Command>(1024).expect("ring");
    let (ev_tx, _ev_rx) = channel::<Event>(1024).expect("ring");
    let (to_peer, _peer_rx) = channel::<CrossPacket>(4096).expect("ring");
    let (mut from_peer, inbox) = channel::<CrossPacket>(4096).expect("ring");
    let mut core = WorkerCore::new(1, cert, cmd_rx, ev_tx).with_peers(vec![to_peer], vec![inbox]);
    let mut out = Discard;
    let now = Instant::now();

    // 1500 RTP records: more than one turn takes from one peer.
    let mut rtp = [0u8; 12];
    rtp[0] = 0x80;
    rtp[1] = 111;
    for i in 0..1500u16 {
        rtp[2..4].copy_from_slice(&i.to_be_bytes());
        let rec = CrossPacket::rtp(TransportId(9), &rtp).expect("fits");
        assert!(from_peer.try_push(rec).is_ok());
    }
    core.on_tick(now, &mut out);
    core.end_turn();
    assert_eq!(core.next_deadline(), Some(now), "records left: turn again");
    core.on_tick(now, &mut out);
    core.end_turn();
    assert_eq!(core.forward_counters().cross_in, 1500);
    core.on_tick(now, &mut out);
    core.end_turn();
    assert_eq!(core.next_deadline(), None, "drained: nothing to wait for");

    // 300 commands: more than one turn applies.
    for i in 0..300u64 {
        let cmd = Command::RemoveTransport {
            id: TransportId(1000 + i),
        };
        assert!(cmd_tx.try_push(cmd).is_ok());
    }
    core.on_tick(now, &mut out);
    core.end_turn();
    assert_eq!(core.next_deadline(), Some(now), "commands left: turn again");
    core.on_tick(now, &mut out);
    core.end_turn();
    assert_eq!(core.next_deadline(), None);
}
