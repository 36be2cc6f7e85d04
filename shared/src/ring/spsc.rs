//! A lock-free single-producer/single-consumer ring of `Copy` records over a
//! raw memory region.
//!
//! The same layout serves two cases: a heap allocation shared by two threads
//! ([`channel`], used for worker <-> worker fan-out) and a slice of a
//! `MAP_SHARED` mapping shared by two processes ([`super::shm`]). Everything the
//! two ends share lives inside the region ([`RingHeader`] followed by the
//! slots); nothing points outside it, so a second mapping at another address
//! sees the same ring.
//!
//! Positions are free-running `u64` counters (they never wrap in practice);
//! the slot index is `position & (capacity - 1)`. The producer publishes a
//! slot with a `Release` store of `tail` after writing it, the consumer reads
//! `tail` with `Acquire` before reading the slot, and symmetrically for
//! `head`. Each end caches the other end's counter and only reloads it when
//! the cache says the ring looks full (or empty), so a steady stream touches
//! the shared cache lines rarely.
//!
//! One producer and one consumer: [`Producer`] and [`Consumer`] are `Send`
//! but not `Clone`, and an atomic "taken" flag per end in the header makes
//! taking an end twice (even from two processes) an error.

use std::any::Any;
use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::mem::{align_of, size_of, MaybeUninit};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// Largest accepted capacity; keeps slot offsets comfortably inside `usize`
/// on every target and the header's `u32` fields meaningful.
pub const MAX_CAPACITY: usize = 1 << 24;

/// Errors creating or taking a ring end.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RingError {
    /// Capacity must be a power of two in `1..=MAX_CAPACITY`.
    #[error("ring capacity {0} is not a power of two in 1..={MAX_CAPACITY}")]
    BadCapacity(usize),
    /// The producer end of this ring was already taken (and not dropped).
    #[error("the producer end of this ring is already taken")]
    ProducerTaken,
    /// The consumer end of this ring was already taken (and not dropped).
    #[error("the consumer end of this ring is already taken")]
    ConsumerTaken,
    /// The header says a capacity the caller did not expect (corrupt or
    /// foreign region).
    #[error("ring header capacity {found} does not match expected {expected}")]
    CapacityMismatch { expected: usize, found: u64 },
}

/// One cache line (two on CPUs that prefetch pairs would be 128; 64 keeps the
/// shared-memory layout compact and is what x86-64 and most aarch64 use).
#[derive(Default)]
#[repr(C, align(64))]
struct Line<T>(T);

/// The ring's shared state, at the start of the ring's region. `repr(C)` with
/// fixed-width fields so two processes (built from the same source) agree on
/// it byte for byte.
#[derive(Default)]
#[repr(C)]
pub struct RingHeader {
    /// Written once at init: capacity (`u64`, power of two).
    capacity: Line<AtomicU64>,
    /// Consumer position: next slot to read. Written by the consumer only.
    head: Line<AtomicU64>,
    /// Producer position: next slot to write, and items refused because the
    /// ring was full. Written by the producer only.
    tail: Line<(AtomicU64, AtomicU64)>,
    /// 1 while a [`Producer`] / [`Consumer`] exists for this ring.
    taken: Line<(AtomicU32, AtomicU32)>,
}

/// Bytes of the header; slots start at this offset (rounded up to `T`'s
/// alignment, which is at most 64 for the records we carry).
pub const HEADER_BYTES: usize = size_of::<RingHeader>();

fn slots_offset<T>() -> usize {
    HEADER_BYTES.next_multiple_of(align_of::<T>())
}

/// Bytes one ring of `capacity` slots of `T` occupies, rounded up to a cache
/// line so rings can be laid out back to back.
pub fn region_bytes<T>(capacity: usize) -> usize {
    (slots_offset::<T>() + capacity * size_of::<T>()).next_multiple_of(64)
}

fn check_capacity(capacity: usize) -> Result<(), RingError> {
    if capacity == 0 || capacity > MAX_CAPACITY || !capacity.is_power_of_two() {
        return Err(RingError::BadCapacity(capacity));
    }
    Ok(())
}

/// Owns a ring's memory and hands out its two ends. `ptr` points to a
/// [`RingHeader`] followed by the slots; `_owner` keeps that memory alive for
/// as long as any end exists (a heap block or a shared mapping).
struct RawRing<T> {
    header: *const RingHeader,
    slots: *mut T,
    mask: u64,
    _owner: Arc<dyn Any + Send + Sync>,
    _t: PhantomData<T>,
}

