use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole server configuration, with livekit-server's YAML key names.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    /// HTTP/WebSocket port (signaling, twirp). livekit-server default 7880.
    pub port: u16,
    /// Addresses to bind HTTP and media to. Empty means all interfaces
    /// (in `--dev`, loopback only).
    pub bind_addresses: Vec<String>,
    pub development: bool,
    pub region: String,
    /// API key -> secret.
    pub keys: BTreeMap<String, String>,
    pub key_file: Option<String>,
    pub rtc: RtcConfig,
    pub room: RoomConfig,
    pub webhook: WebhookConfig,
    pub logging: LoggingConfig,
    pub prometheus_port: Option<u16>,
    pub redis: RedisConfig,
    pub limit: LimitConfig,
    /// Ringcast's own dataplane settings (not a livekit-server key).
    pub dataplane: DataplaneSection,
    /// The embedded TURN server (`turn:`). Parsed so livekit configs load;
    /// Ringcast does not run a TURN server yet.
    pub turn: TurnConfig,
    /// Whether participants may publish data tracks (livekit default true).
    pub enable_data_tracks: bool,
    /// Deprecated top-level `log_level`; copied into `logging.level`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub log_level: String,
    /// `environment` label; `--dev` sets it to `dev`.
    pub environment: String,
    /// Speaker detection settings (`audio:`).
    pub audio: AudioConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            port: 7880,
            bind_addresses: Vec::new(),
            development: false,
            region: String::new(),
            keys: BTreeMap::new(),
            key_file: None,
            rtc: RtcConfig::default(),
            room: RoomConfig::default(),
            webhook: WebhookConfig::default(),
            logging: LoggingConfig::default(),
            prometheus_port: None,
            redis: RedisConfig::default(),
            limit: LimitConfig::default(),
            dataplane: DataplaneSection::default(),
            turn: TurnConfig::default(),
            enable_data_tracks: true,
            log_level: String::new(),
            environment: String::new(),
            audio: AudioConfig::default(),
        }
    }
}

impl Config {
    /// The HTTP/WebSocket port (signaling and Twirp).
    pub fn http_port(&self) -> u16 {
        self.port
    }

    /// The one UDP port the dataplane muxes all media on: `rtc.udp_port`
    /// (the first port of a range), else the first port of
    /// `rtc.port_range_start..end`. Ringcast never allocates a port per
    /// peer, so a range only contributes its first port.
    pub fn udp_port(&self) -> u16 {
        match self.rtc.udp_port {
            Some(p) => p.start,
            None => self.rtc.port_range_start,
        }
    }

    /// The ICE/TCP port, 0 when disabled.
    pub fn tcp_port(&self) -> u16 {
        self.rtc.tcp_port
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RtcConfig {
    /// Single UDP mux port. livekit-server accepts `7882` or a range `"a-b"`;
    /// Ringcast always muxes on one port, the first of a range.
    pub udp_port: Option<UdpPort>,
    pub tcp_port: u16,
    pub port_range_start: u16,
    pub port_range_end: u16,
    pub node_ip: Option<String>,
    pub use_external_ip: bool,
    pub enable_loopback_candidate: bool,
    pub use_ice_lite: bool,
    pub stun_servers: Vec<String>,
    pub ips: IpsConfig,
    /// External TURN servers handed to clients in the JoinResponse.
    pub turn_servers: Vec<TurnServer>,
    pub congestion_control: CongestionControlConfig,
    /// Allow TCP and TURN/TLS fallback (livekit: unset means allowed).
    pub allow_tcp_fallback: Option<bool>,
    /// NACK buffer, in packets (livekit default 500).
    pub packet_buffer_size: u32,
    /// Use mDNS candidates (accepted for compatibility).
    pub use_mdns: bool,
}

impl Default for RtcConfig {
    fn default() -> Self {
        Self {
            udp_port: None,
            tcp_port: 7881,
            port_range_start: 50000,
            port_range_end: 60000,
            node_ip: None,
            use_external_ip: false,
            enable_loopback_candidate: true,
            use_ice_lite: true,
            stun_servers: Vec::new(),
            ips: IpsConfig::default(),
            turn_servers: Vec::new(),
            congestion_control: CongestionControlConfig::default(),
            allow_tcp_fallback: None,
            packet_buffer_size: 500,
            use_mdns: false,
        }
    }
}

/// `rtc.udp_port`: a number or a `"start-end"` string.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(try_from = "serde_yaml::Value", into = "String")]
pub struct UdpPort {
    pub start: u16,
    pub end: u16,
}

impl From<UdpPort> for String {
    fn from(p: UdpPort) -> String {
        if p.start == p.end {
            p.start.to_string()
        } else {
            format!("{}-{}", p.start, p.end)
        }
    }
}

impl TryFrom<serde_yaml::Value> for UdpPort {
    type Error = String;
    fn try_from(v: serde_yaml::Value) -> Result<Self, String> {
        match v {
            serde_yaml::Value::Number(n) => {
                let p = n
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| format!("udp_port {n} is not a port number"))?;
                Ok(UdpPort { start: p, end: p })
            }
            serde_yaml::Value::String(s) => UdpPort::parse(&s),
            other => Err(format!(
                "udp_port must be a number or \"start-end\", got {other:?}"
            )),
        }
    }
}

impl UdpPort {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let start: u16 = a
            .trim()
            .parse()
            .map_err(|_| format!("invalid udp_port {s:?}"))?;
        let end: u16 = b
            .trim()
            .parse()
            .map_err(|_| format!("invalid udp_port {s:?}"))?;
        if end < start {
            return Err(format!("invalid udp_port range {s:?}"));
        }
        Ok(UdpPort { start, end })
    }
}

