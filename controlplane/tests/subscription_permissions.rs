//! Subscription permissions (LIVEKIT_PROTOCOL.md 4.8): the rules of a
//! publisher's `SubscriptionPermission` as pure functions, then driven in
//! memory through the signaling code on both variants: a subscriber not
//! allowed is not subscribed and hears `SubscriptionPermissionUpdate
//! {allowed: false}`, is subscribed (and hears `allowed: true`) once the
//! publisher allows it, and loses the down-track and its m-line when the
//! publisher takes the permission back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use ringcast_controlplane::auth::{Claims, VideoGrant};
use ringcast_controlplane::config::Config;
use ringcast_controlplane::http::JoinGrant;
use ringcast_controlplane::media::{CommandSink, LocalMediaParams, MediaControl};
use ringcast_controlplane::participant::{OutboxRx, Outgoing};
use ringcast_controlplane::server::AppState;
use ringcast_controlplane::signal::dispatch;
use ringcast_controlplane::signal::join_request::{from_v0_query, ConnectParams, SignalVariant};
use ringcast_controlplane::signal::lobby::{self, Joined};
use ringcast_controlplane::signal::transport_events;
use ringcast_controlplane::subscription::permissions::{
    self, AllowedTracks, PermissionError, TrackPermissions,
};
use ringcast_controlplane::subscription::SubscriberState;
use ringcast_shared::records::{Command, Event, TransportId};

// ---------------------------------------------------------------------------
// The rules, as pure functions.

fn entry(identity: &str, sid: &str, all: bool, tracks: &[&str]) -> proto::TrackPermission {
    proto::TrackPermission {
        participant_sid: sid.into(),
        participant_identity: identity.into(),
        all_tracks: all,
        track_sids: tracks.iter().map(|t| t.to_string()).collect(),
    }
}

fn perm_req(all: bool, entries: Vec<proto::TrackPermission>) -> proto::SubscriptionPermission {
    proto::SubscriptionPermission {
        all_participants: all,
        track_permissions: entries,
    }
}

fn no_sids(_: &str) -> Option<String> {
    None
}

#[test]
fn never_restricted_allows_everyone() {
    let p = TrackPermissions::default();
    assert!(p.allows("anyone", "TR_x"));
}

#[test]
fn all_participants_wins_over_the_list() {
    let req = perm_req(true, vec![entry("bob", "", false, &[])]);
    let p = TrackPermissions::parse(&req, no_sids).unwrap();
    assert_eq!(p, TrackPermissions::Everyone);
    assert!(p.allows("carol", "TR_x"));
}

#[test]
fn listed_identities_get_all_or_the_named_tracks_and_others_nothing() {
    let req = perm_req(
        false,
        vec![
            entry("bob", "", true, &[]),
            entry("carol", "", false, &["TR_a"]),
        ],
    );
    let p = TrackPermissions::parse(&req, no_sids).unwrap();
    assert!(p.allows("bob", "TR_a") && p.allows("bob", "TR_b"));
    assert!(p.allows("carol", "TR_a"));
    assert!(!p.allows("carol", "TR_b"));
    assert!(!p.allows("dave", "TR_a"));
    // An empty list allows nobody.
    let nobody = TrackPermissions::parse(&perm_req(false, vec![]), no_sids).unwrap();
    assert!(!nobody.allows("bob", "TR_a"));
}

#[test]
fn a_sid_is_resolved_to_the_identity_and_an_unknown_sid_is_skipped() {
    let req = perm_req(
        false,
        vec![
            entry("", "PA_bob", true, &[]),
            entry("", "PA_gone", true, &[]),
        ],
    );
    let p =
        TrackPermissions::parse(&req, |sid| (sid == "PA_bob").then(|| "bob".to_string())).unwrap();
    let TrackPermissions::Listed(m) = &p else {
        panic!("{p:?}")
    };
    assert_eq!(m.len(), 1);
    assert_eq!(m.get("bob"), Some(&AllowedTracks::All));
    assert!(p.allows("bob", "TR_a"));
}

#[test]
fn an_entry_without_identity_or_sid_rejects_the_request() {
    let req = perm_req(
        false,
        vec![entry("bob", "", true, &[]), entry("", "", true, &[])],
    );
    assert_eq!(
        TrackPermissions::parse(&req, no_sids),
        Err(PermissionError::NeedsId)
    );
}

