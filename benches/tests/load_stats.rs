//! The bookkeeping behind the figures: stamps, the window, loss and
//! duplicates, quantiles, server CPU from /proc, the summary, and tokens
//! the Ringcast control plane accepts.

use std::collections::BTreeMap;
use std::time::Duration;

use ringcast_benches::load::args::parse_duration;
use ringcast_benches::load::cpu::{
    parse_stat_ticks, parse_vm_rss_kib, process_cpu_seconds, process_rss_kib,
};
use ringcast_benches::load::participant::{Outcome, Role, Spec, TrackKind};
use ringcast_benches::load::payload::{stamp_of_rtp, write_rtp, Stamp, STAMP_LEN};
use ringcast_benches::load::peer::PeerCounters;
use ringcast_benches::load::report::{ServerCpu, Summary};
use ringcast_benches::load::signal::join_url;
use ringcast_benches::load::stats::{quantile, SubscriberStats, Window};
use ringcast_benches::load::token::{join_token, Grant};

fn stamp(publisher: u32, seq: u32, sent_ns: u64) -> Stamp {
    Stamp {
        seq,
        sent_ns,
        publisher,
    }
}

#[test]
fn stamp_survives_an_rtp_packet_and_short_payloads_are_refused() {
    let s = stamp(7, 0xdead_beef, 0x0102_0304_0506_0708);
    let mut buf = [0u8; 200];
    let n = write_rtp(&mut buf, 111, 65535, 1, 2, &s, 100).unwrap();
    assert_eq!(n, 112);
    assert_eq!(stamp_of_rtp(&buf[..n]), Some(s));
    assert_eq!(buf[0], 0x80);
    assert_eq!(write_rtp(&mut buf, 111, 0, 0, 2, &s, STAMP_LEN - 1), None);
    assert_eq!(write_rtp(&mut buf[..50], 111, 0, 0, 2, &s, 100), None);
    assert_eq!(stamp_of_rtp(&buf[..20]), None);
}

