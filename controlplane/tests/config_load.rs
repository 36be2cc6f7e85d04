//! Config loading as livekit-server does it: defaults, `--dev`, YAML, flags,
//! keys, and the errors and warnings a user sees.

use std::io::Write;

use ringcast_controlplane::config::{
    load_with_notes, parse_config, Config, ConfigError, NoteLevel, Overrides, UdpPort,
};

const LONG_SECRET: &str = "0123456789abcdef0123456789abcdef01";

fn with_keys() -> Overrides {
    Overrides {
        keys: Some(format!("APIkey: {LONG_SECRET}")),
        ..Default::default()
    }
}

fn body(yaml: &str) -> Overrides {
    Overrides {
        config_body: Some(yaml.into()),
        ..with_keys()
    }
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ringcast-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(contents.as_bytes()).unwrap();
    path
}

#[test]
fn defaults_equal_livekit_server() {
    let c = load_with_notes(&with_keys()).unwrap().config;
    assert_eq!(c.port, 7880);
    assert_eq!(c.rtc.tcp_port, 7881);
    assert_eq!(
        (c.rtc.port_range_start, c.rtc.port_range_end),
        (50000, 60000)
    );
    assert_eq!(c.rtc.udp_port, None);
    assert_eq!(
        c.udp_port(),
        50000,
        "one muxed port: the first of the range"
    );
    assert!(c.rtc.use_ice_lite && c.rtc.enable_loopback_candidate && !c.rtc.use_external_ip);
    assert!(c.rtc.congestion_control.enabled && !c.rtc.congestion_control.allow_pause);
    assert!(c.room.auto_create);
    assert_eq!(c.room.empty_timeout, 300);
    assert_eq!(c.room.departure_timeout, 20);
    assert_eq!(c.room.max_participants, 0);
    assert_eq!(c.limit.max_metadata_size, 512 * 1024);
    assert_eq!(c.limit.max_attributes_size, 64 * 1024);
    assert_eq!(c.limit.max_room_name_length, 256);
    assert_eq!(c.limit.signal_message_size_limit, 2 * 1024 * 1024);
    assert_eq!(c.limit.max_api_request_body_size, 10 * 1024 * 1024);
    assert!(c.enable_data_tracks);
    assert!(!c.turn.enabled);
    assert_eq!(
        (c.turn.relay_range_start, c.turn.relay_range_end),
        (30000, 40000)
    );
    assert_eq!(c.logging.level, "info");
    assert!(!c.development);
    assert!(c.bind_addresses.is_empty(), "all interfaces outside dev");
}

#[test]
fn dev_mode_values() {
    let l = load_with_notes(&Overrides {
        dev: true,
        ..Default::default()
    })
    .unwrap();
    let c = l.config;
    assert!(c.development);
    assert_eq!(c.keys.len(), 1);
    assert_eq!(c.keys.get("devkey").map(String::as_str), Some("secret"));
    assert_eq!(c.http_port(), 7880);
    assert_eq!(
        c.rtc.udp_port,
        Some(UdpPort {
            start: 7882,
            end: 7882
        })
    );
    assert_eq!(c.tcp_port(), 7881);
    assert_eq!(
        c.bind_addresses,
        vec!["127.0.0.1".to_string(), "::1".to_string()]
    );
    assert_eq!(c.logging.level, "debug");
    assert_eq!(c.environment, "dev");
    // The dev secret is short, but dev mode does not complain about it.
    assert!(!l.notes.iter().any(|n| n.level == NoteLevel::Error));
}

#[test]
fn dev_with_bind_flag_keeps_bind() {
    let o = Overrides {
        dev: true,
        bind: vec!["0.0.0.0".into()],
        ..Default::default()
    };
    let c = load_with_notes(&o).unwrap().config;
    assert_eq!(c.bind_addresses, vec!["0.0.0.0"]);
    assert!(
        c.rtc.ips.includes.is_empty(),
        "unspecified address is not a /24 to include"
    );
}

#[test]
fn unknown_key_warns_but_loads() {
    let l = load_with_notes(&body("port: 7999\nnot_a_key: 1\nrtc:\n  mystery: true\n")).unwrap();
    assert_eq!(l.config.port, 7999);
    let warned: Vec<_> = l
        .notes
        .iter()
        .filter(|n| n.level == NoteLevel::Warn)
        .collect();
    assert!(
        warned.iter().any(|n| n.key.as_deref() == Some("not_a_key")),
        "{warned:?}"
    );
    assert!(
        warned
            .iter()
            .any(|n| n.key.as_deref() == Some("rtc.mystery") && n.message.contains("rtc.mystery")),
        "{warned:?}"
    );
}