#[test]
fn the_client_is_told_only_when_what_it_knows_changes() {
    let mut st = SubscriberState::default();
    // Allowed from the start: nothing to say.
    assert_eq!(permissions::note_allowed(&mut st, "PA_a", "TR_a"), None);
    let u = permissions::note_denied(&mut st, "PA_a", "TR_a").unwrap();
    assert_eq!(
        (u.participant_sid.as_str(), u.track_sid.as_str(), u.allowed),
        ("PA_a", "TR_a", false)
    );
    assert_eq!(st.blocked.get("TR_a").map(String::as_str), Some("PA_a"));
    // Refused again (asked by hand): already told.
    assert_eq!(permissions::note_denied(&mut st, "PA_a", "TR_a"), None);
    let u = permissions::note_allowed(&mut st, "PA_a", "TR_a").unwrap();
    assert!(u.allowed);
    assert!(st.blocked.is_empty() && st.told_denied.is_empty());

    // No longer wanted: not waiting, but a later grant is still reported.
    permissions::note_denied(&mut st, "PA_a", "TR_b");
    assert!(permissions::forget_wanted(&mut st, "TR_b"));
    assert!(st.blocked.is_empty());
    assert!(permissions::note_allowed(&mut st, "PA_a", "TR_b").is_some_and(|u| u.allowed));

    // An unpublished track leaves nothing behind.
    permissions::note_denied(&mut st, "PA_a", "TR_c");
    permissions::forget_track(&mut st, "TR_c");
    assert!(st.blocked.is_empty() && st.told_denied.is_empty());
}

// ---------------------------------------------------------------------------
// In memory, through the signaling code.

const ROOM: &str = "perm-room";

#[derive(Clone, Default)]
struct Recording(Arc<Mutex<Vec<Command>>>);

impl CommandSink for Recording {
    fn broadcast(&self, cmd: Command) -> bool {
        self.0.lock().unwrap().push(cmd);
        true
    }
}

