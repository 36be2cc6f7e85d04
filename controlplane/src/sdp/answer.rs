//! Our answer to a client offer: the `/rtc` publisher PeerConnection and the
//! single PeerConnection of `/rtc/v1`.
//!
//! We are ICE-lite, bundle everything on one transport with rtcp-mux, and
//! take the DTLS client role (`a=setup:active`) unless the client insists on
//! it. Media sections keep the offer's mids, order and payload types.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::codecs::{accepts_codec, same_format, SUPPORTED_RTCP_FB};
use super::error::SdpError;
use super::extensions;
use super::model::*;
pub use super::opus::OpusAnswer;
use super::write::{LocalTransport, OutgoingTrack, SdpWriter};

/// The SCTP port we announce (RFC 8841; the browsers' default too).
pub const SCTP_PORT: u16 = 5000;

/// The `a=max-message-size` we announce when the caller does not set one.
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 65536;

/// What the answer needs besides the offer.
#[derive(Debug, Clone, Copy)]
pub struct AnswerOptions<'a> {
    /// Our credentials, fingerprint and candidates.
    pub local: &'a LocalTransport,
    /// The `o=` session id (random, fixed for the PeerConnection).
    pub session_id: u64,
    /// The `o=` version; increase it on every new description.
    pub session_version: u64,
    /// Mime types the room allows (e.g. `video/VP8`); empty allows every
    /// codec we support.
    pub enabled_codecs: &'a [String],
    /// Tracks we send, by mid of the client's recvonly (or sendrecv) m-line:
    /// how the single-PC answer fills the client's receive slots.
    pub send_tracks: &'a HashMap<String, OutgoingTrack>,
    /// The largest data-channel message we accept.
    pub max_message_size: u64,
    /// Opus settings per mid of a client-sent audio m-line, from the
    /// track's `audio_features` (LiveKit edits its publisher answer the same
    /// way). Mids not listed echo the client's fmtp.
    pub opus: &'a HashMap<String, OpusAnswer>,
}

static NO_TRACKS: LazyLock<HashMap<String, OutgoingTrack>> = LazyLock::new(HashMap::new);
static NO_OPUS: LazyLock<HashMap<String, OpusAnswer>> = LazyLock::new(HashMap::new);

impl<'a> AnswerOptions<'a> {
    /// Options with every codec allowed, nothing to send, client opus fmtp
    /// echoed and a 64 KiB message size; set the other fields as needed.
    pub fn new(local: &'a LocalTransport, session_id: u64, session_version: u64) -> Self {
        AnswerOptions {
            local,
            session_id,
            session_version,
            enabled_codecs: &[],
            send_tracks: &NO_TRACKS,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            opus: &NO_OPUS,
        }
    }
}

/// The remote side of the transport, for the dataplane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTransport {
    /// The client's ICE ufrag.
    pub ice_ufrag: String,
    /// The client's ICE password.
    pub ice_pwd: String,
    /// The client's certificate fingerprint.
    pub fingerprint: [u8; 32],
}

/// Which DTLS role we took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsRole {
    /// We connect (`a=setup:active`); the usual answer.
    Client,
    /// We accept (`a=setup:passive`).
    Server,
}

/// What was negotiated for one m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMedia {
    /// The m-line index.
    pub index: usize,
    /// The mid (None only for a rejected section without one).
    pub mid: Option<String>,
    /// The kind.
    pub kind: MediaKind,
    /// False when answered with port 0.
    pub accepted: bool,
    /// Our direction as written in the answer.
    pub direction: Direction,
    /// The codecs kept, with the client's payload types, RTX included.
    pub codecs: Vec<Codec>,
    /// The header extensions kept, with the client's ids.
    pub extmaps: Vec<Extmap>,
    /// The rids we receive (simulcast), in the client's order.
    pub recv_rids: Vec<String>,
    /// The track we send on this m-line, if one was asked for and could be
    /// placed (the client receives and offered its codec).
    pub sending: Option<OutgoingTrack>,
    /// What the client publishes here, when it sends on this m-line.
    pub receiving: Option<PublishedMedia>,
    /// The client's `a=max-message-size` (application m-line): the largest
    /// data-channel message we may send it.
    pub remote_max_message_size: Option<u64>,
}

