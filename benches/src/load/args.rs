//! Command-line options, named after `lk load-test` where it has one.

use std::time::Duration;

use clap::Parser;

/// Joins a LiveKit-compatible server with audio and/or video publishers
/// and subscribers and reports delivery, loss, duplicates, one-way latency and (with
/// --server-pid) the server's CPU per forwarded packet.
#[derive(Debug, Clone, Parser)]
#[command(name = "ringcast-load", version)]
pub struct Args {
    /// Server URL (ws://, wss://, http:// or https://).
    #[arg(long, default_value = "ws://127.0.0.1:7880", env = "LIVEKIT_URL")]
    pub url: String,
    /// API key.
    #[arg(long, default_value = "devkey", env = "LIVEKIT_API_KEY")]
    pub api_key: String,
    /// API secret.
    #[arg(long, default_value = "secret", env = "LIVEKIT_API_SECRET")]
    pub api_secret: String,
    /// Room name (with --rooms > 1, the prefix: `<room>-<n>`).
    #[arg(long, default_value = "load-test")]
    pub room: String,
    /// Number of rooms.
    #[arg(long, default_value_t = 1)]
    pub rooms: usize,
    /// Audio publishers per room (default 1, or 0 when video publishers
    /// are asked for).
    #[arg(long = "audio-publishers", alias = "publishers")]
    pub audio_publishers: Option<usize>,
    /// Video publishers per room: VP8-shaped RTP at --video-bitrate, 30
    /// frames a second, each frame's packets (at most 1200-byte payloads)
    /// sent together; keyframes first and on every PLI/FIR.
    #[arg(long, default_value_t = 0)]
    pub video_publishers: usize,
    /// Video bitrate per publisher (the top layer with --simulcast), e.g.
    /// `1.5M`, `500k`, `800000`.
    #[arg(long, default_value = "1.5M", value_parser = parse_bitrate)]
    pub video_bitrate: u64,
    /// Video publishers send simulcast: `q`, `h` and `f` layers at 1/10,
    /// 1/3 and all of --video-bitrate on three SSRCs with the rid header
    /// extension (as the SDKs); subscribers get the layer the server picks.
    #[arg(long)]
    pub simulcast: bool,
    /// Every publisher also subscribes to the rest of its room (a meeting:
    /// with --video-publishers N --subscribers 0, N×N video).
    #[arg(long)]
    pub meeting: bool,
    /// Subscribers per room (besides publishers that subscribe with
    /// --meeting).
    #[arg(long, default_value_t = 10)]
    pub subscribers: usize,
    /// Measured window, e.g. `10s`, `500ms`, `2m`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Participants joined per second while ramping up.
    #[arg(long, default_value_t = 50.0)]
    pub join_rate: f64,
    /// RTP payload bytes per 20 ms packet (Opus-sized).
    #[arg(long, default_value_t = 100)]
    pub payload_bytes: usize,
    /// How long to wait for joins and for every subscriber to hear every
    /// publisher before measuring anyway.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub warmup_timeout: Duration,
    /// After the window closes, how long packets sent inside it may still
    /// arrive.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub drain: Duration,
    /// The server's pid: report its CPU seconds over the window.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// With --server-pid: how long to sample the server's idle CPU before
    /// joining (0 to skip); /proc counts in 10 ms ticks, so give it seconds.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub idle_sample: Duration,
    /// Receive m-lines a subscriber offers before it is asked for more
    /// (`MediaSectionsRequirement`); default: one per publisher of the room.
    #[arg(long)]
    pub initial_recv_slots: Option<usize>,
    /// The `a=setup` of our offers: `actpass` (as the SDKs; the server
    /// answers `active` and is the DTLS client) or `active` (we are).
    #[arg(long, value_enum, default_value_t = super::sdp::OfferSetup::Actpass)]
    pub setup: super::sdp::OfferSetup,
    /// Tokio worker threads (1 = a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Print the summary as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    /// Audio publishers per room.
    #[must_use]
    pub fn audio_publishers(&self) -> usize {
        self.audio_publishers
            .unwrap_or(if self.video_publishers > 0 { 0 } else { 1 })
    }

    /// Publishers (audio and video) per room.
    #[must_use]
    pub fn publishers(&self) -> usize {
        self.audio_publishers() + self.video_publishers
    }
}

/// `1.5M`, `500k`, `800000` (bits per second; `k` and `M` are 10^3, 10^6).
pub fn parse_bitrate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix(['M', 'm']) {
        (n, 1e6)
    } else if let Some(n) = t.strip_suffix(['k', 'K']) {
        (n, 1e3)
    } else {
        (t, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("bad bitrate {s:?}"))?;
    let bps = v * scale;
    if !(bps.is_finite() && (8_000.0..=100e6).contains(&bps)) {
        return Err(format!("bitrate {s:?} out of range (8k..100M)"));
    }
    Ok(bps as u64)
}

/// `10s`, `250ms`, `2m`, `1.5s` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("bad duration {s:?}"))?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(format!("bad duration {s:?}"));
    }
    Ok(Duration::from_secs_f64(v * scale))
}