impl Recording {
    fn take(&self) -> Vec<Command> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn setup() -> (AppState, Recording) {
    let rec = Recording::default();
    let params = LocalMediaParams {
        fingerprint: [7; 32],
        ips: vec!["127.0.0.1".parse().unwrap()],
        port: 7882,
    };
    let media = MediaControl::new(Box::new(rec.clone()), params);
    (AppState::with_media(Config::default(), media), rec)
}

fn grant(identity: &str, recorder: bool) -> JoinGrant {
    JoinGrant {
        claims: Claims {
            sub: identity.into(),
            video: Some(VideoGrant {
                room_join: true,
                room: ROOM.into(),
                can_subscribe: Some(true),
                recorder,
                ..Default::default()
            }),
            ..Default::default()
        },
        room: ROOM.into(),
        identity: identity.into(),
    }
}

fn params(variant: SignalVariant, offer: Option<String>) -> ConnectParams {
    let mut q = HashMap::new();
    q.insert("protocol".to_string(), "17".to_string());
    let mut p = from_v0_query(&q);
    p.variant = variant;
    p.publisher_offer = offer.map(|sdp| proto::SessionDescription {
        r#type: "offer".into(),
        sdp,
        id: 1,
        ..Default::default()
    });
    p
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/sdp/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The single-PC Chrome offer: 3+3 recvonly m-lines and (mid 7) a sendonly
/// microphone with SSRC 3735928559.
const CHROME_MIC_CID: &str = "7c0a5d5e-1e0b-4a39-9f3e-2b1f4c6d8e90";
const CHROME_MIC_SSRC: u32 = 3735928559;

/// The same offer without the client's own track: a pure receiver.
fn receiver_offer() -> String {
    let full = fixture("chrome_single_pc_offer.sdp");
    let cut = full.rfind("m=audio").unwrap();
    full[..cut].replace(" 7\r\n", "\r\n")
}

fn drain(rx: &mut OutboxRx) -> Vec<Resp> {
    std::iter::from_fn(|| rx.try_recv())
        .filter_map(|o| match o {
            Outgoing::Signal(s) => s.message,
            Outgoing::Close => None,
        })
        .collect()
}

fn request(state: &AppState, sid: &str, msg: Req) {
    let codecs = lobby::enabled_codecs(state);
    lobby::with_room(state, ROOM, |set| {
        dispatch::handle_request(
            set,
            &state.media,
            &codecs,
            sid,
            proto::SignalRequest { message: Some(msg) },
        )
    });
}

fn set_permissions(state: &AppState, sid: &str, all: bool, entries: Vec<proto::TrackPermission>) {
    request(
        state,
        sid,
        Req::SubscriptionPermission(perm_req(all, entries)),
    );
}

fn offer(state: &AppState, sid: &str, sdp: String, id: u32) {
    request(
        state,
        sid,
        Req::Offer(proto::SessionDescription {
            r#type: "offer".into(),
            sdp,
            id,
            ..Default::default()
        }),
    );
}

fn answer(state: &AppState, sid: &str) {
    request(
        state,
        sid,
        Req::Answer(proto::SessionDescription {
            r#type: "answer".into(),
            sdp: fixture("chrome_subscriber_answer.sdp"),
            id: 1,
            ..Default::default()
        }),
    );
}

fn transport(state: &AppState, sid: &str, subscriber_pc: bool) -> TransportId {
    lobby::with_room(state, ROOM, |set| {
        let p = set.get(sid).unwrap();
        let t = if subscriber_pc {
            &p.subscriber_pc
        } else {
            &p.publisher_pc
        };
        t.as_ref().unwrap().id
    })
    .unwrap()
}

fn activate(state: &AppState, sid: &str) {
    let id = lobby::with_room(state, ROOM, |set| {
        let p = set.get(sid).unwrap();
        let t = if p.subscriber_primary() {
            &p.subscriber_pc
        } else {
            &p.publisher_pc
        };
        t.as_ref().unwrap().id
    })
    .unwrap();
    transport_events::on_event(state, Event::DtlsConnected { id });
}

fn add_track(state: &AppState, sid: &str, cid: &str) -> String {
    request(
        state,
        sid,
        Req::AddTrack(proto::AddTrackRequest {
            cid: cid.into(),
            name: "mic".into(),
            r#type: proto::TrackType::Audio as i32,
            source: proto::TrackSource::Microphone as i32,
            ..Default::default()
        }),
    );
    lobby::with_room(state, ROOM, |set| {
        let p = set.get(sid).unwrap();
        p.tracks
            .iter()
            .find(|t| t.cid == cid)
            .unwrap()
            .info
            .sid
            .clone()
    })
    .unwrap()
}

fn rtp_started(state: &AppState, id: TransportId, ssrc: u32, pt: u8) {
    transport_events::on_event(
        state,
        Event::RtpStarted {
            id,
            ssrc,
            payload_type: pt,
            rid: ringcast_shared::records::InlineStr::new("").unwrap_or_else(|| unreachable!()),
            repaired: false,
        },
    );
}

fn down_tracks(cmds: &[Command]) -> Vec<ringcast_shared::records::DownTrackSpec> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::AddDownTrack { spec } => Some(*spec),
            _ => None,
        })
        .collect()
}

fn removed(cmds: &[Command]) -> Vec<(TransportId, u32)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::RemoveDownTrack { sink, ssrc } => Some((*sink, *ssrc)),
            _ => None,
        })
        .collect()
}

/// The `SubscriptionPermissionUpdate`s among `msgs`, as (publisher, track,
/// allowed).
fn perm_updates(msgs: &[Resp]) -> Vec<(String, String, bool)> {
    msgs.iter()
        .filter_map(|m| match m {
            Resp::SubscriptionPermissionUpdate(u) => {
                Some((u.participant_sid.clone(), u.track_sid.clone(), u.allowed))
            }
            _ => None,
        })
        .collect()
}

fn reoffer_asked(msgs: &[Resp]) -> bool {
    msgs.iter()
        .any(|m| matches!(m, Resp::MediaSectionsRequirement(_)))
}

/// Single PC: the receiver re-offers; returns the tracks our answer sends.
fn reoffer(state: &AppState, p: &mut Joined, id: u32) -> Vec<String> {
    offer(state, &p.sid, receiver_offer(), id);
    let msgs = drain(&mut p.outbox_rx);
    let Some(Resp::Answer(ans)) = msgs.iter().find(|m| matches!(m, Resp::Answer(_))) else {
        panic!("{msgs:?}")
    };
    ans.mid_to_track_id.values().cloned().collect()
}

fn join_single(state: &AppState, identity: &str, recorder: bool) -> Joined {
    let mut p = lobby::join(
        state,
        &grant(identity, recorder),
        params(SignalVariant::SinglePc, Some(receiver_offer())),
    )
    .unwrap();
    activate(state, &p.sid);
    drain(&mut p.outbox_rx);
    p
}

