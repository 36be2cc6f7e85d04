//! The `ringcast` binary: a drop-in for `livekit-server`.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ringcast_controlplane::cli::main()
}
