//! The load side of the raw baseline: the packet pattern of `ringcast-load`
//! (an Opus-sized, stamped RTP packet every 20 ms per publisher, or with
//! `--video-bitrate` a 30 fps frame of up to 1200-byte packets sent
//! together; publishers staggered over the period) sent to the relay with
//! no WebRTC, and
//! subscribers that judge what comes back the same way (received, expected,
//! loss, duplicates, one-way latency, the relay's CPU per forwarded packet).
//!
//! Two threads: one sends for every publisher, the calling thread receives
//! for every subscriber. A subscriber socket is registered for several
//! subscribers (`--subs-per-socket`), so a thousand subscribers need only a
//! few sockets; it then gets that many copies of each packet, and copies
//! beyond that number count as duplicates.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringcast_benches::load::cpu::process_cpu_seconds;
use ringcast_benches::load::payload::{monotonic_ns, stamp_of_rtp, write_rtp, Stamp};
use ringcast_benches::load::stats::{quantile, Window};
use serde::Serialize;

use crate::relay::{Header, Kind, HEADER_LEN};

/// CPU seconds (all threads) `pid` has used: the sum of each thread's
/// `sum_exec_runtime` from `/proc/<pid>/task/*/schedstat` (nanoseconds),
/// falling back to utime+stime from `/proc/<pid>/stat` (10 ms ticks). Both
/// count the same run time; at a few thousand packets per second over 10 s
/// only the first resolves a microsecond per packet. Returns the seconds
/// and which source gave them.
pub fn cpu_seconds(pid: u32) -> Option<(f64, &'static str)> {
    let sched = std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()
        .and_then(|dir| {
            let mut ns = 0u64;
            for e in dir {
                let path = e.ok()?.path().join("schedstat");
                let text = std::fs::read_to_string(path).ok()?;
                ns += text.split_ascii_whitespace().next()?.parse::<u64>().ok()?;
            }
            Some(ns as f64 / 1e9)
        });
    match sched {
        Some(s) => Some((s, "schedstat")),
        None => process_cpu_seconds(pid).ok().map(|s| (s, "stat")),
    }
}

/// Audio publishers send one packet per this period.
pub const AUDIO_PERIOD: Duration = Duration::from_millis(20);
/// Opus payload type, as `ringcast-load` uses.
const PAYLOAD_TYPE: u8 = 111;
/// Receive buffer per subscriber socket: a 20 ms burst to one socket is
/// `subs_per_socket` copies, and the receiver thread may be a few ms behind.
const RCVBUF_BYTES: usize = 16 << 20;
/// A stamp whose sequence number is beyond this is not ours (bounds the
/// per-stream table).
const MAX_SEQ: u32 = 1 << 22;

/// What one run does.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub relay: SocketAddr,
    pub rooms: usize,
    /// Publishers per room.
    pub publishers: usize,
    /// Subscribers per room.
    pub subscribers: usize,
    /// Subscribers one receiving socket stands for.
    pub subs_per_socket: usize,
    pub duration: Duration,
    pub payload_bytes: usize,
    /// Each publisher sends `burst` packets together once per `period`
    /// (audio: 1 per 20 ms; video: a frame's packets per 1/30 s).
    pub period: Duration,
    pub burst: u32,
    pub server_pid: Option<u32>,
    /// How long to sample the relay's idle CPU before the run (0: skip).
    pub idle_sample: Duration,
    /// Longest wait for every subscriber socket to hear every publisher.
    pub warmup_timeout: Duration,
    /// How long packets sent inside the window may still arrive after it.
    pub drain: Duration,
}

/// Why a run could not happen.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A socket could not be created, bound, connected or used.
    #[error("socket: {0}")]
    Socket(#[source] io::Error),
    /// The relay did not acknowledge a subscription.
    #[error("the relay at {0} did not acknowledge a subscription (is it running?)")]
    NoAck(SocketAddr),
    /// Rooms are numbered with 16 bits on the wire.
    #[error("too many rooms ({0}); at most 65536")]
    TooManyRooms(usize),
    /// The payload cannot hold the stamp or does not fit a datagram.
    #[error("payload of {0} bytes: must be 16..=1400")]
    Payload(usize),
    /// The sender thread could not start or panicked.
    #[error("sender thread: {0}")]
    Sender(String),
}

