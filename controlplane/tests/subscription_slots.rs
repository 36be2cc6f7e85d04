//! The single-PC receive m-line table on its own: slots come from the
//! client's recvonly m-lines, keep their track across offers, are answered
//! inactive once before reuse, and missing ones are asked for with
//! `MediaSectionsRequirement`.

use ringcast_controlplane::sdp::{self, MediaKind};
use ringcast_controlplane::subscription::slots::{RecvSlots, SlotUse};

fn offer() -> sdp::SessionDescription {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sdp/chrome_single_pc_offer.sdp"
    ))
    .unwrap();
    sdp::parse(&text).unwrap()
}

#[test]
fn recvonly_mlines_become_slots_and_sendonly_ones_do_not() {
    let mut s = RecvSlots::default();
    assert!(s.sync_offer(&offer()).is_empty());
    let mids: Vec<(&str, MediaKind)> = s
        .slots()
        .iter()
        .map(|x| (x.mid.as_str(), x.kind.clone()))
        .collect();
    assert_eq!(
        mids,
        [
            ("1", MediaKind::Audio),
            ("2", MediaKind::Audio),
            ("3", MediaKind::Audio),
            ("4", MediaKind::Video),
            ("5", MediaKind::Video),
            ("6", MediaKind::Video),
        ],
        "mid 7 is the client's own sendonly track"
    );
}

#[test]
fn a_track_keeps_its_mid_across_offers() {
    let mut s = RecvSlots::default();
    s.sync_offer(&offer());
    assert_eq!(s.assign(&MediaKind::Video, "TR_v").as_deref(), Some("4"));
    assert_eq!(s.assign(&MediaKind::Audio, "TR_a").as_deref(), Some("1"));
    s.sync_offer(&offer());
    assert_eq!(s.assign(&MediaKind::Video, "TR_v").as_deref(), Some("4"));
    assert_eq!(s.assign(&MediaKind::Video, "TR_w").as_deref(), Some("5"));
}

#[test]
fn released_answered_slot_is_reused_only_after_an_inactive_answer() {
    let mut s = RecvSlots::default();
    s.sync_offer(&offer());
    for t in ["TR_1", "TR_2", "TR_3"] {
        assert!(s.assign(&MediaKind::Audio, t).is_some());
    }
    s.release("2", true);
    assert!(s.has_releasing());
    assert_eq!(s.assign(&MediaKind::Audio, "TR_4"), None, "still releasing");
    s.answered();
    assert_eq!(s.assign(&MediaKind::Audio, "TR_4").as_deref(), Some("2"));
    // A slot whose track never reached an answer is free at once.
    s.release("3", false);
    assert_eq!(s.slots()[2].used, SlotUse::Free);
}

#[test]
fn missing_mlines_are_asked_for_once_and_counted_when_they_arrive() {
    let mut s = RecvSlots::default();
    // Before the first offer nothing is asked: that offer settles it.
    assert_eq!(s.requirement([5, 0], false), None);
    s.sync_offer(&offer());
    for t in ["TR_1", "TR_2", "TR_3"] {
        s.assign(&MediaKind::Audio, t);
    }
    let req = s.requirement([2, 0], false).unwrap();
    assert_eq!((req.num_audios, req.num_videos), (2, 0));
    // Asked already: the same need is not asked again.
    assert_eq!(s.requirement([2, 0], true), None);
    // One more audio adds exactly one; video has three free m-lines.
    let req = s.requirement([3, 4], false).unwrap();
    assert_eq!((req.num_audios, req.num_videos), (1, 1));
}

#[test]
fn a_change_with_enough_mlines_forces_a_plain_reoffer() {
    let mut s = RecvSlots::default();
    s.sync_offer(&offer());
    assert_eq!(s.requirement([0, 0], false), None, "nothing changed");
    let req = s.requirement([0, 0], true).unwrap();
    assert_eq!((req.num_audios, req.num_videos), (0, 0));
    assert_eq!(s.requirement([0, 0], true), None, "one re-offer at a time");
    s.sync_offer(&offer());
    assert!(
        s.requirement([0, 0], true).is_some(),
        "the offer came: ask again"
    );
}

#[test]
fn a_vanished_mline_gives_its_track_back() {
    let mut s = RecvSlots::default();
    s.sync_offer(&offer());
    s.assign(&MediaKind::Video, "TR_v");
    // Reject mid 4 (port 0) as a stopped transceiver would.
    let mut parsed = offer();
    if let Some(m) = parsed
        .media
        .iter_mut()
        .find(|m| m.mid.as_deref() == Some("4"))
    {
        m.port = 0;
    }
    assert_eq!(s.sync_offer(&parsed), ["TR_v".to_string()]);
    assert!(s.slots().iter().all(|x| x.mid != "4"));
}
