//! Subscriptions driven in memory, end to end through the signaling code:
//! a publisher's track is published by its first RTP, others are subscribed
//! (auto, at join, or by hand), their SDP catches up (single PC: a
//! `MediaSectionsRequirement` then our answer on a recvonly m-line; dual PC:
//! a subscriber offer, one at a time) and the dataplane is programmed with
//! `AddDownTrack` only after the client has the SDP. A recording
//! `CommandSink` shows what the workers would be told.

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
use ringcast_shared::records::{Command, Event, MediaKind, TransportId};

const ROOM: &str = "sub-room";

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

fn grant(identity: &str, can_subscribe: bool) -> JoinGrant {
    JoinGrant {
        claims: Claims {
            sub: identity.into(),
            video: Some(VideoGrant {
                room_join: true,
                room: ROOM.into(),
                can_subscribe: Some(can_subscribe),
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

/// The single-PC Chrome offer: 3+3 recvonly m-lines and (mid 7) a
/// sendonly microphone with SSRC 3735928559.
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

/// The participant's primary transport connected: it becomes ACTIVE, and
/// only then is it auto-subscribed to newly published tracks (2.12).
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

fn add_track(state: &AppState, sid: &str, cid: &str, kind: proto::TrackType) -> String {
    request(
        state,
        sid,
        Req::AddTrack(proto::AddTrackRequest {
            cid: cid.into(),
            name: "mic".into(),
            r#type: kind as i32,
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

/// alice (single PC) publishes the Chrome microphone; returns its track sid
/// and her transport.
fn alice_publishes_mic(state: &AppState, alice: &mut Joined) -> (String, TransportId) {
    let track = add_track(state, &alice.sid, CHROME_MIC_CID, proto::TrackType::Audio);
    offer(state, &alice.sid, fixture("chrome_single_pc_offer.sdp"), 2);
    let t = transport(state, &alice.sid, false);
    drain(&mut alice.outbox_rx);
    rtp_started(state, t, CHROME_MIC_SSRC, 111);
    (track, t)
}

fn down_tracks(cmds: &[Command]) -> Vec<ringcast_shared::records::DownTrackSpec> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::AddDownTrack { spec } => Some(*spec),
            _ => None,
        })
        .collect()
}

fn ssrc_of(sdp: &str, track: &str) -> u32 {
    let line = sdp
        .lines()
        .find(|l| l.starts_with("a=ssrc:") && l.ends_with(&format!(" {track}")))
        .unwrap_or_else(|| panic!("no a=ssrc line for {track} in\n{sdp}"));
    line["a=ssrc:".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn single_pc_subscriber_is_asked_to_reoffer_then_answered_sendonly_then_programmed() {
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", true),
        params(SignalVariant::SinglePc, None),
    )
    .unwrap();
    let mut bob = lobby::join(
        &state,
        &grant("bob", true),
        params(SignalVariant::SinglePc, Some(receiver_offer())),
    )
    .unwrap();
    activate(&state, &bob.sid);
    drain(&mut bob.outbox_rx);
    let (track, alice_t) = alice_publishes_mic(&state, &mut alice);
    let bob_t = transport(&state, &bob.sid, false);

    // The update naming the track comes first, then the request to re-offer.
    let msgs = drain(&mut bob.outbox_rx);
    let upd = msgs
        .iter()
        .position(|m| matches!(m, Resp::Update(u) if u.participants.iter().any(|p| p.tracks.iter().any(|t| t.sid == track))))
        .expect("bob hears of the track");
    let req = msgs
        .iter()
        .position(|m| matches!(m, Resp::MediaSectionsRequirement(r) if r.num_audios == 0 && r.num_videos == 0))
        .unwrap_or_else(|| panic!("a {{0,0}} re-offer request: {msgs:?}"));
    assert!(upd < req);
    assert!(
        down_tracks(&rec.take()).is_empty(),
        "nothing is forwarded before the client has the SDP"
    );

    offer(&state, &bob.sid, receiver_offer(), 5);
    let msgs = drain(&mut bob.outbox_rx);
    let Some(Resp::Answer(ans)) = msgs.iter().find(|m| matches!(m, Resp::Answer(_))) else {
        panic!("{msgs:?}")
    };
    assert_eq!(
        ans.mid_to_track_id.get("1"),
        Some(&track),
        "first audio slot"
    );
    let mline = ans
        .sdp
        .split("m=")
        .find(|m| m.contains("a=mid:1\r\n"))
        .unwrap();
    assert!(mline.contains("a=sendonly"), "{mline}");
    assert!(mline.contains(&format!("a=msid:{}|{track} {track}", alice.sid)));
    let ssrc = ssrc_of(&ans.sdp, &track);
    assert_ne!(ssrc, 0);

    let specs = down_tracks(&rec.take());
    assert_eq!(specs.len(), 1, "{specs:?}");
    let s = specs[0];
    assert_eq!(
        (s.source, s.source_ssrc, s.source_pt),
        (alice_t, CHROME_MIC_SSRC, 111)
    );
    assert_eq!(
        (s.sink, s.ssrc, s.payload_type, s.kind),
        (bob_t, ssrc, 111, MediaKind::Audio)
    );

    // The publisher hears of the first subscription, once.
    let alice_msgs = drain(&mut alice.outbox_rx);
    let subscribed: Vec<_> = alice_msgs
        .iter()
        .filter_map(|m| match m {
            Resp::TrackSubscribed(t) => Some(t.track_sid.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(subscribed, std::slice::from_ref(&track));

    // A late joiner gets the track in its very first answer.
    let mut carol = lobby::join(
        &state,
        &grant("carol", true),
        params(SignalVariant::SinglePc, Some(receiver_offer())),
    )
    .unwrap();
    let msgs = drain(&mut carol.outbox_rx);
    let join_at = msgs
        .iter()
        .position(|m| matches!(m, Resp::Join(_)))
        .unwrap();
    let ans_at = msgs
        .iter()
        .position(|m| matches!(m, Resp::Answer(_)))
        .unwrap();
    assert!(join_at < ans_at);
    let Resp::Answer(ans) = &msgs[ans_at] else {
        unreachable!()
    };
    assert_eq!(ans.mid_to_track_id.get("1"), Some(&track));
    let specs = down_tracks(&rec.take());
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].sink, transport(&state, &carol.sid, false));
    assert!(
        !drain(&mut alice.outbox_rx)
            .iter()
            .any(|m| matches!(m, Resp::TrackSubscribed(_))),
        "TrackSubscribed only the first time"
    );
}

#[tokio::test]
async fn can_subscribe_false_gets_no_subscription() {
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", true),
        params(SignalVariant::SinglePc, None),
    )
    .unwrap();
    let mut dave = lobby::join(
        &state,
        &grant("dave", false),
        params(SignalVariant::SinglePc, Some(receiver_offer())),
    )
    .unwrap();
    activate(&state, &dave.sid);
    drain(&mut dave.outbox_rx);
    let (track, _) = alice_publishes_mic(&state, &mut alice);
    let msgs = drain(&mut dave.outbox_rx);
    assert!(
        msgs.iter().any(|m| matches!(m, Resp::Update(_))),
        "dave still sees the track"
    );
    assert!(
        !msgs
            .iter()
            .any(|m| matches!(m, Resp::MediaSectionsRequirement(_))),
        "{msgs:?}"
    );
    // Asking by hand does not work either.
    request(
        &state,
        &dave.sid,
        Req::Subscription(proto::UpdateSubscription {
            track_sids: vec![track.clone()],
            subscribe: true,
            participant_tracks: vec![],
        }),
    );
    offer(&state, &dave.sid, receiver_offer(), 3);
    let msgs = drain(&mut dave.outbox_rx);
    let Some(Resp::Answer(ans)) = msgs.iter().find(|m| matches!(m, Resp::Answer(_))) else {
        panic!("{msgs:?}")
    };
    assert!(ans.mid_to_track_id.is_empty());
    assert!(!ans.sdp.contains("a=sendonly"));
    assert!(down_tracks(&rec.take()).is_empty());
    // A newcomer without the grant is not subscribed at join either.
    let mut fay = lobby::join(
        &state,
        &grant("fay", false),
        params(SignalVariant::SinglePc, Some(receiver_offer())),
    )
    .unwrap();
    let msgs = drain(&mut fay.outbox_rx);
    let Some(Resp::Answer(ans)) = msgs.iter().find(|m| matches!(m, Resp::Answer(_))) else {
        panic!("{msgs:?}")
    };
    assert!(ans.mid_to_track_id.is_empty());
    assert!(down_tracks(&rec.take()).is_empty());
}

#[tokio::test]
async fn update_subscription_unsubscribes_resubscribes_and_reports_unknown_tracks() {
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", true),
        params(SignalVariant::SinglePc, None),
    )
    .unwrap();
    let mut bob = lobby::join(
        &state,
        &grant("bob", true),
        params(SignalVariant::SinglePc, Some(receiver_offer())),
    )
    .unwrap();
    activate(&state, &bob.sid);
    let (track, _) = alice_publishes_mic(&state, &mut alice);
    offer(&state, &bob.sid, receiver_offer(), 5);
    let bob_t = transport(&state, &bob.sid, false);
    drain(&mut bob.outbox_rx);
    let programmed = down_tracks(&rec.take());
    assert_eq!(programmed.len(), 1);
    let ssrc = programmed[0].ssrc;

    // Unsubscribe through participant_tracks: forwarding stops at once and a
    // re-offer is asked so the m-line can be answered inactive.
    request(
        &state,
        &bob.sid,
        Req::Subscription(proto::UpdateSubscription {
            track_sids: vec![],
            subscribe: false,
            participant_tracks: vec![proto::ParticipantTracks {
                participant_sid: alice.sid.clone(),
                track_sids: vec![track.clone()],
            }],
        }),
    );
    assert_eq!(rec.take(), [Command::RemoveDownTrack { sink: bob_t, ssrc }]);
    let msgs = drain(&mut bob.outbox_rx);
    assert!(
        msgs.iter().any(|m| matches!(m, Resp::MediaSectionsRequirement(r) if r.num_audios == 0 && r.num_videos == 0)),
        "{msgs:?}"
    );
    offer(&state, &bob.sid, receiver_offer(), 6);
    let msgs = drain(&mut bob.outbox_rx);
    let Some(Resp::Answer(ans)) = msgs.iter().find(|m| matches!(m, Resp::Answer(_))) else {
        panic!("{msgs:?}")
    };
    assert!(ans.mid_to_track_id.is_empty());
    assert!(!ans.sdp.contains(&track));

    // An unknown track is refused with SE_TRACK_NOTFOUND; a known one is
    // subscribed again (a fresh SSRC, programmed after the answer).
    request(
        &state,
        &bob.sid,
        Req::Subscription(proto::UpdateSubscription {
            track_sids: vec!["TR_nope".into(), track.clone()],
            subscribe: true,
            participant_tracks: vec![],
        }),
    );
    let msgs = drain(&mut bob.outbox_rx);
    assert!(msgs
        .iter()
        .any(|m| matches!(m, Resp::SubscriptionResponse(r)
        if r.track_sid == "TR_nope" && r.err == proto::SubscriptionError::SeTrackNotfound as i32)));
    assert!(msgs
        .iter()
        .any(|m| matches!(m, Resp::MediaSectionsRequirement(_))));
    offer(&state, &bob.sid, receiver_offer(), 7);
    let msgs = drain(&mut bob.outbox_rx);
    let Some(Resp::Answer(ans)) = msgs.iter().find(|m| matches!(m, Resp::Answer(_))) else {
        panic!("{msgs:?}")
    };
    assert_eq!(ans.mid_to_track_id.values().collect::<Vec<_>>(), [&track]);
    let again = down_tracks(&rec.take());
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].ssrc, ssrc_of(&ans.sdp, &track));
}

#[tokio::test]
async fn more_subscriptions_than_mlines_ask_for_more_mlines() {
    let (state, _rec) = setup();
    // Four publishers of one microphone each; bob has three audio m-lines.
    let mut pubs = Vec::new();
    for name in ["p1", "p2", "p3", "p4"] {
        let mut p = lobby::join(
            &state,
            &grant(name, true),
            params(SignalVariant::SinglePc, None),
        )
        .unwrap();
        alice_publishes_mic(&state, &mut p);
        pubs.push(p);
    }
    let mut bob = lobby::join(
        &state,
        &grant("bob", true),
        params(SignalVariant::SinglePc, Some(receiver_offer())),
    )
    .unwrap();
    activate(&state, &bob.sid);
    let msgs = drain(&mut bob.outbox_rx);
    let Some(Resp::Answer(ans)) = msgs.iter().find(|m| matches!(m, Resp::Answer(_))) else {
        panic!("{msgs:?}")
    };
    assert_eq!(ans.mid_to_track_id.len(), 3, "three slots filled");
    let req = msgs
        .iter()
        .find_map(|m| match m {
            Resp::MediaSectionsRequirement(r) => Some(*r),
            _ => None,
        })
        .expect("more m-lines asked for");
    assert_eq!((req.num_audios, req.num_videos), (1, 0));

    // The client re-offers with one more recvonly audio m-line (mid 8).
    let extra = receiver_offer().replace(
        "a=group:BUNDLE 0 1 2 3 4 5 6",
        "a=group:BUNDLE 0 1 2 3 4 5 6 8",
    );
    let audio = {
        let start = extra.find("m=audio").unwrap();
        let end = extra[start + 1..].find("m=").unwrap() + start + 1;
        extra[start..end].replace("a=mid:1\r\n", "a=mid:8\r\n")
    };
    offer(&state, &bob.sid, format!("{extra}{audio}"), 9);
    let msgs = drain(&mut bob.outbox_rx);
    let Some(Resp::Answer(ans)) = msgs.iter().find(|m| matches!(m, Resp::Answer(_))) else {
        panic!("{msgs:?}")
    };
    assert_eq!(ans.mid_to_track_id.len(), 4);
    assert!(ans.mid_to_track_id.contains_key("8"));
    assert!(!msgs
        .iter()
        .any(|m| matches!(m, Resp::MediaSectionsRequirement(_))));
}

#[tokio::test]
async fn dual_pc_subscriber_offer_waits_for_the_answer_and_programs_after_it() {
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", true),
        params(SignalVariant::DualPc, None),
    )
    .unwrap();
    let mut bob = lobby::join(
        &state,
        &grant("bob", true),
        params(SignalVariant::DualPc, None),
    )
    .unwrap();
    activate(&state, &bob.sid);
    let first = drain(&mut bob.outbox_rx);
    assert!(
        first.iter().any(|m| matches!(m, Resp::Offer(_))),
        "data-only first offer"
    );

    // alice publishes the Python SDK's microphone on her publisher PC.
    let track = add_track(
        &state,
        &alice.sid,
        "TR_AMkRr3pQpHrV",
        proto::TrackType::Audio,
    );
    offer(&state, &alice.sid, fixture("libwebrtc_python_offer.sdp"), 1);
    let alice_t = transport(&state, &alice.sid, false);
    drain(&mut alice.outbox_rx);
    rtp_started(&state, alice_t, 1829385521, 111);

    // bob's first offer is still out: no second offer yet.
    let msgs = drain(&mut bob.outbox_rx);
    assert!(msgs.iter().any(|m| matches!(m, Resp::Update(_))));
    assert!(
        !msgs.iter().any(|m| matches!(m, Resp::Offer(_))),
        "{msgs:?}"
    );

    answer(&state, &bob.sid);
    let msgs = drain(&mut bob.outbox_rx);
    let Some(Resp::Offer(off)) = msgs.iter().find(|m| matches!(m, Resp::Offer(_))) else {
        panic!("the track goes out once the first offer is answered: {msgs:?}")
    };
    assert_eq!(off.mid_to_track_id.values().collect::<Vec<_>>(), [&track]);
    assert!(off
        .sdp
        .contains(&format!("a=msid:{}|{track} {track}", alice.sid)));
    let ssrc = ssrc_of(&off.sdp, &track);
    assert!(down_tracks(&rec.take()).is_empty(), "not before the answer");

    answer(&state, &bob.sid);
    let specs = down_tracks(&rec.take());
    assert_eq!(specs.len(), 1);
    let s = specs[0];
    assert_eq!(
        (s.source, s.source_ssrc, s.source_pt),
        (alice_t, 1829385521, 111)
    );
    assert_eq!(s.sink, transport(&state, &bob.sid, true));
    assert_eq!(
        (s.ssrc, s.payload_type),
        (ssrc, 111),
        "the PT our offer wrote for opus"
    );

    // alice leaves: the subscription ends, forwarding stops, bob gets a
    // re-offer without the track.
    lobby::leave(
        &state,
        ROOM,
        &alice.sid,
        proto::DisconnectReason::ClientInitiated,
    );
    let cmds = rec.take();
    assert!(
        cmds.contains(&Command::RemoveDownTrack { sink: s.sink, ssrc }),
        "{cmds:?}"
    );
    let msgs = drain(&mut bob.outbox_rx);
    let Some(Resp::Offer(off)) = msgs.iter().find(|m| matches!(m, Resp::Offer(_))) else {
        panic!("{msgs:?}")
    };
    assert!(off.mid_to_track_id.is_empty());
    assert!(!off.sdp.contains(&track));
}

#[tokio::test]
async fn later_simulcast_layer_is_listed_without_a_second_down_track() {
    // A rid-simulcast video has no SSRC in SDP: its first RTP publishes it
    // and becomes the source; another layer's SSRC is only listed.
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", true),
        params(SignalVariant::DualPc, None),
    )
    .unwrap();
    let mut bob = lobby::join(
        &state,
        &grant("bob", true),
        params(SignalVariant::DualPc, None),
    )
    .unwrap();
    activate(&state, &bob.sid);
    answer(&state, &bob.sid);
    let track = add_track(
        &state,
        &alice.sid,
        "TR_VCw8ZkTgJb3L",
        proto::TrackType::Video,
    );
    offer(&state, &alice.sid, fixture("libwebrtc_python_offer.sdp"), 1);
    let alice_t = transport(&state, &alice.sid, false);
    drain(&mut alice.outbox_rx);
    rtp_started(&state, alice_t, 1111, 96);
    drain(&mut bob.outbox_rx);
    answer(&state, &bob.sid);
    let specs = down_tracks(&rec.take());
    assert_eq!(specs.len(), 1);
    assert_eq!(
        (specs[0].source_ssrc, specs[0].source_pt, specs[0].kind),
        (1111, 96, MediaKind::Video)
    );
    // Another simulcast layer starts: listed, no switch, no second down-track.
    rtp_started(&state, alice_t, 2222, 96);
    assert!(rec.take().is_empty());
    let sources = lobby::with_room(&state, ROOM, |set| {
        let p = set.get(&alice.sid).unwrap();
        p.tracks
            .iter()
            .find(|t| t.info.sid == track)
            .unwrap()
            .sources
            .clone()
    })
    .unwrap();
    assert_eq!(sources, [(1111, 96), (2222, 96)]);
}

#[tokio::test]
async fn dual_pc_resubscribe_puts_the_track_on_a_new_mline() {
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", true),
        params(SignalVariant::DualPc, None),
    )
    .unwrap();
    let mut bob = lobby::join(
        &state,
        &grant("bob", true),
        params(SignalVariant::DualPc, None),
    )
    .unwrap();
    activate(&state, &bob.sid);
    answer(&state, &bob.sid);
    let track = add_track(
        &state,
        &alice.sid,
        "TR_AMkRr3pQpHrV",
        proto::TrackType::Audio,
    );
    offer(&state, &alice.sid, fixture("libwebrtc_python_offer.sdp"), 1);
    rtp_started(
        &state,
        transport(&state, &alice.sid, false),
        1829385521,
        111,
    );
    drain(&mut alice.outbox_rx);
    let first_mid = |msgs: &[Resp]| {
        msgs.iter()
            .find_map(|m| match m {
                Resp::Offer(o) => Some(o.mid_to_track_id.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{msgs:?}"))
    };
    let before = first_mid(&drain(&mut bob.outbox_rx));
    answer(&state, &bob.sid);
    let sub = |on: bool| {
        request(
            &state,
            &bob.sid,
            Req::Subscription(proto::UpdateSubscription {
                track_sids: vec![track.clone()],
                subscribe: on,
                participant_tracks: vec![],
            }),
        )
    };
    sub(false);
    assert!(first_mid(&drain(&mut bob.outbox_rx)).is_empty());
    answer(&state, &bob.sid);
    sub(true);
    let after = first_mid(&drain(&mut bob.outbox_rx));
    assert_eq!(after.len(), 1);
    // The Rust SDK ignores a second track event for the same mid and stream.
    assert_ne!(after.keys().next(), before.keys().next());
    answer(&state, &bob.sid);
    assert_eq!(down_tracks(&rec.take()).len(), 2);
}

#[tokio::test]
async fn revoking_can_subscribe_and_room_service_update_subscriptions() {
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", true),
        params(SignalVariant::SinglePc, None),
    )
    .unwrap();
    let mut bob = lobby::join(
        &state,
        &grant("bob", true),
        params(SignalVariant::SinglePc, Some(receiver_offer())),
    )
    .unwrap();
    activate(&state, &bob.sid);
    let (track, _) = alice_publishes_mic(&state, &mut alice);
    offer(&state, &bob.sid, receiver_offer(), 5);
    drain(&mut bob.outbox_rx);
    let ssrc = down_tracks(&rec.take())[0].ssrc;
    let bob_t = transport(&state, &bob.sid, false);

    // RoomService UpdateSubscriptions: unsubscribe, then subscribe again.
    let rs = |subscribe| proto::UpdateSubscriptionsRequest {
        room: ROOM.into(),
        identity: "bob".into(),
        track_sids: vec![],
        subscribe,
        participant_tracks: vec![proto::ParticipantTracks {
            participant_sid: alice.sid.clone(),
            track_sids: vec![track.clone()],
        }],
    };
    assert!(ringcast_controlplane::subscription::update_subscriptions(
        &state,
        &rs(false)
    ));
    assert_eq!(rec.take(), [Command::RemoveDownTrack { sink: bob_t, ssrc }]);
    offer(&state, &bob.sid, receiver_offer(), 6);
    assert!(ringcast_controlplane::subscription::update_subscriptions(
        &state,
        &rs(true)
    ));
    offer(&state, &bob.sid, receiver_offer(), 7);
    let specs = down_tracks(&rec.take());
    assert_eq!(specs.len(), 1);
    drain(&mut bob.outbox_rx);

    // UpdateParticipant taking canSubscribe away ends every subscription.
    let upd = proto::UpdateParticipantRequest {
        room: ROOM.into(),
        identity: "bob".into(),
        permission: Some(proto::ParticipantPermission {
            can_subscribe: false,
            can_publish: true,
            can_publish_data: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    lobby::update_participant(&state, ROOM, &upd).unwrap();
    assert_eq!(
        rec.take(),
        [Command::RemoveDownTrack {
            sink: bob_t,
            ssrc: specs[0].ssrc
        }]
    );
    offer(&state, &bob.sid, receiver_offer(), 8);
    let msgs = drain(&mut bob.outbox_rx);
    let Some(Resp::Answer(ans)) = msgs.iter().find(|m| matches!(m, Resp::Answer(_))) else {
        panic!("{msgs:?}")
    };
    assert!(ans.mid_to_track_id.is_empty());
}

fn rtp_started_rid(state: &AppState, id: TransportId, ssrc: u32, pt: u8, rid: &str) {
    transport_events::on_event(
        state,
        Event::RtpStarted {
            id,
            ssrc,
            payload_type: pt,
            rid: ringcast_shared::records::InlineStr::new(rid).unwrap(),
            repaired: false,
        },
    );
}

fn rtp_stopped(state: &AppState, id: TransportId, ssrc: u32) {
    transport_events::on_event(state, Event::RtpStopped { id, ssrc });
}

/// (sink, our SSRC, new source SSRC) of each `SwitchDownTrack`.
fn switches(cmds: &[Command]) -> Vec<(TransportId, u32, u32)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::SwitchDownTrack {
                sink,
                ssrc,
                source_ssrc,
                ..
            } => Some((*sink, *ssrc, *source_ssrc)),
            _ => None,
        })
        .collect()
}

const LAYER_Q: u32 = 11;
const LAYER_H: u32 = 22;
const LAYER_F: u32 = 33;

/// A dual-PC room where alice publishes her microphone and a three-layer
/// simulcast camera (q 320x180 on SSRC 11, h 640x360 on 22, f 1280x720 on
/// 33, all flowing) and bob receives both. Returns the camera's sid,
/// alice's transport and bob's camera down-track.
struct Simulcast {
    state: AppState,
    rec: Recording,
    alice: Joined,
    bob: Joined,
    camera: String,
    alice_t: TransportId,
    down: ringcast_shared::records::DownTrackSpec,
}

fn simulcast_room() -> Simulcast {
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", true),
        params(SignalVariant::DualPc, None),
    )
    .unwrap();
    let mut bob = lobby::join(
        &state,
        &grant("bob", true),
        params(SignalVariant::DualPc, None),
    )
    .unwrap();
    activate(&state, &bob.sid);
    answer(&state, &bob.sid);
    add_track(
        &state,
        &alice.sid,
        "TR_AMkRr3pQpHrV",
        proto::TrackType::Audio,
    );
    let layer = |q: proto::VideoQuality, w: u32, h: u32| proto::VideoLayer {
        quality: q as i32,
        width: w,
        height: h,
        ..Default::default()
    };
    request(
        &state,
        &alice.sid,
        Req::AddTrack(proto::AddTrackRequest {
            cid: "TR_VCw8ZkTgJb3L".into(),
            name: "camera".into(),
            r#type: proto::TrackType::Video as i32,
            source: proto::TrackSource::Camera as i32,
            width: 1280,
            height: 720,
            layers: vec![
                layer(proto::VideoQuality::Low, 320, 180),
                layer(proto::VideoQuality::Medium, 640, 360),
                layer(proto::VideoQuality::High, 1280, 720),
            ],
            ..Default::default()
        }),
    );
    offer(&state, &alice.sid, fixture("libwebrtc_python_offer.sdp"), 1);
    let alice_t = transport(&state, &alice.sid, false);
    drain(&mut alice.outbox_rx);
    rtp_started(&state, alice_t, 1829385521, 111);
    rtp_started_rid(&state, alice_t, LAYER_Q, 96, "q");
    rtp_started_rid(&state, alice_t, LAYER_H, 96, "h");
    rtp_started_rid(&state, alice_t, LAYER_F, 96, "f");
    let camera = lobby::with_room(&state, ROOM, |set| {
        let p = set.get(&alice.sid).unwrap();
        p.tracks
            .iter()
            .find(|t| t.cid == "TR_VCw8ZkTgJb3L")
            .unwrap()
            .info
            .sid
            .clone()
    })
    .unwrap();
    // bob answers each subscriber offer until none is left.
    for _ in 0..4 {
        let msgs = drain(&mut bob.outbox_rx);
        if !msgs.iter().any(|m| matches!(m, Resp::Offer(_))) {
            break;
        }
        answer(&state, &bob.sid);
    }
    let specs = down_tracks(&rec.take());
    let down = *specs
        .iter()
        .find(|s| s.kind == MediaKind::Video)
        .unwrap_or_else(|| panic!("no camera down-track: {specs:?}"));
    Simulcast {
        state,
        rec,
        alice,
        bob,
        camera,
        alice_t,
        down,
    }
}

#[tokio::test]
async fn stopped_top_layer_falls_back_to_the_next_and_resumed_layer_switches_back_up() {
    let Simulcast {
        state,
        rec,
        alice,
        camera,
        alice_t,
        down,
        ..
    } = simulcast_room();
    assert_eq!(down.source_ssrc, LAYER_F, "the best layer at first");

    // The layers were recorded on the camera only, not on the microphone.
    let layers = lobby::with_room(&state, ROOM, |set| {
        set.get(&alice.sid)
            .unwrap()
            .tracks
            .iter()
            .map(|t| (t.info.sid.clone(), t.layers.clone()))
            .collect::<Vec<_>>()
    })
    .unwrap();
    for (sid, l) in &layers {
        if *sid == camera {
            assert_eq!(l, &[(LAYER_Q, 1), (LAYER_H, 2), (LAYER_F, 3)]);
        } else {
            assert!(l.is_empty(), "microphone got layers {l:?}");
        }
    }

    rtp_stopped(&state, alice_t, LAYER_F);
    assert_eq!(
        switches(&rec.take()),
        [(down.sink, down.ssrc, LAYER_H)],
        "f paused: h"
    );
    // Resumed (the dataplane reports it without a rid): back up to f.
    rtp_started_rid(&state, alice_t, LAYER_F, 96, "");
    assert_eq!(switches(&rec.take()), [(down.sink, down.ssrc, LAYER_F)]);

    // Every layer stops: down to q, then nothing left to switch to.
    rtp_stopped(&state, alice_t, LAYER_F);
    rtp_stopped(&state, alice_t, LAYER_H);
    assert_eq!(
        switches(&rec.take()),
        [
            (down.sink, down.ssrc, LAYER_H),
            (down.sink, down.ssrc, LAYER_Q)
        ]
    );
    rtp_stopped(&state, alice_t, LAYER_Q);
    assert!(
        rec.take().is_empty(),
        "the last source is kept when all stopped"
    );
    // A lower layer resuming alone is taken.
    rtp_started_rid(&state, alice_t, LAYER_H, 96, "");
    assert_eq!(switches(&rec.take()), [(down.sink, down.ssrc, LAYER_H)]);
}

#[tokio::test]
async fn a_subscriber_that_stays_on_its_layer_gets_no_switch_when_another_stops() {
    let Simulcast {
        state,
        rec,
        alice_t,
        down,
        ..
    } = simulcast_room();
    // q stopping does not concern a subscriber on f.
    rtp_stopped(&state, alice_t, LAYER_Q);
    rtp_started_rid(&state, alice_t, LAYER_Q, 96, "");
    assert!(rec.take().is_empty());
    assert_eq!(down.source_ssrc, LAYER_F);
}

/// As JS sends them: a size, or else quality HIGH.
fn track_settings(state: &AppState, sid: &str, track: &str, disabled: bool, size: (u32, u32)) {
    request(
        state,
        sid,
        Req::TrackSetting(proto::UpdateTrackSettings {
            track_sids: vec![track.to_string()],
            disabled,
            width: size.0,
            height: size.1,
            quality: if size == (0, 0) {
                proto::VideoQuality::High as i32
            } else {
                0
            },
            ..Default::default()
        }),
    );
}

#[tokio::test]
async fn disabled_track_settings_pause_forwarding_and_enabling_programs_it_again() {
    let Simulcast {
        state,
        rec,
        bob,
        camera,
        down,
        ..
    } = simulcast_room();
    track_settings(&state, &bob.sid, &camera, true, (0, 0));
    assert_eq!(
        rec.take(),
        [Command::RemoveDownTrack {
            sink: down.sink,
            ssrc: down.ssrc
        }]
    );
    // Paused twice is still paused; the subscription and its m-line stay.
    track_settings(&state, &bob.sid, &camera, true, (0, 0));
    assert!(rec.take().is_empty());
    let kept = lobby::with_room(&state, ROOM, |set| {
        set.get(&bob.sid)
            .unwrap()
            .subscriptions
            .subs
            .get(&camera)
            .map(|s| (s.ssrc, s.mid.clone()))
    })
    .unwrap();
    assert_eq!(kept.as_ref().map(|k| k.0), Some(down.ssrc));
    assert!(kept.is_some_and(|k| k.1.is_some()));

    // Enabled again: the same down-track SSRC is programmed anew.
    track_settings(&state, &bob.sid, &camera, false, (0, 0));
    assert_eq!(down_tracks(&rec.take()), [down]);
    // Enabling what already flows does nothing.
    track_settings(&state, &bob.sid, &camera, false, (0, 0));
    assert!(rec.take().is_empty());
}

#[tokio::test]
async fn track_settings_size_picks_the_smallest_layer_at_least_that_large() {
    let Simulcast {
        state,
        rec,
        bob,
        camera,
        alice_t,
        down,
        ..
    } = simulcast_room();
    let to = |ssrc| vec![(down.sink, down.ssrc, ssrc)];
    track_settings(&state, &bob.sid, &camera, false, (640, 360));
    assert_eq!(switches(&rec.take()), to(LAYER_H));
    track_settings(&state, &bob.sid, &camera, false, (300, 170));
    assert_eq!(switches(&rec.take()), to(LAYER_Q));
    track_settings(&state, &bob.sid, &camera, false, (641, 200));
    assert_eq!(switches(&rec.take()), to(LAYER_F));
    // Larger than any layer: the best.
    track_settings(&state, &bob.sid, &camera, false, (3840, 2160));
    assert!(rec.take().is_empty(), "already on f");
    track_settings(&state, &bob.sid, &camera, false, (640, 360));
    assert_eq!(switches(&rec.take()), to(LAYER_H));
    // h pauses: the smallest flowing layer still large enough is f.
    rtp_stopped(&state, alice_t, LAYER_H);
    assert_eq!(switches(&rec.take()), to(LAYER_F));
    rtp_started_rid(&state, alice_t, LAYER_H, 96, "");
    assert_eq!(switches(&rec.take()), to(LAYER_H));
    // No size: the best again.
    track_settings(&state, &bob.sid, &camera, false, (0, 0));
    assert_eq!(switches(&rec.take()), to(LAYER_F));
    // A quality without a size caps the layer: MEDIUM at h.
    request(
        &state,
        &bob.sid,
        Req::TrackSetting(proto::UpdateTrackSettings {
            track_sids: vec![camera.clone()],
            quality: proto::VideoQuality::Medium as i32,
            ..Default::default()
        }),
    );
    assert_eq!(switches(&rec.take()), to(LAYER_H));
    // LOW caps at q.
    request(
        &state,
        &bob.sid,
        Req::TrackSetting(proto::UpdateTrackSettings {
            track_sids: vec![camera.clone()],
            quality: proto::VideoQuality::Low as i32,
            ..Default::default()
        }),
    );
    assert_eq!(switches(&rec.take()), to(LAYER_Q));
    // A down-track that switched layers pauses too (the dataplane continues
    // its sequence numbers when it is added again) and resumes.
    track_settings(&state, &bob.sid, &camera, true, (320, 180));
    let paused = rec.take();
    assert!(
        paused
            .iter()
            .any(|c| matches!(c, Command::RemoveDownTrack { .. })),
        "paused after a switch: {paused:?}"
    );
    track_settings(&state, &bob.sid, &camera, false, (0, 0));
    let resumed = rec.take();
    assert!(
        resumed
            .iter()
            .any(|c| matches!(c, Command::AddDownTrack { .. })),
        "resumed: {resumed:?}"
    );
}

#[tokio::test]
async fn a_paused_down_track_resumes_from_its_layer_then_switches() {
    let Simulcast {
        state,
        rec,
        bob,
        camera,
        alice_t,
        down,
        ..
    } = simulcast_room();
    track_settings(&state, &bob.sid, &camera, true, (0, 0));
    assert_eq!(
        rec.take(),
        [Command::RemoveDownTrack {
            sink: down.sink,
            ssrc: down.ssrc
        }]
    );
    // Resumed asking for q: the down-track restarts on f, where it paused,
    // so its sequence numbers go on forward; the next event moves it.
    track_settings(&state, &bob.sid, &camera, false, (320, 180));
    assert_eq!(down_tracks(&rec.take()), [down]);
    rtp_stopped(&state, alice_t, LAYER_H);
    assert_eq!(switches(&rec.take()), [(down.sink, down.ssrc, LAYER_Q)]);
    // Paused where it paused from is gone: the layer it should get.
    let Simulcast {
        state,
        rec,
        bob,
        camera,
        alice_t,
        down,
        ..
    } = simulcast_room();
    track_settings(&state, &bob.sid, &camera, true, (0, 0));
    rtp_stopped(&state, alice_t, LAYER_F);
    rec.take();
    track_settings(&state, &bob.sid, &camera, false, (0, 0));
    let again = down_tracks(&rec.take());
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].ssrc, again[0].source_ssrc), (down.ssrc, LAYER_H));
}