// SAFETY: the pointers target memory kept alive by `_owner`; all shared
// state is reached through atomics and the SPSC protocol below, and `T: Copy
// + Send` records carry no thread-affine data.
unsafe impl<T: Copy + Send> Send for RawRing<T> {}

impl<T: Copy> RawRing<T> {
    fn header(&self) -> &RingHeader {
        // SAFETY: `header` is valid and aligned for the life of `_owner`.
        unsafe { &*self.header }
    }
}

/// Writes a fresh header for a ring of `capacity` slots of `T` at `base`.
///
/// # Safety
/// `base` must be 64-byte aligned, valid for writes of
/// [`region_bytes::<T>(capacity)`](region_bytes), and no ring end may exist
/// on it yet.
pub unsafe fn init_raw<T: Copy>(base: *mut u8, capacity: usize) -> Result<(), RingError> {
    check_capacity(capacity)?;
    let header = base.cast::<RingHeader>();
    // SAFETY: the caller guarantees `base` is valid and aligned.
    unsafe { header.write(RingHeader::default()) };
    // SAFETY: just initialised.
    unsafe { &*header }
        .capacity
        .0
        .store(capacity as u64, Ordering::Release);
    Ok(())
}

/// Reads a ring's depth and full refusals from its header, without taking
/// an end (for metrics).
///
/// # Safety
/// `base` must point to a ring initialised by [`init_raw`] that stays mapped
/// for the duration of the call.
pub unsafe fn stats_raw(base: *const u8) -> crate::stats::RingStats {
    // SAFETY: the caller guarantees an initialised, aligned header.
    let h = unsafe { &*base.cast::<RingHeader>() };
    let head = h.head.0.load(Ordering::Acquire);
    let tail = h.tail.0 .0.load(Ordering::Acquire);
    crate::stats::RingStats {
        capacity: h.capacity.0.load(Ordering::Relaxed),
        len: tail.saturating_sub(head),
        full_rejections: h.tail.0 .1.load(Ordering::Relaxed),
    }
}

/// Marks both ends of the ring at `base` free again (`producer`,
/// `consumer` select which), for a process taking over the ends of one
/// that died while holding them. Positions stay: the new holder resumes
/// where the dead one published last.
///
/// # Safety
/// `base` must hold an initialised ring, and the previous holder of the
/// released ends must be gone (two live producers would corrupt the ring).
pub unsafe fn release_ends_raw(base: *mut u8, producer: bool, consumer: bool) {
    // SAFETY: forwarded from the caller; the header is only touched through
    // atomics.
    let h = unsafe { &*base.cast::<RingHeader>() };
    if producer {
        h.taken.0 .0.store(0, Ordering::Release);
    }
    if consumer {
        h.taken.0 .1.store(0, Ordering::Release);
    }
}

/// Takes the producer end of the ring at `base`.
///
/// # Safety
/// `base` must hold a ring initialised by [`init_raw::<T>`](init_raw) with
/// `capacity`, stay valid while `owner` lives, and only values written by a
/// [`Producer<T>`] of the same `T` layout may be in its slots.
pub unsafe fn producer_raw<T: Copy>(
    base: *mut u8,
    capacity: usize,
    owner: Arc<dyn Any + Send + Sync>,
) -> Result<Producer<T>, RingError> {
    // SAFETY: forwarded from the caller.
    let raw = unsafe { raw_ring::<T>(base, capacity, owner)? };
    let h = raw.header();
    if h.taken
        .0
         .0
        .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(RingError::ProducerTaken);
    }
    let tail = h.tail.0 .0.load(Ordering::Relaxed);
    let head = h.head.0.load(Ordering::Acquire);
    Ok(Producer {
        tail,
        cached_head: head,
        raw,
    })
}

/// Takes the consumer end of the ring at `base`.
///
/// # Safety
/// Same as [`producer_raw`].
pub unsafe fn consumer_raw<T: Copy>(
    base: *mut u8,
    capacity: usize,
    owner: Arc<dyn Any + Send + Sync>,
) -> Result<Consumer<T>, RingError> {
    // SAFETY: forwarded from the caller.
    let raw = unsafe { raw_ring::<T>(base, capacity, owner)? };
    let h = raw.header();
    if h.taken
        .0
         .1
        .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(RingError::ConsumerTaken);
    }
    let head = h.head.0.load(Ordering::Relaxed);
    let tail = h.tail.0 .0.load(Ordering::Acquire);
    Ok(Consumer {
        head,
        cached_tail: tail,
        raw,
    })
}