#[test]
fn only_packets_sent_inside_the_window_count_and_duplicates_are_caught() {
    let w = Window::default();
    let mut st = SubscriberStats::default();
    st.record(stamp(0, 0, 50), 60, &w); // before the window opened
    w.open(100);
    for seq in 1..=10 {
        st.record(
            stamp(0, seq, 100 + u64::from(seq)),
            1_001 * u64::from(seq) + 100,
            &w,
        );
    }
    st.record(stamp(0, 3, 103), 9_999_999, &w); // duplicate
    st.record(stamp(1, 2, 150), 2_150, &w);
    st.record(stamp(1, 1, 149), 2_149, &w); // late: after seq 2
    w.close(200);
    st.record(stamp(0, 11, 250), 300, &w); // after the window
    assert_eq!(st.received(), 12);
    assert_eq!(st.duplicates(), 1);
    assert_eq!(st.reordered(), 1, "only publisher 1's seq 1 came late");
    assert_eq!(st.publishers_heard(), 2);
    assert_eq!(st.latencies_us.len(), 12);
    let mut l = st.latencies_us.clone();
    l.sort_unstable();
    assert_eq!(l, vec![1, 2, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(quantile(&l, 0.5), Some(4));
    assert_eq!(quantile(&l, 1.0), Some(10));
    assert_eq!(quantile(&[], 0.5), None);
    assert!((w.seconds() - 100e-9).abs() < 1e-12);
}

#[test]
fn proc_stat_is_read_past_a_command_name_with_spaces_and_parens() {
    let line = "1234 (ring cast) (x)) S 1 2 3 4 5 6 7 8 9 10 250 75 0 0 20 0 4 0 100 0 0";
    assert_eq!(parse_stat_ticks(line), Some(325));
    assert_eq!(parse_stat_ticks("1234 (x) S 1 2"), None);
    assert_eq!(parse_stat_ticks("garbage"), None);
    let me = process_cpu_seconds(std::process::id()).unwrap();
    assert!(me >= 0.0);
}

#[test]
fn proc_status_gives_resident_memory() {
    let status = "Name:\tringcast\nVmPeak:\t  9000 kB\nVmRSS:\t  4321 kB\nThreads:\t4\n";
    assert_eq!(parse_vm_rss_kib(status), Some(4321));
    assert_eq!(parse_vm_rss_kib("Name:\tx\n"), None);
    assert!(process_rss_kib(std::process::id()).unwrap() > 0);
}

fn outcome(role: Role, room: usize, sent_in_window: u64, stats: SubscriberStats) -> Outcome {
    Outcome {
        spec: Spec {
            room_index: room,
            room: format!("r{room}"),
            identity: "x".into(),
            role,
        },
        connected: true,
        connect_time: Some(Duration::from_millis(40 + room as u64)),
        error: None,
        sent: sent_in_window + 5,
        sent_in_window,
        sent_by_stream: match role {
            Role::Publisher { index, .. } => vec![(index, sent_in_window)],
            Role::Subscriber => Vec::new(),
        },
        stats,
        peer: PeerCounters::default(),
        resumes: 0,
    }
}

#[test]
fn summary_expects_each_room_publisher_at_each_subscriber_of_that_room() {
    let w = Window::default();
    w.open(0);
    let mut full = SubscriberStats::default();
    for seq in 0..10 {
        full.record(stamp(0, seq, 10), 1010, &w);
    }
    let mut lossy = SubscriberStats::default();
    for seq in 0..8 {
        lossy.record(stamp(0, seq, 10), 3010, &w);
    }
    lossy.record(stamp(0, 1, 10), 3010, &w);
    let outcomes = vec![
        outcome(
            Role::Publisher {
                index: 0,
                kind: TrackKind::Audio,
                subscribes: false,
            },
            0,
            10,
            SubscriberStats::default(),
        ),
        outcome(Role::Subscriber, 0, 0, full),
        outcome(Role::Subscriber, 0, 0, lossy),
        // A room with a publisher and no subscriber expects nothing.
        outcome(
            Role::Publisher {
                index: 1,
                kind: TrackKind::Audio,
                subscribes: false,
            },
            1,
            10,
            SubscriberStats::default(),
        ),
    ];
    let cpu = ServerCpu {
        pid: 1,
        cpu_seconds: 0.018,
        idle_cpu_per_second: Some(0.0009),
    };
    let s = Summary::from_outcomes(&outcomes, 2, 10.0, Some(cpu));
    assert_eq!(s.sent, 20);
    assert_eq!(s.expected, 20);
    assert_eq!(s.received, 18);
    assert_eq!(s.lost, 2);
    assert!((s.loss_percent - 10.0).abs() < 1e-9);
    assert_eq!(s.duplicates, 1);
    assert_eq!(s.latency_max_us, Some(3));
    assert_eq!((s.connect_p50_ms, s.connect_max_ms), (Some(40), Some(41)));
    assert_eq!(s.server_cpu_us_per_packet, Some(1000.0));
    // 0.0009 s/s idle over the 10 s window is half the CPU.
    let net = s.server_cpu_us_per_packet_net.unwrap();
    assert!((net - 500.0).abs() < 1e-6, "{net}");
    let table = s.table();
    assert!(table.contains("packets lost"), "{table}");
    assert!(table.contains("1000.00 µs"), "{table}");
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["lost"], 2);
}

#[test]
fn tokens_verify_with_the_servers_key_provider() {
    let token = join_token(
        "devkey",
        "secret",
        "room-a",
        "sub-0-1",
        Grant {
            publish: false,
            subscribe: true,
        },
        Duration::from_secs(600),
    )
    .unwrap();
    let mut keys = BTreeMap::new();
    keys.insert("devkey".to_string(), "secret".to_string());
    let kp = ringcast_controlplane::auth::KeyProvider::new(keys.clone());
    let claims = kp.verify(&token).unwrap();
    assert_eq!(claims.sub, "sub-0-1");
    let g = claims.video_grant();
    assert_eq!(g.room, "room-a");
    assert!(g.room_join && g.can_subscribe() && !g.can_publish());
    keys.insert("devkey".to_string(), "other".to_string());
    let wrong = ringcast_controlplane::auth::KeyProvider::new(keys);
    assert!(wrong.verify(&token).is_err());
}

#[test]
fn join_url_maps_http_to_ws_and_carries_a_decodable_join_request() {
    let jr = ringcast_benches::load::signal::join_request(true);
    let url = join_url("http://127.0.0.1:7880/", "a.b.c", &jr).unwrap();
    assert!(url.starts_with("ws://127.0.0.1:7880/rtc/v1?access_token=a.b.c&join_request="));
    let raw = url
        .split("join_request=")
        .nth(1)
        .unwrap()
        .replace("%3D", "=");
    let decoded = ringcast_controlplane::signal::join_request::decode_join_request(&raw).unwrap();
    assert!(decoded.connection_settings.unwrap().auto_subscribe);
    assert_eq!(decoded.client_info.unwrap().protocol, 17);
    assert!(join_url("ftp://x", "t", &jr).is_err());
}

#[test]
fn durations_parse_like_the_cli_says() {
    assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
    assert!(parse_duration("-1s").is_err());
    assert!(parse_duration("soon").is_err());
}

#[test]
fn simulcast_receivers_expect_their_layer_and_meeting_publishers_not_themselves() {
    use ringcast_benches::load::stats::stream_id;
    let w = Window::default();
    w.open(0);
    // Publisher 0 sends q (2 packets), h (4) and f (10) in the window.
    let mut publisher = outcome(
        Role::Publisher {
            index: 0,
            kind: TrackKind::Video,
            subscribes: true,
        },
        0,
        16,
        SubscriberStats::default(),
    );
    publisher.sent_by_stream = vec![
        (stream_id(0, 1), 2),
        (stream_id(0, 2), 4),
        (stream_id(0, 3), 10),
    ];
    // One subscriber got all of f; one got 3 of h and, after a switch, 1 of
    // f (judged on h, where it lost one, and counted as mixed).
    let mut all_f = SubscriberStats::default();
    for seq in 0..10 {
        all_f.record(stamp(stream_id(0, 3), seq, 10), 20, &w);
    }
    let mut switched = SubscriberStats::default();
    for seq in 0..3 {
        switched.record(stamp(stream_id(0, 2), seq, 10), 20, &w);
    }
    switched.record(stamp(stream_id(0, 3), 9, 10), 20, &w);
    let outcomes = vec![
        publisher,
        outcome(Role::Subscriber, 0, 0, all_f),
        outcome(Role::Subscriber, 0, 0, switched),
    ];
    let s = Summary::from_outcomes(&outcomes, 1, 1.0, None);
    // The publisher receives (meeting) but expects nothing from itself.
    assert_eq!(s.receivers, 3);
    assert_eq!(s.sent, 16);
    assert_eq!(s.expected, 10 + 4);
    // The switched subscriber lost one h packet; its f packet is extra.
    assert_eq!(s.received, 10 + 3);
    assert_eq!(s.lost, 1);
    assert_eq!(s.received_other_layers, 1);
    assert_eq!(s.pairs_by_layer, [0, 0, 1, 1]);
    assert_eq!(s.pairs_mixed_layers, 1);
    assert_eq!(s.latency_histogram.iter().sum::<u64>(), 14);
    assert!(s.table().contains("pairs by layer q/h/f"), "{}", s.table());
}
