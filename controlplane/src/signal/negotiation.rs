//! Offer/answer on a participant's PeerConnections (LIVEKIT_PROTOCOL.md 2.6-2.11):
//! the client's offers on the publisher (or single) PC are answered with
//! `setup:active` (we are the DTLS client); on the dual-PC subscriber PC we
//! offer `actpass` and the client's answer makes us the DTLS server.

use std::collections::HashMap;

use livekit_protocol as proto;
use proto::signal_response::Message as Resp;
use ringcast_shared::records::DtlsRole;

use crate::media::{LocalTransport, MediaControl, RemoteDtls, TransportOwner};
use crate::participant::{ParticipantSet, PcRole};
use crate::sdp;
use crate::signal::join_request::SignalVariant;

fn owner(room: &str, sid: &str, pc: PcRole) -> TransportOwner {
    TransportOwner {
        room: room.to_string(),
        participant_sid: sid.to_string(),
        pc,
    }
}

fn refuse(set: &ParticipantSet, sid: &str, why: String) {
    tracing::warn!(participant = sid, %why, "SDP refused");
    if let Some(p) = set.get(sid) {
        p.outbox.send(Resp::RequestResponse(proto::RequestResponse {
            request_id: 0,
            reason: proto::request_response::Reason::InvalidRequest as i32,
            message: why,
            request: None,
        }));
    }
}

/// Our side of a transport as the SDP writer needs it.
fn sdp_local(media: &MediaControl, t: &LocalTransport) -> sdp::LocalTransport {
    let params = media.params();
    sdp::LocalTransport {
        ice_ufrag: t.ice.ufrag.clone(),
        ice_pwd: t.ice.pwd.clone(),
        fingerprint_sha256: params.fingerprint,
        candidates: sdp::HostCandidate::for_addresses(&params.ips, params.port),
    }
}

/// Trickles our host candidates too (as LiveKit does), after the SDP that
/// already lists them: the last one carries `final`. Target PUBLISHER for the
/// client-offered PC, SUBSCRIBER for ours; `/rtc/v1` only knows PUBLISHER.
fn trickle_candidates(
    outbox: &crate::participant::Outbox,
    local: &sdp::LocalTransport,
    mid: &str,
    target: proto::SignalTarget,
) {
    let n = local.candidates.len();
    for (i, c) in local.candidates.iter().enumerate() {
        outbox.send(Resp::Trickle(proto::TrickleRequest {
            candidate_init: c.to_candidate_init_json(mid, 0, &local.ice_ufrag),
            target: target as i32,
            r#final: i + 1 == n,
        }));
    }
}

/// The extension ids of an answer (BUNDLE: one id per URI on the transport).
fn extension_ids(media: &[sdp::NegotiatedMedia]) -> crate::media::RtpExtensionIds {
    let find = |uri: &str| {
        media
            .iter()
            .flat_map(|m| m.extmaps.iter())
            .find(|e| e.uri == uri)
            .map_or(0, |e| e.id)
    };
    use sdp::extensions as x;
    crate::media::RtpExtensionIds {
        audio_level: find(x::AUDIO_LEVEL),
        mid: find(x::MID),
        rid: find(x::RID),
        repaired_rid: find(x::REPAIRED_RID),
        transport_cc: find(x::TRANSPORT_CC),
        abs_send_time: find(x::ABS_SEND_TIME),
    }
}

