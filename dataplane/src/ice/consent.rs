//! Consent freshness timers (RFC 7675) for an ICE-lite transport.
//!
//! A lite agent sends no checks of its own; it only sees the controlling
//! peer's checks, which browsers repeat on the selected pair every few
//! seconds as consent. When they stop, the path is gone (network change,
//! closed tab): after `disconnected_after` we report Disconnected (it may
//! still come back), after `failed_after` the transport has failed.

use std::time::{Duration, Instant};

/// How long without a valid check on the selected pair before the
/// transport is reported Disconnected, then Failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentTimeouts {
    /// Default 10 s: Chrome and Firefox send consent every ~5 s, so two
    /// missed checks in a row.
    pub disconnected_after: Duration,
    /// Default 15 s: RFC 7675 section 5.1's consent timeout.
    pub failed_after: Duration,
}

impl Default for ConsentTimeouts {
    fn default() -> Self {
        ConsentTimeouts {
            disconnected_after: Duration::from_secs(10),
            failed_after: Duration::from_secs(15),
        }
    }
}

/// When consent was last refreshed, and the deadlines that follow from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConsentClock {
    timeouts: ConsentTimeouts,
    last_valid: Option<Instant>,
}

impl ConsentClock {
    pub(crate) fn new(timeouts: ConsentTimeouts) -> Self {
        ConsentClock {
            timeouts,
            last_valid: None,
        }
    }

    /// A valid check arrived on the selected pair at `now`.
    pub(crate) fn refresh(&mut self, now: Instant) {
        // Keep the clock monotonic even if a caller passes an older instant.
        self.last_valid = Some(self.last_valid.map_or(now, |last| last.max(now)));
    }

    /// When the transport turns Disconnected, if nothing refreshes it.
    pub(crate) fn disconnect_at(&self) -> Option<Instant> {
        // checked: a huge configured timeout means "never", not a panic.
        self.last_valid
            .and_then(|t| t.checked_add(self.timeouts.disconnected_after))
    }

    /// When the transport fails, if nothing refreshes it.
    pub(crate) fn fail_at(&self) -> Option<Instant> {
        self.last_valid
            .and_then(|t| t.checked_add(self.timeouts.failed_after))
    }
}
