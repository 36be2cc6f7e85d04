//! What lets the control plane restart while the dataplane keeps
//! forwarding: the control plane's pid in the region header (so a second
//! live control plane is refused and a dead one's ring ends are reclaimed),
//! and a state area where the control plane keeps a snapshot of its rooms
//! and participants. The snapshot's format belongs to the control plane;
//! here it is opaque bytes behind a seqlock.

use std::sync::atomic::{fence, Ordering};

use super::shm::ShmRegion;
use super::spsc;

/// Room for the control plane's snapshot. Pages never written cost nothing
/// (tmpfs and memfd are sparse); a snapshot that outgrows this is refused
/// and counted by the caller, and only a restart loses from it.
pub const CONTROL_STATE_BYTES: usize = 64 << 20;

/// Why the control plane could not take its side of the region.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandoverError {
    /// Another control plane, still running, holds the control-side ends.
    #[error("control plane pid {0} is still attached to this dataplane")]
    Attached(u32),
    /// The snapshot is larger than [`CONTROL_STATE_BYTES`].
    #[error("control state of {0} bytes does not fit the region")]
    TooLarge(usize),
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

impl ShmRegion {
    /// Control plane, before taking its ring ends: records this process as
    /// the holder. If a previous control plane died holding them, its ends
    /// are released first, so commands and events continue from the last
    /// positions it published.
    pub fn claim_control(&self) -> Result<(), HandoverError> {
        let me = std::process::id();
        let h = self.header();
        let prev = h.control_pid.load(Ordering::Acquire);
        if prev != 0 && prev != me && alive(prev) {
            return Err(HandoverError::Attached(prev));
        }
        if prev != me {
            // Ends left taken by a control plane that is gone (killed, or
            // exited without dropping them) are free again.
            for w in 0..self.workers() {
                // SAFETY: rings initialised by `create` (checked by
                // `attach`); their control-side holder is dead.
                unsafe {
                    spsc::release_ends_raw(self.at(self.command_offset(w)), true, false);
                    spsc::release_ends_raw(self.at(self.event_offset(w)), false, true);
                    spsc::release_ends_raw(self.at(self.data_in_offset(w)), false, true);
                    spsc::release_ends_raw(self.at(self.data_out_offset(w)), true, false);
                }
            }
        }
        h.control_pid.store(me, Ordering::Release);
        Ok(())
    }

    /// Control plane: the pid holding the control side (0 when none).
    pub fn control_pid(&self) -> u32 {
        self.header().control_pid.load(Ordering::Acquire)
    }

    /// Control plane, on a clean exit: nobody holds the control side.
    pub fn release_control(&self) {
        let _ = self.header().control_pid.compare_exchange(
            std::process::id(),
            0,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Control plane: replaces the snapshot. One writer (the control plane
    /// holding the region).
    pub fn publish_control_state(&self, bytes: &[u8]) -> Result<(), HandoverError> {
        if bytes.len() > CONTROL_STATE_BYTES {
            return Err(HandoverError::TooLarge(bytes.len()));
        }
        let h = self.header();
        let seq = h.state_seq.load(Ordering::Relaxed);
        let odd = seq | 1;
        h.state_seq.store(odd, Ordering::Relaxed);
        fence(Ordering::Release);
        // SAFETY: the state area is CONTROL_STATE_BYTES long inside the
        // mapping and `bytes` fits; readers check the seqlock before using
        // what they copied.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.at(self.state_offset()),
                bytes.len(),
            );
        }
        h.state_len.store(bytes.len() as u64, Ordering::Relaxed);
        h.state_seq.store(odd + 1, Ordering::Release);
        Ok(())
    }

    /// Control plane, on start: the last snapshot a control plane left, or
    /// `None` if there is none (or it was being written when its writer
    /// died).
    pub fn control_state(&self) -> Option<Vec<u8>> {
        let h = self.header();
        for _ in 0..64 {
            let before = h.state_seq.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before & 1 == 1 {
                // Being written (or its writer died mid-write: after the
                // retries, nothing whole).
                std::hint::spin_loop();
                continue;
            }
            let len = usize::try_from(h.state_len.load(Ordering::Relaxed)).ok()?;
            if len > CONTROL_STATE_BYTES {
                return None;
            }
            let mut out = vec![0u8; len];
            // SAFETY: `len` bytes of the state area, inside the mapping.
            unsafe {
                std::ptr::copy_nonoverlapping(self.at(self.state_offset()), out.as_mut_ptr(), len);
            }
            fence(Ordering::Acquire);
            if h.state_seq.load(Ordering::Relaxed) == before {
                return Some(out);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::ShmBacking;

    fn region() -> ShmRegion {
        ShmRegion::create(&ShmBacking::Memfd("handover-test".into()), 2, 64).unwrap()
    }

    #[test]
    fn snapshot_round_trips_and_is_replaced() {
        let r = region();
        assert_eq!(r.control_state(), None);
        r.publish_control_state(b"first").unwrap();
        assert_eq!(r.control_state().as_deref(), Some(&b"first"[..]));
        r.publish_control_state(b"2nd").unwrap();
        let again = ShmRegion::attach(r.fd_path()).unwrap();
        assert_eq!(again.control_state().as_deref(), Some(&b"2nd"[..]));
    }

    #[test]
    fn oversized_snapshot_is_refused_and_keeps_the_old_one() {
        let r = region();
        r.publish_control_state(b"kept").unwrap();
        let big = vec![0u8; CONTROL_STATE_BYTES + 1];
        assert_eq!(
            r.publish_control_state(&big),
            Err(HandoverError::TooLarge(CONTROL_STATE_BYTES + 1))
        );
        assert_eq!(r.control_state().as_deref(), Some(&b"kept"[..]));
    }

    #[test]
    fn a_dead_control_planes_ends_are_reclaimed_a_live_ones_are_not() {
        let r = region();
        r.claim_control().unwrap();
        let held = r.control_ends(0).unwrap();
        // The same process holding them: taking again fails as before.
        assert!(r.control_ends(0).is_err());
        // Pretend the holder was a process that is gone.
        r.header()
            .control_pid
            .store(u32::MAX - 7, Ordering::Release);
        std::mem::forget(held);
        r.claim_control().unwrap();
        assert_eq!(r.control_pid(), std::process::id());
        let (mut cmd, _ev) = r.control_ends(0).unwrap();
        assert!(cmd.try_push(crate::records::Command::Shutdown).is_ok());
        // A live other holder (pid 1 always exists) is refused.
        r.header().control_pid.store(1, Ordering::Release);
        assert_eq!(r.claim_control(), Err(HandoverError::Attached(1)));
        r.header()
            .control_pid
            .store(std::process::id(), Ordering::Release);
        r.release_control();
        assert_eq!(r.control_pid(), 0);
    }
}
