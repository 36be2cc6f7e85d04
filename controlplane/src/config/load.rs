//! Building the final [`Config`] the way livekit-server does: YAML (file or
//! body), then command line flags and environment variables, then `--dev`
//! defaults, then keys (map, key file, `--keys`) and their checks.

use std::net::IpAddr;
use std::path::PathBuf;

use super::error::ConfigError;
use super::parse::{parse_config, parse_key_map, Parsed};
use super::{Config, UdpPort};

/// The dev-mode API key and secret livekit-server uses when none are given.
pub const DEV_API_KEY: &str = "devkey";
pub const DEV_API_SECRET: &str = "secret";
/// `--dev` single UDP mux port when no port or range is configured.
pub const DEV_UDP_PORT: u16 = 7882;
/// livekit warns about secrets shorter than this outside `--dev`.
pub const MIN_SECRET_LEN: usize = 32;

/// What the command line and environment say; `None`/empty means "not given",
/// so the YAML value stays.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config`: path of a YAML file.
    pub config_file: Option<PathBuf>,
    /// `--config-body` / `LIVEKIT_CONFIG`: YAML text; wins over `--config`.
    pub config_body: Option<String>,
    /// `--dev`.
    pub dev: bool,
    /// `--bind` (repeatable).
    pub bind: Vec<String>,
    /// `--keys` / `LIVEKIT_KEYS`: `"key: secret"` YAML.
    pub keys: Option<String>,
    /// `--key-file`.
    pub key_file: Option<String>,
    /// `--node-ip` / `NODE_IP`.
    pub node_ip: Option<String>,
    /// `--udp-port` / `UDP_PORT`: `7882` or `50000-60000`.
    pub udp_port: Option<String>,
    /// `--port`.
    pub port: Option<u16>,
    /// `--region` / `LIVEKIT_REGION`.
    pub region: Option<String>,
    /// `--redis-host` / `REDIS_HOST`.
    pub redis_host: Option<String>,
    /// `--redis-password` / `REDIS_PASSWORD`.
    pub redis_password: Option<String>,
}

/// How serious a [`ConfigNote`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteLevel {
    Info,
    Warn,
    Error,
}

/// Something worth logging about the configuration that does not stop
/// startup (unknown key, short secret...). Loading happens before logging is
/// set up, so notes are returned and logged by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigNote {
    pub level: NoteLevel,
    /// The key path concerned, e.g. `rtc.foo` or `keys.devkey`.
    pub key: Option<String>,
    pub message: String,
}

impl ConfigNote {
    fn new(level: NoteLevel, key: Option<String>, message: impl Into<String>) -> Self {
        Self {
            level,
            key,
            message: message.into(),
        }
    }

    /// Logs the note through `tracing` at its level.
    pub fn emit(&self) {
        let key = self.key.as_deref().unwrap_or("");
        match self.level {
            NoteLevel::Info => tracing::info!(key, "{}", self.message),
            NoteLevel::Warn => tracing::warn!(key, "{}", self.message),
            NoteLevel::Error => tracing::error!(key, "{}", self.message),
        }
    }
}

/// A loaded configuration plus what to log about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub notes: Vec<ConfigNote>,
}

/// Loads the configuration and logs its notes right away (for callers whose
/// logging is already set up).
pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
    let loaded = load_with_notes(overrides)?;
    for n in &loaded.notes {
        n.emit();
    }
    Ok(loaded.config)
}

