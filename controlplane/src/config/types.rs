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
        }
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
            other => Err(format!("udp_port must be a number or \"start-end\", got {other:?}")),
        }
    }
}

impl UdpPort {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let start: u16 = a.trim().parse().map_err(|_| format!("invalid udp_port {s:?}"))?;
        let end: u16 = b.trim().parse().map_err(|_| format!("invalid udp_port {s:?}"))?;
        if end < start {
            return Err(format!("invalid udp_port range {s:?}"));
        }
        Ok(UdpPort { start, end })
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
        }
    }
}

/// livekit-server's default `room.enabled_codecs` order.
pub fn default_codecs() -> Vec<CodecSpec> {
    ["audio/opus", "audio/red", "video/VP8", "video/H264", "video/VP9", "video/AV1", "video/rtx"]
        .iter()
        .map(|m| CodecSpec { mime: (*m).to_string(), fmtp_line: String::new() })
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
    pub level: String,
    pub json: bool,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self { level: "info".into(), json: false }
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
}

impl Default for DataplaneSection {
    fn default() -> Self {
        Self { workers: 0, driver: "auto".into() }
    }
}