/// # Safety
/// See [`producer_raw`].
unsafe fn raw_ring<T: Copy>(
    base: *mut u8,
    capacity: usize,
    owner: Arc<dyn Any + Send + Sync>,
) -> Result<RawRing<T>, RingError> {
    check_capacity(capacity)?;
    let header = base.cast::<RingHeader>().cast_const();
    // SAFETY: the caller guarantees an initialised header at `base`.
    let found = unsafe { &*header }.capacity.0.load(Ordering::Acquire);
    if found != capacity as u64 {
        return Err(RingError::CapacityMismatch {
            expected: capacity,
            found,
        });
    }
    Ok(RawRing {
        header,
        // SAFETY: in bounds of the region (see `region_bytes`).
        slots: unsafe { base.add(slots_offset::<T>()) }.cast::<T>(),
        mask: capacity as u64 - 1,
        _owner: owner,
        _t: PhantomData,
    })
}

/// The writing end. `Send`, not `Clone`: exactly one per ring.
pub struct Producer<T: Copy> {
    /// Our own position (the shared `tail` mirrors it).
    tail: u64,
    /// Last seen consumer position; reloaded only when the ring looks full.
    cached_head: u64,
    raw: RawRing<T>,
}

/// The reading end. `Send`, not `Clone`: exactly one per ring.
pub struct Consumer<T: Copy> {
    /// Our own position (the shared `head` mirrors it).
    head: u64,
    /// Last seen producer position; reloaded only when the ring looks empty.
    cached_tail: u64,
    raw: RawRing<T>,
}

impl<T: Copy> Producer<T> {
    /// Free slots as far as we know, reloading the consumer position if the
    /// cached one says fewer than `want` are free.
    fn free(&mut self, want: u64) -> u64 {
        let cap = self.raw.mask + 1;
        let mut free = cap - (self.tail - self.cached_head);
        if free < want {
            self.cached_head = self.raw.header().head.0.load(Ordering::Acquire);
            free = cap - (self.tail - self.cached_head);
        }
        free
    }

    fn publish(&mut self, new_tail: u64) {
        self.tail = new_tail;
        self.raw
            .header()
            .tail
            .0
             .0
            .store(new_tail, Ordering::Release);
    }

    /// Appends `item`; when the ring is full, counts the refusal and hands
    /// the item back. Never blocks, never panics.
    #[inline]
    pub fn try_push(&mut self, item: T) -> Result<(), T> {
        if self.free(1) == 0 {
            self.raw.header().tail.0 .1.fetch_add(1, Ordering::Relaxed);
            return Err(item);
        }
        // SAFETY: the slot at `tail` is free (the consumer is past it) and in
        // bounds thanks to the mask; only this producer writes slots.
        unsafe {
            self.raw
                .slots
                .add((self.tail & self.raw.mask) as usize)
                .write(item)
        };
        self.publish(self.tail + 1);
        Ok(())
    }

    /// Appends as many of `items` as fit, in order, with one publication.
    /// Returns how many were taken; the rest count as full refusals.
    pub fn push_batch(&mut self, items: &[T]) -> usize {
        let n = (self.free(items.len() as u64) as usize).min(items.len());
        for (i, item) in items.iter().take(n).enumerate() {
            let pos = (self.tail + i as u64) & self.raw.mask;
            // SAFETY: as in `try_push`, for each of the `n` free slots.
            unsafe { self.raw.slots.add(pos as usize).write(*item) };
        }
        if n > 0 {
            self.publish(self.tail + n as u64);
        }
        let refused = items.len() - n;
        if refused > 0 {
            self.raw
                .header()
                .tail
                .0
                 .1
                .fetch_add(refused as u64, Ordering::Relaxed);
        }
        n
    }

    /// Items currently queued (a snapshot; the consumer may be draining).
    pub fn len(&self) -> usize {
        (self.tail - self.raw.header().head.0.load(Ordering::Acquire)) as usize
    }

