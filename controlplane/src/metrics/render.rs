//! The Prometheus text exposition format (version 0.0.4) for one
//! [`Snapshot`]: a `# HELP` and `# TYPE` line per family, then one sample per
//! label set.
//!
//! Names follow livekit-server's where it has the metric, so dashboards built
//! for it keep working: `livekit_room_total`, `livekit_participant_total`
//! (gauges, as in livekit), `livekit_packet_total` and `livekit_packet_bytes`
//! with `direction` = `incoming`/`outgoing` and `transmission` = `initial`
//! (we do not count retransmissions apart yet). Our packet counts are every
//! UDP datagram on the media port, STUN and DTLS included. Everything only
//! Ringcast has is `ringcast_*`.

use std::fmt::Write;

use ringcast_shared::stats::{RingStats, WorkerStat, WorkerStatsSnapshot};

/// The content type Prometheus expects for this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Everything one scrape reports, collected before rendering so rendering
/// is a pure function (and unit-testable).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// This node's id, the `node_id` label of the `livekit_*` families.
    pub node_id: String,
    /// Rooms on this node.
    pub rooms: u64,
    /// Participants in those rooms.
    pub participants: u64,
    /// Signaling frames that did not decode.
    pub signal_malformed: u64,
    /// Published tracks in those rooms.
    pub tracks_published: u64,
    /// Down-tracks the dataplane forwards (subscriptions programmed).
    pub tracks_subscribed: u64,
    /// Webhook deliveries: (queued, delivered, failed, dropped).
    pub webhooks: (u64, u64, u64, u64),
    /// One entry per dataplane worker, in worker order; empty without a
    /// dataplane.
    pub workers: Vec<WorkerSample>,
}

/// What one worker published, plus its ring headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerSample {
    pub stats: WorkerStatsSnapshot,
    /// Control plane -> worker.
    pub commands: RingStats,
    /// Worker -> control plane.
    pub events: RingStats,
}

/// Why the dataplane dropped a datagram: `(reason label, stat)`.
const DROP_REASONS: [(&str, WorkerStat); 10] = [
    ("srtp_auth", WorkerStat::SrtpFailed),
    ("replay", WorkerStat::SrtpReplayed),
    ("malformed", WorkerStat::RtpMalformed),
    ("ring_full", WorkerStat::CrossFull),
    ("unknown_ufrag", WorkerStat::StunUnknownUfrag),
    ("stun_rejected", WorkerStat::StunRejected),
    ("unbound", WorkerStat::UnboundDropped),
    ("unknown", WorkerStat::UnknownDropped),
    ("send_queue_full", WorkerStat::SendQueueDrops),
    ("media_ignored", WorkerStat::MediaIgnored),
];

