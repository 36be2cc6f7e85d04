//! Writing SDP text: the lines shared by our answers and offers.

use std::fmt::Write as _;

use super::candidate::HostCandidate;
use super::model::{Direction, Setup};

/// Our side of the transport, the same on every m-line (BUNDLE): ICE-lite
/// credentials, the DTLS certificate fingerprint and the host candidates on
/// the UDP mux port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTransport {
    /// Our ICE ufrag (the dataplane demuxes STUN by it).
    pub ice_ufrag: String,
    /// Our ICE password.
    pub ice_pwd: String,
    /// The sha-256 fingerprint of our DTLS certificate.
    pub fingerprint_sha256: [u8; 32],
    /// One host candidate per advertised address.
    pub candidates: Vec<HostCandidate>,
}

/// A track we send on an m-line: a subscribed publisher track.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutgoingTrack {
    /// The publisher's participant sid (`PA_...`).
    pub participant_sid: String,
    /// The track sid (`TR_...`).
    pub track_sid: String,
    /// The SSRC we send media with.
    pub ssrc: u32,
    /// The SSRC we send retransmissions with (video).
    pub rtx_ssrc: Option<u32>,
    /// The RTCP CNAME we announce.
    pub cname: String,
    /// The publisher's codec, e.g. `video/VP8`; the subscriber gets exactly it.
    pub codec_mime: String,
    /// The publisher's fmtp for that codec (H264 profile, VP9 profile...).
    pub codec_fmtp: Option<String>,
}

impl OutgoingTrack {
    /// `PA_x|TR_y`: LiveKit's stream id (PackStreamID), which both SDKs split
    /// on `|` to find the publisher.
    pub fn stream_id(&self) -> String {
        format!("{}|{}", self.participant_sid, self.track_sid)
    }
}

/// An SDP text being built; every line ends with CRLF (RFC 8866 5).
#[derive(Debug, Default)]
pub(crate) struct SdpWriter {
    out: String,
}

impl SdpWriter {
    /// Append one line.
    pub fn line(&mut self, args: std::fmt::Arguments<'_>) {
        // Writing to a String cannot fail.
        let _ = self.out.write_fmt(args);
        self.out.push_str("\r\n");
    }

    /// The finished text.
    pub fn finish(self) -> String {
        self.out
    }

    /// `v=` to `t=`, then the session attributes we always write.
    pub fn session_header(
        &mut self,
        session_id: u64,
        version: u64,
        bundle: &[&str],
        extmap_allow_mixed: bool,
    ) {
        self.line(format_args!("v=0"));
        self.line(format_args!("o=- {session_id} {version} IN IP4 127.0.0.1"));
        self.line(format_args!("s=-"));
        self.line(format_args!("t=0 0"));
        // RFC 8445 2.5: we only answer checks and never send our own.
        self.line(format_args!("a=ice-lite"));
        if !bundle.is_empty() {
            self.line(format_args!("a=group:BUNDLE {}", bundle.join(" ")));
        }
        if extmap_allow_mixed {
            self.line(format_args!("a=extmap-allow-mixed"));
        }
        self.line(format_args!("a=msid-semantic: WMS *"));
    }

    /// The transport lines of an accepted m-line: connection, candidates,
    /// ICE credentials, fingerprint, setup, mid.
    pub fn transport(
        &mut self,
        local: &LocalTransport,
        setup: Setup,
        mid: &str,
        with_candidates: bool,
    ) {
        self.line(format_args!("c=IN IP4 0.0.0.0"));
        if with_candidates {
            for c in &local.candidates {
                self.line(format_args!("a={}", c.to_sdp_value()));
            }
            self.line(format_args!("a=end-of-candidates"));
        }
        self.line(format_args!("a=ice-ufrag:{}", local.ice_ufrag));
        self.line(format_args!("a=ice-pwd:{}", local.ice_pwd));
        self.line(format_args!(
            "a=fingerprint:sha-256 {}",
            fingerprint_hex(&local.fingerprint_sha256)
        ));
        self.line(format_args!("a=setup:{}", setup.as_str()));
        self.line(format_args!("a=mid:{mid}"));
    }

    /// The `a=msid` line of a track we send.
    pub fn msid(&mut self, track: &OutgoingTrack) {
        self.line(format_args!(
            "a=msid:{} {}",
            track.stream_id(),
            track.track_sid
        ));
    }

    /// The ssrc-group and ssrc lines of a track we send; the RTX SSRC only
    /// when an RTX payload type was negotiated.
    pub fn ssrcs(&mut self, track: &OutgoingTrack, with_rtx: bool) {
        let stream = track.stream_id();
        let tid = &track.track_sid;
        let rtx = track.rtx_ssrc.filter(|_| with_rtx);
        if let Some(rtx) = rtx {
            self.line(format_args!("a=ssrc-group:FID {} {rtx}", track.ssrc));
        }
        for ssrc in std::iter::once(track.ssrc).chain(rtx) {
            self.line(format_args!("a=ssrc:{ssrc} cname:{}", track.cname));
            self.line(format_args!("a=ssrc:{ssrc} msid:{stream} {tid}"));
        }
    }

    /// The direction attribute.
    pub fn direction(&mut self, d: Direction) {
        self.line(format_args!("a={}", d.as_str()));
    }
}

/// `AA:BB:...` upper-case hex, as browsers write it.
pub fn fingerprint_hex(d: &[u8]) -> String {
    let mut s = String::with_capacity(d.len() * 3);
    for (i, b) in d.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}
