//! Connection-quality scoring from the dataplane's loss and jitter samples.

use livekit_protocol::ConnectionQuality as Q;
use ringcast_controlplane::quality::{score, LinkSample, QualityWindow};

fn window(samples: &[LinkSample]) -> QualityWindow {
    let mut w = QualityWindow::default();
    for s in samples {
        w.add(*s);
    }
    w
}

fn up(expected: u32, lost: u32) -> LinkSample {
    LinkSample {
        up_expected: expected,
        up_lost: lost,
        ..Default::default()
    }
}

#[test]
fn no_loss_is_excellent_and_rising_loss_degrades_to_good_then_poor() {
    let (q, s) = score(&window(&[up(250, 0)]), true);
    assert_eq!(q, Q::Excellent);
    assert!((s - 4.5).abs() < 1e-6);
    assert_eq!(score(&window(&[up(500, 5)]), true).0, Q::Excellent); // 1%
    assert_eq!(score(&window(&[up(500, 25)]), true).0, Q::Good); // 5%
    assert_eq!(score(&window(&[up(500, 60)]), true).0, Q::Poor); // 12%
}

#[test]
fn loss_sums_over_samples_and_the_worse_direction_counts() {
    // 5 windows of 100 packets, 25 lost in all: 5%.
    let five: Vec<LinkSample> = (0..5)
        .map(|i| up(100, if i == 0 { 25 } else { 0 }))
        .collect();
    assert_eq!(score(&window(&five), true).0, Q::Good);
    // Upstream clean, but the subscriber reports 20% loss of our stream.
    let down = LinkSample {
        up_expected: 250,
        down_loss: 51,
        down_reports: 5,
        ..Default::default()
    };
    assert_eq!(score(&window(&[down]), true).0, Q::Poor);
    // A report of loss without any report block counted is ignored.
    let stale = LinkSample {
        up_expected: 250,
        down_loss: 200,
        down_reports: 0,
        ..Default::default()
    };
    assert_eq!(score(&window(&[stale]), true).0, Q::Excellent);
}

#[test]
fn jitter_above_thirty_ms_costs() {
    let jittery = LinkSample {
        up_expected: 250,
        down_jitter_ms: 90,
        down_reports: 5,
        ..Default::default()
    };
    assert_eq!(score(&window(&[jittery]), true).0, Q::Good);
    let calm = LinkSample {
        down_jitter_ms: 25,
        ..jittery
    };
    assert_eq!(score(&window(&[calm]), true).0, Q::Excellent);
}

#[test]
fn a_publisher_from_which_nothing_arrives_is_lost_but_an_idle_one_is_fine() {
    assert_eq!(score(&QualityWindow::default(), true).0, Q::Lost);
    assert_eq!(score(&QualityWindow::default(), false).0, Q::Excellent);
}
