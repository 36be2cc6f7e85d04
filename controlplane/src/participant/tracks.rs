//! A participant's published tracks (LIVEKIT_PROTOCOL.md 3): pending after
//! AddTrackRequest, bound to an SDP m-line by msid (== cid) when the offer
//! arrives, published when the dataplane sees its first RTP, unpublished
//! when a later offer stops sending on its m-line.

use livekit_protocol as proto;

use crate::ids::{track_sid, TrackSidKind};
use crate::sdp::{MediaKind, NegotiatedMedia};

/// Tracks one participant may publish at once.
pub const MAX_TRACKS: usize = 32;

/// One track of a publisher.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PublishedTrack {
    pub cid: String,
    pub info: proto::TrackInfo,
    /// The publisher PC's m-line carrying it, once the offer arrived.
    pub mid: Option<String>,
    /// SSRCs announced in the SDP (empty with rid simulcast).
    pub ssrcs: Vec<u32>,
    /// Payload types negotiated on its m-line.
    pub payload_types: Vec<u8>,
    /// The primary (non-RTX) codec's payload type and fmtp on its m-line.
    pub primary_pt: Option<u8>,
    pub codec_fmtp: Option<String>,
    /// RTX payload types on its m-line (never a forwarding source).
    pub rtx_pts: Vec<u8>,
    /// Media (SSRC, payload type) pairs seen in the SDP or in RTP, in the
    /// order learnt; simulcast layers each add one.
    pub sources: Vec<(u32, u8)>,
    /// Simulcast layer of an SSRC from its rid: `f` 3, `h` 2, `q` 1.
    pub layers: Vec<(u32, u8)>,
    /// Media SSRCs the dataplane reported quiet (`RtpStopped`) and that have
    /// not flowed again since: not a forwarding source while so.
    pub stopped: Vec<u32>,
    /// True once its first RTP arrived: then others are told of it.
    pub published: bool,
}

/// Which simulcast layer a subscriber wants (UpdateTrackSettings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum LayerWant {
    /// The best layer flowing (no size asked for).
    #[default]
    Best,
    /// The smallest layer at least this large, else the best.
    Size { width: u32, height: u32 },
    /// The best layer not above this one (1 `q`, 2 `h`, 3 `f`), else the
    /// lowest flowing: a quality asked for without a size.
    AtMost(u8),
}

/// What happened to a track that others must hear about.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TrackChange {
    Published(proto::TrackInfo),
    Unpublished(proto::TrackInfo),
}

fn sid_kind(req: &proto::AddTrackRequest) -> TrackSidKind {
    let source = proto::TrackSource::try_from(req.source).unwrap_or(proto::TrackSource::Unknown);
    match (req.r#type == proto::TrackType::Audio as i32, source) {
        (true, proto::TrackSource::ScreenShareAudio) => TrackSidKind::ScreenShareAudio,
        (true, _) => TrackSidKind::Microphone,
        (false, proto::TrackSource::ScreenShare) => TrackSidKind::ScreenShare,
        (false, _) => TrackSidKind::Camera,
    }
}

/// The source name used in grants (`canPublishSources`).
pub fn source_grant_name(source: i32) -> &'static str {
    match proto::TrackSource::try_from(source).unwrap_or(proto::TrackSource::Unknown) {
        proto::TrackSource::Camera => "camera",
        proto::TrackSource::Microphone => "microphone",
        proto::TrackSource::ScreenShare => "screen_share",
        proto::TrackSource::ScreenShareAudio => "screen_share_audio",
        _ => "unknown",
    }
}

