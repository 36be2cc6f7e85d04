//! One simulated participant as one tokio task: signaling, then ICE, DTLS
//! and SRTP on its own UDP socket; an audio publisher sends a stamped
//! Opus-sized packet every 20 ms, a video publisher a VP8-shaped frame of
//! stamped packets 30 times a second (on one SSRC, or on three with
//! simulcast), a subscriber records what it receives. With `--meeting` a
//! publisher also subscribes.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use livekit_protocol as proto;
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use rand::distr::{Alphanumeric, SampleString};
use ringcast_dataplane::dtls::DtlsCertificate;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::payload::{
    monotonic_ns, stamp_of_media, write_rtp, write_vp8_rtp, Stamp, VideoPattern, Vp8Part,
    OPUS_TICKS_PER_FRAME, RTP_HEADER_LEN, VIDEO_CLOCK_HZ, VIDEO_FPS, VIDEO_MTU_PAYLOAD, VP8_PT,
};
use super::peer::{MediaPeer, PeerCounters, PeerState, Received, RemoteIce};
use super::sdp::{self, LocalTransport, Section, MID_EXT_ID, OPUS_PT, RID_EXT_ID};
use super::signal::{self, SignalError};
use super::stats::{stream_id, SubscriberStats, Window};
use super::token::{join_token, Grant};

/// Opus frames are 20 ms.
const FRAME: Duration = Duration::from_millis(20);
/// Room for the SRTP tag (and AEAD's) after the packet.
const TAG_ROOM: usize = 16;
/// Receive buffer of each participant's socket: a second of 1.5 Mbit/s
/// video per publisher heard, with room to spare.
const RCVBUF_BYTES: usize = 1 << 20;
/// Room for a header-extension block (mid and rid).
const EXT_ROOM: usize = 16;
/// Datagrams read per wake-up before going back to the other sources.
const RECV_BATCH: usize = 64;

/// The kind of track a publisher sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    Audio,
    Video,
}

/// What a participant does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Publishes one track; `index` is its global publisher index. With
    /// `subscribes` it also receives everyone else in its room (meeting).
    Publisher {
        index: u32,
        kind: TrackKind,
        subscribes: bool,
    },
    /// Subscribes to everything in its room.
    Subscriber,
}

impl Role {
    /// Whether this participant receives (and is judged on) media.
    #[must_use]
    pub fn receives(&self) -> bool {
        match self {
            Role::Publisher { subscribes, .. } => *subscribes,
            Role::Subscriber => true,
        }
    }
}

/// One video layer a video publisher sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoLayer {
    /// 0 for a single stream, 1 `q`, 2 `h`, 3 `f` with simulcast.
    pub layer: u8,
    pub pattern: VideoPattern,
}

impl VideoLayer {
    /// The layers for `bitrate` (the top layer's): one stream, or `q`, `h`
    /// and `f` at a tenth, a third and all of it.
    #[must_use]
    pub fn for_bitrate(bitrate: u64, simulcast: bool) -> Vec<VideoLayer> {
        if simulcast {
            [(1, bitrate / 10), (2, bitrate / 3), (3, bitrate)]
                .into_iter()
                .map(|(layer, b)| VideoLayer {
                    layer,
                    pattern: VideoPattern::for_bitrate(b),
                })
                .collect()
        } else {
            vec![VideoLayer {
                layer: 0,
                pattern: VideoPattern::for_bitrate(bitrate),
            }]
        }
    }

    fn rid(&self) -> &'static str {
        match self.layer {
            1 => "q",
            2 => "h",
            _ => "f",
        }
    }
}

/// One participant to simulate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub room_index: usize,
    pub room: String,
    pub identity: String,
    pub role: Role,
}

