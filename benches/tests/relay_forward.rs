//! The raw baseline relay (`ringcast-relay`) in-process on both drivers:
//! every registered subscriber copy of every media datagram arrives exactly
//! once, unchanged and in order; other rooms get nothing; an unsubscribed
//! address gets nothing more; and the load side measures a clean run as
//! zero loss and zero duplicates.
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use ringcast_benches::load::payload::{monotonic_ns, stamp_of_rtp, write_rtp, Stamp};
use ringcast_dataplane::driver::{uring, DriverConfig, DriverKind};
use ringcast_dataplane::worker::{spawn_workers, WorkerSet};

#[allow(dead_code)]
#[path = "../src/bin/ringcast-relay/relay.rs"]
mod relay;

#[allow(dead_code)]
#[path = "../src/bin/ringcast-relay/load.rs"]
mod load;

use relay::{Header, Kind, Registry, RelayHandler, HEADER_LEN};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn drivers() -> Vec<DriverKind> {
    if uring::is_supported() {
        vec![DriverKind::Uring, DriverKind::Portable]
    } else {
        println!("NOTICE: io_uring refused by this kernel; testing the portable driver only");
        vec![DriverKind::Portable]
    }
}

fn start(kind: DriverKind, workers: usize) -> (WorkerSet, SocketAddr, Arc<Registry>) {
    let registry = Registry::new();
    let r = registry.clone();
    let set = spawn_workers(
        workers,
        &[LOOPBACK],
        0,
        kind,
        DriverConfig::default(),
        move |_| RelayHandler::new(r.clone()),
    )
    .expect("spawn relay workers");
    let addr = SocketAddr::new(LOOPBACK, set.local_port());
    (set, addr, registry)
}

fn socket(relay: SocketAddr) -> UdpSocket {
    let s = UdpSocket::bind(SocketAddr::new(LOOPBACK, 0)).expect("bind");
    // All 600 copies to one socket are read only after the last send.
    load::set_rcvbuf(&s, 8 << 20);
    s.connect(relay).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    s
}

fn subscribe(s: &UdpSocket, room: u16, count: u16) {
    let h = Header {
        kind: Kind::Subscribe,
        room,
        count,
    };
    s.send(&h.to_bytes()).expect("send subscribe");
    let mut buf = [0u8; 64];
    let n = s.recv(&mut buf).expect("ack within 2 s");
    assert_eq!(
        Header::parse(&buf[..n]),
        Some(Header {
            kind: Kind::Ack,
            ..h
        }),
        "the relay acknowledges with the same room and count"
    );
}

fn media(room: u16, seq: u32) -> Vec<u8> {
    let mut buf = vec![0u8; HEADER_LEN + 12 + 100];
    Header {
        kind: Kind::Media,
        room,
        count: 0,
    }
    .write(&mut buf)
    .expect("header fits");
    let stamp = Stamp {
        seq,
        sent_ns: monotonic_ns(),
        publisher: 0,
    };
    let n = write_rtp(
        &mut buf[HEADER_LEN..],
        111,
        seq as u16,
        seq * 960,
        1,
        &stamp,
        100,
    )
    .expect("rtp fits");
    buf.truncate(HEADER_LEN + n);
    buf
}

/// Reads exactly `want` datagrams; panics on a timeout.
fn read_all(s: &UdpSocket, want: usize) -> Vec<Vec<u8>> {
    let mut buf = [0u8; 2048];
    (0..want)
        .map(|i| {
            let n = s
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("datagram {i} of {want}: {e}"));
            buf[..n].to_vec()
        })
        .collect()
}

fn assert_silent(s: &UdpSocket, what: &str) {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut buf = [0u8; 2048];
    if let Ok(n) = s.recv(&mut buf) {
        panic!("{what}: unexpected datagram of {n} bytes");
    }
}

