//! The Prometheus text rendering of a metrics snapshot.

use std::collections::HashMap;

use ringcast_controlplane::metrics::{render, Snapshot, WorkerSample};
use ringcast_shared::stats::{RingStats, WorkerStat, WorkerStatsSnapshot};

fn worker(values: &[(WorkerStat, u64)], commands: RingStats, events: RingStats) -> WorkerSample {
    let mut stats = WorkerStatsSnapshot::default();
    for (s, v) in values {
        stats.set(*s, *v);
    }
    WorkerSample {
        stats,
        commands,
        events,
    }
}

fn two_workers() -> Snapshot {
    Snapshot {
        node_id: "ND_test".into(),
        rooms: 3,
        participants: 5,
        signal_malformed: 2,
        tracks_published: 1,
        tracks_subscribed: 2,
        webhooks: (4, 3, 1, 0),
        workers: vec![
            worker(
                &[
                    (WorkerStat::PacketsIn, 10),
                    (WorkerStat::BytesIn, 1000),
                    (WorkerStat::PacketsOut, 4),
                    (WorkerStat::LoopTurns, 77),
                    (WorkerStat::StunUnknownUfrag, 1),
                    (WorkerStat::SendQueueDrops, 6),
                    (WorkerStat::EventsDropped, 1),
                    (WorkerStat::NackRepaired, 7),
                    (WorkerStat::NackGivenUp, 1),
                ],
                RingStats {
                    capacity: 8,
                    len: 3,
                    full_rejections: 2,
                },
                RingStats::default(),
            ),
            worker(
                &[
                    (WorkerStat::PacketsIn, 5),
                    (WorkerStat::BytesIn, 500),
                    (WorkerStat::LoopTurns, 88),
                    (WorkerStat::StunUnknownUfrag, 2),
                    (WorkerStat::UnboundDropped, 9),
                    (WorkerStat::EventsDropped, 2),
                    (WorkerStat::NackRepaired, 3),
                ],
                RingStats {
                    capacity: 8,
                    len: 0,
                    full_rejections: 1,
                },
                RingStats {
                    capacity: 8,
                    len: 4,
                    full_rejections: 7,
                },
            ),
        ],
    }
}

/// Sample lines keyed by `name{labels}` (as rendered), value parsed.
fn samples(text: &str) -> HashMap<String, u64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (key, value) = l.rsplit_once(' ').expect("sample has a value");
            // Every value is an integer except histogram sums (seconds).
            let v: f64 = value.parse().expect("numeric value");
            (key.to_string(), v as u64)
        })
        .collect()
}