/// Settings and shared state every participant task sees.
pub struct Shared {
    pub url: String,
    pub api_key: String,
    pub api_secret: String,
    /// RTP payload bytes per packet (the stamp included).
    pub payload_bytes: usize,
    /// Publishers per room: a subscriber is ready once it heard them all
    /// (a meeting publisher: all but itself).
    pub publishers_per_room: usize,
    /// Receive m-lines (audio, video) in a receiver's first offer.
    pub initial_recv_slots: (usize, usize),
    /// What a video publisher sends (one layer, or three with simulcast).
    pub video_layers: Vec<VideoLayer>,
    /// Gives up a join that has not connected media by then.
    pub connect_timeout: Duration,
    /// One certificate for everyone: generating thousands would dominate
    /// the ramp, and the server treats each fingerprint independently anyway.
    pub cert: DtlsCertificate,
    pub window: Window,
    /// The `a=setup` our offers carry (decides the DTLS roles).
    pub offer_setup: sdp::OfferSetup,
    /// Media connected (SRTP keys in place).
    pub connected: AtomicUsize,
    /// Subscribers that received from every publisher of their room.
    pub ready: AtomicUsize,
    /// Tasks that ended with an error.
    pub failed: AtomicUsize,
}

/// What a participant task reports when it ends.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub spec: Spec,
    pub connected: bool,
    /// Join to SRTP keys.
    pub connect_time: Option<Duration>,
    pub error: Option<String>,
    /// Publisher: packets sent in all, and inside the window.
    pub sent: u64,
    pub sent_in_window: u64,
    /// Publisher: packets sent inside the window per stream id.
    pub sent_by_stream: Vec<(u32, u64)>,
    /// Subscriber: what arrived.
    pub stats: SubscriberStats,
    pub peer: PeerCounters,
    /// Signaling connections lost and resumed (a control-plane restart).
    pub resumes: u32,
}

