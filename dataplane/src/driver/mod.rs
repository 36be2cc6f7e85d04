//! I/O drivers: the machinery that moves datagrams between UDP sockets and a
//! sans-IO [`PacketHandler`]. Two drivers run the same contract: io_uring
//! (multishot RecvMsg + provided buffer ring, batched SendMsg) and a portable
//! one over `recvmmsg`/`sendmmsg`/`poll` for hosts where io_uring is refused.
pub mod counters;
pub mod portable;
pub mod send_queue;
pub mod sockaddr;
pub mod socket;
pub mod uring;
pub mod wake;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

pub use counters::WorkerCounters;
pub use send_queue::SendQueue;
pub use wake::Wake;

/// What a worker runs: protocol logic fed datagrams and ticks, writing replies
/// into the [`SendQueue`]. Called only from the worker's own thread.
pub trait PacketHandler {
    /// One received datagram. `data` may be rewritten in place (e.g. SRTP).
    fn on_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        local: SocketAddr,
        data: &mut [u8],
        out: &mut SendQueue,
    );
    /// Called once per loop turn: drain commands, run timers.
    fn on_tick(&mut self, now: Instant, out: &mut SendQueue);
    /// The earliest time the handler wants `on_tick` again, if any.
    fn next_deadline(&self) -> Option<Instant>;
    /// True when the handler wants its worker to end.
    fn should_stop(&self) -> bool {
        false
    }
    /// Called once per turn after the turn's datagrams, before the driver
    /// waits: the place to wake other workers this turn handed work to.
    fn end_turn(&mut self) {}
}

/// Which driver a worker uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DriverKind {
    /// io_uring when the kernel allows it, otherwise portable (logged).
    #[default]
    Auto,
    /// io_uring only; fails if the kernel refuses it.
    Uring,
    /// Plain non-blocking sockets with recvmmsg/sendmmsg and poll.
    Portable,
}

impl DriverKind {
    /// Resolves `Auto` into a concrete driver by probing io_uring once.
    pub fn resolve(self) -> DriverKind {
        match self {
            DriverKind::Auto => {
                if uring::is_supported() {
                    DriverKind::Uring
                } else {
                    tracing::info!("io_uring unavailable (multishot recvmsg / buffer ring); using the portable driver");
                    DriverKind::Portable
                }
            }
            k => k,
        }
    }
}

/// Bounds of one driver, all fixed at start.
#[derive(Debug, Clone, Copy)]
pub struct DriverConfig {
    /// Outgoing slots in the send queue. A turn stops taking datagrams
    /// (io_uring) or sends early (portable) once half are used, so one
    /// datagram can fan out to up to half this many copies without a drop:
    /// 4096 covers a 1 -> 2000 broadcast.
    pub send_slots: usize,
    /// Bytes per outgoing slot (largest datagram we send).
    pub send_slot_size: usize,
    /// Provided receive buffers per socket (io_uring) / batch size (portable).
    pub recv_buffers: u16,
    /// Bytes per receive buffer (payload part).
    pub recv_buffer_size: usize,
    /// Most datagrams handled per loop turn, so timers are never starved.
    pub max_datagrams_per_turn: usize,
    /// Longest wait without traffic or timer. Datagrams, records from the
    /// other workers (they notify the worker's [`Wake`]) and stop requests
    /// end a wait at once; what arrives unannounced (control-plane commands
    /// and data-channel messages, whose shared-memory rings carry no
    /// wake-up) waits at most this long while the worker is idle. Handlers
    /// that poll something else each turn need it short: 1 ms is the
    /// default; the SFU's workers run with [`SFU_MAX_WAIT`].
    pub max_wait: Duration,
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self {
            send_slots: 4096,
            send_slot_size: 1500,
            recv_buffers: 1024,
            recv_buffer_size: 2048,
            max_datagrams_per_turn: 256,
            max_wait: Duration::from_millis(1),
        }
    }
}

/// The longest idle wait of the SFU's workers: bounds how late an idle
/// worker applies a control-plane command or sends a data-channel message
/// the control plane routed to it (a packet, a cross-worker record or a
/// timer wakes it at once). Measured with 2 workers and 500 connected
/// participants, see the commit that set it.
pub const SFU_MAX_WAIT: Duration = Duration::from_millis(20);

/// Why a driver could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("socket setup for {addr}: {source}")]
    Socket {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("io_uring: {0}")]
    Uring(std::io::Error),
    #[error("poll/recvmmsg/sendmmsg: {0}")]
    Portable(std::io::Error),
    #[error("spawning worker thread: {0}")]
    Spawn(std::io::Error),
    #[error("no sockets to serve")]
    NoSockets,
}

/// Everything a driver needs besides the handler.
pub struct DriverContext<'a> {
    pub sockets: Vec<UdpSocket>,
    pub config: DriverConfig,
    pub stop: &'a AtomicBool,
    pub counters: &'a WorkerCounters,
    /// Ends a wait early when other threads hand this worker work.
    pub wake: Option<&'a Wake>,
}

/// Runs `handler` on the chosen driver until `stop` is set or the handler asks to stop.
pub fn run<H: PacketHandler>(
    kind: DriverKind,
    ctx: DriverContext<'_>,
    handler: &mut H,
) -> Result<(), DriverError> {
    if ctx.sockets.is_empty() {
        return Err(DriverError::NoSockets);
    }
    match kind.resolve() {
        DriverKind::Uring => uring::run(ctx, handler),
        _ => portable::run(ctx, handler),
    }
}

/// How long to wait this turn: until the handler's deadline, at most `max_wait`.
pub(crate) fn wait_for(now: Instant, deadline: Option<Instant>, max_wait: Duration) -> Duration {
    match deadline {
        Some(d) => d.saturating_duration_since(now).min(max_wait),
        None => max_wait,
    }
}

/// Picks the socket whose family matches `to` (v4 vs v6).
pub(crate) fn socket_for(locals: &[SocketAddr], to: &SocketAddr) -> Option<usize> {
    locals.iter().position(|l| l.is_ipv4() == to.is_ipv4())
}