/// One metric family being written.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl<'a> Family<'a> {
    fn start(out: &'a mut String, name: &'static str, kind: &str, help: &str) -> Self {
        // Writing into a String cannot fail.
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Family { out, name }
    }

    /// One sample; `labels` are `(name, value)` pairs, values escaped here.
    fn sample(&mut self, labels: &[(&str, &str)], value: u64) {
        self.out.push_str(self.name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label_value(self.out, v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// Label values escape backslash, double quote and newline (the format's
/// only three escapes).
fn escape_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn sum(workers: &[WorkerSample], stat: WorkerStat) -> u64 {
    workers
        .iter()
        .fold(0u64, |acc, w| acc.saturating_add(w.stats.get(stat)))
}

/// Renders `s` in the Prometheus text format.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::with_capacity(4096 + s.workers.len() * 1024);
    let node = [("node_id", s.node_id.as_str()), ("node_type", "SERVER")];
    let with_node = |extra: &[(&'static str, &'static str)]| {
        let mut v: Vec<(&str, &str)> = node.to_vec();
        v.extend_from_slice(extra);
        v
    };

    Family::start(
        &mut out,
        "livekit_room_total",
        "gauge",
        "Rooms on this node.",
    )
    .sample(&node, s.rooms);
    Family::start(
        &mut out,
        "livekit_participant_total",
        "gauge",
        "Participants in the rooms on this node.",
    )
    .sample(&node, s.participants);

    let dirs = [
        ("incoming", WorkerStat::PacketsIn, WorkerStat::BytesIn),
        ("outgoing", WorkerStat::PacketsOut, WorkerStat::BytesOut),
    ];
    let mut f = Family::start(
        &mut out,
        "livekit_packet_total",
        "counter",
        "UDP datagrams on the media port, all workers.",
    );
    for (dir, packets, _) in dirs {
        f.sample(
            &with_node(&[("direction", dir), ("transmission", "initial")]),
            sum(&s.workers, packets),
        );
    }
    let mut f = Family::start(
        &mut out,
        "livekit_packet_bytes",
        "counter",
        "Bytes of UDP datagrams on the media port, all workers.",
    );
    for (dir, _, bytes) in dirs {
        f.sample(
            &with_node(&[("direction", dir), ("transmission", "initial")]),
            sum(&s.workers, bytes),
        );
    }

    let mut f = Family::start(
        &mut out,
        "livekit_packet_retransmit_total",
        "counter",
        "RTP packets resent to subscribers from the packet cache (NACK answers).",
    );
    f.sample(&node, sum(&s.workers, WorkerStat::Retransmits));
    let mut f = Family::start(
        &mut out,
        "livekit_nack_total",
        "counter",
        "NACKed packets: incoming from subscribers, outgoing to publishers.",
    );
    f.sample(
        &with_node(&[("direction", "incoming")]),
        sum(&s.workers, WorkerStat::NackIn),
    );
    f.sample(
        &with_node(&[("direction", "outgoing")]),
        sum(&s.workers, WorkerStat::NackOut),
    );
    let mut f = Family::start(
        &mut out,
        "livekit_pli_total",
        "counter",
        "Keyframe requests: incoming from subscribers, outgoing to publishers.",
    );
    f.sample(
        &with_node(&[("direction", "incoming")]),
        sum(&s.workers, WorkerStat::PliIn),
    );
    f.sample(
        &with_node(&[("direction", "outgoing")]),
        sum(&s.workers, WorkerStat::PliOut),
    );
    Family::start(
        &mut out,
        "ringcast_nack_miss_total",
        "counter",
        "NACKed packets no longer in the cache (or resent too often).",
    )
    .sample(&[], sum(&s.workers, WorkerStat::NackMiss));
    let mut f = Family::start(
        &mut out,
        "ringcast_publisher_nack_outcomes_total",
        "counter",
        "Publisher losses we NACKed: repaired (arrived after the NACK, RTX or resent) or given up after the bounded retries.",
    );
    f.sample(
        &[("outcome", "repaired")],
        sum(&s.workers, WorkerStat::NackRepaired),
    );
    f.sample(
        &[("outcome", "given_up")],
        sum(&s.workers, WorkerStat::NackGivenUp),
    );
    Family::start(
        &mut out,
        "ringcast_rtx_received_total",
        "counter",
        "Retransmissions (RTX) publishers sent after our NACKs.",
    )
    .sample(&[], sum(&s.workers, WorkerStat::RtxIn));
    Family::start(
        &mut out,
        "ringcast_rtp_received_total",
        "counter",
        "Authenticated RTP packets from publishers.",
    )
    .sample(&[], sum(&s.workers, WorkerStat::RtpIn));
    Family::start(
        &mut out,
        "ringcast_forwarded_packets_total",
        "counter",
        "RTP packets sent to subscribers (first transmissions).",
    )
    .sample(&[], sum(&s.workers, WorkerStat::Forwarded));
    Family::start(
        &mut out,
        "ringcast_forwarded_bytes_total",
        "counter",
        "Bytes of RTP sent to subscribers.",
    )
    .sample(&[], sum(&s.workers, WorkerStat::ForwardedBytes));
    let mut f = Family::start(
        &mut out,
        "ringcast_cross_worker_packets_total",
        "counter",
        "Plaintext copies handed between workers (out) and received (in).",
    );
    f.sample(
        &[("direction", "out")],
        sum(&s.workers, WorkerStat::CrossOut),
    );
    f.sample(&[("direction", "in")], sum(&s.workers, WorkerStat::CrossIn));

    // Every packet of a loop turn is sent at the turn's end, so the turn's
    // busy time (receive to submit) bounds the latency the worker adds.
    let _ = writeln!(
        out,
        "# HELP ringcast_forwarding_latency_seconds Busy time of dataplane loop turns that handled packets (receive to the submit of their sends): an upper bound on the forwarding latency each packet of the turn saw inside the worker."
    );
    let _ = writeln!(out, "# TYPE ringcast_forwarding_latency_seconds histogram");
    let mut cumulative = 0u64;
    for (i, stat) in ringcast_shared::stats::TURN_HIST.iter().enumerate() {
        cumulative = cumulative.saturating_add(sum(&s.workers, *stat));
        let le = match ringcast_shared::stats::TURN_BUCKETS_US.get(i) {
            Some(us) => format!("{}", *us as f64 / 1e6),
            None => "+Inf".to_string(),
        };
        let _ = writeln!(
            out,
            "ringcast_forwarding_latency_seconds_bucket{{le=\"{le}\"}} {cumulative}"
        );
    }
    let busy_ns = sum(&s.workers, WorkerStat::BusyNs);
    let _ = writeln!(
        out,
        "ringcast_forwarding_latency_seconds_sum {}",
        busy_ns as f64 / 1e9
    );
    let _ = writeln!(
        out,
        "ringcast_forwarding_latency_seconds_count {}",
        sum(&s.workers, WorkerStat::BusyTurns)
    );

    let names: Vec<String> = (0..s.workers.len()).map(|i| i.to_string()).collect();
    let per_worker = |out: &mut String, name, kind, help, stat: WorkerStat| {
        let mut f = Family::start(out, name, kind, help);
        for (w, n) in s.workers.iter().zip(&names) {
            f.sample(&[("worker", n)], w.stats.get(stat));
        }
    };
    per_worker(
        &mut out,
        "ringcast_worker_loop_turns_total",
        "counter",
        "Loop turns of each dataplane worker.",
        WorkerStat::LoopTurns,
    );
    let mut f = Family::start(
        &mut out,
        "ringcast_worker_packets_total",
        "counter",
        "UDP datagrams per dataplane worker.",
    );
    for (w, n) in s.workers.iter().zip(&names) {
        for (dir, packets, _) in dirs {
            f.sample(&[("worker", n), ("direction", dir)], w.stats.get(packets));
        }
    }
    let mut f = Family::start(
        &mut out,
        "ringcast_worker_bytes_total",
        "counter",
        "Bytes of UDP datagrams per dataplane worker.",
    );
    for (w, n) in s.workers.iter().zip(&names) {
        for (dir, _, bytes) in dirs {
            f.sample(&[("worker", n), ("direction", dir)], w.stats.get(bytes));
        }
    }
    per_worker(
        &mut out,
        "ringcast_worker_busy_turns_total",
        "counter",
        "Loop turns of each worker that handled at least one datagram.",
        WorkerStat::BusyTurns,
    );
    let mut f = Family::start(
        &mut out,
        "ringcast_worker_busy_microseconds_total",
        "counter",
        "Time each worker spent in turns that handled datagrams (µs).",
    );
    for (w, n) in s.workers.iter().zip(&names) {
        f.sample(&[("worker", n)], w.stats.get(WorkerStat::BusyNs) / 1000);
    }
    let mut f = Family::start(
        &mut out,
        "ringcast_worker_packets_per_turn",
        "gauge",
        "Datagrams received per busy loop turn of each worker (mean since start).",
    );
    for (w, n) in s.workers.iter().zip(&names) {
        let turns = w.stats.get(WorkerStat::BusyTurns).max(1);
        f.sample(&[("worker", n)], w.stats.get(WorkerStat::PacketsIn) / turns);
    }
    per_worker(
        &mut out,
        "ringcast_worker_transports",
        "gauge",
        "ICE/DTLS transports each dataplane worker holds.",
        WorkerStat::Transports,
    );

    let mut f = Family::start(
        &mut out,
        "ringcast_dropped_packets_total",
        "counter",
        "Datagrams the dataplane dropped, by reason.",
    );
    for (reason, stat) in DROP_REASONS {
        f.sample(&[("reason", reason)], sum(&s.workers, stat));
    }
    let mut f = Family::start(
        &mut out,
        "ringcast_socket_errors_total",
        "counter",
        "Errors from the media sockets.",
    );
    f.sample(&[("op", "recv")], sum(&s.workers, WorkerStat::RecvErrors));
    f.sample(&[("op", "send")], sum(&s.workers, WorkerStat::SendErrors));
    Family::start(
        &mut out,
        "ringcast_transport_add_refused_total",
        "counter",
        "AddTransport commands the dataplane refused.",
    )
    .sample(&[], sum(&s.workers, WorkerStat::AddRefused));
    Family::start(
        &mut out,
        "ringcast_events_dropped_total",
        "counter",
        "Dataplane events dropped because the event ring and backlog were full.",
    )
    .sample(&[], sum(&s.workers, WorkerStat::EventsDropped));

    let rings = |w: &WorkerSample| [("commands", w.commands), ("events", w.events)];
    let mut f = Family::start(
        &mut out,
        "ringcast_ring_full_total",
        "counter",
        "Records refused because a shared-memory ring was full.",
    );
    let full = |pick: fn(&WorkerSample) -> RingStats| {
        s.workers
            .iter()
            .fold(0u64, |acc, w| acc.saturating_add(pick(w).full_rejections))
    };
    f.sample(&[("ring", "commands")], full(|w| w.commands));
    f.sample(&[("ring", "events")], full(|w| w.events));
    let mut f = Family::start(
        &mut out,
        "ringcast_ring_depth",
        "gauge",
        "Records waiting in each shared-memory ring.",
    );
    for (w, n) in s.workers.iter().zip(&names) {
        for (ring, r) in rings(w) {
            f.sample(&[("ring", ring), ("worker", n)], r.len);
        }
    }

    Family::start(
        &mut out,
        "ringcast_signal_malformed_total",
        "counter",
        "Signaling frames that did not decode.",
    )
    .sample(&[], s.signal_malformed);

    Family::start(
        &mut out,
        "livekit_track_published_total",
        "gauge",
        "Tracks published in the rooms on this node.",
    )
    .sample(&node, s.tracks_published);
    Family::start(
        &mut out,
        "livekit_track_subscribed_total",
        "gauge",
        "Subscriptions being forwarded in the rooms on this node.",
    )
    .sample(&node, s.tracks_subscribed);
    let (queued, delivered, failed, dropped) = s.webhooks;
    let mut f = Family::start(
        &mut out,
        "ringcast_webhook_events_total",
        "counter",
        "Webhook events by outcome (delivered/failed count once per URL).",
    );
    for (outcome, v) in [
        ("queued", queued),
        ("delivered", delivered),
        ("failed", failed),
        ("dropped", dropped),
    ] {
        f.sample(&[("outcome", outcome)], v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_quote_backslash_and_newline() {
        let mut out = String::new();
        escape_label_value(&mut out, "a\"b\\c\nd");
        assert_eq!(out, "a\\\"b\\\\c\\nd");
    }
}
