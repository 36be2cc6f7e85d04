//! The shared-memory region between the control plane and the dataplane.
//!
//! Layout (all offsets 64-byte aligned):
//!
//! ```text
//! RegionHeader  magic, RECORDS_VERSION, workers, capacity, record sizes,
//!               total length, dataplane info block (seqlock), heartbeat
//! worker 0:     command ring (control -> worker), event ring (worker -> control)
//! worker 1:     ...
//! stats:        one WorkerStatsBlock per worker (crate::stats)
//! data:         per worker, a data-in ring (worker -> control: data-channel
//!               messages from clients) and a data-out ring (control ->
//!               worker: messages to send), DATA_RING_CAPACITY slots of
//!               DataRecord each (crate::data_ring)
//! control state: CONTROL_STATE_BYTES for the control plane's snapshot of
//!               rooms and participants (handover.rs), so a restarted
//!               control plane takes back what the dataplane is serving
//! ```
//!
//! The creator (the dataplane, or `ringcast --dev` for both planes) calls
//! [`ShmRegion::create`]; the other side calls [`ShmRegion::attach`], which
//! refuses a region whose magic, version, record sizes or length disagree
//! with this build. Each ring end can be held by one handle at a time
//! (taking it again before the first handle is dropped is an error).

use std::any::Any;
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use super::spsc::{self, Consumer, Producer, RingError};
use crate::data_ring::{DataRecord, DATA_RING_CAPACITY};
use crate::records::{Command, Event, RECORDS_VERSION};
use crate::stats::{
    RingStats, WorkerStatsBlock, WorkerStatsSlot, WorkerStatsSnapshot, STATS_BLOCK_BYTES,
};

/// "RINGCAST" in ASCII, little-endian.
pub const SHM_MAGIC: u64 = u64::from_le_bytes(*b"RINGCAST");

/// Where the region lives.
#[derive(Debug, Clone)]
pub enum ShmBacking {
    /// An anonymous memfd with this debug name; share it by passing the fd to
    /// a child or attaching to `/proc/<pid>/fd/<fd>` (see [`ShmRegion::fd_path`]).
    Memfd(String),
    /// A file, normally under `/dev/shm`; created or truncated.
    Path(PathBuf),
}

/// Errors creating or attaching a region, or taking a ring end.
#[derive(Debug, thiserror::Error)]
pub enum ShmError {
    /// Opening, sizing or mapping the backing file failed.
    #[error("shared memory {what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
    /// The file is not a Ringcast region (or was not initialised yet).
    #[error("not a ringcast region: magic {found:#018x}, expected {SHM_MAGIC:#018x}")]
    BadMagic { found: u64 },
    /// Built from a different records layout; upgrade both planes together.
    #[error("records version mismatch: region has {found}, this build has {RECORDS_VERSION}")]
    VersionMismatch { found: u32 },
    /// A header field disagrees with this build or with the file length.
    #[error("region layout mismatch: {field} is {found}, expected {expected}")]
    LayoutMismatch {
        field: &'static str,
        found: u64,
        expected: u64,
    },
    /// Worker count or ring capacity out of range.
    #[error("invalid region parameters: {0}")]
    Invalid(String),
    /// Asked for a worker the region does not have.
    #[error("worker {worker} out of range (region has {workers})")]
    NoSuchWorker { worker: usize, workers: usize },
    /// Taking a ring end failed (already taken, corrupt capacity).
    #[error("ring: {0}")]
    Ring(#[from] RingError),
}

/// What the dataplane publishes for the control plane to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataplaneInfo {
    /// SHA-256 of the dataplane's DTLS certificate, for `a=fingerprint` in SDP.
    pub fingerprint_sha256: [u8; 32],
    /// The UDP media port every worker listens on.
    pub udp_port: u16,
    /// The dataplane's process id.
    pub pid: u32,
}

