//! Which codecs we forward, and the payload types we use in our own offers.
//!
//! The SFU never transcodes: it accepts what the publisher's offer lists
//! among the codecs below (keeping the client's payload types) and offers a
//! subscriber exactly the publisher's codec, with a payload type from
//! LiveKit's table (LIVEKIT_PROTOCOL.md 3.7) so traces look familiar.

use super::model::{fmtp_param, Codec, MediaKind};

/// `audio/opus`.
pub const MIME_OPUS: &str = "audio/opus";
/// `video/VP8`.
pub const MIME_VP8: &str = "video/VP8";
/// `video/VP9`.
pub const MIME_VP9: &str = "video/VP9";
/// `video/H264`.
pub const MIME_H264: &str = "video/H264";
/// `video/AV1`.
pub const MIME_AV1: &str = "video/AV1";

/// The media codecs we forward. RTX is accepted alongside any accepted video
/// codec; RED, ULPFEC, FlexFEC, G.711 and H.265 are not (yet) forwarded.
pub const SUPPORTED_MIME_TYPES: [&str; 5] = [MIME_OPUS, MIME_VP8, MIME_H264, MIME_VP9, MIME_AV1];

/// Whether `mime` (any case) names a codec we forward.
pub fn is_supported_mime(mime: &str) -> bool {
    SUPPORTED_MIME_TYPES
        .iter()
        .any(|m| m.eq_ignore_ascii_case(mime))
}

/// The RTCP feedback types we echo in an answer and put in our offers.
/// `transport-cc` is kept only where the transport-cc extension is kept.
pub const SUPPORTED_RTCP_FB: [&str; 5] =
    ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"];

/// A codec a subscriber receives: the publisher's codec, written with our
/// payload types.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfferCodec {
    /// Our payload type for the media codec.
    pub payload_type: u8,
    /// Our payload type for its RTX (video only).
    pub rtx_payload_type: Option<u8>,
    /// rtpmap encoding name (`VP8`, `opus`...).
    pub name: &'static str,
    /// rtpmap clock rate.
    pub clock_rate: u32,
    /// rtpmap channel count.
    pub channels: Option<u16>,
    /// The fmtp we write (the publisher's for H264/VP9, ours for opus).
    pub fmtp: Option<String>,
}

/// Every encoding name [`offer_codec_for`] writes.
const OFFERED_NAMES: [&str; 5] = ["opus", "VP8", "VP9", "H264", "AV1"];

/// [`OfferCodec`] as a snapshot holds it (the name owned).
#[derive(serde::Deserialize)]
struct OfferCodecWire {
    payload_type: u8,
    rtx_payload_type: Option<u8>,
    name: String,
    clock_rate: u32,
    channels: Option<u16>,
    fmtp: Option<String>,
}

// By hand: a derived impl would borrow `name` from the input ('static).
impl<'de> serde::Deserialize<'de> for OfferCodec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = OfferCodecWire::deserialize(d)?;
        OfferCodec::try_from(wire).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<OfferCodecWire> for OfferCodec {
    type Error = String;
    fn try_from(w: OfferCodecWire) -> Result<Self, String> {
        let name = OFFERED_NAMES
            .into_iter()
            .find(|n| *n == w.name)
            .ok_or_else(|| format!("unknown codec name {}", w.name))?;
        Ok(OfferCodec {
            payload_type: w.payload_type,
            rtx_payload_type: w.rtx_payload_type,
            name,
            clock_rate: w.clock_rate,
            channels: w.channels,
            fmtp: w.fmtp,
        })
    }
}