impl PublishedTrack {
    /// A pending track for an AddTrackRequest, with LiveKit's TrackInfo.
    /// `simulcast` and `layers` are deprecated in the proto but LiveKit still
    /// fills them and older clients read them.
    #[allow(deprecated)]
    pub fn from_request(req: &proto::AddTrackRequest) -> Self {
        let source =
            proto::TrackSource::try_from(req.source).unwrap_or(proto::TrackSource::Unknown);
        let stream = match source {
            proto::TrackSource::ScreenShare | proto::TrackSource::ScreenShareAudio => "screen",
            _ => "camera",
        };
        let layers = req.layers.clone();
        let codecs = if req.simulcast_codecs.is_empty() {
            vec![proto::SimulcastCodecInfo {
                cid: req.cid.clone(),
                layers: layers.clone(),
                ..Default::default()
            }]
        } else {
            req.simulcast_codecs
                .iter()
                .map(|c| proto::SimulcastCodecInfo {
                    mime_type: c.codec.clone(),
                    cid: c.cid.clone(),
                    layers: c.layers.clone(),
                    ..Default::default()
                })
                .collect()
        };
        let info = proto::TrackInfo {
            sid: track_sid(sid_kind(req)),
            r#type: req.r#type,
            name: req.name.clone(),
            muted: req.muted,
            width: req.width,
            height: req.height,
            simulcast: layers.len() > 1,
            source: req.source,
            layers,
            codecs,
            stream: if req.stream.is_empty() {
                stream.to_string()
            } else {
                req.stream.clone()
            },
            disable_red: req.disable_red,
            encryption: req.encryption,
            audio_features: req.audio_features.clone(),
            backup_codec_policy: req.backup_codec_policy,
            ..Default::default()
        };
        Self {
            cid: req.cid.clone(),
            info,
            mid: None,
            ssrcs: Vec::new(),
            payload_types: Vec::new(),
            primary_pt: None,
            codec_fmtp: None,
            rtx_pts: Vec::new(),
            sources: Vec::new(),
            layers: Vec::new(),
            stopped: Vec::new(),
            published: false,
        }
    }

    /// The simulcast layer (`q` 1, `h` 2, `f` 3) of `ssrc`, 0 if unknown.
    pub fn layer_of(&self, ssrc: u32) -> u8 {
        self.layers
            .iter()
            .find(|(s, _)| *s == ssrc)
            .map_or(0, |(_, l)| *l)
    }

    /// The size the publisher announced for a layer (quality LOW/MEDIUM/HIGH
    /// = layer 1/2/3), from its codecs' layers, else the deprecated
    /// `TrackInfo.layers` older clients fill.
    #[allow(deprecated)]
    pub fn layer_size(&self, layer: u8) -> Option<(u32, u32)> {
        let quality = i32::from(layer) - 1;
        self.info
            .codecs
            .iter()
            .flat_map(|c| c.layers.iter())
            .chain(self.info.layers.iter())
            .find(|l| l.quality == quality && l.width > 0 && l.height > 0)
            .map(|l| (l.width, l.height))
    }

    /// Sources that may feed subscribers: the primary codec's, else any
    /// non-RTX one.
    fn candidates(&self) -> Vec<(u32, u8)> {
        let primary: Vec<(u32, u8)> = self
            .sources
            .iter()
            .filter(|(_, pt)| Some(*pt) == self.primary_pt)
            .copied()
            .collect();
        if !primary.is_empty() {
            return primary;
        }
        self.sources
            .iter()
            .find(|(_, pt)| !self.rtx_pts.contains(pt))
            .copied()
            .into_iter()
            .collect()
    }

    /// The source a subscriber wanting `want` should get among those still
    /// flowing: the smallest layer at least as large as the wanted size,
    /// else the best one (livekit-server's default). None when every
    /// source stopped: the caller keeps what it has.
    pub fn active_source(&self, want: LayerWant) -> Option<(u32, u8)> {
        let mut active: Vec<(u32, u8)> = self
            .candidates()
            .into_iter()
            .filter(|(s, _)| !self.stopped.contains(s))
            .collect();
        // Highest layer first; the order learnt breaks ties.
        active.sort_by_key(|(s, _)| std::cmp::Reverse(self.layer_of(*s)));
        let best = active.first().copied();
        let fitting = match want {
            LayerWant::Best => None,
            LayerWant::Size { width, height } => active
                .iter()
                .rev()
                .find(|(s, _)| {
                    self.layer_size(self.layer_of(*s))
                        .is_some_and(|(w, h)| w >= width && h >= height)
                })
                .copied(),
            LayerWant::AtMost(layer) => active
                .iter()
                .find(|(s, _)| self.layer_of(*s) <= layer)
                .or(active.last())
                .copied(),
        };
        fitting.or(best)
    }