/// The client offered on its publisher (or single) PC: answer it.
pub fn on_client_offer(
    set: &mut ParticipantSet,
    media: &MediaControl,
    enabled_codecs: &[String],
    sid: &str,
    offer: proto::SessionDescription,
) {
    let parsed = match sdp::parse(&offer.sdp) {
        Ok(s) => s,
        Err(e) => return refuse(set, sid, format!("invalid offer: {e}")),
    };
    let Some(p) = set.get_mut(sid) else { return };
    let mut t = match p.publisher_pc.take() {
        Some(t) => t,
        None => media.create(owner(&p.room, sid, PcRole::Publisher)),
    };
    let local = sdp_local(media, &t);
    // `/rtc/v1`: subscribed tracks ride the client's recvonly m-lines.
    let send_tracks = match p.variant {
        SignalVariant::SinglePc => {
            crate::subscription::before_answer(&mut p.subscriptions, &parsed)
        }
        SignalVariant::DualPc => HashMap::new(),
    };
    let single_pc = p.variant == SignalVariant::SinglePc;
    let opts = sdp::AnswerOptions {
        enabled_codecs,
        send_tracks: &send_tracks,
        ..sdp::AnswerOptions::new(&local, t.id.0, u64::from(p.next_offer_id))
    };
    let answer = sdp::build_answer(&parsed, &opts);
    p.next_offer_id += 1;
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            p.publisher_pc = Some(t);
            return refuse(set, sid, format!("cannot answer offer: {e}"));
        }
    };
    let remote = RemoteDtls {
        ufrag: answer.remote.ice_ufrag.clone(),
        // Usually `active` (we send the ClientHello); `passive` when the
        // client offered `a=setup:active`.
        role: match answer.dtls_role {
            sdp::DtlsRole::Client => DtlsRole::Client,
            sdp::DtlsRole::Server => DtlsRole::Server,
        },
        fingerprint: answer.remote.fingerprint,
    };
    media.install(&mut t, remote);
    media.set_rtp_extensions(t.id, extension_ids(&answer.media));
    for m in answer.media.iter().filter_map(|m| m.receiving.as_ref()) {
        for &(media_ssrc, rtx) in &m.ssrcs {
            if let Some(rtx_ssrc) = rtx {
                media.set_rtx_pair(t.id, media_ssrc, rtx_ssrc);
            }
        }
    }
    p.publisher_pc = Some(t);
    let changes = crate::participant::apply_offer(&mut p.tracks, &answer.media);
    let unpublished = !changes.is_empty();
    let ended: Vec<String> = changes
        .iter()
        .filter_map(|c| match c {
            crate::participant::TrackChange::Unpublished(info) => Some(info.sid.clone()),
            crate::participant::TrackChange::Published(_) => None,
        })
        .collect();
    p.track_changes.extend(changes);
    if unpublished {
        p.version += 1;
    }
    let first_mid = answer
        .media
        .iter()
        .find(|m| m.accepted)
        .and_then(|m| m.mid.clone());
    p.outbox.send(Resp::Answer(proto::SessionDescription {
        r#type: "answer".into(),
        mid_to_track_id: answer.mid_to_track_id(),
        sdp: answer.sdp,
        id: offer.id,
    }));
    if let Some(mid) = first_mid {
        trickle_candidates(&p.outbox, &local, &mid, proto::SignalTarget::Publisher);
    }
    if unpublished {
        set.broadcast_info(sid);
    }
    if single_pc {
        crate::subscription::after_answer(set, media, sid, &answer.media);
    }
    for track_sid in ended {
        crate::subscription::on_track_unpublished(set, media, sid, &track_sid);
    }
}

/// The dual-PC subscriber offer: data channels first, tracks later.
pub fn send_subscriber_offer(set: &mut ParticipantSet, media: &MediaControl, sid: &str) {
    let Some(p) = set.get_mut(sid) else { return };
    let t = match p.subscriber_pc.take() {
        Some(t) => t,
        None => media.create(owner(&p.room, sid, PcRole::Subscriber)),
    };
    let local = sdp_local(media, &t);
    let session = p
        .subscriber_sdp
        .get_or_insert_with(|| sdp::SubscriberSession::new(t.id.0));
    crate::subscription::prepare_offer(
        &mut p.subscriptions,
        session,
        &p.outbox,
        std::time::Instant::now(),
    );
    let offer_sdp = session.create_offer(&local);
    let mid_to_track_id = session.mid_to_track_id();
    p.subscriber_pc = Some(t);
    let id = p.next_offer_id;
    p.next_offer_id += 1;
    p.outbox.send(Resp::Offer(proto::SessionDescription {
        r#type: "offer".into(),
        sdp: offer_sdp,
        id,
        mid_to_track_id,
    }));
    trickle_candidates(
        &p.outbox,
        &local,
        sdp::offer::DATA_MID,
        proto::SignalTarget::Subscriber,
    );
}

/// The client answered our subscriber offer: now we know its fingerprint.
pub fn on_client_answer(
    set: &mut ParticipantSet,
    media: &MediaControl,
    sid: &str,
    answer: proto::SessionDescription,
) {
    let parsed = match sdp::parse(&answer.sdp) {
        Ok(s) => s,
        Err(e) => return refuse(set, sid, format!("invalid answer: {e}")),
    };
    let remote = match sdp::remote_transport(&parsed) {
        Ok(r) => r,
        Err(e) => return refuse(set, sid, format!("invalid answer: {e}")),
    };
    // The answerer normally chose `active`, so we are the DTLS server.
    let role = match sdp::dtls_role_from_answer(&parsed) {
        sdp::DtlsRole::Client => DtlsRole::Client,
        sdp::DtlsRole::Server => DtlsRole::Server,
    };
    let Some(p) = set.get_mut(sid) else { return };
    let Some(t) = p.subscriber_pc.as_mut() else {
        return refuse(set, sid, "answer without an offer".into());
    };
    media.install(
        t,
        RemoteDtls {
            ufrag: remote.ice_ufrag,
            role,
            fingerprint: remote.fingerprint,
        },
    );
    crate::subscription::on_subscriber_answer(set, media, sid);
}