#[tokio::test]
async fn track_settings_for_a_track_not_subscribed_change_nothing() {
    let Simulcast {
        state,
        rec,
        alice,
        camera,
        ..
    } = simulcast_room();
    // alice does not receive her own camera.
    track_settings(&state, &alice.sid, &camera, true, (0, 0));
    track_settings(&state, &alice.sid, "TR_unknown", true, (0, 0));
    assert!(rec.take().is_empty());
}

#[tokio::test]
async fn a_participant_still_connecting_gets_new_tracks_once_active() {
    let (state, rec) = setup();
    let mut alice = lobby::join(
        &state,
        &grant("alice", true),
        params(SignalVariant::SinglePc, None),
    )
    .unwrap();
    let mut bob = lobby::join(
        &state,
        &grant("bob", true),
        params(SignalVariant::SinglePc, Some(receiver_offer())),
    )
    .unwrap();
    drain(&mut bob.outbox_rx);
    let (track, _) = alice_publishes_mic(&state, &mut alice);
    // Told of the track, not subscribed yet: no re-offer asked for.
    let msgs = drain(&mut bob.outbox_rx);
    assert!(msgs.iter().any(|m| matches!(m, Resp::Update(_))));
    assert!(
        !msgs
            .iter()
            .any(|m| matches!(m, Resp::MediaSectionsRequirement(_))),
        "{msgs:?}"
    );
    activate(&state, &bob.sid);
    let msgs = drain(&mut bob.outbox_rx);
    assert!(
        msgs.iter()
            .any(|m| matches!(m, Resp::MediaSectionsRequirement(_))),
        "subscribed once active: {msgs:?}"
    );
    offer(&state, &bob.sid, receiver_offer(), 5);
    let msgs = drain(&mut bob.outbox_rx);
    let Some(Resp::Answer(ans)) = msgs.iter().find(|m| matches!(m, Resp::Answer(_))) else {
        panic!("{msgs:?}")
    };
    assert_eq!(ans.mid_to_track_id.values().collect::<Vec<_>>(), [&track]);
    assert_eq!(down_tracks(&rec.take()).len(), 1);
    // Connecting again changes nothing.
    activate(&state, &bob.sid);
    assert!(!drain(&mut bob.outbox_rx)
        .iter()
        .any(|m| matches!(m, Resp::MediaSectionsRequirement(_))));
}

