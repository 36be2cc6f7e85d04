//! Active-speaker detection from reported audio levels: a loud participant
//! becomes active, a near-silent one never does, the order follows the
//! level, and one who goes quiet (or stops sending) is reported inactive.

use std::time::{Duration, Instant};

use ringcast_controlplane::speakers::{RoomSpeakers, UPDATE_INTERVAL};

const LOUD: f32 = 0.25; // about -12 dBov
const QUIET: f32 = 0.001; // -60 dBov

fn feed(r: &mut RoomSpeakers, sid: &str, level: f32, loud: u16, t: Instant) {
    for i in 0..5 {
        r.observe(sid, level, loud, 5, t + Duration::from_millis(100 * i));
    }
}

#[test]
fn loud_is_active_and_near_silent_never_is() {
    let t0 = Instant::now();
    let mut r = RoomSpeakers::default();
    assert!(r.evaluate(t0).is_none(), "first call only schedules");
    feed(&mut r, "PA_loud", LOUD, 5, t0);
    feed(&mut r, "PA_quiet", QUIET, 0, t0);
    let t1 = t0 + UPDATE_INTERVAL;
    let changed = r.evaluate(t1).expect("speakers changed");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].sid, "PA_loud");
    assert!(changed[0].active && changed[0].level > 0.1);
    // Same state again: nothing to announce.
    feed(&mut r, "PA_loud", LOUD, 5, t1);
    feed(&mut r, "PA_quiet", QUIET, 0, t1);
    assert!(r.evaluate(t1 + UPDATE_INTERVAL).is_none());
}

#[test]
fn order_follows_level_and_silence_ends_speaking() {
    let t0 = Instant::now();
    let mut r = RoomSpeakers::default();
    r.evaluate(t0);
    feed(&mut r, "PA_a", 0.1, 5, t0);
    feed(&mut r, "PA_b", 0.5, 5, t0);
    let t1 = t0 + UPDATE_INTERVAL;
    let c = r.evaluate(t1).unwrap();
    let order: Vec<&str> = c.iter().map(|s| s.sid.as_str()).collect();
    assert_eq!(order, ["PA_b", "PA_a"]);
    // b stops sending: after the stale time it is announced inactive.
    let mut t = t1;
    let mut last = None;
    for _ in 0..6 {
        feed(&mut r, "PA_a", 0.1, 5, t);
        t += UPDATE_INTERVAL;
        if let Some(c) = r.evaluate(t) {
            last = Some(c);
        }
    }
    let c = last.expect("b's silence is announced");
    assert!(c
        .iter()
        .any(|s| s.sid == "PA_b" && !s.active && s.level == 0.0));
    assert!(c.iter().any(|s| s.sid == "PA_a" && s.active));
}
