//! The command line: livekit-server's flags and environment variables.
//! (Skeleton: filled in by the config/CLI work.)

use std::process::ExitCode;

/// Entry point of the `ringcast` binary.
pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