#[tokio::test]
async fn an_unanswered_subscriber_offer_ends_the_session_with_a_reconnect_request() {
    use ringcast_controlplane::subscription::{
        on_offer_timeout, unanswered_offers, SUBSCRIBER_OFFER_TIMEOUT,
    };
    use std::time::{Duration, Instant};
    let (state, _rec) = setup();
    let mut bob = lobby::join(
        &state,
        &grant("bob", true),
        params(SignalVariant::DualPc, None),
    )
    .unwrap();
    let mut carol = lobby::join(
        &state,
        &grant("carol", true),
        params(SignalVariant::DualPc, None),
    )
    .unwrap();
    assert!(drain(&mut bob.outbox_rx)
        .iter()
        .any(|m| matches!(m, Resp::Offer(_))));
    answer(&state, &carol.sid);
    drain(&mut carol.outbox_rx);
    let late = |after: Duration| {
        lobby::with_room(&state, ROOM, |set| {
            unanswered_offers(set, Instant::now() + after)
        })
        .unwrap()
    };
    assert!(late(Duration::ZERO).is_empty(), "not yet");
    assert_eq!(
        late(SUBSCRIBER_OFFER_TIMEOUT + Duration::from_secs(1)),
        [bob.sid.clone()],
        "carol answered, bob did not"
    );
    on_offer_timeout(&state, ROOM, &bob.sid);
    let msgs = drain(&mut bob.outbox_rx);
    assert!(
        msgs.iter().any(|m| matches!(m, Resp::Leave(l)
            if l.action == proto::leave_request::Action::Reconnect as i32 && l.can_reconnect)),
        "{msgs:?}"
    );
    assert!(
        lobby::with_room(&state, ROOM, |set| set.get(&bob.sid).is_none()).unwrap(),
        "bob is out of the room"
    );
    assert!(drain(&mut carol.outbox_rx).iter().any(|m| matches!(m,
        Resp::Update(u) if u.participants.iter().any(|p| p.sid == bob.sid
            && p.state == proto::participant_info::State::Disconnected as i32))));
    assert!(late(SUBSCRIBER_OFFER_TIMEOUT * 2).is_empty());
}
