//! The `ringcast` binary as scripts use it: environment variables, exit
//! codes, and output that is easy to parse.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use ringcast_controlplane::auth::KeyProvider;

const SECRET: &str = "0123456789abcdef0123456789abcdef01";

fn ringcast(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ringcast"));
    cmd.args(args);
    for var in [
        "LIVEKIT_CONFIG",
        "LIVEKIT_KEYS",
        "NODE_IP",
        "UDP_PORT",
        "LIVEKIT_REGION",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run ringcast")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn create_join_token_prints_livekit_line_and_verifies() {
    let o = ringcast(
        &[
            "--dev",
            "create-join-token",
            "--room",
            "r1",
            "--identity",
            "alice",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    let token = out.trim().strip_prefix("Token: ").expect("Token: prefix");
    let mut keys = BTreeMap::new();
    keys.insert("devkey".to_string(), "secret".to_string());
    let c = KeyProvider::new(keys).verify(token).unwrap();
    assert_eq!(c.sub, "alice");
    assert_eq!(c.video_grant().room, "r1");
}

#[test]
fn create_join_token_uses_livekit_keys_env() {
    let keys = format!("envkey: {SECRET}");
    let o = ringcast(
        &[
            "create-join-token",
            "--room",
            "r",
            "--identity",
            "i",
            "--raw",
            "--valid-for",
            "10m",
        ],
        &[("LIVEKIT_KEYS", &keys)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let token = stdout(&o).trim().to_string();
    let mut map = BTreeMap::new();
    map.insert("envkey".to_string(), SECRET.to_string());
    let c = KeyProvider::new(map).verify(&token).unwrap();
    assert_eq!(c.iss, "envkey");
    assert_eq!(c.exp.unwrap() - c.nbf.unwrap(), 600);
}

#[test]
fn livekit_config_env_is_read() {
    let body = format!("port: 7123\nkeys:\n  cfgkey: {SECRET}\n");
    let o = ringcast(&["ports"], &[("LIVEKIT_CONFIG", &body)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("7123 - HTTP service"), "{}", stdout(&o));
    assert!(stdout(&o).contains("50000 - ICE/UDP"), "{}", stdout(&o));
}

#[test]
fn udp_port_env_is_read() {
    let o = ringcast(&["--dev", "ports"], &[("UDP_PORT", "9999")]);
    assert!(stdout(&o).contains("9999 - ICE/UDP"), "{}", stdout(&o));
}

#[test]
fn bad_config_exits_1_naming_key_and_line() {
    let o = ringcast(&["--dev", "--config-body", "rtc:\n  tcp_port: nope\n"], &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("rtc.tcp_port") && err.contains("line 2"),
        "{err}"
    );
}

#[test]
fn no_keys_exits_1_with_livekit_message() {
    let o = ringcast(&[], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("one of key-file or keys must be provided"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn generate_keys_prints_key_and_secret() {
    let o = ringcast(&["generate-keys"], &[]);
    assert!(o.status.success());
    let out = stdout(&o);
    let words: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(words.len(), 2, "{out}");
    assert_eq!(&words[0][..2], ["API", "Key:"]);
    assert!(words[0][2].starts_with("API"));
    assert_eq!(&words[1][..2], ["API", "Secret:"]);
    assert!(words[1][2].len() >= 32);
}

#[test]
fn version_flag_prints_version() {
    let o = ringcast(&["--version"], &[]);
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("ringcast "), "{}", stdout(&o));
}
