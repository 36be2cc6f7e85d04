//! The figures a run ends with: a table for people, JSON for scripts.

use serde::Serialize;

use super::participant::{Outcome, Role};
use super::stats::quantile;

/// Server CPU over the measured window.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct ServerCpu {
    pub pid: u32,
    /// utime + stime over the window, seconds.
    pub cpu_seconds: f64,
    /// CPU seconds per second the server spent idle (no participants)
    /// before the run, if sampled: its timers and polling, which the
    /// per-packet figure would otherwise charge to packets.
    pub idle_cpu_per_second: Option<f64>,
}

/// Everything a run measured.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub rooms: usize,
    pub publishers: usize,
    pub subscribers: usize,
    pub publishers_connected: usize,
    pub subscribers_connected: usize,
    pub failed: usize,
    /// Join (WebSocket open) to SRTP keys, over connected participants.
    pub connect_p50_ms: Option<u32>,
    pub connect_max_ms: Option<u32>,
    pub window_seconds: f64,
    /// Packets publishers sent inside the window.
    pub sent: u64,
    /// Sent × subscribers of the room, summed.
    pub expected: u64,
    /// Distinct window packets subscribers received.
    pub received: u64,
    pub lost: u64,
    pub loss_percent: f64,
    pub duplicates: u64,
    /// Distinct packets that arrived after a later one of their stream.
    pub reordered: u64,
    pub latency_p50_us: Option<u32>,
    pub latency_p99_us: Option<u32>,
    pub latency_max_us: Option<u32>,
    pub srtp_errors: u64,
    pub unstamped: u64,
    pub server_pid: Option<u32>,
    pub server_cpu_seconds: Option<f64>,
    /// Server CPU per packet it forwarded (received by a subscriber).
    pub server_cpu_us_per_packet: Option<f64>,
    /// Idle CPU seconds per second, sampled before the run.
    pub server_idle_cpu_per_second: Option<f64>,
    /// As `server_cpu_us_per_packet`, with the idle rate over the window
    /// taken off first.
    pub server_cpu_us_per_packet_net: Option<f64>,
    /// CPU seconds this load generator used over the window (to tell a
    /// saturated generator from a saturated server).
    pub generator_cpu_seconds: Option<f64>,
    /// The server's resident memory before anyone joined and during the
    /// window (KiB), and the growth per connected participant.
    pub server_rss_before_kib: Option<u64>,
    pub server_rss_window_kib: Option<u64>,
    pub server_rss_kib_per_participant: Option<f64>,
    /// The first few participant errors.
    pub errors: Vec<String>,
}

