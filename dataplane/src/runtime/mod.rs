//! Starting the dataplane: the DTLS certificate, one pinned worker thread per
//! core (`worker::spawn_workers`), each with its own sockets on the shared
//! media port (SO_REUSEPORT), its own driver (io_uring or portable) and its
//! own ends of the shared-memory rings.
//!
//! `core.rs` is a worker's logic over the rings and transports (no I/O); the
//! drivers in `driver/` call it through [`PacketHandler`].

mod core;
pub mod data_path;
pub mod stats_publish;

pub use self::core::*;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ringcast_shared::config::{DataplaneConfig, DriverKind as ConfiguredDriver};
use ringcast_shared::ring::{channel, DataplaneInfo, ShmRegion};

use crate::driver::{DriverConfig, DriverKind, PacketHandler, SendQueue};
use crate::dtls::DtlsCertificate;
use crate::forward::{CrossPacket, CROSS_RING_SLOTS};
use crate::worker::{spawn_workers_woken, WorkerSet};

/// Why the dataplane could not start.
#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("rings: {0}")]
    Rings(String),
    #[error("workers: {0}")]
    Workers(#[from] crate::driver::DriverError),
}

/// A running dataplane; dropping it stops and joins the workers.
pub struct Dataplane {
    pub workers: WorkerSet,
    pub fingerprint_sha256: [u8; 32],
}

impl DatagramOut for SendQueue {
    fn send_to(&mut self, to: SocketAddr, payload: &[u8]) {
        // A full queue drops the datagram and counts it (SendQueue::drops).
        let _ = self.push_copy(to, payload);
    }
}

/// The driver-facing side of a worker: its [`WorkerCore`], or nothing if
/// the worker could not be given one (it then stops at once).
pub struct WorkerHandler(Option<WorkerCore>);

impl PacketHandler for WorkerHandler {
    fn on_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        _local: SocketAddr,
        data: &mut [u8],
        out: &mut SendQueue,
    ) {
        if let Some(core) = self.0.as_mut() {
            core.on_datagram(now, from, data, out);
        }
    }
    fn on_tick(&mut self, now: Instant, out: &mut SendQueue) {
        if let Some(core) = self.0.as_mut() {
            core.on_tick(now, out);
        }
    }
    fn next_deadline(&self) -> Option<Instant> {
        self.0.as_ref().and_then(WorkerCore::next_deadline)
    }
    fn should_stop(&self) -> bool {
        self.0.as_ref().is_none_or(WorkerCore::should_stop)
    }
}

fn driver_kind(k: ConfiguredDriver) -> DriverKind {
    match k {
        ConfiguredDriver::Auto => DriverKind::Auto,
        ConfiguredDriver::IoUring => DriverKind::Uring,
        ConfiguredDriver::Portable => DriverKind::Portable,
    }
}

/// Starts `cfg.workers` workers on `region` and publishes the dataplane's
/// info (certificate fingerprint, port, pid) for the control plane.
pub fn start(cfg: &DataplaneConfig, region: &ShmRegion) -> Result<Dataplane, DataplaneError> {
    let cert =
        DtlsCertificate::generate().map_err(|e| DataplaneError::Certificate(e.to_string()))?;
    let workers = cfg.workers.max(1);
    let mut cores = Vec::with_capacity(workers);
    let mut driver_cells = Vec::with_capacity(workers);
    for w in 0..workers {
        let (commands, events) = region
            .worker_ends(w)
            .map_err(|e| DataplaneError::Rings(e.to_string()))?;
        let (data_up, data_down) = region
            .worker_data_ends(w)
            .map_err(|e| DataplaneError::Rings(e.to_string()))?;
        let slot = region
            .worker_stats(w)
            .map_err(|e| DataplaneError::Rings(e.to_string()))?;
        let cell = stats_publish::DriverCountersCell::default();
        driver_cells.push(cell.clone());
        cores.push(Some(
            WorkerCore::new(w as u16, cert.clone(), commands, events)
                .with_stats(stats_publish::StatsPublisher::new(slot, cell))
                .with_data(data_up, data_down),
        ));
    }
    let cores = connect_peers(cores)?;
    let cores = Mutex::new(cores);
    let bind: Vec<IpAddr> = if cfg.bind_addrs.is_empty() {
        vec![IpAddr::from([0, 0, 0, 0])]
    } else {
        cfg.bind_addrs.clone()
    };
    let set = spawn_workers_woken(
        workers,
        &bind,
        cfg.udp_port,
        driver_kind(cfg.driver),
        DriverConfig {
            max_wait: crate::driver::SFU_MAX_WAIT,
            ..DriverConfig::default()
        },
        wakes_of(&cores, workers)?,
        |i| {
            let mut cores = cores.lock().unwrap_or_else(|e| e.into_inner());
            TurnEnd(WorkerHandler(cores.get_mut(i).and_then(Option::take)))
        },
    )?;
    // The driver counters exist only now; hand each worker its own.
    for (cell, counters) in driver_cells.iter().zip(set.counters()) {
        let _ = cell.set(Arc::clone(counters));
    }
    region.publish_info(&DataplaneInfo {
        fingerprint_sha256: cert.fingerprint_sha256,
        udp_port: set.local_port(),
        pid: std::process::id(),
    });
    tracing::info!(
        workers,
        port = set.local_port(),
        driver = ?set.driver_kind(),
        fingerprint = %cert.sdp_fingerprint(),
        "dataplane running"
    );
    Ok(Dataplane {
        workers: set,
        fingerprint_sha256: cert.fingerprint_sha256,
    })
}

/// Gives every pair of workers a ring each way for cross-worker media.
fn connect_peers(
    cores: Vec<Option<WorkerCore>>,
) -> Result<Vec<Option<WorkerCore>>, DataplaneError> {
    let n = cores.len();
    // One wake-up per worker: whoever pushes into a worker's inbox wakes it.
    let wakes = crate::worker::new_wakes(n)?;
    let mut inbox: Vec<Vec<_>> = (0..n).map(|_| Vec::new()).collect();
    let mut peers = Vec::with_capacity(n);
    for from in 0..n {
        let mut out = Vec::with_capacity(n.saturating_sub(1));
        for (to, rx_list) in inbox.iter_mut().enumerate() {
            if from == to {
                continue;
            }
            let (tx, rx) = channel::<CrossPacket>(CROSS_RING_SLOTS)
                .map_err(|e| DataplaneError::Rings(e.to_string()))?;
            out.push(tx);
            rx_list.push(rx);
        }
        peers.push(out);
    }
    Ok(cores
        .into_iter()
        .zip(peers.into_iter().zip(inbox))
        .map(|(c, (p, i))| c.map(|c| c.with_peers(p, i).with_wakes(wakes.clone())))
        .collect())
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
