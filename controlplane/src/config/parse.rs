//! YAML text -> [`Config`]: unknown keys are collected (never fatal, unlike
//! livekit-server's strict mode, so a config written for a newer livekit
//! still starts Ringcast), and a bad value fails naming its key and line.

use super::error::ParseError;
use super::Config;

/// The result of parsing one YAML document.
#[derive(Debug)]
pub struct Parsed {
    pub config: Config,
    /// Dotted paths of keys Ringcast does not know, e.g. `rtc.foo`.
    pub unknown_keys: Vec<String>,
    /// The raw document, to ask whether a key was written explicitly.
    pub raw: serde_yaml::Value,
}

impl Parsed {
    /// Whether the document sets `path` (e.g. `["rtc", "udp_port"]`) to a
    /// non-null value. Lets defaults that depend on `--dev` apply only to
    /// keys the user did not write.
    pub fn is_set(&self, path: &[&str]) -> bool {
        let mut v = &self.raw;
        for key in path {
            match v.get(*key) {
                Some(next) => v = next,
                None => return false,
            }
        }
        !v.is_null()
    }
}

/// Parses `text`; `origin` names it in errors (`config.yaml`,
/// `--config-body`...). Empty text gives the defaults.
pub fn parse_config(text: &str, origin: &str) -> Result<Parsed, ParseError> {
    // First pass: plain YAML, for syntax errors and the explicit-key checks.
    let raw: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| located(origin, None, &e))?;
    if raw.is_null() {
        return Ok(Parsed {
            config: Config::default(),
            unknown_keys: Vec::new(),
            raw,
        });
    }
    if !raw.is_mapping() {
        return Err(ParseError {
            origin: origin.to_string(),
            key: None,
            line: Some(1),
            column: Some(1),
            message: "the config must be a YAML map of keys".into(),
        });
    }
    // Second pass: typed, straight from the text so errors keep their line.
    let mut unknown_keys = Vec::new();
    let de = serde_yaml::Deserializer::from_str(text);
    let mut on_unknown = |path: serde_ignored::Path<'_>| unknown_keys.push(path.to_string());
    let ignoring = serde_ignored::Deserializer::new(de, &mut on_unknown);
    let config = match serde_path_to_error::deserialize::<_, Config>(ignoring) {
        Ok(c) => c,
        Err(e) => {
            let key = e.path().to_string();
            let key = if key == "." || key.is_empty() {
                None
            } else {
                Some(key)
            };
            return Err(located(origin, key, e.inner()));
        }
    };
    Ok(Parsed {
        config,
        unknown_keys,
        raw,
    })
}

/// Parses a `key: secret` YAML map, as `--keys`, `LIVEKIT_KEYS` and key files
/// hold. Non-string secrets are skipped, as livekit-server does; anything
/// that is not a map is an error (returned as the YAML error text).
pub fn parse_key_map(text: &str) -> Result<Vec<(String, String)>, String> {
    let v: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    let map = match v {
        serde_yaml::Value::Mapping(m) => m,
        serde_yaml::Value::Null => return Ok(Vec::new()),
        _ => return Err("expected a map of \"key: secret\" lines".into()),
    };
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        let key = match k {
            serde_yaml::Value::String(s) => s,
            serde_yaml::Value::Number(n) => n.to_string(),
            _ => continue,
        };
        if let serde_yaml::Value::String(secret) = v {
            out.push((key, secret));
        }
    }
    Ok(out)
}

/// Builds a [`ParseError`] from a serde_yaml error, splitting its location
/// out of the message so the location is printed once, in front.
fn located(origin: &str, key: Option<String>, e: &serde_yaml::Error) -> ParseError {
    let loc = e.location();
    let mut message = e.to_string();
    // serde_yaml puts " at line L column C" in its text; we print the location in front.
    if let Some(l) = &loc {
        let suffix = format!(" at line {} column {}", l.line(), l.column());
        message = message.replacen(&suffix, "", 1);
    }
    // serde_yaml may also prefix the key path ("rtc.tcp_port: ..."); drop it
    // when we print the key anyway.
    if let Some(k) = &key {
        if let Some(stripped) = message.strip_prefix(&format!("{k}: ")) {
            message = stripped.to_string();
        }
    }
    ParseError {
        origin: origin.to_string(),
        key,
        line: loc.as_ref().map(|l| l.line()),
        column: loc.as_ref().map(|l| l.column()),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_gives_defaults() {
        let p = parse_config("", "test").unwrap();
        assert_eq!(p.config, Config::default());
        let p = parse_config("# only a comment\n", "test").unwrap();
        assert_eq!(p.config, Config::default());
    }

    #[test]
    fn unknown_nested_key_is_reported_with_its_path() {
        let p = parse_config("rtc:\n  tcp_port: 7000\n  bogus: 1\nfoo: bar\n", "t").unwrap();
        assert_eq!(p.config.rtc.tcp_port, 7000);
        assert!(
            p.unknown_keys.contains(&"rtc.bogus".to_string()),
            "{:?}",
            p.unknown_keys
        );
        assert!(
            p.unknown_keys.contains(&"foo".to_string()),
            "{:?}",
            p.unknown_keys
        );
    }

    #[test]
    fn wrong_type_names_key_and_line() {
        let e = parse_config("port: 7880\nrtc:\n  tcp_port: abc\n", "t").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("rtc.tcp_port"));
        assert_eq!(e.line, Some(3));
        let text = e.to_string();
        assert!(
            text.contains("rtc.tcp_port") && text.contains("line 3"),
            "{text}"
        );
    }

    #[test]
    fn malformed_yaml_reports_line() {
        let e = parse_config("port: 7880\nrtc: [\n", "t").unwrap_err();
        assert!(e.line.is_some(), "{e}");
    }

    #[test]
    fn is_set_sees_only_written_keys() {
        let p = parse_config("rtc:\n  port_range_start: 40000\n", "t").unwrap();
        assert!(p.is_set(&["rtc", "port_range_start"]));
        assert!(!p.is_set(&["rtc", "udp_port"]));
        assert!(!p.is_set(&["logging", "level"]));
    }

    #[test]
    fn key_map_parses_livekit_keys_string() {
        let k = parse_key_map("key1: secret1\nkey2: secret2").unwrap();
        assert_eq!(k.len(), 2);
        assert!(parse_key_map("devkey:secret").is_err());
    }
}