    /// Whether `ssrc` is one of its sources and has not stopped.
    pub fn is_flowing(&self, ssrc: u32) -> bool {
        self.sources.iter().any(|(s, _)| *s == ssrc) && !self.stopped.contains(&ssrc)
    }

    /// The media SSRC new subscribers are fed from: the best layer still
    /// flowing, else (every source stopped) the best layer seen.
    pub fn source(&self) -> Option<(u32, u8)> {
        self.active_source(LayerWant::Best).or_else(|| {
            let mut all = self.candidates();
            all.sort_by_key(|(s, _)| std::cmp::Reverse(self.layer_of(*s)));
            all.first().copied()
        })
    }

    /// Records a media SSRC and the payload type it carries; RTX is not a
    /// source. A known SSRC takes the payload type RTP really uses.
    /// Returns whether the list changed.
    pub fn add_source(&mut self, ssrc: u32, pt: u8) -> bool {
        if self.rtx_pts.contains(&pt) {
            return false;
        }
        match self.sources.iter_mut().find(|(s, _)| *s == ssrc) {
            Some(entry) if entry.1 == pt => false,
            Some(entry) => {
                entry.1 = pt;
                true
            }
            None => {
                self.sources.push((ssrc, pt));
                true
            }
        }
    }

    fn kind_matches(&self, kind: &MediaKind) -> bool {
        match kind {
            MediaKind::Audio => self.info.r#type == proto::TrackType::Audio as i32,
            MediaKind::Video => self.info.r#type == proto::TrackType::Video as i32,
            _ => false,
        }
    }
}

/// Binds pending tracks to the m-lines of the publisher's latest offer and
/// unpublishes tracks whose m-line stopped sending.
pub fn apply_offer(
    tracks: &mut Vec<PublishedTrack>,
    media: &[NegotiatedMedia],
) -> Vec<TrackChange> {
    let mut changes = Vec::new();
    for m in media {
        let Some(mid) = m.mid.as_deref() else {
            continue;
        };
        let receiving = m.accepted.then_some(m.receiving.as_ref()).flatten();
        match receiving {
            Some(pm) => {
                if tracks.iter().any(|t| t.mid.as_deref() == Some(mid)) {
                    continue;
                }
                let key = pm.track_key.as_deref().unwrap_or("");
                let idx = tracks
                    .iter()
                    .position(|t| {
                        t.mid.is_none()
                            && (t.cid == key
                                || t.info
                                    .codecs
                                    .iter()
                                    .any(|c| !c.cid.is_empty() && c.cid == key))
                    })
                    .or_else(|| {
                        tracks
                            .iter()
                            .position(|t| t.mid.is_none() && t.kind_matches(&m.kind))
                    });
                let Some(t) = idx.and_then(|i| tracks.get_mut(i)) else {
                    continue;
                };
                t.mid = Some(mid.to_string());
                t.ssrcs = pm
                    .ssrcs
                    .iter()
                    .flat_map(|(s, rtx)| std::iter::once(*s).chain(*rtx))
                    .collect();
                t.payload_types = m.codecs.iter().map(|c| c.payload_type).collect();
                t.rtx_pts = m
                    .codecs
                    .iter()
                    .filter(|c| c.is_rtx())
                    .map(|c| c.payload_type)
                    .collect();
                if let Some(c) = m.codecs.iter().find(|c| !c.is_rtx()) {
                    t.primary_pt = Some(c.payload_type);
                    t.codec_fmtp = c.fmtp.clone();
                    for (ssrc, _) in &pm.ssrcs {
                        t.add_source(*ssrc, c.payload_type);
                    }
                    t.info.mime_type = c.mime_type(&m.kind);
                    if let Some(first) = t.info.codecs.first_mut() {
                        if first.mime_type.is_empty() {
                            first.mime_type = t.info.mime_type.clone();
                        }
                        first.mid = mid.to_string();
                    }
                }
                if t.cid != key && !key.is_empty() {
                    if let Some(first) = t.info.codecs.first_mut() {
                        first.sdp_cid = key.to_string();
                    }
                }
            }
            None => {
                // The m-line no longer sends: its track is unpublished.
                if let Some(i) = tracks.iter().position(|t| t.mid.as_deref() == Some(mid)) {
                    let t = tracks.remove(i);
                    if t.published {
                        changes.push(TrackChange::Unpublished(t.info));
                    }
                }
            }
        }
    }
    changes
}

