//! Which transport owns a datagram on the worker's shared socket.
//!
//! Two maps, both owned by one worker: the remote address of a bound
//! 5-tuple (the local half is the worker's one socket) to its transport,
//! consulted first for every packet; and our ufrag to its transport, for a
//! STUN check from an address not bound yet (the first check, or a network
//! change). Nothing else is routed (as str0m's `Rtc::accepts`).
//!
//! Both maps are sized at construction and refuse to grow past their bound,
//! so the hash tables never reallocate; lookups borrow the key and do not
//! allocate. Keys are hashed with FxHash: ufrags are ours (random, inserted
//! by the control plane) and addresses are inserted only after a check with
//! our password passed, so an attacker cannot choose colliding keys.

use rustc_hash::FxBuildHasher;
use std::collections::HashMap;
use std::net::SocketAddr;

/// A worker-local transport index (its slot in the worker's transport slab).
pub type TransportIndex = u32;

/// Why the table refused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The bound given at construction is reached.
    #[error("transport table full")]
    Full,
    /// The ufrag is already registered (the control plane generates unique
    /// ones, so this is a bug or a replayed command).
    #[error("ufrag already registered")]
    DuplicateUfrag,
}

/// The worker's routing table: ufrag -> transport and address -> transport.
#[derive(Debug)]
pub struct TransportTable {
    by_ufrag: HashMap<Box<[u8]>, TransportIndex, FxBuildHasher>,
    by_addr: HashMap<SocketAddr, TransportIndex, FxBuildHasher>,
    max_transports: usize,
    max_addrs: usize,
}

impl TransportTable {
    /// A table for at most `max_transports` ufrags and `max_addrs` bound
    /// addresses (a transport usually binds one, a few during a network
    /// change), all allocated now.
    #[must_use]
    pub fn with_capacity(max_transports: usize, max_addrs: usize) -> Self {
        TransportTable {
            by_ufrag: HashMap::with_capacity_and_hasher(max_transports, FxBuildHasher),
            by_addr: HashMap::with_capacity_and_hasher(max_addrs, FxBuildHasher),
            max_transports,
            max_addrs,
        }
    }

    /// Registers `ufrag` (from `AddTransport`) for `transport`. Copies the
    /// ufrag once; this is the control path.
    pub fn insert_ufrag(
        &mut self,
        ufrag: &[u8],
        transport: TransportIndex,
    ) -> Result<(), TableError> {
        if self.by_ufrag.contains_key(ufrag) {
            return Err(TableError::DuplicateUfrag);
        }
        if self.by_ufrag.len() >= self.max_transports {
            return Err(TableError::Full);
        }
        self.by_ufrag.insert(ufrag.into(), transport);
        Ok(())
    }

    /// Forgets `ufrag`; returns the transport it pointed to.
    pub fn remove_ufrag(&mut self, ufrag: &[u8]) -> Option<TransportIndex> {
        self.by_ufrag.remove(ufrag)
    }

    /// The transport whose ufrag is `ufrag` (see
    /// [`super::stun::username_ufrag`]).
    #[inline]
    #[must_use]
    pub fn by_ufrag(&self, ufrag: &[u8]) -> Option<TransportIndex> {
        self.by_ufrag.get(ufrag).copied()
    }

    /// Binds `remote` to `transport` after a valid check from it. An address
    /// bound to another transport is moved (a NAT reused the port); the
    /// previous owner is returned.
    pub fn bind_addr(
        &mut self,
        remote: SocketAddr,
        transport: TransportIndex,
    ) -> Result<Option<TransportIndex>, TableError> {
        if !self.by_addr.contains_key(&remote) && self.by_addr.len() >= self.max_addrs {
            return Err(TableError::Full);
        }
        Ok(self
            .by_addr
            .insert(remote, transport)
            .filter(|&prev| prev != transport))
    }

    /// Unbinds `remote`; returns the transport it pointed to.
    pub fn unbind_addr(&mut self, remote: SocketAddr) -> Option<TransportIndex> {
        self.by_addr.remove(&remote)
    }

    /// The transport bound to `remote`, the first lookup for every packet.
    #[inline]
    #[must_use]
    pub fn by_addr(&self, remote: SocketAddr) -> Option<TransportIndex> {
        self.by_addr.get(&remote).copied()
    }

    /// Drops every entry of `transport` (RemoveTransport or failure).
    /// Linear in the table size; this is the control path, not per packet.
    pub fn remove_transport(&mut self, transport: TransportIndex) {
        self.by_ufrag.retain(|_, t| *t != transport);
        self.by_addr.retain(|_, t| *t != transport);
    }

    /// Number of registered ufrags.
    #[must_use]
    pub fn transports(&self) -> usize {
        self.by_ufrag.len()
    }

    /// Number of bound addresses.
    #[must_use]
    pub fn bound_addrs(&self) -> usize {
        self.by_addr.len()
    }
}
