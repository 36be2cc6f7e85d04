//! `ringcast-load`: joins a LiveKit-compatible server with simulated audio
//! and video publishers and subscribers and prints what arrived (see
//! `ringcast_benches::load`).
//!
//! ```text
//! ringcast-load --url ws://127.0.0.1:7880 --api-key devkey --api-secret secret \
//!     --audio-publishers 1 --subscribers 10 --duration 10s --server-pid $(pidof ringcast)
//! ringcast-load --video-publishers 1 --video-bitrate 1.5M [--simulcast] --subscribers 100
//! ringcast-load --video-publishers 8 --meeting --subscribers 0
//! ```

use std::process::ExitCode;

use clap::Parser;
use ringcast_benches::load::{args::Args, run};

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,ringcast_benches=info")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = ringcast_benches::load::cpu::raise_fd_limit() {
        tracing::warn!(error = %e, "cannot raise the open-file limit");
    }
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run::run(&args)) {
        Ok(summary) => {
            if args.json {
                match serde_json::to_string_pretty(&summary) {
                    Ok(j) => println!("{j}"),
                    Err(e) => {
                        eprintln!("cannot write JSON: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", summary.table());
            }
            if summary.failed > 0 || summary.lost > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("ringcast-load: {e}");
            ExitCode::FAILURE
        }
    }
}
