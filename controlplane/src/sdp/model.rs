//! The parsed form of a session description: only what the SFU negotiates on.
//! Attributes we do not use are skipped by the parser, not kept.

use super::candidate::Candidate;

/// A whole session description (offer or answer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionDescription {
    /// The `o=` session id (kept so a re-offer can be recognised).
    pub origin_session_id: Option<String>,
    /// Session-level `a=ice-ufrag`; a media-level one overrides it.
    pub ice_ufrag: Option<String>,
    /// Session-level `a=ice-pwd`.
    pub ice_pwd: Option<String>,
    /// Session-level `a=fingerprint`.
    pub fingerprint: Option<Fingerprint>,
    /// Session-level `a=setup`.
    pub setup: Option<Setup>,
    /// `a=ice-lite` present.
    pub ice_lite: bool,
    /// `a=extmap-allow-mixed` present (Chrome offers it; we echo it).
    pub extmap_allow_mixed: bool,
    /// The mids of `a=group:BUNDLE`, in order. Empty when there is no group.
    pub bundle: Vec<String>,
    /// The media sections in m-line order.
    pub media: Vec<MediaSection>,
}

impl SessionDescription {
    /// The media section with this mid.
    pub fn media_by_mid(&self, mid: &str) -> Option<&MediaSection> {
        self.media.iter().find(|m| m.mid.as_deref() == Some(mid))
    }

    /// The ICE ufrag that applies to media section `m` (its own or the
    /// session's).
    pub fn ice_ufrag_for<'a>(&'a self, m: &'a MediaSection) -> Option<&'a str> {
        m.ice_ufrag.as_deref().or(self.ice_ufrag.as_deref())
    }

    /// The ICE password that applies to media section `m`.
    pub fn ice_pwd_for<'a>(&'a self, m: &'a MediaSection) -> Option<&'a str> {
        m.ice_pwd.as_deref().or(self.ice_pwd.as_deref())
    }

    /// The fingerprint that applies to media section `m`.
    pub fn fingerprint_for<'a>(&'a self, m: &'a MediaSection) -> Option<&'a Fingerprint> {
        m.fingerprint.as_ref().or(self.fingerprint.as_ref())
    }

    /// The DTLS setup role that applies to media section `m`.
    pub fn setup_for(&self, m: &MediaSection) -> Option<Setup> {
        m.setup.or(self.setup)
    }
}

/// A certificate fingerprint (`a=fingerprint`, RFC 8122).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fingerprint {
    /// `sha-256`, the one every browser and libwebrtc sends and the one the
    /// dataplane checks the DTLS certificate against.
    Sha256([u8; 32]),
    /// Any other hash function, kept raw.
    Other {
        /// Lower-cased hash name, e.g. `sha-1`.
        algorithm: String,
        /// The digest bytes.
        digest: Vec<u8>,
    },
}

impl Fingerprint {
    /// The sha-256 digest, if this is one.
    pub fn sha256(&self) -> Option<&[u8; 32]> {
        match self {
            Fingerprint::Sha256(d) => Some(d),
            Fingerprint::Other { .. } => None,
        }
    }
}

/// DTLS role negotiation (`a=setup`, RFC 4145/8842).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// The offerer's usual value: either role.
    ActPass,
    /// This side is the DTLS client.
    Active,
    /// This side is the DTLS server.
    Passive,
    /// No DTLS connection wanted.
    HoldConn,
}

impl Setup {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::ActPass => "actpass",
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::HoldConn => "holdconn",
        }
    }
}

/// The kind of an m-line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MediaKind {
    /// `m=audio`.
    Audio,
    /// `m=video`.
    Video,
    /// `m=application` (data channels).
    Application,
    /// Anything else; always rejected.
    Other(String),
}

impl MediaKind {
    /// The m-line token.
    pub fn as_str(&self) -> &str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Application => "application",
            MediaKind::Other(s) => s,
        }
    }
}

/// Media direction (RFC 8866 section 6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Both ways (the default when no direction attribute is present).
    #[default]
    SendRecv,
    /// The description's author sends only.
    SendOnly,
    /// The description's author receives only.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// Whether the author of the description sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the author of the description receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The direction with this send/receive pair.
    pub fn from_flags(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
}

