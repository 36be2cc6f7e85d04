//! The whole load generator against a Ringcast server started in this
//! process (`--dev` settings on free loopback ports): one publisher, three
//! subscribers, two seconds; then two publishers whose subscribers offer
//! one receive m-line and must be asked for another. Every packet sent
//! inside the window reaches every subscriber exactly once and in order.
//! Video: one VP8 publisher to five subscribers (the server starts each
//! down-track at a keyframe, asked for by PLI), the same with simulcast
//! (each subscriber gets exactly one layer, the top one), and a meeting.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::Parser;
use ringcast_benches::load::{args::Args, run};
use ringcast_controlplane::config::{load, Overrides};

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// The one server of this test binary (started once), and a lock so the
/// tests' loads do not overlap.
fn server() -> (u16, std::sync::MutexGuard<'static, ()>) {
    static PORT: OnceLock<u16> = OnceLock::new();
    static RUN: Mutex<()> = Mutex::new(());
    let guard = RUN.lock().unwrap_or_else(|e| e.into_inner());
    (*PORT.get_or_init(start_server), guard)
}

/// Starts the server on its own thread and runtime; returns its HTTP port.
fn start_server() -> u16 {
    let http = free_tcp_port();
    let config = load(&Overrides {
        dev: true,
        port: Some(http),
        udp_port: Some(free_udp_port().to_string()),
        bind: vec!["127.0.0.1".into()],
        ..Default::default()
    })
    .unwrap();
    ringcast_controlplane::server::install_dataplane(ringcast_dataplane::runtime::start_boxed);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        if let Err(e) = rt.block_on(ringcast_controlplane::server::run(config)) {
            panic!("server failed: {e}");
        }
    });
    let until = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", http)).is_err() {
        assert!(Instant::now() < until, "server did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    http
}

fn run_load(url: &str, room: &str, extra: &[&str]) -> ringcast_benches::load::report::Summary {
    let pid = std::process::id().to_string();
    let mut argv = vec![
        "ringcast-load",
        "--url",
        url,
        "--room",
        room,
        "--drain",
        "500ms",
        "--server-pid",
        &pid,
        "--idle-sample",
        "0s",
    ];
    if !extra.contains(&"--duration") {
        argv.extend_from_slice(&["--duration", "2s"]);
    }
    argv.extend_from_slice(extra);
    let args = Args::parse_from(argv);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run::run(&args)).unwrap()
}

#[test]
fn every_packet_reaches_every_subscriber_once_and_in_order() {
    let (http, _running) = server();
    let url = format!("ws://127.0.0.1:{http}");

    // Issue #7's small load run: 1 publisher -> 50 subscribers, 10 s.
    let s = run_load(
        &url,
        "one-to-fifty",
        &[
            "--audio-publishers",
            "1",
            "--subscribers",
            "50",
            "--duration",
            "10s",
            "--join-rate",
            "100",
        ],
    );
    let table = s.table();
    assert_eq!(s.failed, 0, "{table}");
    assert_eq!(
        (s.publishers_connected, s.subscribers_connected),
        (1, 50),
        "{table}"
    );
    // 50 packets a second for 10 s.
    assert!((490..=510).contains(&s.sent), "{table}");
    assert_eq!(s.expected, 50 * s.sent, "{table}");
    assert_eq!(s.received, s.expected, "{table}");
    assert_eq!((s.lost, s.duplicates, s.reordered), (0, 0, 0), "{table}");
    assert_eq!((s.srtp_errors, s.unstamped), (0, 0), "{table}");
    assert!(s.latency_p50_us.is_some() && s.latency_max_us >= s.latency_p99_us);
    assert!(s.server_cpu_seconds.is_some(), "{table}");

    // Two tracks, one receive m-line offered: the server's
    // MediaSectionsRequirement makes the subscribers offer another.
    let s = run_load(
        &url,
        "two-tracks-one-slot",
        &[
            "--audio-publishers",
            "2",
            "--subscribers",
            "2",
            "--initial-recv-slots",
            "1",
        ],
    );
    let table = s.table();
    assert_eq!(s.failed, 0, "{table}");
    assert!((180..=220).contains(&s.sent), "{table}");
    assert_eq!(s.expected, 2 * s.sent, "{table}");
    assert_eq!(s.received, s.expected, "{table}");
    assert_eq!((s.lost, s.duplicates, s.reordered), (0, 0, 0), "{table}");

    // An offer with `a=setup:active`: the server answers `passive` and
    // takes the DTLS server role, so the handshake completes.
    let s = run_load(
        &url,
        "client-takes-dtls-client-role",
        &[
            "--audio-publishers",
            "1",
            "--subscribers",
            "1",
            "--setup",
            "active",
        ],
    );
    let table = s.table();
    assert_eq!(s.failed, 0, "{table}");
    assert_eq!(s.received, s.expected, "{table}");
    assert!(s.received > 0, "{table}");
}