/// Loads the configuration: YAML, then flags/env, then `--dev` defaults,
/// then keys. Returns the notes instead of logging them.
pub fn load_with_notes(o: &Overrides) -> Result<Loaded, ConfigError> {
    let (text, origin) = config_text(o)?;
    let parsed = parse_config(&text, &origin)?;
    let mut notes: Vec<ConfigNote> = parsed
        .unknown_keys
        .iter()
        .map(|k| {
            ConfigNote::new(
                NoteLevel::Warn,
                Some(k.clone()),
                format!("unknown config key `{k}` in {origin}, ignored"),
            )
        })
        .collect();
    let mut config = parsed.config.clone();
    apply_overrides(&mut config, o)?;
    apply_derived_defaults(&mut config, &parsed);
    load_keys(&mut config, &mut notes)?;
    if config.redis.is_configured() {
        notes.push(ConfigNote::new(
            NoteLevel::Warn,
            Some("redis".into()),
            "redis is configured but Ringcast runs single-node and does not use it",
        ));
    }
    if config.turn.enabled {
        notes.push(ConfigNote::new(
            NoteLevel::Warn,
            Some("turn.enabled".into()),
            "the embedded TURN server is not supported by Ringcast; use rtc.turn_servers",
        ));
    }
    if !config.webhook.urls.is_empty() && !config.keys.contains_key(&config.webhook.api_key) {
        notes.push(ConfigNote::new(
            NoteLevel::Error,
            Some("webhook.api_key".into()),
            format!(
                "webhook.api_key {:?} is not one of the configured keys",
                config.webhook.api_key
            ),
        ));
    }
    Ok(Loaded { config, notes })
}

/// The YAML text and a name for it in messages. `--config-body` (or
/// `LIVEKIT_CONFIG`) wins over `--config`, as in livekit-server.
fn config_text(o: &Overrides) -> Result<(String, String), ConfigError> {
    if let Some(body) = o.config_body.as_ref().filter(|b| !b.is_empty()) {
        return Ok((body.clone(), "--config-body/LIVEKIT_CONFIG".into()));
    }
    if let Some(path) = &o.config_file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.display().to_string(),
            source,
        })?;
        return Ok((text, path.display().to_string()));
    }
    Ok((String::new(), "defaults".into()))
}

/// Command line flags and environment variables over the YAML.
fn apply_overrides(c: &mut Config, o: &Overrides) -> Result<(), ConfigError> {
    if o.dev {
        c.development = true;
    }
    if let Some(f) = o.key_file.as_ref().filter(|f| !f.is_empty()) {
        c.key_file = Some(f.clone());
    }
    if let Some(keys) = o.keys.as_ref().filter(|k| !k.trim().is_empty()) {
        let pairs = parse_key_map(keys).map_err(|_| ConfigError::InvalidKeys)?;
        if pairs.is_empty() {
            return Err(ConfigError::InvalidKeys);
        }
        // livekit replaces the YAML keys with the flag's.
        c.keys = pairs.into_iter().collect();
    }
    if let Some(r) = o.region.as_ref().filter(|r| !r.is_empty()) {
        c.region = r.clone();
    }
    if let Some(h) = o.redis_host.as_ref().filter(|h| !h.is_empty()) {
        c.redis.address = h.clone();
    }
    if let Some(p) = o.redis_password.as_ref().filter(|p| !p.is_empty()) {
        c.redis.password = p.clone();
    }
    if let Some(ip) = o.node_ip.as_ref().filter(|ip| !ip.is_empty()) {
        c.rtc.node_ip = Some(ip.clone());
    }
    if let Some(p) = o.udp_port.as_ref().filter(|p| !p.is_empty()) {
        let port = UdpPort::parse(p).map_err(|message| ConfigError::InvalidFlag {
            flag: "--udp-port/UDP_PORT",
            value: p.clone(),
            message,
        })?;
        c.rtc.udp_port = Some(port);
    }
    if !o.bind.is_empty() {
        c.bind_addresses = o.bind.clone();
    }
    if let Some(p) = o.port {
        c.port = p;
    }
    Ok(())
}