/// One entry of `rtc.turn_servers`: a TURN server the clients are told about.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct TurnServer {
    pub host: String,
    pub port: u16,
    /// `udp`, `tcp` or `tls`.
    pub protocol: String,
    pub username: String,
    pub credential: String,
    /// Shared secret for time-limited TURN REST credentials (instead of
    /// `username`/`credential`).
    pub secret: String,
    /// Lifetime in seconds of credentials made from `secret`.
    pub ttl: u32,
}

/// `rtc.congestion_control`: bandwidth estimation and stream allocation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CongestionControlConfig {
    pub enabled: bool,
    /// Whether the allocator may pause video when bandwidth is short.
    pub allow_pause: bool,
    /// Use transport-wide CC feedback (send-side BWE) instead of REMB.
    pub send_side_bandwidth_estimation: bool,
}

impl Default for CongestionControlConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            allow_pause: false,
            send_side_bandwidth_estimation: false,
        }
    }
}

/// `turn:`: livekit-server's embedded TURN server.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct TurnConfig {
    pub enabled: bool,
    pub domain: String,
    pub cert_file: String,
    pub key_file: String,
    pub tls_port: u16,
    pub udp_port: u16,
    /// Relay port range; when unset livekit uses 30000-40000 (30000-30002 in dev).
    pub relay_range_start: u16,
    pub relay_range_end: u16,
    /// TLS is terminated by a load balancer in front of the server.
    pub external_tls: bool,
}

/// `audio:`: active speaker detection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AudioConfig {
    /// Minimum level counted as speech, 0-127 where 0 is loudest (livekit 35).
    pub active_level: u8,
    /// Percent of a window that must exceed `active_level` (livekit 40).
    pub min_percentile: u8,
    /// Milliseconds between speaker updates (livekit 400).
    pub update_interval: u32,
    /// Number of intervals the reported level is averaged over (livekit 2).
    pub smooth_intervals: u32,
    pub active_red_encoding: bool,
}