/// What a client publishes on one m-line: how the signalling layer matches
/// it to an `AddTrackRequest` and tells the dataplane what to expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedMedia {
    /// LiveKit's key for the pending track: the msid track id (the
    /// `AddTrackRequest.cid`), or the whole msid when it has one token.
    pub track_key: Option<String>,
    /// The msid stream id (`-` from the Rust/Python SDK).
    pub stream_id: Option<String>,
    /// (media SSRC, its RTX SSRC) pairs announced by `a=ssrc` lines; empty
    /// with rid simulcast, where SSRCs are learnt from RTP.
    pub ssrcs: Vec<(u32, Option<u32>)>,
    /// The simulcast rids in the client's order (`q`, `h`, `f`...).
    pub rids: Vec<String>,
}

/// Our answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The SDP text (CRLF line endings).
    pub sdp: String,
    /// Per m-line results, in m-line order.
    pub media: Vec<NegotiatedMedia>,
    /// The client's ICE credentials and fingerprint.
    pub remote: RemoteTransport,
    /// Our DTLS role.
    pub dtls_role: DtlsRole,
}

impl Answer {
    /// `SessionDescription.mid_to_track_id`: every mid we send a track on.
    pub fn mid_to_track_id(&self) -> HashMap<String, String> {
        self.media
            .iter()
            .filter_map(|m| Some((m.mid.clone()?, m.sending.as_ref()?.track_sid.clone())))
            .collect()
    }
}

/// The client's ICE credentials and sha-256 fingerprint, taken from the first
/// accepted media section (the BUNDLE transport).
pub fn remote_transport(offer: &SessionDescription) -> Result<RemoteTransport, SdpError> {
    let (index, m) = offer
        .media
        .iter()
        .enumerate()
        .find(|(_, m)| !m.is_rejected())
        .ok_or(SdpError::MissingIceCredentials { index: 0 })?;
    let (Some(ufrag), Some(pwd)) = (offer.ice_ufrag_for(m), offer.ice_pwd_for(m)) else {
        return Err(SdpError::MissingIceCredentials { index });
    };
    let fingerprint = offer
        .fingerprint_for(m)
        .and_then(Fingerprint::sha256)
        .ok_or(SdpError::MissingFingerprint { index })?;
    Ok(RemoteTransport {
        ice_ufrag: ufrag.to_owned(),
        ice_pwd: pwd.to_owned(),
        fingerprint: *fingerprint,
    })
}

/// Answer a client offer.
pub fn build_answer(
    offer: &SessionDescription,
    opts: &AnswerOptions<'_>,
) -> Result<Answer, SdpError> {
    let remote = remote_transport(offer)?;
    let mut seen: Vec<&str> = Vec::new();
    let mut media = Vec::with_capacity(offer.media.len());
    for (index, m) in offer.media.iter().enumerate() {
        if let Some(mid) = m.mid.as_deref() {
            if seen.contains(&mid) {
                return Err(SdpError::DuplicateMid {
                    mid: mid.to_owned(),
                });
            }
            seen.push(mid);
        } else if !m.is_rejected() {
            return Err(SdpError::MissingMid { index });
        }
        media.push(negotiate(index, m, opts));
    }

    // RFC 8842 5.3: the answerer takes the role the offerer left; an actpass
    // offer gets `active` so we start the handshake as soon as ICE is up.
    let dtls_role = match offer
        .media
        .iter()
        .find(|m| !m.is_rejected())
        .and_then(|m| offer.setup_for(m))
    {
        Some(Setup::Active) => DtlsRole::Server,
        _ => DtlsRole::Client,
    };
    let setup = match dtls_role {
        DtlsRole::Client => Setup::Active,
        DtlsRole::Server => Setup::Passive,
    };

    let bundle: Vec<&str> = media
        .iter()
        .filter(|n| n.accepted)
        .filter_map(|n| n.mid.as_deref())
        .collect();
    let mut w = SdpWriter::default();
    w.session_header(
        opts.session_id,
        opts.session_version,
        &bundle,
        offer.extmap_allow_mixed,
    );
    for (m, n) in offer.media.iter().zip(&media) {
        write_section(&mut w, m, n, opts, setup);
    }
    Ok(Answer {
        sdp: w.finish(),
        media,
        remote,
        dtls_role,
    })
}

