//! The client's side of the SDP: the offers a simulated participant makes
//! on its single `/rtc/v1` PeerConnection and what it needs from the
//! server's answer.
//!
//! By default we offer `a=setup:actpass` as browsers and the SDKs do, and
//! the server's `active` answer makes it the DTLS client; `active` can be
//! offered instead to make the load generator the DTLS client. Publishers offer one sendonly Opus
//! m-line with its SSRC and msid (LiveKit matches it to the AddTrackRequest
//! by msid track id == cid, LIVEKIT_PROTOCOL.md 3.4); subscribers offer
//! recvonly Opus m-lines the server fills (2.9).

use std::fmt::Write as _;
use std::net::SocketAddr;

use ringcast_dataplane::dtls::parse_fingerprint;
use ringcast_shared::records::DtlsRole;

/// Opus payload type we offer (LiveKit's default table).
pub const OPUS_PT: u8 = 111;
pub use super::payload::VP8_PT;
/// Our `sdes:mid` header-extension id (libwebrtc's).
pub const MID_EXT_ID: u8 = 4;
/// Our `sdes:rtp-stream-id` (rid) header-extension id (libwebrtc's).
pub const RID_EXT_ID: u8 = 10;
/// The simulcast rids, lowest first (LIVEKIT_PROTOCOL.md 3.5).
pub const SIMULCAST_RIDS: [&str; 3] = ["q", "h", "f"];

/// Why an answer is of no use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// No `a=ice-ufrag` / `a=ice-pwd`.
    #[error("answer has no ICE credentials")]
    NoIceCredentials,
    /// No usable `a=fingerprint:sha-256`.
    #[error("answer has no sha-256 fingerprint")]
    NoFingerprint,
    /// `a=setup` missing, or a role our offer did not leave open.
    #[error("answer has setup:{0:?}, which our offer does not allow")]
    WrongSetup(Option<String>),
}

/// The `a=setup` we offer (RFC 8842).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OfferSetup {
    /// Either role; servers answer `active` and become the DTLS client.
    #[default]
    Actpass,
    /// We are the DTLS client; the server must answer `passive`.
    Active,
}

impl OfferSetup {
    fn as_str(self) -> &'static str {
        match self {
            OfferSetup::Actpass => "actpass",
            OfferSetup::Active => "active",
        }
    }
}

/// Our transport as the offer announces it.
#[derive(Debug, Clone)]
pub struct LocalTransport {
    pub ice_ufrag: String,
    pub ice_pwd: String,
    /// `AA:BB:..` of our certificate's SHA-256.
    pub fingerprint: String,
    pub setup: OfferSetup,
}

/// One m-line of our offer, in order; the mid is its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Section {
    /// We send Opus on `ssrc`, for the AddTrackRequest with this `cid`.
    SendAudio { ssrc: u32, cid: String },
    /// We receive Opus here, whatever the server puts on it.
    RecvAudio,
    /// We send VP8 for the AddTrackRequest with this `cid`: on `ssrc`
    /// (announced by `a=ssrc`), or with `simulcast` on one SSRC per rid
    /// (`q`, `h`, `f`), announced only by `a=rid`/`a=simulcast` lines and
    /// the rid header extension on the packets, as browsers do.
    SendVideo {
        ssrc: u32,
        cid: String,
        simulcast: bool,
    },
    /// We receive VP8 here.
    RecvVideo,
}

/// Writes an offer for `sections`. `version` must grow with each offer.
#[must_use]
pub fn offer(
    local: &LocalTransport,
    sections: &[Section],
    session_id: u64,
    version: u64,
) -> String {
    let mut s = String::with_capacity(256 + sections.len() * 420);
    let mids: Vec<String> = (0..sections.len()).map(|i| i.to_string()).collect();
    // `write!` to a String cannot fail; the results are ignored on purpose.
    let _ = write!(
        s,
        "v=0\r\no=- {session_id} {version} IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
         a=group:BUNDLE {}\r\na=msid-semantic: WMS\r\n",
        mids.join(" ")
    );
    for (i, sec) in sections.iter().enumerate() {
        let (kind, pt) = match sec {
            Section::SendAudio { .. } | Section::RecvAudio => ("audio", OPUS_PT),
            Section::SendVideo { .. } | Section::RecvVideo => ("video", VP8_PT),
        };
        let _ = write!(
            s,
            "m={kind} 9 UDP/TLS/RTP/SAVPF {pt}\r\nc=IN IP4 0.0.0.0\r\n\
             a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:{}\r\na=ice-pwd:{}\r\n\
             a=ice-options:trickle\r\na=fingerprint:sha-256 {}\r\na=setup:{}\r\n\
             a=mid:{i}\r\n",
            local.ice_ufrag,
            local.ice_pwd,
            local.fingerprint,
            local.setup.as_str()
        );
        match sec {
            Section::SendAudio { ssrc, cid } => {
                let _ = write!(s, "a=sendonly\r\na=msid:- {cid}\r\n");
                write_opus(&mut s);
                let _ = write!(
                    s,
                    "a=ssrc:{ssrc} cname:{cid}\r\na=ssrc:{ssrc} msid:- {cid}\r\n"
                );
            }
            Section::RecvAudio => {
                s.push_str("a=recvonly\r\n");
                write_opus(&mut s);
            }
            Section::SendVideo {
                ssrc,
                cid,
                simulcast,
            } => {
                let _ = write!(s, "a=sendonly\r\na=msid:- {cid}\r\n");
                if *simulcast {
                    let _ = write!(
                        s,
                        "a=extmap:{MID_EXT_ID} urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
                         a=extmap:{RID_EXT_ID} urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"
                    );
                }
                write_vp8(&mut s);
                if *simulcast {
                    for rid in SIMULCAST_RIDS {
                        let _ = write!(s, "a=rid:{rid} send\r\n");
                    }
                    let _ = write!(s, "a=simulcast:send {}\r\n", SIMULCAST_RIDS.join(";"));
                } else {
                    let _ = write!(
                        s,
                        "a=ssrc:{ssrc} cname:{cid}\r\na=ssrc:{ssrc} msid:- {cid}\r\n"
                    );
                }
            }
            Section::RecvVideo => {
                s.push_str("a=recvonly\r\n");
                write_vp8(&mut s);
            }
        }
    }
    s
}

