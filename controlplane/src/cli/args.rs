//! The command line, as clap structs: livekit-server's flags and environment
//! variables, and its `generate-keys`, `create-join-token` and `ports`
//! subcommands. Running the server is the default action.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand};

use super::duration::parse_duration;
use crate::config::Overrides;

/// `--version` text: our version and the livekit-server release whose
/// protocol we follow.
pub const VERSION_TEXT: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (LiveKit protocol 17, livekit-server 1.13.5 compatible)"
);

/// `ringcast`: a LiveKit-compatible SFU, a drop-in for `livekit-server`.
#[derive(Debug, Parser)]
#[command(
    name = "ringcast",
    version = VERSION_TEXT,
    about = "High performance WebRTC SFU speaking the LiveKit protocol (drop-in for livekit-server)",
    long_about = "High performance WebRTC SFU speaking the LiveKit protocol.\n\
                  Run without a subcommand to start the server, e.g. `ringcast --dev` or \
                  `ringcast --config config.yaml`."
)]
pub struct Cli {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags shared by the server and the subcommands (global, so they may come
/// before or after the subcommand name).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Server and config options")]
pub struct ServerArgs {
    /// Development mode: keys `devkey: secret` when none are given, bind to
    /// 127.0.0.1 and ::1, UDP port 7882, log level debug. Insecure.
    #[arg(long, global = true)]
    pub dev: bool,
    /// IP address to listen on; repeat the flag for several addresses.
    #[arg(long = "bind", value_name = "IP", global = true)]
    pub bind: Vec<String>,
    /// Path to a LiveKit config file (YAML).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// LiveKit config as YAML text; wins over --config.
    #[arg(
        long = "config-body",
        value_name = "YAML",
        env = "LIVEKIT_CONFIG",
        hide_env_values = true,
        global = true
    )]
    pub config_body: Option<String>,
    /// API keys as YAML, "key: secret" (one per line), including the space.
    #[arg(
        long,
        value_name = "YAML",
        env = "LIVEKIT_KEYS",
        hide_env_values = true,
        global = true
    )]
    pub keys: Option<String>,
    /// Path to a YAML file of "key: secret" lines.
    #[arg(long = "key-file", value_name = "FILE", global = true)]
    pub key_file: Option<String>,
    /// IP address advertised to clients in ICE candidates.
    #[arg(long = "node-ip", value_name = "IP", env = "NODE_IP", global = true)]
    pub node_ip: Option<String>,
    /// UDP port for WebRTC media ("7882"); of a range "a-b" the first port is used.
    #[arg(
        long = "udp-port",
        value_name = "PORT",
        env = "UDP_PORT",
        global = true
    )]
    pub udp_port: Option<String>,
    /// HTTP/WebSocket port (default 7880).
    #[arg(long, value_name = "PORT", global = true)]
    pub port: Option<u16>,
    /// Region of this node.
    #[arg(long, value_name = "REGION", env = "LIVEKIT_REGION", global = true)]
    pub region: Option<String>,
    /// Redis host:port (accepted; Ringcast runs single-node and ignores it).
    #[arg(
        long = "redis-host",
        value_name = "HOST",
        env = "REDIS_HOST",
        global = true,
        hide = true
    )]
    pub redis_host: Option<String>,
    /// Redis password (accepted and ignored).
    #[arg(
        long = "redis-password",
        env = "REDIS_PASSWORD",
        hide_env_values = true,
        global = true,
        hide = true
    )]
    pub redis_password: Option<String>,
    /// Accepted for livekit-server compatibility: unknown config keys are
    /// always warnings in Ringcast.
    #[arg(long = "disable-strict-config", global = true, hide = true)]
    pub disable_strict_config: bool,
    /// Shared-memory region of a `ringcast dataplane` process (e.g.
    /// /dev/shm/ringcast): the server attaches to it instead of running the
    /// dataplane itself, and can then be restarted without dropping media.
    /// For `ringcast dataplane`, where to create it.
    #[arg(
        long = "dataplane-shm",
        value_name = "PATH",
        env = "RINGCAST_DATAPLANE_SHM",
        global = true
    )]
    pub dataplane_shm: Option<String>,
}

