//! Why a configuration could not be loaded. Every variant stops startup; the
//! message is printed as is, so it names the file, key and line to fix.

use std::fmt;

/// A configuration error that stops the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `--config` file could not be read.
    #[error("could not read config file {path}: {source}")]
    ReadFile {
        path: String,
        source: std::io::Error,
    },
    /// The YAML is malformed or a value has the wrong type.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// `--keys` / `LIVEKIT_KEYS` is not a `key: secret` YAML map. The text is
    /// livekit-server's, which people search for.
    #[error("Could not parse keys, it needs to be exactly, \"key: secret\", including the space")]
    InvalidKeys,
    /// The `key_file` / `--key-file` could not be read.
    #[error("could not read key file {path}: {source}")]
    ReadKeyFile {
        path: String,
        source: std::io::Error,
    },
    /// The key file is not a `key: secret` YAML map.
    #[error("could not parse key file {path}: {message}")]
    ParseKeyFile { path: String, message: String },
    /// A command line flag or environment variable has a bad value.
    #[error("invalid {flag} value {value:?}: {message}")]
    InvalidFlag {
        flag: &'static str,
        value: String,
        message: String,
    },
    /// Not in `--dev` and no API key anywhere (livekit-server's message).
    #[error("one of key-file or keys must be provided in order to support a secure installation")]
    NoKeys,
}

/// A YAML error located in the config text: where (`origin`, line, column),
/// which key (dotted path such as `rtc.tcp_port`), and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// `config.yaml`, `--config-body` or `LIVEKIT_CONFIG`.
    pub origin: String,
    /// Dotted key path, `None` when the YAML itself is malformed.
    pub key: Option<String>,
    /// 1-based line, when the YAML parser knows it.
    pub line: Option<usize>,
    /// 1-based column, when the YAML parser knows it.
    pub column: Option<usize>,
    /// The parser's description, without its own location suffix.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not parse config {}", self.origin)?;
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, " at line {l}, column {c}")?,
            (Some(l), None) => write!(f, " at line {l}")?,
            _ => {}
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ParseError {}