/// alice (single PC) publishes the Chrome microphone, having set `perms`
/// first when given; returns the track's sid.
fn alice_publishes(
    state: &AppState,
    alice: &mut Joined,
    perms: Option<proto::SubscriptionPermission>,
) -> String {
    let track = add_track(state, &alice.sid, CHROME_MIC_CID);
    if let Some(perms) = perms {
        request(state, &alice.sid, Req::SubscriptionPermission(perms));
    }
    offer(state, &alice.sid, fixture("chrome_single_pc_offer.sdp"), 2);
    let t = transport(state, &alice.sid, false);
    drain(&mut alice.outbox_rx);
    rtp_started(state, t, CHROME_MIC_SSRC, 111);
    track
}

#[tokio::test]
async fn single_pc_only_the_allowed_subscribe_until_all_are_allowed_then_revoking_unsubscribes() {
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", false),
        params(SignalVariant::SinglePc, None),
    )
    .unwrap();
    let mut bob = join_single(&state, "bob", false);
    let mut carol = join_single(&state, "carol", false);
    let track = alice_publishes(
        &state,
        &mut alice,
        Some(perm_req(false, vec![entry("bob", "", true, &[])])),
    );

    // bob (allowed) is subscribed as usual, and told nothing about permissions.
    let msgs = drain(&mut bob.outbox_rx);
    assert!(reoffer_asked(&msgs), "{msgs:?}");
    assert!(perm_updates(&msgs).is_empty(), "{msgs:?}");
    assert_eq!(reoffer(&state, &mut bob, 5), std::slice::from_ref(&track));
    let bob_t = transport(&state, &bob.sid, false);
    let specs = down_tracks(&rec.take());
    assert_eq!(specs.len(), 1, "{specs:?}");
    assert_eq!(specs[0].sink, bob_t);
    let bob_ssrc = specs[0].ssrc;

    // carol hears of the track first, then that she may not have it; no
    // m-line is asked for and her answer carries nothing.
    let msgs = drain(&mut carol.outbox_rx);
    let upd = msgs
        .iter()
        .position(|m| matches!(m, Resp::Update(u) if u.participants.iter().any(|p| p.tracks.iter().any(|t| t.sid == track))))
        .expect("carol hears of the track");
    let denied = msgs
        .iter()
        .position(|m| matches!(m, Resp::SubscriptionPermissionUpdate(_)))
        .unwrap_or_else(|| panic!("{msgs:?}"));
    assert!(upd < denied);
    assert_eq!(
        perm_updates(&msgs),
        [(alice.sid.clone(), track.clone(), false)]
    );
    assert!(!reoffer_asked(&msgs), "{msgs:?}");
    assert!(reoffer(&state, &mut carol, 5).is_empty());
    assert!(down_tracks(&rec.take()).is_empty());

    // Asking by hand is refused quietly: no SubscriptionResponse, and she
    // was already told.
    request(
        &state,
        &carol.sid,
        Req::Subscription(proto::UpdateSubscription {
            track_sids: vec![track.clone()],
            subscribe: true,
            participant_tracks: vec![],
        }),
    );
    let msgs = drain(&mut carol.outbox_rx);
    assert!(msgs.is_empty(), "{msgs:?}");

    // alice allows everyone: carol is told, asked to re-offer, and programmed
    // after her answer; bob is untouched.
    set_permissions(&state, &alice.sid, true, vec![]);
    let msgs = drain(&mut carol.outbox_rx);
    assert_eq!(
        perm_updates(&msgs),
        [(alice.sid.clone(), track.clone(), true)]
    );
    assert!(reoffer_asked(&msgs), "{msgs:?}");
    assert_eq!(reoffer(&state, &mut carol, 6), std::slice::from_ref(&track));
    let carol_t = transport(&state, &carol.sid, false);
    let specs = down_tracks(&rec.take());
    assert_eq!(specs.len(), 1, "{specs:?}");
    assert_eq!(specs[0].sink, carol_t);
    let carol_ssrc = specs[0].ssrc;
    assert!(drain(&mut bob.outbox_rx).is_empty());

    // alice allows nobody: both lose the down-track at once, are told, and
    // the m-line goes with the next answer.
    set_permissions(&state, &alice.sid, false, vec![]);
    let mut gone = removed(&rec.take());
    gone.sort();
    let mut want = vec![(bob_t, bob_ssrc), (carol_t, carol_ssrc)];
    want.sort();
    assert_eq!(gone, want);
    for (p, id) in [(&mut bob, 7), (&mut carol, 7)] {
        let msgs = drain(&mut p.outbox_rx);
        assert_eq!(
            perm_updates(&msgs),
            [(alice.sid.clone(), track.clone(), false)]
        );
        assert!(reoffer_asked(&msgs), "{msgs:?}");
        assert!(reoffer(&state, p, id).is_empty());
    }

    // Allowed again by sid and track list: bob only.
    set_permissions(
        &state,
        &alice.sid,
        false,
        vec![entry("", &bob.sid, false, &[track.as_str()])],
    );
    assert_eq!(
        perm_updates(&drain(&mut bob.outbox_rx)),
        [(alice.sid.clone(), track.clone(), true)]
    );
    assert!(drain(&mut carol.outbox_rx).is_empty());
    assert_eq!(reoffer(&state, &mut bob, 8), std::slice::from_ref(&track));
    assert_eq!(down_tracks(&rec.take()).len(), 1);
}