#[test]
fn relay_sends_each_subscriber_copy_exactly_once_and_in_order() {
    for kind in drivers() {
        let (set, addr, registry) = start(kind, 2);
        let (a, b, other) = (socket(addr), socket(addr), socket(addr));
        subscribe(&a, 7, 3); // one socket standing for three subscribers
        subscribe(&b, 7, 1);
        subscribe(&other, 8, 2);
        assert_eq!(registry.subscribers(7), 4);
        let publisher = socket(addr);
        let total = 200u32;
        let mut sent = Vec::new();
        for seq in 0..total {
            let m = media(7, seq);
            publisher.send(&m).expect("send media");
            sent.push(m);
            if seq % 20 == 19 {
                // Paced like publishers, so no socket buffer overflows.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let got_a = read_all(&a, 3 * total as usize);
        for (i, d) in got_a.iter().enumerate() {
            let seq = i / 3;
            assert_eq!(
                d, &sent[seq],
                "{kind:?}: copy {i} to a is packet {seq}, unchanged"
            );
            let stamp = stamp_of_rtp(&d[HEADER_LEN..]).expect("stamp");
            assert_eq!(stamp.seq as usize, seq);
        }
        let got_b = read_all(&b, total as usize);
        assert_eq!(got_b, sent, "{kind:?}: b gets each packet once, in order");
        assert_silent(&a, "a after the last copy");
        assert_silent(&b, "b after the last copy");
        assert_silent(&other, "another room");

        // Unsubscribed: no more copies for a; b still gets them.
        subscribe(&a, 7, 0);
        let m = media(7, total);
        publisher.send(&m).expect("send media");
        assert_eq!(read_all(&b, 1), vec![m], "{kind:?}");
        assert_silent(&a, "a after unsubscribing");

        let out: u64 = set
            .counters()
            .iter()
            .map(|c| c.snapshot().packets_out)
            .sum();
        let drops: u64 = set
            .counters()
            .iter()
            .map(|c| c.snapshot().send_queue_drops)
            .sum();
        // 4 copies of 200 packets, 1 of the last, 4 acks.
        assert_eq!(out, 4 * u64::from(total) + 1 + 4, "{kind:?}");
        assert_eq!(drops, 0, "{kind:?}");
        set.join().expect("clean stop");
    }
}

#[test]
fn relay_load_measures_a_clean_run_as_lossless() {
    for kind in drivers() {
        let (set, addr, registry) = start(kind, 2);
        let cfg = load::LoadConfig {
            relay: addr,
            rooms: 2,
            publishers: 2,
            subscribers: 30,
            subs_per_socket: 8, // 8+8+8+6 per room
            duration: Duration::from_secs(1),
            payload_bytes: 100,
            period: load::AUDIO_PERIOD,
            burst: 1,
            server_pid: Some(std::process::id()),
            idle_sample: Duration::ZERO,
            warmup_timeout: Duration::from_secs(5),
            drain: Duration::from_millis(500),
        };
        let s = load::run(&cfg).expect("load run");
        println!("{kind:?}:\n{}", s.table());
        assert_eq!(s.subscribers, 60);
        assert_eq!(s.subscriber_sockets, 8);
        // 4 publishers x 50 packets/s over ~1 s.
        assert!((180..=220).contains(&s.sent), "{kind:?}: sent {}", s.sent);
        assert_eq!(s.expected, s.sent * 30, "{kind:?}");
        assert_eq!(s.received, s.expected, "{kind:?}: lost {}", s.lost);
        assert_eq!(s.duplicates, 0, "{kind:?}");
        assert_eq!(s.unstamped, 0, "{kind:?}");
        assert!(s.latency_p50_us.is_some() && s.server_cpu_us_per_packet.is_some());
        // The load side unsubscribes when it ends.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            registry.subscribers(0) + registry.subscribers(1),
            0,
            "{kind:?}"
        );
        set.join().expect("clean stop");
    }
}

#[test]
fn relay_load_cpu_seconds_count_every_thread_finely() {
    let pid = std::process::id();
    let (before, source) = load::cpu_seconds(pid).expect("own cpu time");
    assert_eq!(
        source, "schedstat",
        "this kernel exposes per-thread run time"
    );
    // 60 ms of CPU on another thread of this process (its own CPU clock,
    // so a busy machine only makes it take longer).
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let mut x = 0u64;
        while thread_cpu() < Duration::from_millis(60) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let _ = done_tx.send(());
        // Stays alive until measured: an exited thread leaves task/.
        std::thread::sleep(Duration::from_millis(300));
    });
    done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("spin done");
    let (after, _) = load::cpu_seconds(pid).expect("own cpu time");
    let used = after - before;
    println!("{source}: {used:.4} s");
    assert!(
        used >= 0.05,
        "{source}: the other thread's 60 ms counted: {used}"
    );
    worker.join().expect("spinner");
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid, writable timespec; the clock always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
