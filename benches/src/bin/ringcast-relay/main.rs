//! `ringcast-relay`: the raw baseline of issue #7, a minimal UDP relay on
//! the dataplane's own workers and drivers (io_uring or portable) with no
//! WebRTC and no crypto, and a load side that feeds it the packet pattern of
//! `ringcast-load`. Ringcast's CPU per forwarded packet divided by this
//! relay's is how far we are from what the machine can do at all.
//!
//! ```text
//! ringcast-relay serve --port 7990 --workers 2
//! ringcast-relay load --relay 127.0.0.1:7990 --publishers 1 --subscribers 100 \
//!     --duration 10s --server-pid <pid printed by serve>
//! ```

mod load;
mod relay;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use ringcast_benches::load::args::parse_duration;
use ringcast_dataplane::driver::{DriverConfig, DriverKind};
use ringcast_dataplane::worker::spawn_workers;

/// The raw UDP relay baseline and its load generator.
#[derive(Debug, Parser)]
#[command(name = "ringcast-relay", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the relay until SIGINT/SIGTERM.
    Serve {
        /// UDP port (0: an ephemeral one, printed).
        #[arg(long, default_value_t = 7990)]
        port: u16,
        /// Worker threads (one per core, SO_REUSEPORT on the port).
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// I/O driver.
        #[arg(long, value_enum, default_value_t = Driver::Auto)]
        driver: Driver,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
        /// Longest idle wait of a worker, ms. The relay has no timers and no
        /// cross-worker rings, so this only bounds how fast it sees a stop;
        /// a long wait keeps its idle CPU (charged to no packet) near zero.
        #[arg(long, default_value_t = 20)]
        max_wait_ms: u64,
    },
    /// Feed a running relay the `ringcast-load` packet pattern and report.
    Load {
        /// The relay's address.
        #[arg(long, default_value = "127.0.0.1:7990")]
        relay: SocketAddr,
        /// Number of rooms.
        #[arg(long, default_value_t = 1)]
        rooms: usize,
        /// Publishers per room (a packet every 20 ms each).
        #[arg(long = "publishers", alias = "audio-publishers", default_value_t = 1)]
        publishers: usize,
        /// Subscribers per room.
        #[arg(long, default_value_t = 10)]
        subscribers: usize,
        /// Subscribers one receiving socket stands for.
        #[arg(long, default_value_t = 50)]
        subs_per_socket: usize,
        /// Measured window, e.g. `10s`.
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        duration: Duration,
        /// RTP payload bytes per packet (Opus-sized).
        #[arg(long, default_value_t = 100)]
        payload_bytes: usize,
        /// Video instead of audio: each publisher sends `ringcast-load
        /// --video-publishers`' pattern for this bitrate (30 frames a
        /// second, each frame's packets of at most 1200 payload bytes sent
        /// together); overrides --payload-bytes.
        #[arg(long, value_parser = ringcast_benches::load::args::parse_bitrate)]
        video_bitrate: Option<u64>,
        /// The relay's pid: report its CPU over the window.
        #[arg(long)]
        server_pid: Option<u32>,
        /// With --server-pid: how long to sample the relay's idle CPU first.
        #[arg(long, default_value = "2s", value_parser = parse_duration)]
        idle_sample: Duration,
        /// Longest wait for every subscriber to hear every publisher.
        #[arg(long, default_value = "5s", value_parser = parse_duration)]
        warmup_timeout: Duration,
        /// How long packets sent in the window may still arrive after it.
        #[arg(long, default_value = "1s", value_parser = parse_duration)]
        drain: Duration,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Driver {
    Auto,
    Uring,
    Portable,
}

impl From<Driver> for DriverKind {
    fn from(d: Driver) -> DriverKind {
        match d {
            Driver::Auto => DriverKind::Auto,
            Driver::Uring => DriverKind::Uring,
            Driver::Portable => DriverKind::Portable,
        }
    }
}

/// Set by SIGINT/SIGTERM.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn serve(port: u16, workers: usize, driver: Driver, bind: IpAddr, max_wait_ms: u64) -> ExitCode {
    let registry = relay::Registry::new();
    let config = DriverConfig {
        max_wait: Duration::from_millis(max_wait_ms.max(1)),
        ..DriverConfig::default()
    };
    let set = match spawn_workers(workers.max(1), &[bind], port, driver.into(), config, |_| {
        relay::RelayHandler::new(registry.clone())
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ringcast-relay: cannot start the workers: {e}");
            return ExitCode::FAILURE;
        }
    };
    // SAFETY: `on_signal` only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    println!(
        "ringcast-relay pid {} port {} workers {} driver {:?}",
        std::process::id(),
        set.local_port(),
        workers.max(1),
        set.driver_kind()
    );
    let _ = std::io::stdout().flush();
    while !STOP.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let snaps: Vec<_> = set.counters().iter().map(|c| c.snapshot()).collect();
    let r = set.join();
    for (i, s) in snaps.iter().enumerate() {
        println!(
            "worker {i}: in {} out {} send-queue drops {} send errors {} turns {}",
            s.packets_in, s.packets_out, s.send_queue_drops, s.send_errors, s.turns
        );
    }
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringcast-relay: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            port,
            workers,
            driver,
            bind,
            max_wait_ms,
        } => serve(port, workers, driver, bind, max_wait_ms),
        Command::Load {
            relay,
            rooms,
            publishers,
            subscribers,
            subs_per_socket,
            duration,
            payload_bytes,
            video_bitrate,
            server_pid,
            idle_sample,
            warmup_timeout,
            drain,
            json,
        } => {
            let (payload_bytes, period, burst) = match video_bitrate {
                Some(b) => {
                    let p = ringcast_benches::load::payload::VideoPattern::for_bitrate(b);
                    (
                        p.payload_bytes,
                        Duration::from_secs(1) / ringcast_benches::load::payload::VIDEO_FPS,
                        p.packets_per_frame,
                    )
                }
                None => (payload_bytes, load::AUDIO_PERIOD, 1),
            };
            let cfg = load::LoadConfig {
                relay,
                rooms,
                publishers,
                subscribers,
                subs_per_socket,
                duration,
                payload_bytes,
                period,
                burst,
                server_pid,
                idle_sample,
                warmup_timeout,
                drain,
            };
            match load::run(&cfg) {
                Ok(s) => {
                    if json {
                        match serde_json::to_string_pretty(&s) {
                            Ok(j) => println!("{j}"),
                            Err(e) => {
                                eprintln!("cannot write JSON: {e}");
                                return ExitCode::FAILURE;
                            }
                        }
                    } else {
                        print!("{}", s.table());
                    }
                    if s.lost > 0 || s.duplicates > 0 {
                        ExitCode::from(2)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => {
                    eprintln!("ringcast-relay: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