impl Default for AudioConfig {
    fn default() -> Self {
        Self {
            active_level: 35,
            min_percentile: 40,
            update_interval: 400,
            smooth_intervals: 2,
            active_red_encoding: false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct IpsConfig {
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RoomConfig {
    pub auto_create: bool,
    /// Seconds a room stays open with nobody in it (livekit default 300).
    pub empty_timeout: u32,
    /// Seconds a room stays open after the last participant left (default 20).
    pub departure_timeout: u32,
    /// 0 means unlimited.
    pub max_participants: u32,
    pub enabled_codecs: Vec<CodecSpec>,
    pub enable_remote_unmute: bool,
    pub enable_full_room_in_webhooks: bool,
    /// Deprecated: use `limit.max_metadata_size`. 0 means unset.
    pub max_metadata_size: u32,
    /// Seconds to wait after a transport failure before a participant
    /// counts as gone (0: the server default).
    pub participant_disconnect_timeout: u32,
}

impl Default for RoomConfig {
    fn default() -> Self {
        Self {
            auto_create: true,
            empty_timeout: 300,
            departure_timeout: 20,
            max_participants: 0,
            enabled_codecs: default_codecs(),
            enable_remote_unmute: false,
            enable_full_room_in_webhooks: false,
            max_metadata_size: 0,
            participant_disconnect_timeout: 0,
        }
    }
}

/// livekit-server's default `room.enabled_codecs` order.
pub fn default_codecs() -> Vec<CodecSpec> {
    [
        "audio/opus",
        "audio/red",
        "video/VP8",
        "video/H264",
        "video/VP9",
        "video/AV1",
        "video/rtx",
    ]
    .iter()
    .map(|m| CodecSpec {
        mime: (*m).to_string(),
        fmtp_line: String::new(),
    })
    .collect()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CodecSpec {
    pub mime: String,
    pub fmtp_line: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct WebhookConfig {
    pub api_key: String,
    pub urls: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LoggingConfig {
    /// `debug`, `info`, `warn` or `error` (`--dev` makes it `debug` unless set).
    pub level: String,
    /// One JSON object per line instead of human-readable text.
    pub json: bool,
    /// Per-component levels (livekit's `component_levels`; keys are our
    /// tracing targets here, e.g. `ringcast_dataplane: debug`).
    pub component_levels: BTreeMap<String, String>,
    /// livekit's level for the pion WebRTC library; accepted and ignored.
    pub pion_level: String,
    /// livekit's log sampling switch; accepted and ignored.
    pub sample: bool,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            json: false,
            component_levels: BTreeMap::new(),
            pion_level: "error".into(),
            sample: false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RedisConfig {
    pub address: String,
    pub username: String,
    pub password: String,
    pub db: i64,
    pub use_tls: bool,
    pub sentinel_master_name: String,
    pub sentinel_username: String,
    pub sentinel_password: String,
    pub sentinel_addresses: Vec<String>,
    pub cluster_addresses: Vec<String>,
    pub max_redirects: Option<i64>,
}

impl RedisConfig {
    /// Whether any Redis server is configured (Ringcast is single-node and
    /// does not use it).
    pub fn is_configured(&self) -> bool {
        !self.address.is_empty()
            || !self.sentinel_addresses.is_empty()
            || !self.cluster_addresses.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct LimitConfig {
    pub max_metadata_size: u32,
    pub max_attributes_size: u32,
    pub max_room_name_length: u32,
    pub max_participant_identity_length: u32,
    pub max_participant_name_length: u32,
    pub signal_message_size_limit: u32,
    pub max_api_request_body_size: u32,
    /// Max tracks a participant may publish, 0 = unlimited.
    pub num_tracks: i32,
    /// Node-wide bandwidth limit, 0 = unlimited.
    pub bytes_per_sec: f32,
    /// Max video/audio subscriptions per participant, 0 = unlimited.
    pub subscription_limit_video: i32,
    pub subscription_limit_audio: i32,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            max_metadata_size: 512 * 1024,
            max_attributes_size: 64 * 1024,
            max_room_name_length: 256,
            max_participant_identity_length: 256,
            max_participant_name_length: 256,
            signal_message_size_limit: 2 * 1024 * 1024,
            max_api_request_body_size: 10 * 1024 * 1024,
            num_tracks: 0,
            bytes_per_sec: 0.0,
            subscription_limit_video: 0,
            subscription_limit_audio: 0,
        }
    }
}

/// Ringcast's dataplane section (`dataplane:` in YAML).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DataplaneSection {
    /// Worker threads, one per core; 0 means one per available core.
    pub workers: u16,
    /// `auto`, `io_uring` or `portable`.
    pub driver: String,
    /// The region of a separate `ringcast dataplane` process to attach to;
    /// empty: run the dataplane in this process (the default).
    pub shm_path: String,
}

impl Default for DataplaneSection {
    fn default() -> Self {
        Self {
            workers: 0,
            driver: "auto".into(),
            shm_path: String::new(),
        }
    }
}