/// One m-line and its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSection {
    /// The m-line kind.
    pub kind: MediaKind,
    /// The m-line port; 0 means the section is rejected (or bundle-only).
    pub port: u16,
    /// The transport protocol, e.g. `UDP/TLS/RTP/SAVPF`.
    pub protocol: String,
    /// The format tokens of the m-line (payload types, or
    /// `webrtc-datachannel`), in order.
    pub formats: Vec<String>,
    /// `a=mid`.
    pub mid: Option<String>,
    /// The direction attribute (sendrecv if absent).
    pub direction: Direction,
    /// Media-level `a=ice-ufrag`.
    pub ice_ufrag: Option<String>,
    /// Media-level `a=ice-pwd`.
    pub ice_pwd: Option<String>,
    /// Media-level `a=fingerprint`.
    pub fingerprint: Option<Fingerprint>,
    /// Media-level `a=setup`.
    pub setup: Option<Setup>,
    /// `a=rtcp-mux`.
    pub rtcp_mux: bool,
    /// `a=rtcp-rsize`.
    pub rtcp_rsize: bool,
    /// `a=bundle-only`.
    pub bundle_only: bool,
    /// The RTP codecs in m-line (preference) order, with their rtpmap, fmtp
    /// and rtcp-fb. A payload type without `a=rtpmap` is left out unless it
    /// is a static one we know.
    pub codecs: Vec<Codec>,
    /// `a=extmap` lines.
    pub extmaps: Vec<Extmap>,
    /// `a=msid` lines (usually one).
    pub msids: Vec<Msid>,
    /// `a=ssrc` lines, grouped by SSRC in first-seen order.
    pub ssrcs: Vec<SsrcInfo>,
    /// `a=ssrc-group` lines.
    pub ssrc_groups: Vec<SsrcGroup>,
    /// `a=rid` lines.
    pub rids: Vec<Rid>,
    /// `a=simulcast`.
    pub simulcast: Option<Simulcast>,
    /// `a=sctp-port` (application m-lines).
    pub sctp_port: Option<u16>,
    /// `a=max-message-size` (application m-lines).
    pub max_message_size: Option<u64>,
    /// `a=candidate` lines.
    pub candidates: Vec<Candidate>,
    /// `a=end-of-candidates`.
    pub end_of_candidates: bool,
}

impl MediaSection {
    /// A section with only the m-line fields filled.
    pub fn new(kind: MediaKind, port: u16, protocol: String, formats: Vec<String>) -> Self {
        MediaSection {
            kind,
            port,
            protocol,
            formats,
            mid: None,
            direction: Direction::SendRecv,
            ice_ufrag: None,
            ice_pwd: None,
            fingerprint: None,
            setup: None,
            rtcp_mux: false,
            rtcp_rsize: false,
            bundle_only: false,
            codecs: Vec::new(),
            extmaps: Vec::new(),
            msids: Vec::new(),
            ssrcs: Vec::new(),
            ssrc_groups: Vec::new(),
            rids: Vec::new(),
            simulcast: None,
            sctp_port: None,
            max_message_size: None,
            candidates: Vec::new(),
            end_of_candidates: false,
        }
    }

    /// Port 0 without `a=bundle-only`: the section is rejected or stopped.
    pub fn is_rejected(&self) -> bool {
        self.port == 0 && !self.bundle_only
    }

    /// The codec with this payload type.
    pub fn codec(&self, payload_type: u8) -> Option<&Codec> {
        self.codecs.iter().find(|c| c.payload_type == payload_type)
    }

    /// The first msid: from `a=msid`, else from an `a=ssrc ... msid:` line
    /// (older libwebrtc and Plan B style).
    pub fn msid(&self) -> Option<&Msid> {
        self.msids
            .first()
            .or_else(|| self.ssrcs.iter().find_map(|s| s.msid.as_ref()))
    }

    /// The id of the extension with this URI.
    pub fn extmap_id(&self, uri: &str) -> Option<u8> {
        self.extmaps.iter().find(|e| e.uri == uri).map(|e| e.id)
    }

    /// The rids this side sends (`a=rid:<id> send`).
    pub fn send_rids(&self) -> impl Iterator<Item = &Rid> {
        self.rids
            .iter()
            .filter(|r| r.direction == RidDirection::Send)
    }

    /// The primary SSRCs: those that are not the second member of an FID
    /// (RTX) group.
    pub fn primary_ssrcs(&self) -> Vec<u32> {
        let rtx: Vec<u32> = self
            .ssrc_groups
            .iter()
            .filter(|g| g.semantics == "FID")
            .filter_map(|g| g.ssrcs.get(1).copied())
            .collect();
        self.ssrcs
            .iter()
            .map(|s| s.ssrc)
            .filter(|s| !rtx.contains(s))
            .collect()
    }