#[tokio::test]
async fn dual_pc_offers_follow_permissions() {
    let (state, rec) = setup();
    let join_dual = |identity: &str| {
        let mut p = lobby::join(
            &state,
            &grant(identity, false),
            params(SignalVariant::DualPc, None),
        )
        .unwrap();
        activate(&state, &p.sid);
        answer(&state, &p.sid);
        drain(&mut p.outbox_rx);
        p
    };
    let mut alice = join_dual("alice");
    let mut bob = join_dual("bob");
    let mut carol = join_dual("carol");

    // alice lets bob (named by sid) have her microphone, before publishing.
    let track = add_track(&state, &alice.sid, "TR_AMkRr3pQpHrV");
    set_permissions(
        &state,
        &alice.sid,
        false,
        vec![entry("", &bob.sid, false, &[track.as_str()])],
    );
    offer(&state, &alice.sid, fixture("libwebrtc_python_offer.sdp"), 1);
    let alice_t = transport(&state, &alice.sid, false);
    drain(&mut alice.outbox_rx);
    rtp_started(&state, alice_t, 1829385521, 111);

    let msgs = drain(&mut bob.outbox_rx);
    let Some(Resp::Offer(off)) = msgs.iter().find(|m| matches!(m, Resp::Offer(_))) else {
        panic!("{msgs:?}")
    };
    assert_eq!(off.mid_to_track_id.values().collect::<Vec<_>>(), [&track]);
    assert!(perm_updates(&msgs).is_empty());
    answer(&state, &bob.sid);
    let specs = down_tracks(&rec.take());
    assert_eq!(specs.len(), 1);
    let bob_t = transport(&state, &bob.sid, true);
    assert_eq!(specs[0].sink, bob_t);
    let bob_ssrc = specs[0].ssrc;

    let msgs = drain(&mut carol.outbox_rx);
    assert_eq!(
        perm_updates(&msgs),
        [(alice.sid.clone(), track.clone(), false)]
    );
    assert!(
        !msgs.iter().any(|m| matches!(m, Resp::Offer(_))),
        "{msgs:?}"
    );

    // alice lets carol (by identity) have it instead of bob.
    set_permissions(
        &state,
        &alice.sid,
        false,
        vec![entry("carol", "", true, &[])],
    );
    assert_eq!(removed(&rec.take()), [(bob_t, bob_ssrc)]);
    let msgs = drain(&mut bob.outbox_rx);
    assert_eq!(
        perm_updates(&msgs),
        [(alice.sid.clone(), track.clone(), false)]
    );
    let Some(Resp::Offer(off)) = msgs.iter().find(|m| matches!(m, Resp::Offer(_))) else {
        panic!("bob gets an offer without the track: {msgs:?}")
    };
    assert!(off.mid_to_track_id.is_empty());
    assert!(!off.sdp.contains(&track));

    let msgs = drain(&mut carol.outbox_rx);
    assert_eq!(
        perm_updates(&msgs),
        [(alice.sid.clone(), track.clone(), true)]
    );
    let Some(Resp::Offer(off)) = msgs.iter().find(|m| matches!(m, Resp::Offer(_))) else {
        panic!("{msgs:?}")
    };
    assert_eq!(off.mid_to_track_id.values().collect::<Vec<_>>(), [&track]);
    assert!(down_tracks(&rec.take()).is_empty(), "not before the answer");
    answer(&state, &carol.sid);
    let specs = down_tracks(&rec.take());
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].sink, transport(&state, &carol.sid, true));
}

