//! The `ringcast` command line: livekit-server's flags and environment
//! variables; running the server is the default action.
//!
//! `cli/args.rs` declares the flags, `cli/token_cmd.rs` is
//! `create-join-token`, `cli/keygen.rs` is `generate-keys`,
//! `cli/duration.rs` parses `--valid-for`.

mod args;
mod duration;
mod keygen;
mod token_cmd;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command, ServerArgs, TokenArgs, VERSION_TEXT};
pub use duration::parse_duration;
pub use keygen::{format_key_pair, generate_key_pair};
pub use token_cmd::{claims_from_args, create_token, format_token, TokenCmdError};

use crate::config::{load_with_notes, Config, Loaded};

/// Entry point of the `ringcast` binary. Exit code 0 on a clean shutdown, 1
/// when the configuration or startup fails (the reason goes to stderr).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => run_server(&cli.server),
        Some(Command::Dataplane) => run_dataplane(&cli.server),
        Some(Command::GenerateKeys) => {
            let (key, secret) = generate_key_pair();
            print_stdout(&format_key_pair(&key, &secret))
        }
        Some(Command::Ports) => match load_quietly(&cli.server) {
            Some(config) => print_stdout(&format_ports(&config)),
            None => ExitCode::FAILURE,
        },
        Some(Command::CreateJoinToken(ref args)) => {
            let Some(config) = load_quietly(&cli.server) else {
                return ExitCode::FAILURE;
            };
            match create_token(&config, args) {
                Ok(token) => print_stdout(&format_token(&token, args.raw)),
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Loads the config, sets up logging, and runs the server on a tokio
/// runtime until SIGINT/SIGTERM.
fn run_server(args: &ServerArgs) -> ExitCode {
    let Loaded { mut config, notes } = match load_with_notes(&args.overrides()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.dataplane_shm {
        config.dataplane.shm_path = path.clone();
    }
    crate::logging::init(&config.logging);
    for note in &notes {
        note.emit();
    }
    if config.development {
        tracing::info!("starting in development mode");
    }
    tracing::info!(
        version = VERSION_TEXT,
        http_port = config.http_port(),
        udp_port = config.udp_port(),
        tcp_port = config.tcp_port(),
        bind = ?config.bind_addresses,
        "starting ringcast"
    );
    // The control plane needs only a few threads; the cores belong to the
    // dataplane workers.
    let threads = std::thread::available_parallelism()
        .map(|n| n.get().min(4))
        .unwrap_or(2);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("ringcast-ctl")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// `ringcast dataplane`: the media workers as their own process, until
/// SIGINT/SIGTERM.
fn run_dataplane(args: &ServerArgs) -> ExitCode {
    let Loaded { config, notes } = match load_with_notes(&args.overrides()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    crate::logging::init(&config.logging);
    for note in &notes {
        note.emit();
    }
    let path = args
        .dataplane_shm
        .clone()
        .unwrap_or_else(|| format!("/dev/shm/ringcast-{}", config.udp_port()));
    match crate::handover::process::run(&config, std::path::Path::new(&path)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "dataplane failed");
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the config for a subcommand: errors to stderr, notes logged only at
/// warn and above so stdout stays machine-readable.
fn load_quietly(args: &ServerArgs) -> Option<Config> {
    match load_with_notes(&args.overrides()) {
        Ok(Loaded { mut config, notes }) => {
            let quiet = crate::config::LoggingConfig {
                level: "warn".into(),
                ..config.logging.clone()
            };
            crate::logging::init(&quiet);
            for n in &notes {
                n.emit();
            }
            config.logging.level = quiet.level;
            Some(config)
        }
        Err(e) => {
            eprintln!("{e}");
            None
        }
    }
}

/// livekit-server's `ports` output.
pub fn format_ports(config: &Config) -> String {
    let mut out = String::from("TCP Ports\n");
    out.push_str(&format!("{} - HTTP service\n", config.http_port()));
    if config.rtc.tcp_port != 0 {
        out.push_str(&format!("{} - ICE/TCP\n", config.rtc.tcp_port));
    }
    out.push_str("UDP Ports\n");
    out.push_str(&format!(
        "{} - ICE/UDP (all clients muxed on one port)\n",
        config.udp_port()
    ));
    out
}

fn print_stdout(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::KeyProvider;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("ringcast").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn version_names_livekit_compat_release() {
        assert!(VERSION_TEXT.contains(crate::LIVEKIT_COMPAT_VERSION));
    }

    #[test]
    fn server_flags_parse_like_livekit() {
        let cli = parse(&[
            "--dev",
            "--bind",
            "0.0.0.0",
            "--bind",
            "::",
            "--udp-port",
            "7882",
            "--port",
            "9000",
        ]);
        assert!(cli.command.is_none());
        let o = cli.server.overrides();
        assert!(o.dev);
        assert_eq!(o.bind, vec!["0.0.0.0", "::"]);
        assert_eq!(o.udp_port.as_deref(), Some("7882"));
        assert_eq!(o.port, Some(9000));
    }

    #[test]
    fn global_flags_work_after_subcommand() {
        let cli = parse(&[
            "create-join-token",
            "--room",
            "r",
            "--identity",
            "i",
            "--dev",
        ]);
        assert!(cli.server.dev);
        assert!(matches!(cli.command, Some(Command::CreateJoinToken(_))));
    }

    #[test]
    fn grant_flags_take_optional_bool() {
        let cli = parse(&[
            "--dev",
            "create-join-token",
            "--room",
            "r",
            "--identity",
            "i",
            "--hidden",
            "--can-publish",
            "false",
            "--room-admin",
            "--valid-for",
            "1h",
        ]);
        let Some(Command::CreateJoinToken(t)) = cli.command else {
            panic!("subcommand")
        };
        assert_eq!(t.hidden, Some(true));
        assert_eq!(t.can_publish, Some(false));
        assert_eq!(t.room_admin, Some(true));
        assert_eq!(t.can_subscribe, None);
        assert_eq!(t.valid_for.as_secs(), 3600);
    }

    #[test]
    fn join_token_verifies_with_dev_key() {
        let cli = parse(&[
            "--dev",
            "create-join-token",
            "--room",
            "r1",
            "--identity",
            "alice",
            "--name",
            "Alice",
            "--attribute",
            "a=b",
        ]);
        let Some(Command::CreateJoinToken(t)) = cli.command else {
            panic!("subcommand")
        };
        let config = load_with_notes(&cli.server.overrides()).unwrap().config;
        let token = create_token(&config, &t).unwrap();
        let claims = KeyProvider::new(config.keys.clone())
            .verify(&token)
            .unwrap();
        assert_eq!(claims.iss, "devkey");
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.name, "Alice");
        assert_eq!(claims.attributes.get("a").map(String::as_str), Some("b"));
        let video = claims.video_grant();
        assert!(video.room_join && video.room == "r1");
        assert!(video.can_publish() && video.can_subscribe() && video.can_publish_data());
        let lifetime = claims.exp.unwrap() - claims.nbf.unwrap();
        assert_eq!(lifetime, 720 * 3600);
        assert_eq!(format_token(&token, false), format!("Token: {token}\n"));
    }

    #[test]
    fn recorder_flag_matches_livekit() {
        let cli = parse(&[
            "--dev",
            "create-join-token",
            "--room",
            "r",
            "--identity",
            "rec",
            "--recorder",
        ]);
        let Some(Command::CreateJoinToken(t)) = cli.command else {
            panic!("subcommand")
        };
        let g = claims_from_args(&t).unwrap().video_grant();
        assert!(
            g.hidden
                && g.recorder
                && !g.can_publish()
                && !g.can_publish_data()
                && g.can_subscribe()
        );
    }

    #[test]
    fn unknown_api_key_is_an_error() {
        let cli = parse(&[
            "--dev",
            "create-join-token",
            "--room",
            "r",
            "--identity",
            "i",
            "--api-key",
            "nope",
        ]);
        let Some(Command::CreateJoinToken(t)) = cli.command else {
            panic!("subcommand")
        };
        let config = load_with_notes(&cli.server.overrides()).unwrap().config;
        assert!(matches!(
            create_token(&config, &t),
            Err(TokenCmdError::UnknownKey(_))
        ));
    }

    #[test]
    fn dev_ports_output() {
        let config = load_with_notes(&parse(&["--dev"]).server.overrides())
            .unwrap()
            .config;
        let p = format_ports(&config);
        assert!(
            p.contains("7880 - HTTP service")
                && p.contains("7881 - ICE/TCP")
                && p.contains("7882 - ICE/UDP"),
            "{p}"
        );
    }
}