impl ServerArgs {
    /// The config loader's view of these flags.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            config_body: self.config_body.clone(),
            dev: self.dev,
            bind: self.bind.clone(),
            keys: self.keys.clone(),
            key_file: self.key_file.clone(),
            node_ip: self.node_ip.clone(),
            udp_port: self.udp_port.clone(),
            port: self.port,
            region: self.region.clone(),
            redis_host: self.redis_host.clone(),
            redis_password: self.redis_password.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate an API key and secret pair.
    GenerateKeys,
    /// Print the ports the server is configured to use.
    Ports,
    /// Create a room join token for development use (prints "Token: <jwt>").
    #[command(
        after_help = "Grant flags take an optional true/false: `--hidden` is `--hidden true`, \
`--can-publish false` denies publishing. Omitted grants keep LiveKit's defaults \
(canPublish and canSubscribe true, canPublishData follows canPublish, others false).\n\n\
Example:\n  ringcast --dev create-join-token --room demo --identity alice --can-publish false --hidden\n\n\
Output: one line `Token: <jwt>` on stdout (with --raw, just `<jwt>`)."
    )]
    CreateJoinToken(Box<TokenArgs>),
    /// Run the dataplane (media workers) as its own process on the
    /// shared-memory region at --dataplane-shm (default
    /// /dev/shm/ringcast-<udp port>). It also holds the HTTP/WebSocket
    /// listening sockets; start `ringcast --dataplane-shm PATH` (same config)
    /// as the control plane, and restart that at will.
    Dataplane,
}

/// `create-join-token` flags. Grant flags take an optional boolean:
/// `--hidden` means `--hidden true`; `--can-publish false` denies
/// publishing. A grant flag left out keeps LiveKit's default (canPublish and
/// canSubscribe true, canPublishData = canPublish, the others false).
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// Name of the room to join.
    #[arg(long)]
    pub room: String,
    /// Identity of the participant that holds the token.
    #[arg(long)]
    pub identity: String,
    /// Display name of the participant.
    #[arg(long)]
    pub name: Option<String>,
    /// Participant metadata.
    #[arg(long)]
    pub metadata: Option<String>,
    /// Participant attribute KEY=VALUE; repeat for several.
    #[arg(long = "attribute", value_name = "KEY=VALUE")]
    pub attributes: Vec<String>,
    /// Token lifetime, e.g. 6h, 1h30m, 30d (livekit-server uses 30 days).
    #[arg(long = "valid-for", value_name = "DURATION", default_value = "720h", value_parser = parse_duration)]
    pub valid_for: Duration,
    /// API key to sign with (default: the first configured key, by name).
    #[arg(long = "api-key", value_name = "KEY")]
    pub api_key: Option<String>,
    /// A hidden participant that can only subscribe (livekit's --recorder:
    /// hidden, recorder, no publish, no data).
    #[arg(long)]
    pub recorder: bool,
    /// Print only the JWT, without the "Token: " prefix.
    #[arg(long)]
    pub raw: bool,
    /// May publish tracks (default true).
    #[arg(help_heading = "Grants", long = "can-publish", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub can_publish: Option<bool>,
    /// May subscribe to tracks (default true).
    #[arg(help_heading = "Grants", long = "can-subscribe", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub can_subscribe: Option<bool>,
    /// May send data packets (default: same as canPublish).
    #[arg(help_heading = "Grants", long = "can-publish-data", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub can_publish_data: Option<bool>,
    /// May update its own name, metadata and attributes (default false).
    #[arg(help_heading = "Grants", long = "can-update-own-metadata", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub can_update_own_metadata: Option<bool>,
    /// May subscribe to metrics (default false).
    #[arg(help_heading = "Grants", long = "can-subscribe-metrics", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub can_subscribe_metrics: Option<bool>,
    /// Sources that may be published, comma separated: camera, microphone,
    /// screen_share, screen_share_audio (default: all).
    #[arg(
        help_heading = "Grants",
        long = "can-publish-sources",
        value_name = "LIST",
        value_delimiter = ','
    )]
    pub can_publish_sources: Vec<String>,
    /// Hidden from other participants (default false).
    #[arg(help_heading = "Grants", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub hidden: Option<bool>,
    /// Marks the participant as an agent (default false).
    #[arg(help_heading = "Grants", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub agent: Option<bool>,
    /// roomAdmin: may manage the room through the API (default false).
    #[arg(help_heading = "Grants", long = "room-admin", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub room_admin: Option<bool>,
    /// roomCreate: may create and delete rooms through the API (default false).
    #[arg(help_heading = "Grants", long = "room-create", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub room_create: Option<bool>,
    /// roomList: may list rooms through the API (default false).
    #[arg(help_heading = "Grants", long = "room-list", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub room_list: Option<bool>,
    /// roomRecord: may use egress (default false).
    #[arg(help_heading = "Grants", long = "room-record", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub room_record: Option<bool>,
    /// roomJoin (default true; `--room-join false` makes an API-only token).
    #[arg(help_heading = "Grants", long = "room-join", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub room_join: Option<bool>,
    /// Participant kind claim: standard, ingress, egress, sip, agent.
    #[arg(long)]
    pub kind: Option<String>,
}
