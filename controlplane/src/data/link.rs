//! The control plane's ends of the data-out rings: one producer per worker,
//! which worker holds which transport, and a short backlog per worker so a
//! burst of reliable messages outlasts a momentarily full ring.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use ringcast_shared::data_ring::{ChannelKind, DataRecord};
use ringcast_shared::records::{Event, TransportId};
use ringcast_shared::ring::Producer;

use super::counters::{DataCounters, DropReason};
use super::sequence::SequenceTracker;

/// Records held per worker while its data-out ring is full, and their
/// byte bound; beyond either, copies are dropped and counted.
pub const OUT_BACKLOG: usize = 1024;
pub const OUT_BACKLOG_BYTES: usize = 8 * 1024 * 1024;

struct Pending {
    to: TransportId,
    kind: ChannelKind,
    bytes: Arc<[u8]>,
}

#[derive(Default)]
struct WorkerOut {
    ring: Option<Producer<DataRecord>>,
    backlog: VecDeque<Pending>,
    backlog_bytes: usize,
}

impl WorkerOut {
    /// Pushes held records while the ring takes them.
    fn flush(&mut self) {
        let Some(ring) = self.ring.as_mut() else {
            return;
        };
        while let Some(p) = self.backlog.front() {
            let Ok(rec) = DataRecord::new(p.to, p.kind, &p.bytes) else {
                self.backlog.pop_front();
                continue;
            };
            if ring.try_push(rec).is_err() {
                return;
            }
            if let Some(p) = self.backlog.pop_front() {
                self.backlog_bytes = self.backlog_bytes.saturating_sub(p.bytes.len());
            }
        }
    }
}

#[derive(Default)]
struct Inner {
    workers: Vec<WorkerOut>,
    /// The worker a transport last connected on (IceConnected) or sent
    /// data from; unknown transports are offered to every worker.
    worker_of: HashMap<TransportId, u16>,
}

/// Data-out side of the link to the dataplane, shared by the data pump and
/// RoomService SendData. Without rings attached (tests, no dataplane)
/// every copy is counted as dropped (`ring_full`).
#[derive(Default)]
pub struct DataLink {
    inner: Mutex<Inner>,
    /// Counters for `/metrics`.
    pub counters: DataCounters,
    /// Last reliable sequence per sender.
    pub sequences: Mutex<SequenceTracker>,
}

impl std::fmt::Debug for DataLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataLink").finish_non_exhaustive()
    }
}

impl DataLink {
    /// Takes the data-out producers, one per worker, index = worker.
    pub fn attach(&self, producers: Vec<Producer<DataRecord>>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.workers = producers
            .into_iter()
            .map(|p| WorkerOut {
                ring: Some(p),
                ..WorkerOut::default()
            })
            .collect();
    }

    /// Learns where transports live from the dataplane's events.
    pub fn note_event(&self, ev: &Event) {
        match *ev {
            Event::IceConnected { id, worker, .. } => self.note_worker(id, worker),
            Event::TransportFailed { id, .. } => {
                let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
                inner.worker_of.remove(&id);
            }
            _ => {}
        }
    }

    /// `id` is served by `worker` (it sent data from there).
    pub fn note_worker(&self, id: TransportId, worker: u16) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.worker_of.insert(id, worker);
    }

    /// Forgets transports for which `live` is false.
    pub fn retain_transports(&self, mut live: impl FnMut(TransportId) -> bool) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.worker_of.retain(|id, _| live(*id));
    }

    /// Pushes held records into rings that have room again.
    pub fn flush(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for w in inner.workers.iter_mut() {
            w.flush();
        }
    }

    /// Hands `bytes` to the worker holding `to`, for its channel of `kind`.
    /// Returns whether it was queued (ring or backlog).
    pub fn send(&self, to: TransportId, kind: ChannelKind, bytes: &Arc<[u8]>) -> bool {
        let Ok(rec) = DataRecord::new(to, kind, bytes) else {
            self.counters.drop(DropReason::TooLarge);
            return false;
        };
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Inner { workers, worker_of } = &mut *inner;
        let targets: Vec<usize> = match worker_of.get(&to) {
            Some(&w) if usize::from(w) < workers.len() => vec![usize::from(w)],
            _ => (0..workers.len()).collect(),
        };
        let mut queued = false;
        for w in targets {
            let Some(out) = workers.get_mut(w) else {
                continue;
            };
            let Some(ring) = out.ring.as_mut() else {
                continue;
            };
            if out.backlog.is_empty() && ring.try_push(rec).is_ok() {
                queued = true;
                continue;
            }
            if out.backlog.len() < OUT_BACKLOG
                && out.backlog_bytes + bytes.len() <= OUT_BACKLOG_BYTES
            {
                out.backlog_bytes += bytes.len();
                out.backlog.push_back(Pending {
                    to,
                    kind,
                    bytes: Arc::clone(bytes),
                });
                queued = true;
            }
        }
        if queued {
            self.counters
                .packets_out
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.counters
                .bytes_out
                .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        } else {
            self.counters.drop(DropReason::RingFull);
        }
        queued
    }
}