/// Defaults that depend on `--dev` or on what else is set; they apply only to
/// keys the YAML did not write.
fn apply_derived_defaults(c: &mut Config, parsed: &Parsed) {
    let range_set =
        parsed.is_set(&["rtc", "port_range_start"]) || parsed.is_set(&["rtc", "port_range_end"]);
    if c.development && c.rtc.udp_port.is_none() && !range_set {
        // livekit: "to make it easier to run in dev mode/docker, default to single port".
        c.rtc.udp_port = Some(UdpPort {
            start: DEV_UDP_PORT,
            end: DEV_UDP_PORT,
        });
    }
    if c.turn.relay_range_start == 0 || c.turn.relay_range_end == 0 {
        c.turn.relay_range_start = 30000;
        c.turn.relay_range_end = if c.development { 30002 } else { 40000 };
    }
    if !c.log_level.is_empty() {
        c.logging.level = c.log_level.clone();
    } else if c.development && !parsed.is_set(&["logging", "level"]) {
        c.logging.level = "debug".into();
    }
    if c.development {
        c.environment = "dev".into();
    }
}

/// Merges the key file into `keys`, applies the dev placeholder key, and
/// checks what livekit-server checks.
fn load_keys(c: &mut Config, notes: &mut Vec<ConfigNote>) -> Result<(), ConfigError> {
    if let Some(path) = c.key_file.clone().filter(|p| !p.is_empty()) {
        let path = expand_path(&path);
        check_key_file_permissions(&path, notes);
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::ReadKeyFile {
            path: path.clone(),
            source,
        })?;
        let pairs = parse_key_map(&text).map_err(|message| ConfigError::ParseKeyFile {
            path: path.clone(),
            message,
        })?;
        c.keys.extend(pairs);
        c.key_file = Some(path);
    }
    if c.keys.is_empty() {
        if !c.development {
            return Err(ConfigError::NoKeys);
        }
        notes.push(ConfigNote::new(
            NoteLevel::Info,
            Some("keys".into()),
            format!("no keys provided, using placeholder keys: API Key {DEV_API_KEY}, API Secret {DEV_API_SECRET}"),
        ));
        c.keys.insert(DEV_API_KEY.into(), DEV_API_SECRET.into());
        // livekit: with the shared placeholder key, bind to loopback unless told
        // otherwise; with a routable bind, advertise candidates on its /24.
        if c.bind_addresses.is_empty() {
            c.bind_addresses = vec!["127.0.0.1".into(), "::1".into()];
        } else {
            let routable: Vec<String> = c
                .bind_addresses
                .iter()
                .filter(|a| {
                    a.parse::<IpAddr>()
                        .is_ok_and(|ip| !ip.is_loopback() && !ip.is_unspecified())
                })
                .cloned()
                .collect();
            if !routable.is_empty() {
                for addr in &c.bind_addresses {
                    c.rtc.ips.includes.push(format!("{addr}/24"));
                }
            }
        }
    }
    if !c.development {
        for (key, secret) in &c.keys {
            if secret.len() < MIN_SECRET_LEN {
                notes.push(ConfigNote::new(
                    NoteLevel::Error,
                    Some(format!("keys.{key}")),
                    format!("secret is too short, should be at least {MIN_SECRET_LEN} characters for security (apiKey {key})"),
                ));
            }
        }
    }
    Ok(())
}

/// Expands `$VAR` and a leading `~/` in a file name, as livekit does for
/// `key_file`.
fn expand_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    if let Some(tail) = rest.strip_prefix("~/") {
        if let Ok(home) = std::env::var("HOME") {
            out.push_str(&home);
            out.push('/');
            rest = tail;
        }
    }
    let mut chars = rest.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '$' {
            out.push(ch);
            continue;
        }
        let braced = chars.peek() == Some(&'{');
        if braced {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphanumeric() || n == '_' {
                name.push(n);
                chars.next();
            } else {
                break;
            }
        }
        if braced && chars.peek() == Some(&'}') {
            chars.next();
        }
        if name.is_empty() {
            out.push('$');
        } else {
            out.push_str(&std::env::var(&name).unwrap_or_default());
        }
    }
    out
}