/// The dataplane saw the first RTP of `ssrc` with `pt` (or its first after
/// `RtpStopped`): the track it belongs to (by announced SSRC, else by
/// payload type on a bound m-line) becomes published, and the SSRC counts as
/// flowing.
pub fn on_rtp_started(tracks: &mut [PublishedTrack], ssrc: u32, pt: u8) -> Option<TrackChange> {
    let idx = tracks
        .iter()
        .position(|t| t.ssrcs.contains(&ssrc))
        .or_else(|| {
            tracks
                .iter()
                .position(|t| !t.published && t.mid.is_some() && t.payload_types.contains(&pt))
        })
        .or_else(|| {
            // Another simulcast layer of a published track: only when the
            // payload type names exactly one track.
            let mut carrying = tracks.iter().enumerate().filter(|(_, t)| {
                t.mid.is_some() && t.payload_types.contains(&pt) && !t.rtx_pts.contains(&pt)
            });
            let first = carrying.next().map(|(i, _)| i);
            first.filter(|_| carrying.next().is_none())
        })?;
    let t = tracks.get_mut(idx)?;
    if !t.ssrcs.contains(&ssrc) {
        t.ssrcs.push(ssrc);
    }
    // Flowing again after `RtpStopped`.
    t.stopped.retain(|s| *s != ssrc);
    t.add_source(ssrc, pt);
    if t.published {
        return None;
    }
    t.published = true;
    Some(TrackChange::Published(t.info.clone()))
}

/// The dataplane read simulcast rid `rid` on `ssrc` (a media SSRC, not RTX):
/// the track carrying it remembers its layer, so `active_source()` can
/// choose among layers. Call after `on_rtp_started`, which binds a new SSRC
/// to its track.
pub fn note_layer(tracks: &mut [PublishedTrack], ssrc: u32, rid: &str) {
    let rank = match rid {
        "f" => 3,
        "h" => 2,
        "q" => 1,
        _ => return,
    };
    let Some(t) = tracks.iter_mut().find(|t| t.ssrcs.contains(&ssrc)) else {
        return;
    };
    match t.layers.iter_mut().find(|(s, _)| *s == ssrc) {
        Some(entry) => entry.1 = rank,
        None => t.layers.push((ssrc, rank)),
    }
}

/// The dataplane reports `ssrc` quiet: it stops being a source until it
/// flows again. Returns the sid of the track carrying it.
pub fn on_rtp_stopped(tracks: &mut [PublishedTrack], ssrc: u32) -> Option<String> {
    let t = tracks.iter_mut().find(|t| t.ssrcs.contains(&ssrc))?;
    if !t.stopped.contains(&ssrc) {
        t.stopped.push(ssrc);
    }
    Some(t.info.sid.clone())
}

/// The track that carries `ssrc`, once known.
pub fn track_of_ssrc(tracks: &[PublishedTrack], ssrc: u32) -> Option<&PublishedTrack> {
    tracks.iter().find(|t| t.ssrcs.contains(&ssrc))
}