#[tokio::test]
async fn a_malformed_request_keeps_the_previous_permissions() {
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", false),
        params(SignalVariant::SinglePc, None),
    )
    .unwrap();
    let mut bob = join_single(&state, "bob", false);
    let track = alice_publishes(&state, &mut alice, None);
    assert_eq!(reoffer(&state, &mut bob, 5), std::slice::from_ref(&track));
    assert_eq!(down_tracks(&rec.take()).len(), 1);

    // An entry naming nobody: refused, bob keeps the track.
    set_permissions(
        &state,
        &alice.sid,
        false,
        vec![entry("carol", "", true, &[]), entry("", "", true, &[])],
    );
    assert!(rec.take().is_empty());
    assert!(drain(&mut bob.outbox_rx).is_empty());
    let kept = lobby::with_room(&state, ROOM, |set| {
        set.get(&alice.sid)
            .unwrap()
            .subscriptions
            .permissions
            .clone()
    })
    .unwrap();
    assert_eq!(kept, TrackPermissions::Everyone);
}

#[tokio::test]
async fn a_recorder_is_exempt() {
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", false),
        params(SignalVariant::SinglePc, None),
    )
    .unwrap();
    let mut egress = join_single(&state, "egress", true);
    let track = alice_publishes(&state, &mut alice, Some(perm_req(false, vec![])));
    let msgs = drain(&mut egress.outbox_rx);
    assert!(perm_updates(&msgs).is_empty(), "{msgs:?}");
    assert!(reoffer_asked(&msgs));
    assert_eq!(reoffer(&state, &mut egress, 5), [track]);
    assert_eq!(down_tracks(&rec.take()).len(), 1);
}

#[tokio::test]
async fn a_track_no_longer_wanted_is_not_subscribed_when_allowed_but_reported_when_asked_again() {
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", false),
        params(SignalVariant::SinglePc, None),
    )
    .unwrap();
    let mut carol = join_single(&state, "carol", false);
    let track = alice_publishes(&state, &mut alice, Some(perm_req(false, vec![])));
    assert_eq!(
        perm_updates(&drain(&mut carol.outbox_rx)),
        [(alice.sid.clone(), track.clone(), false)]
    );
    let sub = |subscribe| {
        Req::Subscription(proto::UpdateSubscription {
            track_sids: vec![track.clone()],
            subscribe,
            participant_tracks: vec![],
        })
    };
    request(&state, &carol.sid, sub(false));
    set_permissions(&state, &alice.sid, true, vec![]);
    let msgs = drain(&mut carol.outbox_rx);
    assert!(msgs.is_empty(), "not wanted any more: {msgs:?}");

    // Asked again: subscribed, and the client learns it is allowed now.
    request(&state, &carol.sid, sub(true));
    let msgs = drain(&mut carol.outbox_rx);
    assert_eq!(
        perm_updates(&msgs),
        [(alice.sid.clone(), track.clone(), true)]
    );
    assert!(reoffer_asked(&msgs));
    assert_eq!(reoffer(&state, &mut carol, 5), std::slice::from_ref(&track));
    assert_eq!(down_tracks(&rec.take()).len(), 1);
}

#[tokio::test]
async fn a_newcomer_not_allowed_is_told_after_its_join_response() {
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", false),
        params(SignalVariant::SinglePc, None),
    )
    .unwrap();
    let track = alice_publishes(
        &state,
        &mut alice,
        Some(perm_req(false, vec![entry("bob", "", true, &[])])),
    );
    let mut dave = lobby::join(
        &state,
        &grant("dave", false),
        params(SignalVariant::SinglePc, Some(receiver_offer())),
    )
    .unwrap();
    let msgs = drain(&mut dave.outbox_rx);
    let join_at = msgs
        .iter()
        .position(|m| matches!(m, Resp::Join(_)))
        .unwrap();
    let told = msgs
        .iter()
        .position(|m| matches!(m, Resp::SubscriptionPermissionUpdate(_)))
        .unwrap_or_else(|| panic!("{msgs:?}"));
    assert!(join_at < told);
    assert_eq!(perm_updates(&msgs), [(alice.sid.clone(), track, false)]);
    let Some(Resp::Answer(ans)) = msgs.iter().find(|m| matches!(m, Resp::Answer(_))) else {
        panic!("{msgs:?}")
    };
    assert!(ans.mid_to_track_id.is_empty());
    assert!(down_tracks(&rec.take()).is_empty());
}