    /// True when nothing is queued (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        (self.raw.mask + 1) as usize
    }

    /// Items refused because the ring was full, since the ring was created.
    pub fn full_rejections(&self) -> u64 {
        self.raw.header().tail.0 .1.load(Ordering::Relaxed)
    }
}

impl<T: Copy> Consumer<T> {
    fn available(&mut self, want: u64) -> u64 {
        let mut avail = self.cached_tail - self.head;
        if avail < want {
            self.cached_tail = self.raw.header().tail.0 .0.load(Ordering::Acquire);
            avail = self.cached_tail - self.head;
        }
        avail
    }

    fn release(&mut self, new_head: u64) {
        self.head = new_head;
        self.raw.header().head.0.store(new_head, Ordering::Release);
    }

    /// Takes the oldest item, or `None` when the ring is empty. Never blocks.
    #[inline]
    pub fn try_pop(&mut self) -> Option<T> {
        if self.available(1) == 0 {
            return None;
        }
        // SAFETY: the producer published this slot (Acquire on `tail`), it is
        // in bounds thanks to the mask, and it will not be rewritten until we
        // release it below.
        let item = unsafe {
            self.raw
                .slots
                .add((self.head & self.raw.mask) as usize)
                .read()
        };
        self.release(self.head + 1);
        Some(item)
    }

    /// Fills `out` from the front of the ring with one release; returns how
    /// many items were written.
    pub fn pop_batch(&mut self, out: &mut [T]) -> usize {
        let n = (self.available(out.len() as u64) as usize).min(out.len());
        for (i, slot) in out.iter_mut().take(n).enumerate() {
            let pos = (self.head + i as u64) & self.raw.mask;
            // SAFETY: as in `try_pop`, for each of the `n` published slots.
            *slot = unsafe { self.raw.slots.add(pos as usize).read() };
        }
        if n > 0 {
            self.release(self.head + n as u64);
        }
        n
    }

    /// Items currently queued (a snapshot; the producer may be adding).
    pub fn len(&self) -> usize {
        (self.raw.header().tail.0 .0.load(Ordering::Acquire) - self.head) as usize
    }

    /// True when nothing is queued (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        (self.raw.mask + 1) as usize
    }

    /// Items the producer had refused because the ring was full.
    pub fn full_rejections(&self) -> u64 {
        self.raw.header().tail.0 .1.load(Ordering::Relaxed)
    }
}

impl<T: Copy> Drop for Producer<T> {
    /// Frees the end so the same process (or a restarted one) can take it
    /// again; a crashed holder leaves the flag set.
    fn drop(&mut self) {
        self.raw.header().taken.0 .0.store(0, Ordering::Release);
    }
}

impl<T: Copy> Drop for Consumer<T> {
    fn drop(&mut self) {
        self.raw.header().taken.0 .1.store(0, Ordering::Release);
    }
}

impl<T: Copy> std::fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}

impl<T: Copy> std::fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}

/// One 64-byte-aligned line of a heap ring's memory.
type HeapLine = UnsafeCell<MaybeUninit<Line<[u8; 64]>>>;

/// A heap block holding one ring, 64-byte aligned.
struct HeapRegion {
    block: Box<[HeapLine]>,
}

// SAFETY: the block is only accessed through the ring protocol (atomics in
// the header, slots handed over by Release/Acquire).
unsafe impl Sync for HeapRegion {}
// SAFETY: plain memory, no thread affinity.
unsafe impl Send for HeapRegion {}

/// An in-process ring of `capacity` (a power of two) slots on the heap.
pub fn channel<T: Copy + Send>(capacity: usize) -> Result<(Producer<T>, Consumer<T>), RingError> {
    check_capacity(capacity)?;
    if align_of::<T>() > 64 {
        // Our records are far below this; refuse rather than misalign.
        return Err(RingError::BadCapacity(capacity));
    }
    let lines = region_bytes::<T>(capacity) / 64;
    let block: Box<[HeapLine]> = (0..lines)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let region = Arc::new(HeapRegion { block });
    let base = region.block.as_ptr() as *mut u8;
    // SAFETY: `base` is 64-byte aligned (Line) and `lines * 64` bytes long,
    // which is `region_bytes::<T>(capacity)`; nobody else has it yet.
    unsafe {
        init_raw::<T>(base, capacity)?;
        let p = producer_raw::<T>(base, capacity, region.clone())?;
        let c = consumer_raw::<T>(base, capacity, region)?;
        Ok((p, c))
    }
}