    /// The RTX SSRC paired with `primary` by an FID group.
    pub fn rtx_ssrc_for(&self, primary: u32) -> Option<u32> {
        self.ssrc_groups
            .iter()
            .filter(|g| g.semantics == "FID")
            .find(|g| g.ssrcs.first() == Some(&primary))
            .and_then(|g| g.ssrcs.get(1).copied())
    }
}

/// An RTP payload type with its rtpmap, fmtp and feedback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    /// The payload type number.
    pub payload_type: u8,
    /// The encoding name as written (e.g. `opus`, `VP8`, `rtx`).
    pub name: String,
    /// The RTP clock rate.
    pub clock_rate: u32,
    /// The channel count (audio), if given.
    pub channels: Option<u16>,
    /// The `a=fmtp` value, if any.
    pub fmtp: Option<String>,
    /// The `a=rtcp-fb` values for this payload type (e.g. `nack pli`),
    /// including those given for `*`.
    pub rtcp_fb: Vec<String>,
}

impl Codec {
    /// The MIME type, e.g. `video/VP8`, with the name as written.
    pub fn mime_type(&self, kind: &MediaKind) -> String {
        format!("{}/{}", kind.as_str(), self.name)
    }

    /// The value of an fmtp parameter (`key=value;...`), keys compared
    /// case-insensitively.
    pub fn fmtp_param(&self, key: &str) -> Option<&str> {
        fmtp_param(self.fmtp.as_deref()?, key)
    }

    /// The associated payload type of an RTX (or RED) codec.
    pub fn apt(&self) -> Option<u8> {
        self.fmtp_param("apt")?.parse().ok()
    }

    /// Whether this is an RTX payload type.
    pub fn is_rtx(&self) -> bool {
        self.name.eq_ignore_ascii_case("rtx")
    }
}

/// The value of `key` in an fmtp string `k1=v1;k2=v2`.
pub fn fmtp_param<'a>(fmtp: &'a str, key: &str) -> Option<&'a str> {
    fmtp.split(';').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then_some(v.trim())
    })
}

/// An RTP header extension mapping (`a=extmap`, RFC 8285).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extmap {
    /// The local id, 1-14 (one-byte) or up to 255 (two-byte).
    pub id: u8,
    /// An explicit direction (`a=extmap:3/sendonly ...`), rarely used.
    pub direction: Option<Direction>,
    /// The extension URI.
    pub uri: String,
}

/// `a=msid:<stream id> [<track id>]` (RFC 8830).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msid {
    /// The stream id; `-` means no stream (the Rust SDK publishes so).
    pub stream_id: String,
    /// The track id (LiveKit's key for matching a publication: the cid).
    pub track_id: Option<String>,
}

impl Msid {
    /// LiveKit's key for a published m-line: the track id, or the whole
    /// value when there is only one token (`ExtractStreamID` in
    /// livekit/protocol sdp.go).
    pub fn track_key(&self) -> &str {
        self.track_id.as_deref().unwrap_or(&self.stream_id)
    }
}

/// What the `a=ssrc` lines of one SSRC say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcInfo {
    /// The SSRC.
    pub ssrc: u32,
    /// `cname:`.
    pub cname: Option<String>,
    /// `msid:`.
    pub msid: Option<Msid>,
}

/// `a=ssrc-group:<semantics> <ssrc>...` (FID for RTX, SIM for simulcast).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcGroup {
    /// `FID`, `SIM`, `FEC-FR`...
    pub semantics: String,
    /// The SSRCs in order.
    pub ssrcs: Vec<u32>,
}

/// The direction of a rid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RidDirection {
    /// The author sends this RTP stream.
    Send,
    /// The author receives this RTP stream.
    Recv,
}

/// `a=rid:<id> send|recv [params]` (RFC 8851).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rid {
    /// The rid (LiveKit: `q`, `h`, `f`).
    pub id: String,
    /// Its direction.
    pub direction: RidDirection,
    /// The restrictions after the direction, if any (`pt=...;max-width=...`).
    pub params: Option<String>,
}

/// One stream in an `a=simulcast` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulcastStream {
    /// The rid.
    pub rid: String,
    /// Written with a leading `~`: paused.
    pub paused: bool,
}

/// `a=simulcast:send ... recv ...` (RFC 8853). Each inner list holds the
/// alternatives of one stream (`q,q2;h;f`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Simulcast {
    /// Streams the author sends.
    pub send: Vec<Vec<SimulcastStream>>,
    /// Streams the author receives.
    pub recv: Vec<Vec<SimulcastStream>>,
}