/// Decide one m-line.
fn negotiate(index: usize, m: &MediaSection, opts: &AnswerOptions<'_>) -> NegotiatedMedia {
    let mut n = NegotiatedMedia {
        index,
        mid: m.mid.clone(),
        kind: m.kind.clone(),
        accepted: false,
        direction: Direction::Inactive,
        codecs: Vec::new(),
        extmaps: Vec::new(),
        recv_rids: Vec::new(),
        sending: None,
        receiving: None,
        remote_max_message_size: m.max_message_size,
    };
    if m.is_rejected() {
        return n;
    }
    match m.kind {
        MediaKind::Application => {
            n.accepted = m.protocol.ends_with("DTLS/SCTP")
                && m.formats.iter().any(|f| f == "webrtc-datachannel");
            n.direction = Direction::SendRecv;
            return n;
        }
        MediaKind::Other(_) => return n,
        MediaKind::Audio | MediaKind::Video => {}
    }
    if !m.protocol.contains("RTP/") {
        return n;
    }

    let track = m
        .mid
        .as_ref()
        .and_then(|mid| opts.send_tracks.get(mid))
        .filter(|_| m.direction.receives());
    let primaries: Vec<&Codec> = match track {
        // We send exactly the publisher's codec: keep the client's payload
        // type for it and nothing else.
        Some(t) => m
            .codecs
            .iter()
            .filter(|c| !c.is_rtx())
            .filter(|c| {
                same_format(
                    &c.mime_type(&m.kind),
                    c.fmtp.as_deref(),
                    &t.codec_mime,
                    t.codec_fmtp.as_deref(),
                )
            })
            .take(1)
            .collect(),
        None => m
            .codecs
            .iter()
            .filter(|c| !c.is_rtx() && accepts_codec(&m.kind, c, opts.enabled_codecs))
            .collect(),
    };
    if primaries.is_empty() && track.is_some() && m.direction.sends() {
        // The track's codec is not offered but the client also sends here:
        // fall back to receiving only.
        return negotiate(
            index,
            m,
            &AnswerOptions {
                send_tracks: &NO_TRACKS,
                ..*opts
            },
        );
    }
    if primaries.is_empty() {
        return n;
    }
    n.extmaps = m
        .extmaps
        .iter()
        .filter(|e| extensions::accepted_in_answer(&m.kind, &e.uri))
        .map(|e| Extmap {
            id: e.id,
            direction: None,
            uri: e.uri.clone(),
        })
        .collect();
    let has_ext = |uri: &str| n.extmaps.iter().any(|e| e.uri == uri);
    let keep_fb = |fb: &String| {
        SUPPORTED_RTCP_FB.contains(&fb.as_str())
            && (fb != "transport-cc" || has_ext(extensions::TRANSPORT_CC))
            && (fb != "goog-remb" || has_ext(extensions::ABS_SEND_TIME))
    };
    let mut codecs = Vec::new();
    for c in &m.codecs {
        let keep = if c.is_rtx() {
            matches!(m.kind, MediaKind::Video)
                && c.apt()
                    .is_some_and(|apt| primaries.iter().any(|p| p.payload_type == apt))
        } else {
            primaries.iter().any(|p| p.payload_type == c.payload_type)
        };
        if keep {
            let mut c = c.clone();
            c.rtcp_fb.retain(keep_fb);
            c.rtcp_fb.dedup();
            let opus = m.mid.as_ref().and_then(|mid| opts.opus.get(mid));
            if let Some(o) = opus.filter(|_| c.name.eq_ignore_ascii_case("opus")) {
                c.fmtp = Some(o.apply(c.fmtp.as_deref()));
            }
            codecs.push(c);
        }
    }
    n.codecs = codecs;

    let we_send = track.is_some();
    n.direction = Direction::from_flags(we_send, m.direction.sends());
    n.sending = track.cloned();
    if m.direction.sends() {
        if let Some(sc) = &m.simulcast {
            n.recv_rids = sc
                .send
                .iter()
                .filter_map(|alts| alts.first())
                .map(|s| s.rid.clone())
                .filter(|rid| m.send_rids().any(|r| &r.id == rid))
                .collect();
        }
    }
    if m.direction.sends() {
        let msid = m.msid();
        n.receiving = Some(PublishedMedia {
            track_key: msid.map(|ms| ms.track_key().to_owned()),
            stream_id: msid.map(|ms| ms.stream_id.clone()),
            ssrcs: m
                .primary_ssrcs()
                .into_iter()
                .map(|s| (s, m.rtx_ssrc_for(s)))
                .collect(),
            rids: n.recv_rids.clone(),
        });
    }
    n.accepted = true;
    n
}

