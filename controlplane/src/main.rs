//! The `ringcast` binary: a drop-in for `livekit-server`. It links both
//! planes into one process (`--dev` and the default), the dataplane
//! attached to the control plane only through the shared-memory rings.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ringcast_controlplane::server::install_dataplane(ringcast_dataplane::runtime::start_boxed);
    ringcast_controlplane::cli::main()
}
