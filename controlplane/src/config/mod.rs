//! livekit-server's configuration: the same YAML keys, meanings and defaults,
//! merged with CLI flags and environment variables.
//!
//! `types.rs` holds the data; `load.rs` reads YAML (unknown keys warn, bad
//! types fail naming the key and line) and applies `--dev`, flags and env.

mod types;
pub use types::*;