#[test]
fn control_plane_gauges_use_livekit_names_and_node_labels() {
    let s = samples(&render(&two_workers()));
    assert_eq!(
        s[r#"livekit_room_total{node_id="ND_test",node_type="SERVER"}"#],
        3
    );
    assert_eq!(
        s[r#"livekit_participant_total{node_id="ND_test",node_type="SERVER"}"#],
        5
    );
    assert_eq!(s["ringcast_signal_malformed_total"], 2);
    assert_eq!(
        s[r#"livekit_track_published_total{node_id="ND_test",node_type="SERVER"}"#],
        1
    );
    assert_eq!(
        s[r#"livekit_track_subscribed_total{node_id="ND_test",node_type="SERVER"}"#],
        2
    );
}

#[test]
fn livekit_packet_totals_sum_every_worker() {
    let s = samples(&render(&two_workers()));
    let labels = |dir| {
        format!(
            r#"{{node_id="ND_test",node_type="SERVER",direction="{dir}",transmission="initial"}}"#
        )
    };
    assert_eq!(
        s[&format!("livekit_packet_total{}", labels("incoming"))],
        15
    );
    assert_eq!(s[&format!("livekit_packet_total{}", labels("outgoing"))], 4);
    assert_eq!(
        s[&format!("livekit_packet_bytes{}", labels("incoming"))],
        1500
    );
}

#[test]
fn publisher_nack_outcomes_sum_every_worker() {
    let s = samples(&render(&two_workers()));
    assert_eq!(
        s[r#"ringcast_publisher_nack_outcomes_total{outcome="repaired"}"#],
        10
    );
    assert_eq!(
        s[r#"ringcast_publisher_nack_outcomes_total{outcome="given_up"}"#],
        1
    );
}

#[test]
fn worker_series_carry_the_worker_index() {
    let s = samples(&render(&two_workers()));
    assert_eq!(s[r#"ringcast_worker_loop_turns_total{worker="0"}"#], 77);
    assert_eq!(s[r#"ringcast_worker_loop_turns_total{worker="1"}"#], 88);
    assert_eq!(
        s[r#"ringcast_worker_packets_total{worker="1",direction="incoming"}"#],
        5
    );
    assert_eq!(
        s[r#"ringcast_worker_packets_total{worker="0",direction="outgoing"}"#],
        4
    );
}

#[test]
fn drops_are_summed_per_reason() {
    let s = samples(&render(&two_workers()));
    assert_eq!(
        s[r#"ringcast_dropped_packets_total{reason="unknown_ufrag"}"#],
        3
    );
    assert_eq!(s[r#"ringcast_dropped_packets_total{reason="unbound"}"#], 9);
    assert_eq!(
        s[r#"ringcast_dropped_packets_total{reason="send_queue_full"}"#],
        6
    );
    assert_eq!(
        s[r#"ringcast_dropped_packets_total{reason="stun_rejected"}"#],
        0
    );
    assert_eq!(s["ringcast_events_dropped_total"], 3);
}

#[test]
fn ring_refusals_are_summed_and_depths_are_per_worker() {
    let s = samples(&render(&two_workers()));
    assert_eq!(s[r#"ringcast_ring_full_total{ring="commands"}"#], 3);
    assert_eq!(s[r#"ringcast_ring_full_total{ring="events"}"#], 7);
    assert_eq!(s[r#"ringcast_ring_depth{ring="commands",worker="0"}"#], 3);
    assert_eq!(s[r#"ringcast_ring_depth{ring="events",worker="1"}"#], 4);
}

#[test]
fn every_sample_belongs_to_a_family_declared_once_before_it() {
    let text = render(&two_workers());
    let mut declared: HashMap<&str, &str> = HashMap::new();
    let mut helped = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a kind");
            assert!(matches!(kind, "counter" | "gauge" | "histogram"), "{line}");
            assert!(
                declared.insert(name, kind).is_none(),
                "{name} declared twice"
            );
            assert!(helped.contains(name), "HELP precedes TYPE for {name}");
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').expect("HELP has text");
            helped.insert(name);
        } else {
            let name = line.split(['{', ' ']).next().expect("sample name");
            // Histogram series carry their family name plus a suffix.
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|sfx| {
                    name.strip_suffix(sfx)
                        .filter(|f| declared.get(f) == Some(&"histogram"))
                })
                .unwrap_or(name);
            let kind = declared
                .get(family)
                .unwrap_or_else(|| panic!("{name} undeclared"));
            if *kind == "counter" {
                assert!(
                    name.ends_with("_total") || name == "livekit_packet_bytes",
                    "counter {name} should end in _total"
                );
            }
        }
    }
    assert!(text.ends_with('\n'));
}

#[test]
fn without_a_dataplane_totals_are_zero_and_no_worker_series_appear() {
    let text = render(&Snapshot {
        node_id: "ND_x".into(),
        ..Snapshot::default()
    });
    let s = samples(&text);
    assert_eq!(s[r#"ringcast_dropped_packets_total{reason="unknown"}"#], 0);
    assert!(!text.contains("worker=\""), "{text}");
}

#[test]
fn the_latency_histogram_is_cumulative_and_counts_busy_turns() {
    use ringcast_shared::stats::{WorkerStat, TURN_HIST};
    let mut snap = two_workers();
    for (i, stat) in TURN_HIST.iter().enumerate() {
        snap.workers[0].stats.set(*stat, i as u64 + 1);
    }
    snap.workers[0].stats.set(WorkerStat::BusyTurns, 36);
    snap.workers[0].stats.set(WorkerStat::BusyNs, 2_000_000);
    let text = render(&snap);
    let s = samples(&text);
    assert_eq!(
        s[r#"ringcast_forwarding_latency_seconds_bucket{le="0.000025"}"#],
        1
    );
    assert_eq!(
        s[r#"ringcast_forwarding_latency_seconds_bucket{le="0.00005"}"#],
        3
    );
    assert_eq!(
        s[r#"ringcast_forwarding_latency_seconds_bucket{le="+Inf"}"#],
        36
    );
    assert_eq!(s["ringcast_forwarding_latency_seconds_count"], 36);
}
