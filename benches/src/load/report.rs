//! The figures a run ends with: a table for people, JSON for scripts.

use std::collections::HashMap;

use serde::Serialize;

use super::participant::{Outcome, Role};
use super::stats::{quantile, split_stream_id};

/// Upper bounds (µs) of the latency histogram's buckets; the last bucket
/// takes everything above the last bound.
pub const LATENCY_BUCKETS_US: [u32; 9] = [
    250, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000,
];

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
    /// Participants judged on what they receive: subscribers, and
    /// publishers in a meeting.
    pub receivers: usize,
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
    /// Distinct window packets subscribers received of the stream each is
    /// judged on (with simulcast: the layer it got most of).
    pub received: u64,
    /// Distinct window packets of other simulcast layers (a layer switch
    /// inside the window): forwarded, but not what the receiver is judged
    /// on.
    pub received_other_layers: u64,
    pub lost: u64,
    pub loss_percent: f64,
    pub duplicates: u64,
    /// Distinct packets that arrived after a later one of their stream.
    pub reordered: u64,
    pub latency_p50_us: Option<u32>,
    pub latency_p99_us: Option<u32>,
    pub latency_max_us: Option<u32>,
    /// Latency histogram: packets at or below each bound of
    /// [`LATENCY_BUCKETS_US`] (and above the previous), then above the last.
    pub latency_histogram: Vec<u64>,
    /// (receiver, publisher) pairs by the simulcast layer received in the
    /// window: index 0 a single stream, 1 `q`, 2 `h`, 3 `f`.
    pub pairs_by_layer: [u64; 4],
    /// Pairs that received packets of more than one layer in the window.
    pub pairs_mixed_layers: u64,
    pub srtp_errors: u64,
    pub unstamped: u64,
    /// Participants whose signaling dropped and was resumed (a
    /// control-plane restart), and resumes in all.
    pub participants_resumed: u64,
    pub signal_resumes: u64,
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
        // Per publisher index: its room and what each stream sent in the
        // window.
        let mut sent_by_stream: HashMap<u32, Vec<(u8, u64)>> = HashMap::new();
        let mut room_publishers: Vec<Vec<u32>> = vec![Vec::new(); rooms];
        let mut sent = 0u64;
        let (mut publishers, mut subscribers, mut receivers) = (0, 0, 0);
        let (mut pub_conn, mut sub_conn, mut failed) = (0, 0, 0);
        let (mut received_all, mut duplicates, mut srtp_errors, mut unstamped) = (0, 0, 0, 0);
        let participants_resumed = outcomes.iter().filter(|o| o.resumes > 0).count() as u64;
        let signal_resumes = outcomes.iter().map(|o| u64::from(o.resumes)).sum();
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
                Role::Publisher { index, .. } => {
                    publishers += 1;
                    pub_conn += usize::from(o.connected);
                    sent += o.sent_in_window;
                    if let Some(r) = room_publishers.get_mut(room) {
                        r.push(index);
                    }
                    sent_by_stream.entry(index).or_default().extend(
                        o.sent_by_stream
                            .iter()
                            .map(|&(id, n)| (split_stream_id(id).1, n)),
                    );
                }
                Role::Subscriber => {
                    subscribers += 1;
                    sub_conn += usize::from(o.connected);
                }
            }
            if o.spec.role.receives() {
                receivers += 1;
                received_all += o.stats.received();
                duplicates += o.stats.duplicates();
                reordered += o.stats.reordered();
                srtp_errors += o.stats.srtp_errors;
                unstamped += o.stats.unstamped;
                latencies.extend_from_slice(&o.stats.latencies_us);
            }
            if let Some(e) = &o.error {
                failed += 1;
                if errors.len() < 5 {
                    errors.push(format!("{}: {e}", o.spec.identity));
                }
            }
        }
        latencies.sort_unstable();
        // Each receiver expects, from each other publisher of its room, the
        // window's packets of the layer it received (the one it got most
        // of; the top layer if it got none).
        let mut expected = 0u64;
        let mut received = 0u64;
        let mut pairs_by_layer = [0u64; 4];
        let mut pairs_mixed_layers = 0u64;
        for o in outcomes.iter().filter(|o| o.spec.role.receives()) {
            let room = o.spec.room_index.min(rooms.saturating_sub(1));
            let me = match o.spec.role {
                Role::Publisher { index, .. } => Some(index),
                Role::Subscriber => None,
            };
            for &p in room_publishers.get(room).map_or(&[][..], Vec::as_slice) {
                if Some(p) == me {
                    continue;
                }
                let mut got: Vec<(u8, u64)> = o
                    .stats
                    .streams
                    .iter()
                    .filter(|(&id, st)| split_stream_id(id).0 == p && st.received > 0)
                    .map(|(&id, st)| (split_stream_id(id).1, st.received))
                    .collect();
                got.sort_by_key(|&(layer, n)| (n, layer));
                if got.len() > 1 {
                    pairs_mixed_layers += 1;
                }
                let streams = sent_by_stream.get(&p).map_or(&[][..], Vec::as_slice);
                let layer = got
                    .last()
                    .map(|g| g.0)
                    .or_else(|| streams.iter().map(|s| s.0).max())
                    .unwrap_or(0);
                received += got
                    .iter()
                    .filter(|g| g.0 == layer)
                    .map(|g| g.1)
                    .sum::<u64>();
                if let Some(c) = pairs_by_layer.get_mut(usize::from(layer)) {
                    *c += 1;
                }
                expected += streams
                    .iter()
                    .filter(|s| s.0 == layer)
                    .map(|s| s.1)
                    .sum::<u64>();
            }
        }
        let mut latency_histogram = vec![0u64; LATENCY_BUCKETS_US.len() + 1];
        for &l in &latencies {
            let b = LATENCY_BUCKETS_US.partition_point(|&bound| bound < l);
            latency_histogram[b] += 1;
        }
        let lost = expected.saturating_sub(received);
        let cpu_seconds = cpu.map(|c| c.cpu_seconds);
        let idle = cpu.and_then(|c| c.idle_cpu_per_second);
        // The server forwarded every layer's packets.
        let per_packet = |s: f64| (received_all > 0).then(|| s * 1e6 / received_all as f64);
        Summary {
            rooms,
            publishers,
            subscribers,
            receivers,
            publishers_connected: pub_conn,
            subscribers_connected: sub_conn,
            failed,
            connect_p50_ms: quantile(&connect_ms, 0.5),
            connect_max_ms: connect_ms.last().copied(),
            window_seconds,
            sent,
            expected,
            received,
            received_other_layers: received_all.saturating_sub(received),
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
            latency_histogram,
            pairs_by_layer,
            pairs_mixed_layers,
            srtp_errors,
            unstamped,
            participants_resumed,
            signal_resumes,
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

    /// `≤250µs:n ≤500µs:n ... >100ms:n`, empty buckets left out.
    #[must_use]
    pub fn histogram_line(&self) -> String {
        let mut parts = Vec::new();
        for (i, &n) in self.latency_histogram.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let label = match LATENCY_BUCKETS_US.get(i) {
                Some(&b) if b < 1000 => format!("≤{b}µs"),
                Some(&b) => format!("≤{}ms", b / 1000),
                None => format!(
                    ">{}ms",
                    LATENCY_BUCKETS_US[LATENCY_BUCKETS_US.len() - 1] / 1000
                ),
            };
            parts.push(format!("{label}:{n}"));
        }
        parts.join(" ")
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
            ("  of other layers", self.received_other_layers.to_string()),
            ("packets lost", self.lost.to_string()),
            ("loss", format!("{:.3} %", self.loss_percent)),
            ("duplicates", self.duplicates.to_string()),
            ("out of order", self.reordered.to_string()),
            ("latency p50", format!("{} µs", opt(self.latency_p50_us))),
            ("latency p99", format!("{} µs", opt(self.latency_p99_us))),
            ("latency max", format!("{} µs", opt(self.latency_max_us))),
            ("latency histogram", self.histogram_line()),
            ("srtp errors", self.srtp_errors.to_string()),
            ("unstamped rtp", self.unstamped.to_string()),
        ];
        if self.signal_resumes > 0 {
            rows.push((
                "signaling resumed",
                format!(
                    "{} participants ({} resumes)",
                    self.participants_resumed, self.signal_resumes
                ),
            ));
        }
        if self.pairs_by_layer[1..].iter().any(|&n| n > 0) {
            rows.push((
                "pairs by layer q/h/f",
                format!(
                    "{} / {} / {} (mixed {})",
                    self.pairs_by_layer[1],
                    self.pairs_by_layer[2],
                    self.pairs_by_layer[3],
                    self.pairs_mixed_layers
                ),
            ));
        }
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