/// livekit refuses a key file readable by others; we warn instead, so a
/// test harness's 0644 file still works.
fn check_key_file_permissions(path: &str, notes: &mut Vec<ConfigNote>) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o007 != 0 {
                notes.push(ConfigNote::new(
                    NoteLevel::Warn,
                    Some("key_file".into()),
                    format!("key file {path} is accessible by others; livekit-server requires mode o-rwx"),
                ));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, notes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> Overrides {
        Overrides {
            dev: true,
            ..Default::default()
        }
    }

    #[test]
    fn dev_mode_sets_livekit_dev_defaults() {
        let c = load_with_notes(&dev()).unwrap().config;
        assert!(c.development);
        assert_eq!(c.keys.get("devkey").map(String::as_str), Some("secret"));
        assert_eq!(c.udp_port(), 7882);
        assert_eq!(c.rtc.tcp_port, 7881);
        assert_eq!(c.http_port(), 7880);
        assert_eq!(c.bind_addresses, vec!["127.0.0.1", "::1"]);
        assert_eq!(c.logging.level, "debug");
        assert_eq!(
            (c.turn.relay_range_start, c.turn.relay_range_end),
            (30000, 30002)
        );
    }

    #[test]
    fn dev_with_explicit_range_keeps_range() {
        let o = Overrides {
            config_body: Some("rtc:\n  port_range_start: 40000\n  port_range_end: 40100\n".into()),
            ..dev()
        };
        let c = load_with_notes(&o).unwrap().config;
        assert_eq!(c.rtc.udp_port, None);
        assert_eq!(c.udp_port(), 40000);
    }

    #[test]
    fn dev_keeps_explicit_log_level() {
        let o = Overrides {
            config_body: Some("logging:\n  level: warn\n".into()),
            ..dev()
        };
        assert_eq!(load_with_notes(&o).unwrap().config.logging.level, "warn");
    }

    #[test]
    fn dev_with_routable_bind_adds_ip_include() {
        let o = Overrides {
            bind: vec!["10.1.2.3".into()],
            ..dev()
        };
        let c = load_with_notes(&o).unwrap().config;
        assert_eq!(c.bind_addresses, vec!["10.1.2.3"]);
        assert_eq!(c.rtc.ips.includes, vec!["10.1.2.3/24"]);
    }

    #[test]
    fn no_keys_without_dev_is_an_error() {
        let e = load_with_notes(&Overrides::default()).unwrap_err();
        assert!(matches!(e, ConfigError::NoKeys));
    }

    #[test]
    fn short_secret_is_logged_not_fatal() {
        let o = Overrides {
            keys: Some("k: short".into()),
            ..Default::default()
        };
        let l = load_with_notes(&o).unwrap();
        assert!(l
            .notes
            .iter()
            .any(|n| n.level == NoteLevel::Error && n.key.as_deref() == Some("keys.k")));
        assert_eq!(l.config.udp_port(), 50000);
    }

    #[test]
    fn flags_override_yaml() {
        let o = Overrides {
            config_body: Some("port: 9000\nrtc:\n  udp_port: 9001\n".into()),
            keys: Some("k: 0123456789abcdef0123456789abcdef".into()),
            port: Some(9100),
            udp_port: Some("9200".into()),
            node_ip: Some("1.2.3.4".into()),
            ..Default::default()
        };
        let c = load_with_notes(&o).unwrap().config;
        assert_eq!(c.port, 9100);
        assert_eq!(c.udp_port(), 9200);
        assert_eq!(c.rtc.node_ip.as_deref(), Some("1.2.3.4"));
    }

    #[test]
    fn bad_udp_port_flag_is_an_error() {
        let o = Overrides {
            udp_port: Some("abc".into()),
            ..dev()
        };
        assert!(matches!(
            load_with_notes(&o),
            Err(ConfigError::InvalidFlag { .. })
        ));
    }

    #[test]
    fn env_style_path_expansion() {
        std::env::set_var("RINGCAST_TEST_DIR_X", "/tmp/x");
        assert_eq!(
            expand_path("$RINGCAST_TEST_DIR_X/keys.yaml"),
            "/tmp/x/keys.yaml"
        );
        assert_eq!(expand_path("${RINGCAST_TEST_DIR_X}/k"), "/tmp/x/k");
        assert_eq!(expand_path("plain/path"), "plain/path");
    }
}
