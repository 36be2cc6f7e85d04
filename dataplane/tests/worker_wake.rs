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