/// Everything a run measured; field names as `ringcast-load --json` has them
/// where both measure the same thing.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RelaySummary {
    pub relay: String,
    pub rooms: usize,
    pub publishers: usize,
    pub subscribers: usize,
    pub subscriber_sockets: usize,
    pub window_seconds: f64,
    pub sent: u64,
    pub expected: u64,
    pub received: u64,
    pub lost: u64,
    pub loss_percent: f64,
    pub duplicates: u64,
    pub reordered: u64,
    /// Received (forwarded) packets per second of window.
    pub forwarded_per_second: f64,
    pub latency_p50_us: Option<u32>,
    pub latency_p99_us: Option<u32>,
    pub latency_max_us: Option<u32>,
    pub unstamped: u64,
    pub server_pid: Option<u32>,
    pub server_cpu_seconds: Option<f64>,
    /// Where the CPU seconds come from: `schedstat` (ns) or `stat` (ticks).
    pub server_cpu_source: Option<&'static str>,
    pub server_cpu_us_per_packet: Option<f64>,
    pub server_idle_cpu_per_second: Option<f64>,
    pub server_cpu_us_per_packet_net: Option<f64>,
    pub generator_cpu_seconds: Option<f64>,
}

impl RelaySummary {
    /// The human-readable table.
    #[must_use]
    pub fn table(&self) -> String {
        let opt = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
        let f =
            |v: Option<f64>, unit: &str| v.map_or("-".to_string(), |v| format!("{v:.3} {unit}"));
        let rows: Vec<(&str, String)> = vec![
            ("relay", self.relay.clone()),
            ("rooms", self.rooms.to_string()),
            ("publishers", self.publishers.to_string()),
            (
                "subscribers (sockets)",
                format!("{} ({})", self.subscribers, self.subscriber_sockets),
            ),
            ("window", format!("{:.2} s", self.window_seconds)),
            ("packets sent", self.sent.to_string()),
            ("packets expected", self.expected.to_string()),
            ("packets received", self.received.to_string()),
            ("packets lost", self.lost.to_string()),
            ("loss", format!("{:.3} %", self.loss_percent)),
            ("duplicates", self.duplicates.to_string()),
            ("out of order", self.reordered.to_string()),
            (
                "forwarded",
                format!("{:.0} pkt/s", self.forwarded_per_second),
            ),
            ("latency p50", format!("{} µs", opt(self.latency_p50_us))),
            ("latency p99", format!("{} µs", opt(self.latency_p99_us))),
            ("latency max", format!("{} µs", opt(self.latency_max_us))),
            ("unstamped", self.unstamped.to_string()),
            ("load generator cpu", f(self.generator_cpu_seconds, "s")),
            (
                "relay pid",
                self.server_pid.map_or("-".into(), |p| p.to_string()),
            ),
            (
                "relay cpu",
                format!(
                    "{} ({})",
                    f(self.server_cpu_seconds, "s"),
                    self.server_cpu_source.unwrap_or("-")
                ),
            ),
            (
                "relay cpu / fwd packet",
                f(self.server_cpu_us_per_packet, "µs"),
            ),
            ("relay idle cpu", f(self.server_idle_cpu_per_second, "s/s")),
            (
                "  net of idle / packet",
                f(self.server_cpu_us_per_packet_net, "µs"),
            ),
        ];
        let width = rows
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        rows.iter()
            .map(|(k, v)| format!("{k:<width$}  {v}\n"))
            .collect()
    }
}

/// One publisher's stream as one subscriber socket sees it.
#[derive(Debug, Default)]
struct StreamCopies {
    /// Copies received per sequence number (measured packets only).
    copies: Vec<u16>,
    highest: Option<u32>,
    /// Packets heard at all (for warm-up).
    any: u64,
}

/// One receiving socket standing for `count` subscribers of `room`.
struct SubSocket {
    sock: UdpSocket,
    room: u16,
    count: u16,
    streams: HashMap<u32, StreamCopies>,
}

/// What the receiver adds up over all sockets.
#[derive(Debug, Default)]
struct RecvTotals {
    received: u64,
    duplicates: u64,
    reordered: u64,
    unstamped: u64,
    latencies_us: Vec<u32>,
}