/// Fixed header at offset 0. Only atomics, so both processes may touch it
/// concurrently without undefined behaviour.
#[repr(C, align(64))]
pub(super) struct RegionHeader {
    /// Written last by the creator (Release) so an attacher never sees a
    /// half-written header with a valid magic.
    magic: AtomicU64,
    version: AtomicU32,
    workers: AtomicU32,
    capacity: AtomicU32,
    command_size: AtomicU32,
    event_size: AtomicU32,
    /// `size_of::<DataRecord>()`, checked on attach like the other sizes.
    data_size: AtomicU32,
    total_len: AtomicU64,
    /// Seqlock over the info fields: odd while the dataplane writes them,
    /// 0 until first published.
    info_seq: AtomicU64,
    info_fingerprint: [AtomicU64; 4],
    info_udp_port: AtomicU32,
    info_pid: AtomicU32,
    /// Bumped by the dataplane on every loop tick it chooses; the control
    /// plane watches it move to tell a live dataplane from a stale region.
    heartbeat: AtomicU64,
    /// Pid of the control plane holding the control-side ring ends (0: none).
    /// A restarted control plane reclaims the ends only when that process is
    /// gone (see `handover.rs`).
    pub(super) control_pid: AtomicU32,
    /// Seqlock over the control plane's state snapshot: odd while written.
    pub(super) state_seq: AtomicU64,
    /// Bytes of the current snapshot in the state area.
    pub(super) state_len: AtomicU64,
}

const HEADER_BYTES: usize = size_of::<RegionHeader>().next_multiple_of(64);

fn command_ring_bytes(capacity: usize) -> usize {
    spsc::region_bytes::<Command>(capacity)
}

fn event_ring_bytes(capacity: usize) -> usize {
    spsc::region_bytes::<Event>(capacity)
}

fn worker_stride(capacity: usize) -> usize {
    command_ring_bytes(capacity) + event_ring_bytes(capacity)
}

fn data_ring_bytes() -> usize {
    spsc::region_bytes::<DataRecord>(DATA_RING_CAPACITY)
}

/// Both data rings of one worker (in, then out).
fn data_stride() -> usize {
    2 * data_ring_bytes()
}

/// Where the control-state area starts (after every worker's blocks).
fn state_offset(workers: usize, capacity: usize) -> usize {
    HEADER_BYTES + workers * (worker_stride(capacity) + STATS_BLOCK_BYTES + data_stride())
}

fn total_len(workers: usize, capacity: usize) -> usize {
    state_offset(workers, capacity) + super::handover::CONTROL_STATE_BYTES
}

/// A `MAP_SHARED` mapping; unmapped when the last user (region or ring end)
/// is dropped.
struct Mapping {
    ptr: *mut u8,
    len: usize,
    file: File,
}

// SAFETY: the mapping is plain shared memory, accessed only via atomics and
// the SPSC protocol.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` came from a successful mmap and nobody uses the
        // mapping any more (we are the last Arc).
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> ShmError {
    move |source| ShmError::Io { what, source }
}

fn map(file: File, len: usize) -> Result<Mapping, ShmError> {
    // SAFETY: fresh mapping of `len` bytes of an fd we own; checked below.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(ShmError::Io {
            what: "mmap",
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(Mapping {
        ptr: ptr.cast(),
        len,
        file,
    })
}

/// A mapped region: the header plus one command and one event ring per
/// worker. Cheap to share between threads; ring ends keep the mapping alive.
#[derive(Clone)]
pub struct ShmRegion {
    map: Arc<Mapping>,
    workers: usize,
    capacity: usize,
}

impl std::fmt::Debug for ShmRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShmRegion")
            .field("workers", &self.workers)
            .field("capacity", &self.capacity)
            .field("len", &self.map.len)
            .finish()
    }
}