fn write_opus(s: &mut String) {
    let _ = write!(
        s,
        "a=rtcp-mux\r\na=rtcp-rsize\r\na=rtpmap:{OPUS_PT} opus/48000/2\r\n\
         a=rtcp-fb:{OPUS_PT} nack\r\na=fmtp:{OPUS_PT} minptime=10;useinbandfec=1\r\n"
    );
}

fn write_vp8(s: &mut String) {
    let _ = write!(
        s,
        "a=rtcp-mux\r\na=rtcp-rsize\r\na=rtpmap:{VP8_PT} VP8/90000\r\n\
         a=rtcp-fb:{VP8_PT} nack\r\na=rtcp-fb:{VP8_PT} nack pli\r\na=rtcp-fb:{VP8_PT} ccm fir\r\n"
    );
}

/// What we need from the server's answer to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTransport {
    pub ice_ufrag: String,
    pub ice_pwd: String,
    pub fingerprint: [u8; 32],
    /// Our DTLS role, from the answer's `a=setup`.
    pub our_role: DtlsRole,
    /// Host candidates, in the order the answer lists them.
    pub candidates: Vec<SocketAddr>,
}

/// Reads ICE credentials, fingerprint, setup and candidates from an
/// answer to an offer that said `offered` (session or media level; the
/// first value wins, BUNDLE makes them equal).
pub fn parse_answer(sdp: &str, offered: OfferSetup) -> Result<RemoteTransport, AnswerError> {
    let mut setup: Option<String> = None;
    let mut ufrag = None;
    let mut pwd = None;
    let mut fingerprint = None;
    let mut candidates = Vec::new();
    for line in sdp.lines() {
        let line = line.trim_end();
        let Some(attr) = line.strip_prefix("a=") else {
            continue;
        };
        let (name, value) = attr.split_once(':').unwrap_or((attr, ""));
        match name {
            "ice-ufrag" if ufrag.is_none() => ufrag = Some(value.to_string()),
            "ice-pwd" if pwd.is_none() => pwd = Some(value.to_string()),
            "fingerprint" if fingerprint.is_none() => {
                if let Some(("sha-256", fp)) = value.split_once(' ') {
                    fingerprint = parse_fingerprint(fp.trim());
                }
            }
            "setup" if setup.is_none() => setup = Some(value.to_string()),
            "candidate" => {
                if let Some(a) = parse_candidate(value) {
                    if !candidates.contains(&a) {
                        candidates.push(a);
                    }
                }
            }
            _ => {}
        }
    }
    let ice_ufrag = ufrag.ok_or(AnswerError::NoIceCredentials)?;
    let ice_pwd = pwd.ok_or(AnswerError::NoIceCredentials)?;
    let fingerprint = fingerprint.ok_or(AnswerError::NoFingerprint)?;
    let our_role = match (setup.as_deref(), offered) {
        (Some("active"), OfferSetup::Actpass) => DtlsRole::Server,
        (Some("passive"), _) => DtlsRole::Client,
        _ => return Err(AnswerError::WrongSetup(setup)),
    };
    Ok(RemoteTransport {
        ice_ufrag,
        ice_pwd,
        fingerprint,
        our_role,
        candidates,
    })
}

/// The address of a UDP candidate (`a=candidate:` value or the
/// `candidate:` string of a trickled candidateInit), RFC 8839 5.1:
/// `foundation component transport priority address port typ ...`.
#[must_use]
pub fn parse_candidate(value: &str) -> Option<SocketAddr> {
    let value = value.strip_prefix("candidate:").unwrap_or(value);
    let f: Vec<&str> = value.split_ascii_whitespace().collect();
    if f.len() < 6 || !f[2].eq_ignore_ascii_case("udp") || f[1] != "1" {
        return None;
    }
    let ip: std::net::IpAddr = f[4].parse().ok()?;
    let port: u16 = f[5].parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

/// The candidate in a trickled `candidateInit` JSON
/// (`{"candidate":"candidate:...","sdpMid":..}`).
#[must_use]
pub fn parse_candidate_init(json: &str) -> Option<SocketAddr> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    parse_candidate(v.get("candidate")?.as_str()?)
}