impl Summary {
    /// Adds up the participants' outcomes.
    #[must_use]
    pub fn from_outcomes(
        outcomes: &[Outcome],
        rooms: usize,
        window_seconds: f64,
        cpu: Option<ServerCpu>,
    ) -> Summary {
        let mut sent_per_room = vec![0u64; rooms];
        let mut subs_per_room = vec![0u64; rooms];
        let (mut publishers, mut subscribers) = (0, 0);
        let (mut pub_conn, mut sub_conn, mut failed) = (0, 0, 0);
        let (mut received, mut duplicates, mut srtp_errors, mut unstamped) = (0, 0, 0, 0);
        let mut reordered = 0;
        let mut latencies = Vec::new();
        let mut connect_ms: Vec<u32> = outcomes
            .iter()
            .filter_map(|o| o.connect_time)
            .map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX))
            .collect();
        connect_ms.sort_unstable();
        let mut errors = Vec::new();
        for o in outcomes {
            let room = o.spec.room_index.min(rooms.saturating_sub(1));
            match o.spec.role {
                Role::Publisher { .. } => {
                    publishers += 1;
                    pub_conn += usize::from(o.connected);
                    if let Some(s) = sent_per_room.get_mut(room) {
                        *s += o.sent_in_window;
                    }
                }
                Role::Subscriber => {
                    subscribers += 1;
                    sub_conn += usize::from(o.connected);
                    if let Some(s) = subs_per_room.get_mut(room) {
                        *s += 1;
                    }
                    received += o.stats.received();
                    duplicates += o.stats.duplicates();
                    reordered += o.stats.reordered();
                    srtp_errors += o.stats.srtp_errors;
                    unstamped += o.stats.unstamped;
                    latencies.extend_from_slice(&o.stats.latencies_us);
                }
            }
            if let Some(e) = &o.error {
                failed += 1;
                if errors.len() < 5 {
                    errors.push(format!("{}: {e}", o.spec.identity));
                }
            }
        }
        latencies.sort_unstable();
        let sent: u64 = sent_per_room.iter().sum();
        let expected: u64 = sent_per_room
            .iter()
            .zip(&subs_per_room)
            .map(|(s, n)| s * n)
            .sum();
        let lost = expected.saturating_sub(received);
        let cpu_seconds = cpu.map(|c| c.cpu_seconds);
        let idle = cpu.and_then(|c| c.idle_cpu_per_second);
        let per_packet = |s: f64| (received > 0).then(|| s * 1e6 / received as f64);
        Summary {
            rooms,
            publishers,
            subscribers,
            publishers_connected: pub_conn,
            subscribers_connected: sub_conn,
            failed,
            connect_p50_ms: quantile(&connect_ms, 0.5),
            connect_max_ms: connect_ms.last().copied(),
            window_seconds,
            sent,
            expected,
            received,
            lost,
            loss_percent: if expected == 0 {
                0.0
            } else {
                lost as f64 * 100.0 / expected as f64
            },
            duplicates,
            reordered,
            latency_p50_us: quantile(&latencies, 0.50),
            latency_p99_us: quantile(&latencies, 0.99),
            latency_max_us: latencies.last().copied(),
            srtp_errors,
            unstamped,
            server_pid: cpu.map(|c| c.pid),
            server_cpu_seconds: cpu_seconds,
            generator_cpu_seconds: None,
            server_cpu_us_per_packet: cpu_seconds.and_then(per_packet),
            server_idle_cpu_per_second: idle,
            server_cpu_us_per_packet_net: cpu_seconds
                .zip(idle)
                .and_then(|(s, i)| per_packet((s - i * window_seconds).max(0.0))),
            server_rss_before_kib: None,
            server_rss_window_kib: None,
            server_rss_kib_per_participant: None,
            errors,
        }
    }

    /// Fills the memory figures from the server's RSS before the joins and
    /// during the window.
    pub fn set_server_rss(&mut self, before_kib: u64, window_kib: u64) {
        self.server_rss_before_kib = Some(before_kib);
        self.server_rss_window_kib = Some(window_kib);
        let n = self.publishers_connected + self.subscribers_connected;
        self.server_rss_kib_per_participant =
            (n > 0).then(|| window_kib.saturating_sub(before_kib) as f64 / n as f64);
    }

    /// The human-readable table.
    #[must_use]
    pub fn table(&self) -> String {
        let opt = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
        let mut rows: Vec<(&str, String)> = vec![
            ("rooms", self.rooms.to_string()),
            (
                "publishers (connected)",
                format!("{} ({})", self.publishers, self.publishers_connected),
            ),
            (
                "subscribers (connected)",
                format!("{} ({})", self.subscribers, self.subscribers_connected),
            ),
            ("failed participants", self.failed.to_string()),
            (
                "connect p50 / max",
                format!(
                    "{} / {} ms",
                    opt(self.connect_p50_ms),
                    opt(self.connect_max_ms)
                ),
            ),
            ("window", format!("{:.2} s", self.window_seconds)),
            ("packets sent", self.sent.to_string()),
            ("packets expected", self.expected.to_string()),
            ("packets received", self.received.to_string()),
            ("packets lost", self.lost.to_string()),
            ("loss", format!("{:.3} %", self.loss_percent)),
            ("duplicates", self.duplicates.to_string()),
            ("out of order", self.reordered.to_string()),
            ("latency p50", format!("{} µs", opt(self.latency_p50_us))),
            ("latency p99", format!("{} µs", opt(self.latency_p99_us))),
            ("latency max", format!("{} µs", opt(self.latency_max_us))),
            ("srtp errors", self.srtp_errors.to_string()),
            ("unstamped rtp", self.unstamped.to_string()),
        ];
        if let Some(g) = self.generator_cpu_seconds {
            rows.push(("load generator cpu", format!("{g:.3} s")));
        }
        if let (Some(pid), Some(cpu)) = (self.server_pid, self.server_cpu_seconds) {
            rows.push(("server pid", pid.to_string()));
            rows.push(("server cpu", format!("{cpu:.3} s")));
            rows.push((
                "server cpu / fwd packet",
                self.server_cpu_us_per_packet
                    .map_or("-".into(), |v| format!("{v:.2} µs")),
            ));
            if let (Some(a), Some(b)) = (self.server_rss_before_kib, self.server_rss_window_kib) {
                rows.push(("server rss before / window", format!("{a} / {b} KiB")));
                rows.push((
                    "  rss growth / participant",
                    self.server_rss_kib_per_participant
                        .map_or("-".into(), |v| format!("{v:.1} KiB")),
                ));
            }
            if let Some(idle) = self.server_idle_cpu_per_second {
                rows.push(("server idle cpu", format!("{idle:.3} s/s")));
                rows.push((
                    "  net of idle / packet",
                    self.server_cpu_us_per_packet_net
                        .map_or("-".into(), |v| format!("{v:.2} µs")),
                ));
            }
        }
        let width = rows
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for (k, v) in rows {
            out.push_str(&format!("{k:<width$}  {v}\n"));
        }
        for e in &self.errors {
            out.push_str(&format!("error: {e}\n"));
        }
        out
    }
}