#[test]
fn video_reaches_every_subscriber_once_in_order_and_one_simulcast_layer() {
    let (http, _running) = server();
    let url = format!("ws://127.0.0.1:{http}");

    // 1.5 Mbit/s at 30 fps: 6 packets a frame, 180 a second.
    let s = run_load(
        &url,
        "video-one-to-five",
        &[
            "--video-publishers",
            "1",
            "--subscribers",
            "5",
            "--duration",
            "3s",
        ],
    );
    let table = s.table();
    assert_eq!(s.failed, 0, "{table}");
    assert_eq!(
        (s.publishers_connected, s.subscribers_connected),
        (1, 5),
        "{table}"
    );
    assert!((520..=560).contains(&s.sent), "{table}");
    assert_eq!(s.expected, 5 * s.sent, "{table}");
    assert_eq!(s.received, s.expected, "{table}");
    assert_eq!((s.lost, s.duplicates, s.reordered), (0, 0, 0), "{table}");
    assert_eq!((s.srtp_errors, s.unstamped), (0, 0), "{table}");
    assert!(s.latency_p50_us.is_some() && s.latency_max_us >= s.latency_p99_us);
    assert_eq!(
        s.latency_histogram.iter().sum::<u64>(),
        s.received,
        "{table}"
    );
    assert_eq!(s.pairs_by_layer, [5, 0, 0, 0], "{table}");

    // Simulcast: q, h and f on three SSRCs; every subscriber receives
    // exactly one layer in the window, the top one by default, all of it.
    let s = run_load(
        &url,
        "video-simulcast",
        &[
            "--video-publishers",
            "1",
            "--simulcast",
            "--subscribers",
            "5",
            "--duration",
            "3s",
        ],
    );
    let table = s.table();
    assert_eq!(s.failed, 0, "{table}");
    assert_eq!(s.pairs_by_layer, [0, 0, 0, 5], "{table}");
    assert_eq!(s.pairs_mixed_layers, 0, "{table}");
    // The f layer is 180 of the (30+60+180)*3 s packets sent; the
    // subscribers got exactly those.
    assert!(s.expected >= 5 * 520 && s.expected <= 5 * 560, "{table}");
    assert!(
        s.sent > s.expected / 5,
        "all three layers were sent: {table}"
    );
    assert_eq!(s.received, s.expected, "{table}");
    assert_eq!((s.lost, s.duplicates, s.reordered), (0, 0, 0), "{table}");

    // A meeting: three video publishers, each subscribing to the others.
    let s = run_load(
        &url,
        "video-meeting",
        &[
            "--video-publishers",
            "3",
            "--meeting",
            "--subscribers",
            "0",
            "--video-bitrate",
            "500k",
        ],
    );
    let table = s.table();
    assert_eq!(s.failed, 0, "{table}");
    assert_eq!(s.receivers, 3, "{table}");
    // Each publisher's packets reach the two others.
    assert_eq!(s.expected, 2 * s.sent, "{table}");
    assert!(s.sent > 0, "{table}");
    assert_eq!(s.received, s.expected, "{table}");
    assert_eq!((s.lost, s.duplicates, s.reordered), (0, 0, 0), "{table}");
}