#[test]
fn wrong_type_error_names_key_and_line() {
    let e = load_with_notes(&body(
        "port: 7880\nroom:\n  auto_create: true\n  empty_timeout: soon\n",
    ))
    .unwrap_err();
    let ConfigError::Parse(p) = &e else {
        panic!("expected a parse error, got {e}")
    };
    assert_eq!(p.key.as_deref(), Some("room.empty_timeout"));
    assert_eq!(p.line, Some(4));
    let msg = e.to_string();
    assert!(
        msg.contains("room.empty_timeout") && msg.contains("line 4"),
        "{msg}"
    );
}

#[test]
fn malformed_yaml_error_has_line() {
    let e =
        load_with_notes(&body("port: 7880\nrtc:\n  tcp_port: 1\n   bad_indent: [\n")).unwrap_err();
    let ConfigError::Parse(p) = &e else {
        panic!("expected a parse error, got {e}")
    };
    assert!(p.line.is_some(), "{e}");
    assert!(e.to_string().contains("line"), "{e}");
}

#[test]
fn wrong_type_in_config_file_names_file() {
    let path = temp_file("bad.yaml", "rtc:\n  tcp_port: [1, 2]\n");
    let o = Overrides {
        config_file: Some(path.clone()),
        ..with_keys()
    };
    let msg = load_with_notes(&o).unwrap_err().to_string();
    assert!(
        msg.contains("bad.yaml") && msg.contains("rtc.tcp_port") && msg.contains("line 2"),
        "{msg}"
    );
}

#[test]
fn udp_port_accepts_number_and_range() {
    let c = load_with_notes(&body("rtc:\n  udp_port: 7882\n"))
        .unwrap()
        .config;
    assert_eq!(
        c.rtc.udp_port,
        Some(UdpPort {
            start: 7882,
            end: 7882
        })
    );
    assert_eq!(c.udp_port(), 7882);
    let c = load_with_notes(&body("rtc:\n  udp_port: \"7882\"\n"))
        .unwrap()
        .config;
    assert_eq!(c.udp_port(), 7882);
    let c = load_with_notes(&body("rtc:\n  udp_port: 50000-60000\n"))
        .unwrap()
        .config;
    assert_eq!(
        c.rtc.udp_port,
        Some(UdpPort {
            start: 50000,
            end: 60000
        })
    );
    assert_eq!(c.udp_port(), 50000);
    assert!(load_with_notes(&body("rtc:\n  udp_port: 70000\n")).is_err());
    assert!(load_with_notes(&body("rtc:\n  udp_port: 9-1\n")).is_err());
}

#[test]
fn udp_port_flag_range() {
    let o = Overrides {
        udp_port: Some("50000-60000".into()),
        ..with_keys()
    };
    assert_eq!(load_with_notes(&o).unwrap().config.udp_port(), 50000);
}

#[test]
fn keys_from_flag_like_livekit_keys_env() {
    let o = Overrides {
        keys: Some(format!("key1: {LONG_SECRET}\nkey2: {LONG_SECRET}x")),
        ..Default::default()
    };
    let c = load_with_notes(&o).unwrap().config;
    assert_eq!(c.keys.len(), 2);
    assert_eq!(c.keys["key2"], format!("{LONG_SECRET}x"));
}

#[test]
fn keys_flag_without_space_is_livekits_error() {
    let o = Overrides {
        keys: Some("key1:secret".into()),
        ..Default::default()
    };
    let e = load_with_notes(&o).unwrap_err();
    assert!(matches!(e, ConfigError::InvalidKeys));
    assert!(e
        .to_string()
        .contains("\"key: secret\", including the space"));
}

#[test]
fn keys_from_yaml_map() {
    let o = Overrides {
        config_body: Some(format!("keys:\n  yamlkey: {LONG_SECRET}\n")),
        ..Default::default()
    };
    let c = load_with_notes(&o).unwrap().config;
    assert_eq!(c.keys.get("yamlkey").map(String::as_str), Some(LONG_SECRET));
}

#[test]
fn keys_from_key_file_yaml_and_flag() {
    let path = temp_file("keys.yaml", &format!("filekey: {LONG_SECRET}\n"));
    let o = Overrides {
        config_body: Some(format!("key_file: {}\n", path.display())),
        ..Default::default()
    };
    let c = load_with_notes(&o).unwrap().config;
    assert_eq!(c.keys.get("filekey").map(String::as_str), Some(LONG_SECRET));

    let o = Overrides {
        key_file: Some(path.display().to_string()),
        ..Default::default()
    };
    let c = load_with_notes(&o).unwrap().config;
    assert_eq!(c.keys.get("filekey").map(String::as_str), Some(LONG_SECRET));
}

#[test]
fn missing_key_file_is_an_error() {
    let o = Overrides {
        key_file: Some("/nonexistent/ringcast/keys.yaml".into()),
        ..Default::default()
    };
    assert!(matches!(
        load_with_notes(&o),
        Err(ConfigError::ReadKeyFile { .. })
    ));
}