impl SubSocket {
    /// Records one received datagram at `recv_ns`.
    fn record(&mut self, data: &[u8], recv_ns: u64, window: &Window, totals: &mut RecvTotals) {
        let stamp = match Header::parse(data) {
            Some(h) if h.kind == Kind::Media && h.room == self.room => {
                data.get(HEADER_LEN..).and_then(stamp_of_rtp)
            }
            Some(h) if h.kind == Kind::Ack => return,
            _ => None,
        };
        let Some(stamp) = stamp.filter(|s| s.seq < MAX_SEQ) else {
            totals.unstamped += 1;
            return;
        };
        let s = self.streams.entry(stamp.publisher).or_default();
        s.any += 1;
        if !window.contains(stamp.sent_ns) {
            return;
        }
        let i = stamp.seq as usize;
        if s.copies.len() <= i {
            s.copies.resize(i + 1, 0);
        }
        if s.copies[i] < self.count {
            totals.received += 1;
            let us = recv_ns.saturating_sub(stamp.sent_ns) / 1000;
            totals
                .latencies_us
                .push(u32::try_from(us).unwrap_or(u32::MAX));
        } else {
            totals.duplicates += 1;
        }
        s.copies[i] = s.copies[i].saturating_add(1);
        match s.highest {
            Some(h) if stamp.seq < h => totals.reordered += 1,
            _ => s.highest = Some(stamp.seq),
        }
    }
}

/// Sets a large receive buffer (see [`ringcast_benches::load::cpu::set_rcvbuf`]).
pub fn set_rcvbuf(sock: &UdpSocket, bytes: usize) {
    ringcast_benches::load::cpu::set_rcvbuf(sock.as_raw_fd(), bytes);
}

/// A UDP socket on loopback (or the relay's family) connected to the relay.
fn connected_socket(relay: SocketAddr) -> io::Result<UdpSocket> {
    let local: SocketAddr = if relay.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = UdpSocket::bind(local)?;
    s.connect(relay)?;
    Ok(s)
}

