//! livekit-server's configuration: the same YAML keys, meanings and defaults,
//! merged with CLI flags and environment variables.
//!
//! `types.rs` holds the data; `parse.rs` reads YAML (unknown keys warn, bad
//! types fail naming the key and line); `load.rs` applies flags, env, `--dev`
//! and keys; `error.rs` says why loading failed.

mod error;
mod load;
mod parse;
mod types;
pub use error::{ConfigError, ParseError};
pub use load::{
    load, load_with_notes, ConfigNote, Loaded, NoteLevel, Overrides, DEV_API_KEY, DEV_API_SECRET,
    DEV_UDP_PORT, MIN_SECRET_LEN,
};
pub use parse::{parse_config, parse_key_map, Parsed};
pub use types::*;