/// Why a participant stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ParticipantError {
    #[error("token: {0}")]
    Token(#[from] super::token::TokenError),
    #[error("signal: {0}")]
    Signal(#[from] SignalError),
    #[error("answer: {0}")]
    Answer(#[from] sdp::AnswerError),
    #[error("udp: {0}")]
    Io(#[from] std::io::Error),
    #[error("media transport failed in state {0:?}")]
    Media(PeerState),
    #[error("not connected after {0:?}")]
    Timeout(Duration),
    #[error("the answer lists no candidate we can reach")]
    NoCandidate,
}

/// Runs one participant until `stop` turns true (or it fails).
pub async fn run(shared: Arc<Shared>, spec: Spec, stop: watch::Receiver<bool>) -> Outcome {
    let mut out = Outcome {
        spec: spec.clone(),
        connected: false,
        connect_time: None,
        error: None,
        sent: 0,
        sent_in_window: 0,
        sent_by_stream: Vec::new(),
        stats: SubscriberStats::default(),
        peer: PeerCounters::default(),
        resumes: 0,
    };
    if let Err(e) = drive(&shared, &spec, stop, &mut out).await {
        tracing::warn!(identity = %spec.identity, error = %e, "participant failed");
        shared.failed.fetch_add(1, Ordering::Relaxed);
        out.error = Some(e.to_string());
    }
    out
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Signaling plus media state of one participant.
struct Session {
    local: LocalTransport,
    sections: Vec<Section>,
    offer_id: u32,
    session_id: u64,
    /// The answer's transport, until a candidate is known.
    remote: Option<sdp::RemoteTransport>,
    socket: Option<UdpSocket>,
    peer: Option<MediaPeer>,
}

impl Session {
    fn offer(&mut self) -> Req {
        self.offer_id += 1;
        Req::Offer(proto::SessionDescription {
            r#type: "offer".into(),
            sdp: sdp::offer(
                &self.local,
                &self.sections,
                self.session_id,
                u64::from(self.offer_id),
            ),
            id: self.offer_id,
            ..Default::default()
        })
    }

    /// Binds a socket towards `to` and starts ICE.
    async fn start_media(&mut self, to: SocketAddr, cert: &DtlsCertificate) -> std::io::Result<()> {
        let Some(remote) = self.remote.as_ref() else {
            return Ok(());
        };
        // Loopback to loopback when the server is local; any address
        // otherwise. The kernel picks the port.
        let bind = match to.ip() {
            ip if ip.is_loopback() => SocketAddr::new(ip, 0),
            std::net::IpAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
            std::net::IpAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
        };
        let socket = UdpSocket::bind(bind).await?;
        super::cpu::set_rcvbuf(std::os::fd::AsRawFd::as_raw_fd(&socket), RCVBUF_BYTES);
        socket.connect(to).await?;
        let ice = RemoteIce {
            ufrag: remote.ice_ufrag.clone(),
            pwd: remote.ice_pwd.clone(),
            fingerprint: remote.fingerprint,
        };
        self.peer = Some(MediaPeer::new(
            &self.local.ice_ufrag,
            &ice,
            remote.our_role,
            cert.clone(),
            Instant::now(),
        ));
        self.socket = Some(socket);
        Ok(())
    }

    /// Sends what the peer queued.
    async fn flush(&mut self) -> std::io::Result<()> {
        let (Some(peer), Some(socket)) = (self.peer.as_mut(), self.socket.as_ref()) else {
            return Ok(());
        };
        while let Some(p) = peer.poll_transmit() {
            socket.send(&p).await?;
        }
        Ok(())
    }
}

/// Loopback first (we measure on one host), then IPv4, then the rest.
fn pick_candidate(cands: &[SocketAddr]) -> Option<SocketAddr> {
    let mut c = cands.to_vec();
    c.sort_by_key(|a| (!a.ip().is_loopback(), !a.is_ipv4()));
    c.first().copied()
}

async fn recv_on(socket: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<usize> {
    match socket {
        Some(s) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn send(ws: &mut Option<Ws>, msg: Req) -> Result<(), SignalError> {
    match ws.as_mut() {
        Some(ws) => ws.send(signal::frame(msg)).await.map_err(SignalError::from),
        // Signaling is down and resuming: media goes on, the message is dropped.
        None => Ok(()),
    }
}

/// The next signaling message, or never while the connection is down.
async fn next_signal(
    ws: &mut Option<Ws>,
) -> Option<Result<tokio_tungstenite::tungstenite::Message, tokio_tungstenite::tungstenite::Error>>
{
    match ws.as_mut() {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

/// How long a participant keeps trying to resume a lost signaling
/// connection (the SDKs try for about as long).
const RESUME_FOR: Duration = Duration::from_secs(20);

/// Reconnects the signaling WebSocket as a resume (`reconnect=true`, our
/// sid) until the server answers with a ReconnectResponse, as the SDKs do
/// when a control plane restarts; media keeps flowing meanwhile.
async fn resume_signal(url: String, connect_timeout: Duration) -> Result<Ws, SignalError> {
    let deadline = tokio::time::Instant::now() + RESUME_FOR;
    loop {
        let attempt = async {
            let (mut ws, _) = tokio::time::timeout(
                connect_timeout,
                tokio_tungstenite::connect_async(url.as_str()),
            )
            .await
            .map_err(|_| SignalError::NoJoin)??;
            loop {
                let msg = tokio::time::timeout(connect_timeout, ws.next())
                    .await
                    .map_err(|_| SignalError::NoJoin)?
                    .ok_or(SignalError::Closed)??;
                match signal::decode(&msg) {
                    Some(Resp::Reconnect(_)) => return Ok(ws),
                    Some(Resp::Leave(l)) => return Err(SignalError::Leave(l.reason)),
                    _ => continue,
                }
            }
        };
        match attempt.await {
            Ok(ws) => return Ok(ws),
            Err(e @ SignalError::Leave(_)) => return Err(e),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn drive(
    shared: &Shared,
    spec: &Spec,
    mut stop: watch::Receiver<bool>,
    out: &mut Outcome,
) -> Result<(), ParticipantError> {
    let started = Instant::now();
    let publishing = match spec.role {
        Role::Publisher { index, kind, .. } => Some((index, kind)),
        Role::Subscriber => None,
    };
    let receives = spec.role.receives();
    let token = join_token(
        &shared.api_key,
        &shared.api_secret,
        &spec.room,
        &spec.identity,
        Grant {
            publish: publishing.is_some(),
            subscribe: receives,
        },
        Duration::from_secs(6 * 3600),
    )?;
    let url = signal::join_url(&shared.url, &token, &signal::join_request(receives))?;
    let (ws, _) = tokio::time::timeout(
        shared.connect_timeout,
        tokio_tungstenite::connect_async(url),
    )
    .await
    .map_err(|_| ParticipantError::Timeout(shared.connect_timeout))?
    .map_err(SignalError::from)?;

    let mut ws = Some(ws);
    // LIVEKIT_PROTOCOL.md fact 4: the JoinResponse comes first.
    let join = loop {
        let msg = tokio::time::timeout(shared.connect_timeout, next_signal(&mut ws))
            .await
            .map_err(|_| SignalError::NoJoin)?
            .ok_or(SignalError::Closed)?
            .map_err(SignalError::from)?;
        match signal::decode(&msg) {
            Some(Resp::Join(j)) => break j,
            Some(Resp::Leave(l)) => return Err(SignalError::Leave(l.reason).into()),
            _ => continue,
        }
    };
    let ping_every = Duration::from_secs(u64::from(join.ping_interval.max(1) as u32));
    let resume_url = {
        let mut req = signal::join_request(receives);
        req.reconnect = true;
        req.participant_sid = join
            .participant
            .as_ref()
            .map(|p| p.sid.clone())
            .unwrap_or_default();
        signal::join_url(&shared.url, &token, &req)?
    };
    let mut resuming: Option<tokio::task::JoinHandle<Result<Ws, SignalError>>> = None;

    // ThreadRng is not Send: it must not live across an await.
    let (ice_ufrag, ice_pwd) = {
        let mut rng = rand::rng();
        (
            Alphanumeric.sample_string(&mut rng, 8),
            Alphanumeric.sample_string(&mut rng, 24),
        )
    };
    let mut s = Session {
        local: LocalTransport {
            ice_ufrag,
            ice_pwd,
            fingerprint: shared.cert.sdp_fingerprint(),
            setup: shared.offer_setup,
        },
        sections: Vec::new(),
        offer_id: 0,
        session_id: rand::random::<u64>() >> 2,
        remote: None,
        socket: None,
        peer: None,
    };
    let ssrc: u32 = rand::random::<u32>() | 1;
    let kind = publishing.map(|(_, k)| k);
    let cid = match kind {
        Some(TrackKind::Video) => format!("load-video-{}", spec.identity),
        _ => format!("load-audio-{}", spec.identity),
    };
    let simulcast = shared.video_layers.len() > 1;
    // Receive m-lines up front (by default one per publisher of the room);
    // the server asks for more with MediaSectionsRequirement if needed.
    let recv_sections = || {
        let (a, v) = shared.initial_recv_slots;
        let mut r = vec![Section::RecvAudio; a];
        r.extend(std::iter::repeat_n(Section::RecvVideo, v));
        if r.is_empty() {
            // An offer needs at least one m-line to carry the transport.
            r.push(Section::RecvAudio);
        }
        r
    };
    match kind {
        Some(TrackKind::Audio) => {
            send(
                &mut ws,
                Req::AddTrack(proto::AddTrackRequest {
                    cid: cid.clone(),
                    name: "load-audio".into(),
                    r#type: proto::TrackType::Audio as i32,
                    source: proto::TrackSource::Microphone as i32,
                    ..Default::default()
                }),
            )
            .await?;
        }
        Some(TrackKind::Video) => {
            send(
                &mut ws,
                Req::AddTrack(video_track_request(&cid, &shared.video_layers)),
            )
            .await?;
        }
        None => {
            s.sections = recv_sections();
            let offer = s.offer();
            send(&mut ws, offer).await?;
        }
    }
    // A video publisher's layers: SSRC, stream id, sequence numbers, and
    // whether the next frame must be a keyframe (the first, and after a
    // PLI/FIR for that SSRC).
    let mut layers: Vec<LayerTx> = match publishing {
        Some((index, TrackKind::Video)) => shared
            .video_layers
            .iter()
            .enumerate()
            .map(|(i, l)| LayerTx {
                ssrc: if i == 0 {
                    ssrc
                } else {
                    rand::random::<u32>() | 1
                },
                stream: stream_id(index, l.layer),
                rid: l.rid(),
                pattern: l.pattern,
                rtp_seq: rand::random(),
                seq: 0,
                keyframe: true,
                sent_in_window: 0,
            })
            .collect(),
        _ => Vec::new(),
    };

    let mut ping = tokio::time::interval(ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let frame_period = match kind {
        Some(TrackKind::Video) => Duration::from_secs(1) / VIDEO_FPS,
        _ => FRAME,
    };
    let mut frames = tokio::time::interval(frame_period);
    frames.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let connect_deadline = tokio::time::Instant::now() + shared.connect_timeout;
    let mut buf = vec![0u8; 2048];
    let mut pkt =
        vec![
            0u8;
            RTP_HEADER_LEN + EXT_ROOM + shared.payload_bytes.max(VIDEO_MTU_PAYLOAD) + TAG_ROOM
        ];
    let mut rtp_seq: u16 = rand::random();
    let mut rtp_ts: u32 = rand::random();
    let mut seq: u32 = 0;
    let mut ready = false;
    let far = tokio::time::Instant::now() + Duration::from_secs(365 * 86400);

    loop {
        let connected = s.peer.as_ref().is_some_and(MediaPeer::is_connected);
        let timer = s
            .peer
            .as_ref()
            .and_then(MediaPeer::poll_timeout)
            .map_or(far, tokio::time::Instant::from_std);
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            resumed = async { resuming.as_mut().expect("guarded").await }, if resuming.is_some() => {
                resuming = None;
                match resumed {
                    Ok(Ok(new_ws)) => {
                        ws = Some(new_ws);
                        out.resumes += 1;
                    }
                    Ok(Err(e)) => return Err(e.into()),
                    Err(_) => return Err(SignalError::Closed.into()),
                }
            }
            msg = next_signal(&mut ws) => {
                let msg = match msg {
                    Some(Ok(m)) => m,
                    _ => {
                        // The signaling connection dropped (a control-plane
                        // restart): keep the media going and resume.
                        ws = None;
                        resuming = Some(tokio::spawn(resume_signal(
                            resume_url.clone(),
                            shared.connect_timeout,
                        )));
                        continue;
                    }
                };
                let Some(resp) = signal::decode(&msg) else { continue };
                match resp {
                    Resp::TrackPublished(tp) if tp.cid == cid && s.sections.is_empty() => {
                        s.sections.push(match kind {
                            Some(TrackKind::Video) => Section::SendVideo {
                                ssrc,
                                cid: cid.clone(),
                                simulcast,
                            },
                            _ => Section::SendAudio { ssrc, cid: cid.clone() },
                        });
                        if receives {
                            s.sections.extend(recv_sections());
                        }
                        let offer = s.offer();
                        send(&mut ws, offer).await?;
                    }
                    // Renegotiations keep the transport: only the first
                    // answer (and its candidates) starts media.
                    Resp::Answer(a) if s.peer.is_none() => {
                        let remote = sdp::parse_answer(&a.sdp, s.local.setup)?;
                        let cand = pick_candidate(&remote.candidates);
                        s.remote = Some(remote);
                        if let Some(to) = cand {
                            s.start_media(to, &shared.cert).await?;
                        }
                    }
                    Resp::Trickle(t) if s.peer.is_none() && s.remote.is_some() => {
                        if let Some(to) = sdp::parse_candidate_init(&t.candidate_init) {
                            s.start_media(to, &shared.cert).await?;
                        }
                    }
                    Resp::MediaSectionsRequirement(m) => {
                        for _ in 0..m.num_audios {
                            s.sections.push(Section::RecvAudio);
                        }
                        for _ in 0..m.num_videos {
                            s.sections.push(Section::RecvVideo);
                        }
                        let offer = s.offer();
                        send(&mut ws, offer).await?;
                    }
                    Resp::Leave(l) => return Err(SignalError::Leave(l.reason).into()),
                    Resp::RequestResponse(r)
                        if r.reason != proto::request_response::Reason::Ok as i32 =>
                    {
                        return Err(SignalError::Refused(r.message).into());
                    }
                    _ => {}
                }
            }
            got = recv_on(s.socket.as_ref(), &mut buf) => {
                let mut n = got?;
                let mut batch = 0;
                loop {
                    let now = Instant::now();
                    let recv_ns = monotonic_ns();
                    if let Some(peer) = s.peer.as_mut() {
                        match peer.handle_datagram(now, &mut buf[..n]) {
                            Received::Rtp(len) => match stamp_of_media(&buf[..len], VP8_PT) {
                                Some(stamp) => out.stats.record(stamp, recv_ns, &shared.window),
                                None => out.stats.unstamped += 1,
                            },
                            Received::SrtpError => out.stats.srtp_errors += 1,
                            Received::Other => {}
                        }
                    }
                    batch += 1;
                    if batch >= RECV_BATCH {
                        break;
                    }
                    match s.socket.as_ref().map(|sock| sock.try_recv(&mut buf)) {
                        Some(Ok(m)) => n = m,
                        _ => break,
                    }
                }
            }
            _ = tokio::time::sleep_until(timer) => {
                if let Some(peer) = s.peer.as_mut() {
                    peer.handle_timeout(Instant::now());
                }
            }
            _ = frames.tick(), if kind.is_some() && connected => {
              if kind == Some(TrackKind::Video) {
                if let (Some(peer), Some(socket)) = (s.peer.as_mut(), s.socket.as_ref()) {
                    for r in peer.take_keyframe_requests() {
                        if let Some(l) = layers.iter_mut().find(|l| l.ssrc == r) {
                            l.keyframe = true;
                        }
                    }
                    for l in layers.iter_mut() {
                        let keyframe = std::mem::take(&mut l.keyframe);
                        let n = l.pattern.packets_per_frame;
                        for k in 0..n {
                            let sent_ns = monotonic_ns();
                            let stamp = Stamp { seq: l.seq, sent_ns, publisher: l.stream };
                            let part = Vp8Part { first: k == 0, keyframe, last: k + 1 == n };
                            let rid = l.rid.as_bytes();
                            let mid = b"0";
                            let ext: &[(u8, &[u8])] = if simulcast {
                                &[(MID_EXT_ID, mid), (RID_EXT_ID, rid)]
                            } else {
                                &[]
                            };
                            if let Some(len) = write_vp8_rtp(&mut pkt, l.rtp_seq, rtp_ts, l.ssrc, ext, part, &stamp, l.pattern.payload_bytes) {
                                if let Ok(n) = peer.protect_rtp(&mut pkt, len) {
                                    socket.send(&pkt[..n]).await?;
                                    out.sent += 1;
                                    if shared.window.contains(sent_ns) {
                                        out.sent_in_window += 1;
                                        l.sent_in_window += 1;
                                    }
                                }
                            }
                            l.seq = l.seq.wrapping_add(1);
                            l.rtp_seq = l.rtp_seq.wrapping_add(1);
                        }
                    }
                }
                rtp_ts = rtp_ts.wrapping_add(VIDEO_CLOCK_HZ / VIDEO_FPS);
              } else {
                let sent_ns = monotonic_ns();
                let index = publishing.map_or(0, |(i, _)| i);
                let stamp = Stamp { seq, sent_ns, publisher: stream_id(index, 0) };
                if let (Some(peer), Some(socket)) = (s.peer.as_mut(), s.socket.as_ref()) {
                    if let Some(len) = write_rtp(&mut pkt, OPUS_PT, rtp_seq, rtp_ts, ssrc, &stamp, shared.payload_bytes) {
                        if let Ok(n) = peer.protect_rtp(&mut pkt, len) {
                            socket.send(&pkt[..n]).await?;
                            out.sent += 1;
                            if shared.window.contains(sent_ns) {
                                out.sent_in_window += 1;
                            }
                        }
                    }
                }
                seq = seq.wrapping_add(1);
                rtp_seq = rtp_seq.wrapping_add(1);
                rtp_ts = rtp_ts.wrapping_add(OPUS_TICKS_PER_FRAME);
              }
            }
            _ = ping.tick() => {
                let ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0);
                send(&mut ws, Req::Ping(ms)).await?;
            }
            _ = tokio::time::sleep_until(connect_deadline), if !out.connected => {
                return Err(ParticipantError::Timeout(shared.connect_timeout));
            }
        }
        s.flush().await?;
        if let Some(peer) = s.peer.as_ref() {
            out.peer = peer.counters;
            match peer.state() {
                PeerState::Failed => return Err(ParticipantError::Media(PeerState::Failed)),
                PeerState::Connected if !out.connected => {
                    out.connected = true;
                    out.connect_time = Some(started.elapsed());
                    shared.connected.fetch_add(1, Ordering::Relaxed);
                    // Frames start now: without this the interval, created
                    // at join, would catch up on the ticks missed so far
                    // in one burst.
                    frames.reset_immediately();
                }
                _ => {}
            }
        }
        let to_hear = shared.publishers_per_room
            - usize::from(publishing.is_some()).min(shared.publishers_per_room);
        if receives && !ready && out.stats.publishers_heard() >= to_hear {
            ready = true;
            shared.ready.fetch_add(1, Ordering::Relaxed);
        }
    }
    out.sent_by_stream = match publishing {
        Some((index, TrackKind::Audio)) => vec![(stream_id(index, 0), out.sent_in_window)],
        _ => layers
            .iter()
            .map(|l| (l.stream, l.sent_in_window))
            .collect(),
    };
    if s.remote.is_some() && s.peer.is_none() {
        return Err(ParticipantError::NoCandidate);
    }
    // A polite goodbye; the server would notice the close anyway.
    let _ = send(
        &mut ws,
        Req::Leave(proto::LeaveRequest {
            reason: proto::DisconnectReason::ClientInitiated as i32,
            ..Default::default()
        }),
    )
    .await;
    if let Some(h) = resuming.take() {
        h.abort();
    }
    if let Some(ws) = ws.as_mut() {
        let _ = ws.close(None).await;
    }
    Ok(())
}

/// One video layer's sending state.
struct LayerTx {
    ssrc: u32,
    stream: u32,
    rid: &'static str,
    pattern: VideoPattern,
    rtp_seq: u16,
    seq: u32,
    /// The next frame must be a keyframe.
    keyframe: bool,
    sent_in_window: u64,
}

/// The AddTrackRequest of a camera track, as livekit-client sends it: 720p,
/// and with simulcast one `VideoLayer` per layer (quality from the rid,
/// `ssrc` 0: the server learns SSRCs from the rid extension), lowest first.
fn video_track_request(cid: &str, layers: &[VideoLayer]) -> proto::AddTrackRequest {
    let simulcast = layers.len() > 1;
    let video_layers = layers
        .iter()
        .map(|l| {
            let (quality, w, h) = match l.layer {
                1 => (proto::VideoQuality::Low, 320, 180),
                2 => (proto::VideoQuality::Medium, 640, 360),
                _ => (proto::VideoQuality::High, 1280, 720),
            };
            proto::VideoLayer {
                quality: quality as i32,
                width: w,
                height: h,
                bitrate: l.pattern.packets_per_second() * l.pattern.payload_bytes as u32 * 8,
                ssrc: 0,
                ..Default::default()
            }
        })
        .collect();
    proto::AddTrackRequest {
        cid: cid.to_string(),
        name: "load-video".into(),
        r#type: proto::TrackType::Video as i32,
        source: proto::TrackSource::Camera as i32,
        width: 1280,
        height: 720,
        layers: video_layers,
        simulcast_codecs: if simulcast {
            vec![proto::SimulcastCodec {
                codec: "vp8".into(),
                cid: cid.to_string(),
                ..Default::default()
            }]
        } else {
            Vec::new()
        },
        ..Default::default()
    }
}
