//! A bounded pool of outgoing datagram slots, allocated once at start.
//!
//! The handler borrows a slot with [`SendQueue::push`] and writes the payload
//! in place; the driver submits queued slots once per turn and returns them to
//! the free list when the kernel is done with them (io_uring completes sends
//! asynchronously, so a slot stays "in flight" until its CQE).
use std::net::SocketAddr;

/// Preallocated outgoing datagrams. Full queue: the datagram is dropped and counted.
pub struct SendQueue {
    bufs: Box<[u8]>,
    slot_size: usize,
    dest: Box<[SocketAddr]>,
    lens: Box<[usize]>,
    free: Vec<u32>,
    pending: Vec<u32>,
    drops: u64,
}

impl SendQueue {
    /// `slots` buffers of `slot_size` bytes each.
    pub fn new(slots: usize, slot_size: usize) -> Self {
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        Self {
            bufs: vec![0u8; slots * slot_size].into_boxed_slice(),
            slot_size,
            dest: vec![unspecified; slots].into_boxed_slice(),
            lens: vec![0; slots].into_boxed_slice(),
            free: (0..slots as u32).rev().collect(),
            pending: Vec::with_capacity(slots),
            drops: 0,
        }
    }

    /// Reserves a slot of exactly `len` bytes for `to`; `None` (counted as a
    /// drop) when no slot is free or `len` exceeds the slot size.
    pub fn push(&mut self, to: SocketAddr, len: usize) -> Option<&mut [u8]> {
        if len > self.slot_size {
            self.drops += 1;
            return None;
        }
        let Some(id) = self.free.pop() else {
            self.drops += 1;
            return None;
        };
        let i = id as usize;
        self.dest[i] = to;
        self.lens[i] = len;
        self.pending.push(id);
        let start = i * self.slot_size;
        self.bufs.get_mut(start..start + len)
    }

    /// Copies `payload` into a new slot; false when dropped.
    pub fn push_copy(&mut self, to: SocketAddr, payload: &[u8]) -> bool {
        match self.push(to, payload.len()) {
            Some(buf) => {
                buf.copy_from_slice(payload);
                true
            }
            None => false,
        }
    }

    /// Datagrams queued this turn and not yet handed to the driver.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Free slots left.
    pub fn free_len(&self) -> usize {
        self.free.len()
    }

    /// Drops since creation.
    pub fn drops(&self) -> u64 {
        self.drops
    }

    pub(crate) fn pending_ids(&self) -> &[u32] {
        &self.pending
    }

    pub(crate) fn clear_pending(&mut self) {
        self.pending.clear();
    }

    pub(crate) fn slot(&self, id: u32) -> (SocketAddr, &[u8]) {
        let i = id as usize;
        let start = i * self.slot_size;
        (self.dest[i], &self.bufs[start..start + self.lens[i]])
    }

    /// Returns a slot to the free list after the kernel is done with it.
    pub(crate) fn release(&mut self, id: u32) {
        self.free.push(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queue_drops_and_counts() {
        let mut q = SendQueue::new(2, 16);
        let to = SocketAddr::from(([127, 0, 0, 1], 9));
        assert!(q.push_copy(to, b"a"));
        assert!(q.push_copy(to, b"b"));
        assert!(!q.push_copy(to, b"c"));
        assert!(q.push(to, 17).is_none());
        assert_eq!(q.drops(), 2);
        assert_eq!(q.pending_len(), 2);
        let ids: Vec<u32> = q.pending_ids().to_vec();
        q.clear_pending();
        for id in ids {
            q.release(id);
        }
        assert!(q.push_copy(to, b"d"));
    }
}