/// Sends `Subscribe(room, count)` until the relay acknowledges it.
fn subscribe(sock: &UdpSocket, relay: SocketAddr, room: u16, count: u16) -> Result<(), LoadError> {
    let req = Header {
        kind: Kind::Subscribe,
        room,
        count,
    };
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(LoadError::Socket)?;
    let mut buf = [0u8; 2048];
    for _ in 0..10 {
        sock.send(&req.to_bytes()).map_err(LoadError::Socket)?;
        let deadline = Instant::now() + Duration::from_millis(200);
        while Instant::now() < deadline {
            match sock.recv(&mut buf) {
                Ok(n) => {
                    if let Some(h) = Header::parse(&buf[..n]) {
                        if h.kind == Kind::Ack && h.room == room && h.count == count {
                            return Ok(());
                        }
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                // ECONNREFUSED from an earlier ICMP: nobody is there yet.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => break,
                Err(e) => return Err(LoadError::Socket(e)),
            }
        }
    }
    Err(LoadError::NoAck(relay))
}

/// Publishers' shared state with the sender thread.
struct SendShared {
    stop: AtomicBool,
    /// Packets sent inside the window, per room.
    sent_in_window: Vec<AtomicU64>,
}

/// The sender thread: publisher `j` (room-major) sends its `k`-th burst
/// of `burst` packets at `t0 + j * period / N + k * period`, the packets
/// stamped `k * burst ..`.
fn send_loop(
    socks: Vec<(UdpSocket, u16)>,
    payload_bytes: usize,
    (period, burst): (Duration, u32),
    window: Arc<Window>,
    shared: Arc<SendShared>,
) {
    let n = socks.len() as u32;
    if n == 0 {
        return;
    }
    let burst = burst.max(1);
    let step = period / n;
    let t0 = Instant::now();
    let mut buf = vec![0u8; HEADER_LEN + 12 + payload_bytes];
    let mut event: u64 = 0;
    let mut send_errors = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        let due = t0
            + step * u32::try_from(event % u64::from(n)).unwrap_or(0)
            + period * u32::try_from(event / u64::from(n)).unwrap_or(u32::MAX);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let j = (event % u64::from(n)) as usize;
        let frame = u32::try_from(event / u64::from(n)).unwrap_or(u32::MAX);
        let (sock, room) = &socks[j];
        for b in 0..burst {
            let seq = frame.saturating_mul(burst).saturating_add(b);
            let stamp = Stamp {
                seq,
                sent_ns: monotonic_ns(),
                publisher: j as u32,
            };
            let head = Header {
                kind: Kind::Media,
                room: *room,
                count: 0,
            };
            let len = head.write(&mut buf).and_then(|()| {
                write_rtp(
                    &mut buf[HEADER_LEN..],
                    PAYLOAD_TYPE,
                    seq as u16,
                    seq.wrapping_mul(960),
                    j as u32 + 1,
                    &stamp,
                    payload_bytes,
                )
            });
            if let Some(len) = len {
                match sock.send(&buf[..HEADER_LEN + len]) {
                    Ok(_) => {
                        if window.contains(stamp.sent_ns) {
                            if let Some(c) = shared.sent_in_window.get(usize::from(*room)) {
                                c.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    Err(_) => send_errors += 1,
                }
            }
        }
        event += 1;
    }
    if send_errors > 0 {
        tracing::warn!(send_errors, "publisher sends failed");
    }
}

/// Receives on every subscriber socket for `for_how_long` (or until
/// `until` says so), recording into the sockets and `totals`.
fn receive_for(
    subs: &mut [SubSocket],
    pollfds: &mut [libc::pollfd],
    buf: &mut [u8],
    window: &Window,
    totals: &mut RecvTotals,
    for_how_long: Duration,
    mut until: impl FnMut(&[SubSocket]) -> bool,
) {
    let end = Instant::now() + for_how_long;
    while Instant::now() < end && !until(subs) {
        for p in pollfds.iter_mut() {
            p.revents = 0;
        }
        // SAFETY: `pollfds` is a valid array of pollfd for sockets we own.
        let r = unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, 2) };
        if r <= 0 {
            continue;
        }
        for (i, p) in pollfds.iter().enumerate() {
            if p.revents == 0 {
                continue;
            }
            let s = &mut subs[i];
            // Bounded per socket per round so no socket starves the others.
            for _ in 0..1024 {
                match s.sock.recv(buf) {
                    Ok(n) => {
                        let now = monotonic_ns();
                        s.record(&buf[..n], now, window, totals);
                    }
                    Err(_) => break,
                }
            }
        }
    }
}

/// Runs one load against the relay and returns what it measured.
pub fn run(cfg: &LoadConfig) -> Result<RelaySummary, LoadError> {
    if cfg.rooms > usize::from(u16::MAX) + 1 {
        return Err(LoadError::TooManyRooms(cfg.rooms));
    }
    if !(16..=1400).contains(&cfg.payload_bytes) {
        return Err(LoadError::Payload(cfg.payload_bytes));
    }
    let idle = match (cfg.server_pid, cfg.idle_sample.is_zero()) {
        (Some(pid), false) => {
            let a = cpu_seconds(pid).map(|c| c.0);
            std::thread::sleep(cfg.idle_sample);
            let b = cpu_seconds(pid).map(|c| c.0);
            a.zip(b)
                .map(|(a, b)| (b - a).max(0.0) / cfg.idle_sample.as_secs_f64())
        }
        _ => None,
    };

    // Subscribers: ceil(S / per_socket) sockets per room.
    let per_socket = cfg.subs_per_socket.clamp(1, usize::from(u16::MAX));
    let mut subs = Vec::new();
    for room in 0..cfg.rooms {
        let mut left = cfg.subscribers;
        while left > 0 {
            let count = left.min(per_socket);
            left -= count;
            let sock = connected_socket(cfg.relay).map_err(LoadError::Socket)?;
            set_rcvbuf(&sock, RCVBUF_BYTES);
            subscribe(&sock, cfg.relay, room as u16, count as u16)?;
            sock.set_nonblocking(true).map_err(LoadError::Socket)?;
            subs.push(SubSocket {
                sock,
                room: room as u16,
                count: count as u16,
                streams: HashMap::new(),
            });
        }
    }
    let mut pubs = Vec::new();
    for room in 0..cfg.rooms {
        for _ in 0..cfg.publishers {
            let s = connected_socket(cfg.relay).map_err(LoadError::Socket)?;
            pubs.push((s, room as u16));
        }
    }

    let window = Arc::new(Window::default());
    let shared = Arc::new(SendShared {
        stop: AtomicBool::new(false),
        sent_in_window: (0..cfg.rooms).map(|_| AtomicU64::new(0)).collect(),
    });
    let sender = {
        let (window, shared, bytes) = (window.clone(), shared.clone(), cfg.payload_bytes);
        let pattern = (cfg.period, cfg.burst);
        std::thread::Builder::new()
            .name("relay-load-send".into())
            .spawn(move || send_loop(pubs, bytes, pattern, window, shared))
            .map_err(|e| LoadError::Sender(e.to_string()))?
    };

    let mut pollfds: Vec<libc::pollfd> = subs
        .iter()
        .map(|s| libc::pollfd {
            fd: s.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let mut buf = vec![0u8; 2048];
    let mut totals = RecvTotals::default();
    let publishers = cfg.publishers as u32;

    // Warm-up: every socket has heard every publisher of its room.
    receive_for(
        &mut subs,
        &mut pollfds,
        &mut buf,
        &window,
        &mut totals,
        cfg.warmup_timeout,
        |subs| {
            subs.iter().all(|s| {
                let first = u32::from(s.room) * publishers;
                (first..first + publishers).all(|p| s.streams.get(&p).is_some_and(|st| st.any > 0))
            })
        },
    );

    let me = std::process::id();
    let gen0 = process_cpu_seconds(me).ok();
    let cpu0 = cfg.server_pid.and_then(cpu_seconds);
    window.open(monotonic_ns());
    receive_for(
        &mut subs,
        &mut pollfds,
        &mut buf,
        &window,
        &mut totals,
        cfg.duration,
        |_| false,
    );
    window.close(monotonic_ns());
    let cpu1 = cfg.server_pid.and_then(cpu_seconds);
    let gen1 = process_cpu_seconds(me).ok();
    receive_for(
        &mut subs,
        &mut pollfds,
        &mut buf,
        &window,
        &mut totals,
        cfg.drain,
        |_| false,
    );
    shared.stop.store(true, Ordering::Relaxed);
    sender
        .join()
        .map_err(|_| LoadError::Sender("panicked".into()))?;
    // Leave the relay as we found it (best effort: it is only a benchmark).
    for s in &subs {
        let _ = s.sock.send(
            &Header {
                kind: Kind::Subscribe,
                room: s.room,
                count: 0,
            }
            .to_bytes(),
        );
    }

    let sent_per_room: Vec<u64> = shared
        .sent_in_window
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect();
    let sent: u64 = sent_per_room.iter().sum();
    let expected = sent * cfg.subscribers as u64;
    let received = totals.received;
    let lost = expected.saturating_sub(received);
    let secs = window.seconds();
    totals.latencies_us.sort_unstable();
    let source = cpu1.map(|c| c.1);
    let cpu = cpu0.zip(cpu1).map(|(a, b)| (b.0 - a.0).max(0.0));
    let per_packet = |s: f64| (received > 0).then(|| s * 1e6 / received as f64);
    Ok(RelaySummary {
        relay: cfg.relay.to_string(),
        rooms: cfg.rooms,
        publishers: cfg.rooms * cfg.publishers,
        subscribers: cfg.rooms * cfg.subscribers,
        subscriber_sockets: subs.len(),
        window_seconds: secs,
        sent,
        expected,
        received,
        lost,
        loss_percent: if expected == 0 {
            0.0
        } else {
            lost as f64 * 100.0 / expected as f64
        },
        duplicates: totals.duplicates,
        reordered: totals.reordered,
        forwarded_per_second: if secs > 0.0 {
            received as f64 / secs
        } else {
            0.0
        },
        latency_p50_us: quantile(&totals.latencies_us, 0.50),
        latency_p99_us: quantile(&totals.latencies_us, 0.99),
        latency_max_us: totals.latencies_us.last().copied(),
        unstamped: totals.unstamped,
        server_pid: cfg.server_pid,
        server_cpu_seconds: cpu,
        server_cpu_source: source,
        server_cpu_us_per_packet: cpu.and_then(per_packet),
        server_idle_cpu_per_second: idle,
        server_cpu_us_per_packet_net: cpu
            .zip(idle)
            .and_then(|(c, i)| per_packet((c - i * secs).max(0.0))),
        generator_cpu_seconds: gen0.zip(gen1).map(|(a, b)| b - a),
    })
}
