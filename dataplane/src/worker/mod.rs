//! Worker threads: one pinned OS thread per core, each with its own sockets
//! (SO_REUSEPORT on the shared media port) and its own driver. Workers share
//! nothing mutable; only the stop flag and read-only counters cross threads.
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::driver::{
    self, socket, DriverConfig, DriverContext, DriverError, DriverKind, PacketHandler, Wake,
    WorkerCounters,
};

/// Handles to running workers. Dropping it stops and joins them.
pub struct WorkerSet {
    stop: Arc<AtomicBool>,
    counters: Vec<Arc<WorkerCounters>>,
    /// Each worker's wake-up, so a stop request ends their waits at once.
    wakes: Vec<Arc<Wake>>,
    threads: Vec<JoinHandle<Result<(), DriverError>>>,
    kind: DriverKind,
    port: u16,
}

impl WorkerSet {
    /// Counters of worker `i`, for metrics.
    pub fn counters(&self) -> &[Arc<WorkerCounters>] {
        &self.counters
    }

    /// The concrete driver the workers run (after resolving `Auto`).
    pub fn driver_kind(&self) -> DriverKind {
        self.kind
    }

    /// The media port the workers share (useful when spawned with port 0).
    pub fn local_port(&self) -> u16 {
        self.port
    }

    /// Asks every worker to end; each sees it within one loop turn (its
    /// wait is ended through its [`Wake`]).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        for w in &self.wakes {
            w.wake_now();
        }
    }

    /// Stops and waits for every worker; returns the first driver error.
    pub fn join(mut self) -> Result<(), DriverError> {
        self.stop();
        self.join_all()
    }

    fn join_all(&mut self) -> Result<(), DriverError> {
        let mut first = Ok(());
        for t in self.threads.drain(..) {
            let r = match t.join() {
                Ok(r) => r,
                Err(_) => Err(DriverError::Spawn(std::io::Error::other("worker panicked"))),
            };
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

impl Drop for WorkerSet {
    fn drop(&mut self) {
        self.stop();
        let _ = self.join_all();
    }
}

/// Spawns `n` workers named `ringcast-w{i}`, worker i pinned to core i, each
/// with its own socket per bind address on `port` and its own handler from
/// `make_handler(i)`. Sockets are bound before this returns, so a bind error
/// is reported here. Port 0 binds the first socket to an ephemeral port and
/// reuses that port for the others.
pub fn spawn_workers<H, F>(
    n: usize,
    bind_addrs: &[std::net::IpAddr],
    port: u16,
    kind: DriverKind,
    config: DriverConfig,
    make_handler: F,
) -> Result<WorkerSet, DriverError>
where
    H: PacketHandler + Send + 'static,
    F: Fn(usize) -> H,
{
    let wakes = new_wakes(n)?;
    spawn_workers_woken(n, bind_addrs, port, kind, config, wakes, make_handler)
}

/// One [`Wake`] per worker, for [`spawn_workers_woken`] and for the
/// handlers that hand each other work.
pub fn new_wakes(n: usize) -> Result<Vec<Arc<Wake>>, DriverError> {
    (0..n)
        .map(|_| Wake::new().map(Arc::new).map_err(DriverError::Spawn))
        .collect()
}

/// As [`spawn_workers`], with worker i waiting on `wakes[i]` (made by
/// [`new_wakes`] and also given to whoever hands that worker work).
pub fn spawn_workers_woken<H, F>(
    n: usize,
    bind_addrs: &[std::net::IpAddr],
    port: u16,
    kind: DriverKind,
    config: DriverConfig,
    wakes: Vec<Arc<Wake>>,
    make_handler: F,
) -> Result<WorkerSet, DriverError>
where
    H: PacketHandler + Send + 'static,
    F: Fn(usize) -> H,
{
    if bind_addrs.is_empty() {
        return Err(DriverError::NoSockets);
    }
    if wakes.len() < n {
        return Err(DriverError::Spawn(std::io::Error::other(
            "fewer wake-ups than workers",
        )));
    }
    let kind = kind.resolve();
    let stop = Arc::new(AtomicBool::new(false));
    let mut set = WorkerSet {
        stop: stop.clone(),
        counters: Vec::new(),
        wakes: wakes.clone(),
        threads: Vec::new(),
        kind,
        port,
    };
    // Port 0: the first socket picks an ephemeral port and every other socket
    // (other workers, other address families) joins that same port.
    let mut port = port;
    for (i, wake) in wakes.iter().take(n).enumerate() {
        let mut sockets = Vec::with_capacity(bind_addrs.len());
        for ip in bind_addrs {
            let addr = SocketAddr::new(*ip, port);
            let s = socket::bind_reuseport(addr)?;
            if port == 0 {
                port = s
                    .local_addr()
                    .map_err(|source| DriverError::Socket { addr, source })?
                    .port();
            }
            sockets.push(s);
        }
        let counters = Arc::new(WorkerCounters::default());
        set.counters.push(counters.clone());
        let mut handler = make_handler(i);
        let stop = stop.clone();
        let wake = Arc::clone(wake);
        let t = std::thread::Builder::new()
            .name(format!("ringcast-w{i}"))
            .spawn(move || {
                pin_to_core(i);
                let ctx = DriverContext {
                    sockets,
                    config,
                    stop: &stop,
                    counters: &counters,
                    wake: Some(&wake),
                };
                let r = driver::run(kind, ctx, &mut handler);
                if let Err(e) = &r {
                    tracing::error!(worker = i, error = %e, "worker driver stopped");
                }
                r
            })
            .map_err(DriverError::Spawn)?;
        set.threads.push(t);
    }
    set.port = port;
    Ok(set)
}

/// Pins the calling thread to `core` (modulo the CPU count); failure is ignored
/// because pinning is a performance hint, not a requirement.
fn pin_to_core(core: usize) {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    // SAFETY: cpu_set_t is plain data; CPU_SET stays in range via the modulo.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core % cpus, &mut set);
        let _ = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}