fn write_section(
    w: &mut SdpWriter,
    m: &MediaSection,
    n: &NegotiatedMedia,
    opts: &AnswerOptions<'_>,
    setup: Setup,
) {
    if !n.accepted {
        let fmt = m.formats.first().map(String::as_str).unwrap_or("0");
        w.line(format_args!("m={} 0 {} {fmt}", m.kind.as_str(), m.protocol));
        w.line(format_args!("c=IN IP4 0.0.0.0"));
        if let Some(mid) = &m.mid {
            w.line(format_args!("a=mid:{mid}"));
        }
        w.direction(Direction::Inactive);
        return;
    }
    // Accepted sections always have a mid (checked in build_answer).
    let mid = n.mid.as_deref().unwrap_or_default();
    if matches!(m.kind, MediaKind::Application) {
        w.line(format_args!(
            "m=application 9 {} webrtc-datachannel",
            m.protocol
        ));
        w.transport(opts.local, setup, mid, true);
        w.line(format_args!("a=sctp-port:{SCTP_PORT}"));
        w.line(format_args!("a=max-message-size:{}", opts.max_message_size));
        return;
    }
    let pts: Vec<String> = n
        .codecs
        .iter()
        .map(|c| c.payload_type.to_string())
        .collect();
    w.line(format_args!(
        "m={} 9 {} {}",
        m.kind.as_str(),
        m.protocol,
        pts.join(" ")
    ));
    w.transport(opts.local, setup, mid, true);
    for e in &n.extmaps {
        w.line(format_args!("a=extmap:{} {}", e.id, e.uri));
    }
    w.direction(n.direction);
    if let Some(t) = &n.sending {
        // The track id in the msid lets the SDK find the publication; the
        // stream id names the publisher (LIVEKIT_PROTOCOL.md 4.2).
        w.msid(t);
    }
    w.line(format_args!("a=rtcp-mux"));
    if matches!(m.kind, MediaKind::Video) && m.rtcp_rsize {
        w.line(format_args!("a=rtcp-rsize"));
    }
    for c in &n.codecs {
        match c.channels {
            Some(ch) => w.line(format_args!(
                "a=rtpmap:{} {}/{}/{ch}",
                c.payload_type, c.name, c.clock_rate
            )),
            None => w.line(format_args!(
                "a=rtpmap:{} {}/{}",
                c.payload_type, c.name, c.clock_rate
            )),
        }
        for fb in &c.rtcp_fb {
            w.line(format_args!("a=rtcp-fb:{} {fb}", c.payload_type));
        }
        if let Some(f) = &c.fmtp {
            w.line(format_args!("a=fmtp:{} {f}", c.payload_type));
        }
    }
    if let Some(t) = &n.sending {
        let has_rtx = n.codecs.iter().any(Codec::is_rtx);
        w.ssrcs(t, has_rtx);
    }
    if !n.recv_rids.is_empty() {
        for rid in &n.recv_rids {
            w.line(format_args!("a=rid:{rid} recv"));
        }
        w.line(format_args!("a=simulcast:recv {}", n.recv_rids.join(";")));
    }
}