#[test]
fn no_keys_and_no_dev_is_a_clear_error() {
    let e = load_with_notes(&Overrides::default()).unwrap_err();
    assert!(
        e.to_string().contains("key-file or keys must be provided"),
        "{e}"
    );
}

#[test]
fn short_secret_is_logged_as_error_but_starts() {
    let o = Overrides {
        keys: Some("k: tooshort".into()),
        ..Default::default()
    };
    let l = load_with_notes(&o).unwrap();
    assert!(l
        .notes
        .iter()
        .any(|n| n.level == NoteLevel::Error && n.message.contains("at least 32")));
}

#[test]
fn config_body_wins_over_config_file() {
    let path = temp_file("file.yaml", "port: 1111\n");
    let o = Overrides {
        config_file: Some(path),
        config_body: Some("port: 2222\n".into()),
        ..with_keys()
    };
    assert_eq!(load_with_notes(&o).unwrap().config.port, 2222);
}

#[test]
fn flags_override_config_file() {
    let path = temp_file(
        "over.yaml",
        "port: 1111\nbind_addresses: [10.0.0.1]\nrtc:\n  node_ip: 1.1.1.1\n",
    );
    let o = Overrides {
        config_file: Some(path),
        port: Some(3333),
        bind: vec!["127.0.0.1".into()],
        node_ip: Some("2.2.2.2".into()),
        ..with_keys()
    };
    let c = load_with_notes(&o).unwrap().config;
    assert_eq!(c.port, 3333);
    assert_eq!(c.bind_addresses, vec!["127.0.0.1"]);
    assert_eq!(c.rtc.node_ip.as_deref(), Some("2.2.2.2"));
}

#[test]
fn full_livekit_style_config_parses() {
    let yaml = r#"
port: 7880
bind_addresses: ["0.0.0.0"]
log_level: warn
rtc:
  udp_port: 7882
  tcp_port: 7881
  use_external_ip: false
  node_ip: 192.168.1.2
  stun_servers: ["stun.l.google.com:19302"]
  turn_servers:
    - host: turn.example.com
      port: 443
      protocol: tls
      username: u
      credential: c
  congestion_control:
    enabled: true
    allow_pause: true
  allow_tcp_fallback: false
room:
  auto_create: false
  empty_timeout: 60
  departure_timeout: 10
  max_participants: 50
  enabled_codecs:
    - mime: audio/opus
    - mime: video/VP8
turn:
  enabled: false
  domain: turn.example.com
  tls_port: 5349
webhook:
  api_key: APIkey
  urls: ["http://127.0.0.1:9999/hook"]
logging:
  json: true
limit:
  max_metadata_size: 1000
enable_data_tracks: false
keys:
  APIkey: 0123456789abcdef0123456789abcdef01
"#;
    let l = load_with_notes(&Overrides {
        config_body: Some(yaml.into()),
        ..Default::default()
    })
    .unwrap();
    assert!(
        l.notes.iter().all(|n| n.level != NoteLevel::Error),
        "{:?}",
        l.notes
    );
    assert!(
        l.notes.iter().all(|n| n.level != NoteLevel::Warn),
        "no unknown keys: {:?}",
        l.notes
    );
    let c = l.config;
    assert_eq!(c.logging.level, "warn", "deprecated log_level is honoured");
    assert!(c.logging.json);
    assert_eq!(c.rtc.turn_servers.len(), 1);
    assert_eq!(c.rtc.turn_servers[0].protocol, "tls");
    assert!(c.rtc.congestion_control.allow_pause);
    assert_eq!(c.rtc.allow_tcp_fallback, Some(false));
    assert!(!c.room.auto_create);
    assert_eq!(c.room.enabled_codecs.len(), 2);
    assert_eq!(c.turn.tls_port, 5349);
    assert_eq!(c.limit.max_metadata_size, 1000);
    assert!(!c.enable_data_tracks);
    assert_eq!(c.webhook.urls.len(), 1);
}

#[test]
fn serialized_defaults_round_trip() {
    let text = serde_yaml::to_string(&Config::default()).unwrap();
    let p = parse_config(&text, "roundtrip").unwrap();
    assert!(p.unknown_keys.is_empty(), "{:?}", p.unknown_keys);
    assert_eq!(p.config, Config::default());
}

#[test]
fn dev_with_own_keys_uses_them_and_binds_all_interfaces() {
    // livekit-server binds loopback only when it falls back to the shared
    // placeholder key.
    let o = Overrides {
        dev: true,
        keys: Some("mine: s".into()),
        ..Default::default()
    };
    let c = load_with_notes(&o).unwrap().config;
    assert_eq!(c.keys.len(), 1);
    assert_eq!(c.keys.get("mine").map(String::as_str), Some("s"));
    assert!(c.bind_addresses.is_empty());
    assert_eq!(c.udp_port(), 7882);
}