impl ShmRegion {
    /// Creates (or truncates) the backing, sizes it for `workers` workers
    /// with rings of `capacity` slots (a power of two), and initialises it.
    pub fn create(backing: &ShmBacking, workers: usize, capacity: usize) -> Result<Self, ShmError> {
        if workers == 0 || workers > u16::MAX as usize {
            return Err(ShmError::Invalid(format!(
                "workers {workers} not in 1..=65535"
            )));
        }
        if capacity == 0 || capacity > spsc::MAX_CAPACITY || !capacity.is_power_of_two() {
            return Err(ShmError::Ring(RingError::BadCapacity(capacity)));
        }
        let file = match backing {
            ShmBacking::Memfd(name) => {
                let cname = CString::new(name.as_str())
                    .map_err(|_| ShmError::Invalid("memfd name contains NUL".into()))?;
                // SAFETY: valid C string; the returned fd is owned by the File.
                let fd = unsafe { libc::memfd_create(cname.as_ptr(), libc::MFD_CLOEXEC) };
                if fd < 0 {
                    return Err(ShmError::Io {
                        what: "memfd_create",
                        source: std::io::Error::last_os_error(),
                    });
                }
                // SAFETY: `fd` is a fresh descriptor nobody else owns.
                unsafe { File::from_raw_fd(fd) }
            }
            ShmBacking::Path(p) => OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(p)
                .map_err(io("open"))?,
        };
        let len = total_len(workers, capacity);
        // ftruncate: the new bytes read as zero, which is an empty header.
        file.set_len(len as u64).map_err(io("ftruncate"))?;
        let map = map(file, len)?;
        let region = ShmRegion {
            map: Arc::new(map),
            workers,
            capacity,
        };
        for w in 0..workers {
            // SAFETY: offsets from `total_len`'s layout, 64-byte aligned,
            // inside the mapping, and no ring end exists yet.
            unsafe {
                spsc::init_raw::<Command>(region.at(region.command_offset(w)), capacity)?;
                spsc::init_raw::<Event>(region.at(region.event_offset(w)), capacity)?;
                spsc::init_raw::<DataRecord>(
                    region.at(region.data_in_offset(w)),
                    DATA_RING_CAPACITY,
                )?;
                spsc::init_raw::<DataRecord>(
                    region.at(region.data_out_offset(w)),
                    DATA_RING_CAPACITY,
                )?;
            }
        }
        let h = region.header();
        h.version.store(RECORDS_VERSION, Ordering::Relaxed);
        h.workers.store(workers as u32, Ordering::Relaxed);
        h.capacity.store(capacity as u32, Ordering::Relaxed);
        h.command_size
            .store(size_of::<Command>() as u32, Ordering::Relaxed);
        h.event_size
            .store(size_of::<Event>() as u32, Ordering::Relaxed);
        h.data_size
            .store(size_of::<DataRecord>() as u32, Ordering::Relaxed);
        h.total_len.store(len as u64, Ordering::Relaxed);
        h.magic.store(SHM_MAGIC, Ordering::Release);
        Ok(region)
    }

