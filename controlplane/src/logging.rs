//! Logging setup: `tracing` to stderr, at `logging.level` (or `RUST_LOG`
//! when set), as text or one JSON object per line (`logging.json`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LoggingConfig;

/// Targets that are chatty at debug level and rarely what one is debugging;
/// they stay at info unless `RUST_LOG` or `component_levels` says otherwise.
const NOISY_TARGETS: &[&str] = &[
    "hyper",
    "hyper_util",
    "h2",
    "tower",
    "tungstenite",
    "tokio_tungstenite",
];

/// Installs the global subscriber. Does nothing if one is already installed
/// (tests, or a second call).
pub fn init(cfg: &LoggingConfig) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => EnvFilter::new(v),
        _ => EnvFilter::new(filter_directives(cfg)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true);
    let result = if cfg.json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    // Err only means a subscriber exists already: keep it.
    let _ = result;
}

/// The `EnvFilter` directives for a logging config: the global level, the
/// noisy dependencies capped at info, then `component_levels`.
pub fn filter_directives(cfg: &LoggingConfig) -> String {
    let level = normalize_level(&cfg.level);
    let mut parts = vec![level.to_string()];
    if matches!(level, "debug" | "trace") {
        parts.extend(NOISY_TARGETS.iter().map(|t| format!("{t}=info")));
    }
    for (target, lvl) in &cfg.component_levels {
        if is_target_name(target) {
            parts.push(format!("{target}={}", normalize_level(lvl)));
        }
    }
    parts.join(",")
}

/// Maps livekit/zap level names onto tracing's; unknown names mean info.
pub fn normalize_level(level: &str) -> &'static str {
    match level.trim().to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "" | "info" => "info",
        "warn" | "warning" => "warn",
        // zap's dpanic/panic/fatal are all "errors only" for us.
        "error" | "dpanic" | "panic" | "fatal" => "error",
        "off" | "none" => "off",
        _ => "info",
    }
}

/// Whether `s` can be an `EnvFilter` target (so a stray component key such
/// as livekit's `transport.pion` cannot break the filter).
fn is_target_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_level_caps_noisy_dependencies() {
        let cfg = LoggingConfig {
            level: "debug".into(),
            ..Default::default()
        };
        let d = filter_directives(&cfg);
        assert!(d.starts_with("debug,"), "{d}");
        assert!(d.contains("hyper=info"), "{d}");
        assert!(EnvFilter::try_new(&d).is_ok());
    }

    #[test]
    fn livekit_level_names_map_to_tracing() {
        assert_eq!(normalize_level("WARNING"), "warn");
        assert_eq!(normalize_level("fatal"), "error");
        assert_eq!(normalize_level("bogus"), "info");
    }

    #[test]
    fn component_levels_are_added_and_bad_targets_skipped() {
        let mut cfg = LoggingConfig {
            level: "info".into(),
            ..Default::default()
        };
        cfg.component_levels
            .insert("ringcast_dataplane".into(), "debug".into());
        cfg.component_levels
            .insert("transport.pion".into(), "error".into());
        let d = filter_directives(&cfg);
        assert_eq!(d, "info,ringcast_dataplane=debug");
        assert!(EnvFilter::try_new(&d).is_ok());
    }
}
