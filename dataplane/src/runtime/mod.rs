//! Starting the dataplane: the DTLS certificate, one pinned worker thread per
//! core, each with its own sockets on the shared media port (SO_REUSEPORT)
//! and its own ends of the shared-memory rings.
//!
//! `core.rs` is a worker's logic over the rings and transports (no I/O);
//! `fallback_loop.rs` is the plain-socket loop that drives it.

mod core;
mod fallback_loop;

pub use self::core::*;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use ringcast_shared::config::DataplaneConfig;
use ringcast_shared::ring::{DataplaneInfo, ShmRegion};
use socket2::{Domain, Protocol, Socket, Type};

use crate::dtls::DtlsCertificate;

/// Why the dataplane could not start.
#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("cannot bind UDP {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("rings: {0}")]
    Rings(String),
    #[error("cannot spawn worker: {0}")]
    Spawn(std::io::Error),
}

/// A running dataplane; dropping it stops and joins the workers.
pub struct Dataplane {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    pub fingerprint_sha256: [u8; 32],
}

impl Drop for Dataplane {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A UDP socket on `addr` that other workers may bind too (SO_REUSEPORT).
pub fn reuseport_socket(addr: SocketAddr) -> Result<UdpSocket, DataplaneError> {
    let err = |source| DataplaneError::Bind { addr, source };
    let socket =
        Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP)).map_err(err)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(err)?;
    }
    socket.set_reuse_port(true).map_err(err)?;
    socket.set_nonblocking(true).map_err(err)?;
    let _ = socket.set_recv_buffer_size(4 << 20);
    let _ = socket.set_send_buffer_size(4 << 20);
    socket.bind(&addr.into()).map_err(err)?;
    Ok(socket.into())
}

fn pin_to_core(core: usize) {
    // SAFETY: cpu_set_t is plain data; sched_setaffinity(0) targets this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        let _ = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Starts `cfg.workers` workers on `region` and publishes the dataplane's
/// info (certificate fingerprint, port, pid) for the control plane.
pub fn start(cfg: &DataplaneConfig, region: &ShmRegion) -> Result<Dataplane, DataplaneError> {
    let cert =
        DtlsCertificate::generate().map_err(|e| DataplaneError::Certificate(e.to_string()))?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let bind: Vec<IpAddr> = if cfg.bind_addrs.is_empty() {
        vec![IpAddr::from([0, 0, 0, 0])]
    } else {
        cfg.bind_addrs.clone()
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    for w in 0..cfg.workers.max(1) {
        let mut sockets = Vec::new();
        for ip in &bind {
            match reuseport_socket(SocketAddr::new(*ip, cfg.udp_port)) {
                Ok(s) => sockets.push(s),
                // ::1 may be missing (IPv6 disabled); other addresses serve.
                Err(e) if ip.is_ipv6() && bind.len() > 1 => {
                    tracing::warn!(error = %e, "skipping media address")
                }
                Err(e) => return Err(e),
            }
        }
        let (commands, events) = region
            .worker_ends(w)
            .map_err(|e| DataplaneError::Rings(e.to_string()))?;
        let core = WorkerCore::new(w as u16, cert.clone(), commands, events);
        let stop = stop.clone();
        let pin = cfg.pin_cores;
        let t = std::thread::Builder::new()
            .name(format!("ringcast-w{w}"))
            .spawn(move || {
                if pin {
                    pin_to_core(w % cores);
                }
                fallback_loop::run(core, sockets, stop);
            })
            .map_err(DataplaneError::Spawn)?;
        threads.push(t);
    }
    region.publish_info(&DataplaneInfo {
        fingerprint_sha256: cert.fingerprint_sha256,
        udp_port: cfg.udp_port,
        pid: std::process::id(),
    });
    tracing::info!(workers = threads.len(), port = cfg.udp_port, fingerprint = %cert.sdp_fingerprint(), "dataplane running");
    Ok(Dataplane {
        stop,
        threads,
        fingerprint_sha256: cert.fingerprint_sha256,
    })
}

/// [`start`] with the signature the control plane's launcher hook takes.
pub fn start_boxed(
    cfg: &DataplaneConfig,
    region: &ShmRegion,
) -> Result<Box<dyn std::any::Any + Send>, String> {
    start(cfg, region)
        .map(|d| Box::new(d) as Box<dyn std::any::Any + Send>)
        .map_err(|e| e.to_string())
}