    /// Maps an existing region and checks it was made by a compatible build.
    pub fn attach(path: impl AsRef<Path>) -> Result<Self, ShmError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path.as_ref())
            .map_err(io("open"))?;
        let file_len = file.metadata().map_err(io("fstat"))?.len();
        if file_len < HEADER_BYTES as u64 {
            return Err(ShmError::LayoutMismatch {
                field: "file length",
                found: file_len,
                expected: HEADER_BYTES as u64,
            });
        }
        let map = Arc::new(map(file, file_len as usize)?);
        // SAFETY: the mapping is at least HEADER_BYTES long and page aligned.
        let h = unsafe { &*map.ptr.cast::<RegionHeader>() };
        let magic = h.magic.load(Ordering::Acquire);
        if magic != SHM_MAGIC {
            return Err(ShmError::BadMagic { found: magic });
        }
        let version = h.version.load(Ordering::Relaxed);
        if version != RECORDS_VERSION {
            return Err(ShmError::VersionMismatch { found: version });
        }
        let expect = |field, found: u64, expected: u64| {
            if found == expected {
                Ok(())
            } else {
                Err(ShmError::LayoutMismatch {
                    field,
                    found,
                    expected,
                })
            }
        };
        expect(
            "command size",
            h.command_size.load(Ordering::Relaxed).into(),
            size_of::<Command>() as u64,
        )?;
        expect(
            "event size",
            h.event_size.load(Ordering::Relaxed).into(),
            size_of::<Event>() as u64,
        )?;
        expect(
            "data record size",
            h.data_size.load(Ordering::Relaxed).into(),
            size_of::<DataRecord>() as u64,
        )?;
        let workers = h.workers.load(Ordering::Relaxed) as usize;
        let capacity = h.capacity.load(Ordering::Relaxed) as usize;
        if workers == 0
            || capacity == 0
            || capacity > spsc::MAX_CAPACITY
            || !capacity.is_power_of_two()
        {
            return Err(ShmError::Invalid(format!(
                "header says workers {workers}, capacity {capacity}"
            )));
        }
        let len = total_len(workers, capacity) as u64;
        expect(
            "header total length",
            h.total_len.load(Ordering::Relaxed),
            len,
        )?;
        expect("file length", file_len, len)?;
        Ok(ShmRegion {
            map,
            workers,
            capacity,
        })
    }

    /// Workers the region was sized for.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Slots per ring.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// A path another process (or this one) can [`attach`](Self::attach) to:
    /// `/proc/<pid>/fd/<fd>`, which also works for a memfd.
    pub fn fd_path(&self) -> PathBuf {
        PathBuf::from(format!(
            "/proc/{}/fd/{}",
            std::process::id(),
            self.map.file.as_raw_fd()
        ))
    }

    pub(super) fn header(&self) -> &RegionHeader {
        // SAFETY: offset 0 of a mapping at least HEADER_BYTES long.
        unsafe { &*self.map.ptr.cast::<RegionHeader>() }
    }

    /// Start of the control-state area.
    pub(super) fn state_offset(&self) -> usize {
        state_offset(self.workers, self.capacity)
    }

    pub(super) fn command_offset(&self, worker: usize) -> usize {
        HEADER_BYTES + worker * worker_stride(self.capacity)
    }

    pub(super) fn event_offset(&self, worker: usize) -> usize {
        self.command_offset(worker) + command_ring_bytes(self.capacity)
    }

    fn stats_offset(&self, worker: usize) -> usize {
        HEADER_BYTES + self.workers * worker_stride(self.capacity) + worker * STATS_BLOCK_BYTES
    }

    pub(super) fn data_in_offset(&self, worker: usize) -> usize {
        HEADER_BYTES
            + self.workers * (worker_stride(self.capacity) + STATS_BLOCK_BYTES)
            + worker * data_stride()
    }

    pub(super) fn data_out_offset(&self, worker: usize) -> usize {
        self.data_in_offset(worker) + data_ring_bytes()
    }

    fn stats_block(&self, worker: usize) -> Result<&WorkerStatsBlock, ShmError> {
        self.check_worker(worker)?;
        // SAFETY: inside the validated layout, 64-byte aligned, zeroed by
        // ftruncate (a valid all-zero block) and only touched via atomics.
        Ok(unsafe {
            &*self
                .at(self.stats_offset(worker))
                .cast::<WorkerStatsBlock>()
        })
    }

    /// Worker `worker`: its stats block, to publish its counters into.
    pub fn worker_stats(&self, worker: usize) -> Result<WorkerStatsSlot, ShmError> {
        let block: *const WorkerStatsBlock = self.stats_block(worker)?;
        // SAFETY: the block lives in the mapping `owner` keeps alive.
        Ok(unsafe { WorkerStatsSlot::from_raw(block, self.owner()) })
    }

    /// Control plane: a copy of worker `worker`'s published counters.
    pub fn read_worker_stats(&self, worker: usize) -> Result<WorkerStatsSnapshot, ShmError> {
        Ok(self.stats_block(worker)?.snapshot())
    }

    /// Depth and full refusals of worker `worker`'s (command, event) rings,
    /// read from the ring headers without taking an end.
    pub fn ring_stats(&self, worker: usize) -> Result<(RingStats, RingStats), ShmError> {
        self.check_worker(worker)?;
        // SAFETY: both rings were initialised by `create` (validated by
        // `attach`) and the mapping outlives the call.
        Ok(unsafe {
            (
                spsc::stats_raw(self.at(self.command_offset(worker))),
                spsc::stats_raw(self.at(self.event_offset(worker))),
            )
        })
    }

    pub(super) fn at(&self, offset: usize) -> *mut u8 {
        // SAFETY: callers pass offsets computed from the validated layout.
        unsafe { self.map.ptr.add(offset) }
    }

    fn check_worker(&self, worker: usize) -> Result<(), ShmError> {
        if worker >= self.workers {
            return Err(ShmError::NoSuchWorker {
                worker,
                workers: self.workers,
            });
        }
        Ok(())
    }

    fn owner(&self) -> Arc<dyn Any + Send + Sync> {
        self.map.clone()
    }

    /// Control plane: the end that sends commands to `worker`. One holder at
    /// a time; a second take before the first is dropped fails.
    pub fn command_producer(&self, worker: usize) -> Result<Producer<Command>, ShmError> {
        self.check_worker(worker)?;
        // SAFETY: initialised by `create` (validated by `attach`) for Command.
        Ok(unsafe {
            spsc::producer_raw(
                self.at(self.command_offset(worker)),
                self.capacity,
                self.owner(),
            )?
        })
    }

    /// Worker `worker`: the end that receives its commands.
    pub fn command_consumer(&self, worker: usize) -> Result<Consumer<Command>, ShmError> {
        self.check_worker(worker)?;
        // SAFETY: as in `command_producer`.
        Ok(unsafe {
            spsc::consumer_raw(
                self.at(self.command_offset(worker)),
                self.capacity,
                self.owner(),
            )?
        })
    }

    /// Worker `worker`: the end that reports its events.
    pub fn event_producer(&self, worker: usize) -> Result<Producer<Event>, ShmError> {
        self.check_worker(worker)?;
        // SAFETY: initialised by `create` (validated by `attach`) for Event.
        Ok(unsafe {
            spsc::producer_raw(
                self.at(self.event_offset(worker)),
                self.capacity,
                self.owner(),
            )?
        })
    }

    /// Control plane: the end that reads `worker`'s events.
    pub fn event_consumer(&self, worker: usize) -> Result<Consumer<Event>, ShmError> {
        self.check_worker(worker)?;
        // SAFETY: as in `event_producer`.
        Ok(unsafe {
            spsc::consumer_raw(
                self.at(self.event_offset(worker)),
                self.capacity,
                self.owner(),
            )?
        })
    }

    /// Control plane's two ends for `worker`.
    pub fn control_ends(
        &self,
        worker: usize,
    ) -> Result<(Producer<Command>, Consumer<Event>), ShmError> {
        Ok((self.command_producer(worker)?, self.event_consumer(worker)?))
    }

    /// Worker `worker`'s two ends.
    pub fn worker_ends(
        &self,
        worker: usize,
    ) -> Result<(Consumer<Command>, Producer<Event>), ShmError> {
        Ok((self.command_consumer(worker)?, self.event_producer(worker)?))
    }

    /// Worker `worker`: the end that hands data-channel messages from its
    /// clients to the control plane.
    pub fn data_in_producer(&self, worker: usize) -> Result<Producer<DataRecord>, ShmError> {
        self.check_worker(worker)?;
        // SAFETY: initialised by `create` (validated by `attach`) for
        // DataRecord with DATA_RING_CAPACITY slots.
        Ok(unsafe {
            spsc::producer_raw(
                self.at(self.data_in_offset(worker)),
                DATA_RING_CAPACITY,
                self.owner(),
            )?
        })
    }

    /// Control plane: the end that reads `worker`'s incoming data messages.
    pub fn data_in_consumer(&self, worker: usize) -> Result<Consumer<DataRecord>, ShmError> {
        self.check_worker(worker)?;
        // SAFETY: as in `data_in_producer`.
        Ok(unsafe {
            spsc::consumer_raw(
                self.at(self.data_in_offset(worker)),
                DATA_RING_CAPACITY,
                self.owner(),
            )?
        })
    }

    /// Control plane: the end that hands `worker` data messages to send.
    pub fn data_out_producer(&self, worker: usize) -> Result<Producer<DataRecord>, ShmError> {
        self.check_worker(worker)?;
        // SAFETY: as in `data_in_producer`, for the data-out ring.
        Ok(unsafe {
            spsc::producer_raw(
                self.at(self.data_out_offset(worker)),
                DATA_RING_CAPACITY,
                self.owner(),
            )?
        })
    }

    /// Worker `worker`: the end that receives data messages to send.
    pub fn data_out_consumer(&self, worker: usize) -> Result<Consumer<DataRecord>, ShmError> {
        self.check_worker(worker)?;
        // SAFETY: as in `data_out_producer`.
        Ok(unsafe {
            spsc::consumer_raw(
                self.at(self.data_out_offset(worker)),
                DATA_RING_CAPACITY,
                self.owner(),
            )?
        })
    }

    /// Worker `worker`'s two data ends: (data-in producer, data-out consumer).
    pub fn worker_data_ends(
        &self,
        worker: usize,
    ) -> Result<(Producer<DataRecord>, Consumer<DataRecord>), ShmError> {
        Ok((
            self.data_in_producer(worker)?,
            self.data_out_consumer(worker)?,
        ))
    }

    /// Control plane's two data ends for `worker`: (data-out producer,
    /// data-in consumer).
    pub fn control_data_ends(
        &self,
        worker: usize,
    ) -> Result<(Producer<DataRecord>, Consumer<DataRecord>), ShmError> {
        Ok((
            self.data_out_producer(worker)?,
            self.data_in_consumer(worker)?,
        ))
    }

    /// Depth and full refusals of worker `worker`'s (data-in, data-out)
    /// rings, read without taking an end (for metrics).
    pub fn data_ring_stats(&self, worker: usize) -> Result<(RingStats, RingStats), ShmError> {
        self.check_worker(worker)?;
        // SAFETY: both rings were initialised by `create` (validated by
        // `attach`) and the mapping outlives the call.
        Ok(unsafe {
            (
                spsc::stats_raw(self.at(self.data_in_offset(worker))),
                spsc::stats_raw(self.at(self.data_out_offset(worker))),
            )
        })
    }

    /// Dataplane: publishes its certificate fingerprint, port and pid. Call
    /// from one thread only (it is the seqlock's single writer).
    pub fn publish_info(&self, info: &DataplaneInfo) {
        let h = self.header();
        let seq = h.info_seq.load(Ordering::Relaxed);
        let odd = seq | 1;
        h.info_seq.store(odd, Ordering::Relaxed);
        fence(Ordering::Release);
        for (slot, chunk) in h
            .info_fingerprint
            .iter()
            .zip(info.fingerprint_sha256.chunks_exact(8))
        {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            slot.store(u64::from_le_bytes(word), Ordering::Relaxed);
        }
        h.info_udp_port
            .store(info.udp_port.into(), Ordering::Relaxed);
        h.info_pid.store(info.pid, Ordering::Relaxed);
        h.info_seq.store(odd + 1, Ordering::Release);
    }

    /// Control plane: the last published info, or `None` if none yet (or a
    /// write kept racing the read).
    pub fn info(&self) -> Option<DataplaneInfo> {
        let h = self.header();
        for _ in 0..64 {
            let before = h.info_seq.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let mut info = DataplaneInfo::default();
            for (slot, chunk) in h
                .info_fingerprint
                .iter()
                .zip(info.fingerprint_sha256.chunks_exact_mut(8))
            {
                chunk.copy_from_slice(&slot.load(Ordering::Relaxed).to_le_bytes());
            }
            info.udp_port = h.info_udp_port.load(Ordering::Relaxed) as u16;
            info.pid = h.info_pid.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if h.info_seq.load(Ordering::Relaxed) == before {
                return Some(info);
            }
        }
        None
    }

    /// Dataplane: one heartbeat.
    pub fn beat(&self) {
        self.header().heartbeat.fetch_add(1, Ordering::Relaxed);
    }

    /// Control plane: heartbeats so far.
    pub fn heartbeat(&self) -> u64 {
        self.header().heartbeat.load(Ordering::Relaxed)
    }
}