/// The payload types we offer a subscriber for a publisher codec, following
/// LiveKit's table. `fmtp` is the publisher's fmtp; H264 and VP9 pick the PT
/// by profile. Returns `None` for a codec we do not forward.
pub fn offer_codec_for(mime: &str, fmtp: Option<&str>) -> Option<OfferCodec> {
    let (kind, name) = mime.split_once('/')?;
    let name_lc = name.to_ascii_lowercase();
    let codec = |pt: u8, rtx: Option<u8>, name, clock, ch, fmtp: Option<String>| {
        Some(OfferCodec {
            payload_type: pt,
            rtx_payload_type: rtx,
            name,
            clock_rate: clock,
            channels: ch,
            fmtp,
        })
    };
    match (kind.to_ascii_lowercase().as_str(), name_lc.as_str()) {
        ("audio", "opus") => codec(
            111,
            None,
            "opus",
            48000,
            Some(2),
            Some(
                fmtp.map(str::to_owned)
                    .unwrap_or_else(|| "minptime=10;useinbandfec=1".into()),
            ),
        ),
        ("video", "vp8") => codec(96, Some(97), "VP8", 90000, None, None),
        ("video", "vp9") => {
            let profile = fmtp
                .and_then(|f| fmtp_param(f, "profile-id"))
                .unwrap_or("0");
            let pt = if profile == "1" { 100 } else { 98 };
            let f = fmtp
                .map(str::to_owned)
                .unwrap_or_else(|| "profile-id=0".into());
            codec(pt, Some(pt + 1), "VP9", 90000, None, Some(f))
        }
        ("video", "h264") => {
            let f = fmtp.unwrap_or(
                "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
            );
            let pm1 = fmtp_param(f, "packetization-mode") == Some("1");
            let profile = fmtp_param(f, "profile-level-id")
                .unwrap_or("42e01f")
                .to_ascii_lowercase();
            let pt = match (profile.get(..4).unwrap_or(""), profile.as_str(), pm1) {
                (_, "42001f", false) => 104,
                (_, "42001f", true) => 102,
                (_, "42e01f", false) => 125,
                (_, "42e01f", true) => 108,
                (_, "4d001f", false) => 39,
                (_, "4d001f", true) => 106,
                ("6400", _, _) => 123,
                (_, _, true) => 108,
                (_, _, false) => 125,
            };
            codec(pt, Some(pt + 1), "H264", 90000, None, Some(f.to_owned()))
        }
        ("video", "av1") => codec(35, Some(36), "AV1", 90000, None, None),
        _ => None,
    }
}

/// Whether an offered codec is one we accept, given the caller's enabled
/// list (empty = every supported codec). RTX is decided separately.
pub fn accepts_codec(kind: &MediaKind, codec: &Codec, enabled: &[String]) -> bool {
    let mime = codec.mime_type(kind);
    if !is_supported_mime(&mime) {
        return false;
    }
    enabled.is_empty() || enabled.iter().any(|e| e.eq_ignore_ascii_case(&mime))
}

/// Whether two codecs are the same stream format for forwarding: same name
/// and clock rate, and for H264 the same profile and packetization mode, for
/// VP9 the same profile.
pub fn same_format(a_mime: &str, a_fmtp: Option<&str>, b_mime: &str, b_fmtp: Option<&str>) -> bool {
    if !a_mime.eq_ignore_ascii_case(b_mime) {
        return false;
    }
    let p = |f: Option<&str>, k: &str| {
        f.and_then(|f| fmtp_param(f, k))
            .map(str::to_ascii_lowercase)
    };
    if a_mime.eq_ignore_ascii_case(MIME_H264) {
        // profile_idc + profile_iop; the level may differ.
        let prof = |f| p(f, "profile-level-id").map(|s| s.get(..4).unwrap_or("").to_owned());
        let pm = |f| p(f, "packetization-mode").unwrap_or_else(|| "0".into());
        return prof(a_fmtp) == prof(b_fmtp) && pm(a_fmtp) == pm(b_fmtp);
    }
    if a_mime.eq_ignore_ascii_case(MIME_VP9) {
        let prof = |f| p(f, "profile-id").unwrap_or_else(|| "0".into());
        return prof(a_fmtp) == prof(b_fmtp);
    }
    true
}
