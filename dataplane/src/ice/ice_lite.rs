//! Per-transport ICE-lite state (RFC 8445 section 2.5, lite implementation).
//!
//! We never send checks; we answer the controlling peer's Binding Requests,
//! remember which addresses passed one (only those may carry DTLS and
//! media), follow the peer's nomination, and watch consent. Sans-IO: bytes
//! and an explicit `Instant` in, bytes to send and events out.
//!
//! Selection rule: the first address that passes a check is selected
//! provisionally so media can start as soon as possible; a check with
//! USE-CANDIDATE selects its address, and a later nomination of another
//! address switches to it (network change, or the peer's renomination).

use super::consent::{ConsentClock, ConsentTimeouts};
use super::stun::{parse_binding_request, write_binding_success, IntegrityKey, StunError};
use ringcast_shared::records::FailReason;
use std::net::SocketAddr;
use std::time::Instant;

/// How many distinct validated remote addresses a transport remembers.
/// A browser checks one pair per local candidate it has (host v4/v6,
/// srflx, relay); beyond this the least recently checked one is forgotten.
pub const MAX_VALID_REMOTES: usize = 8;

/// Longest ufrag we accept (matches the control plane's `InlineStr<64>`).
const MAX_UFRAG_LEN: usize = 256;

/// Connection state of one transport, as seen by a lite agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceState {
    /// No valid check yet.
    New,
    /// A remote address is selected and consent is fresh.
    Connected,
    /// No valid check on the selected pair for `disconnected_after`.
    Disconnected,
    /// No valid check for `failed_after`; terminal.
    Failed,
}

/// Something the control plane should hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceEvent {
    /// `remote` is now the selected address: first selection, a switch to a
    /// newly nominated address, or recovery from Disconnected.
    Connected {
        /// The peer's address (the 5-tuple's remote half).
        remote: SocketAddr,
    },
    /// Consent lapsed for `disconnected_after`; may still recover.
    Disconnected,
    /// The transport is dead.
    Failed(FailReason),
}

/// What a valid check produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct IceOutcome {
    /// The first `response_len` bytes of `out` are the Binding Success
    /// Response to send back to `from`.
    pub response_len: usize,
    /// `from` is the selected address after this check.
    pub selected: bool,
    /// A state change to report, if any.
    pub event: Option<IceEvent>,
}

/// Why a datagram was not accepted as a check for this transport. All are
/// dropped (and counted by the caller); none gets a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IceError {
    /// Malformed STUN or an unsupported message.
    #[error(transparent)]
    Stun(#[from] StunError),
    /// USERNAME's first half is not our ufrag.
    #[error("USERNAME is not for this transport")]
    UfragMismatch,
    /// USERNAME's second half is not the peer's ufrag from the SDP.
    #[error("USERNAME names another remote ufrag")]
    RemoteUfragMismatch,
    /// MESSAGE-INTEGRITY does not match our password (STUN 401).
    #[error("bad MESSAGE-INTEGRITY (unauthorized)")]
    Unauthorized,
    /// The transport failed; checks are no longer answered.
    #[error("transport has failed")]
    Failed,
    /// Empty or overlong ufrag/password at construction.
    #[error("invalid ICE credentials")]
    BadCredentials,
}

/// Per-transport check counters, for metrics and debugging: rejected
/// checks are dropped without a reply, so this is where they show up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IceCounters {
    /// Checks answered with a Binding Success Response.
    pub answered: u64,
    /// Checks with a bad MESSAGE-INTEGRITY (wrong password).
    pub unauthorized: u64,
    /// Malformed STUN, wrong USERNAME, or arriving after failure.
    pub rejected: u64,
}

#[derive(Debug, Clone, Copy)]
struct ValidRemote {
    addr: SocketAddr,
    last_check: Instant,
}

/// One transport's ICE-lite agent.
#[derive(Debug)]
pub struct IceLite {
    local_ufrag: Box<[u8]>,
    remote_ufrag: Box<[u8]>,
    key: IntegrityKey,
    state: IceState,
    selected: Option<SocketAddr>,
    nominated: bool,
    valid: [Option<ValidRemote>; MAX_VALID_REMOTES],
    consent: ConsentClock,
    counters: IceCounters,
}

fn check_cred(s: &str) -> Result<Box<[u8]>, IceError> {
    if s.is_empty() || s.len() > MAX_UFRAG_LEN {
        return Err(IceError::BadCredentials);
    }
    Ok(s.as_bytes().into())
}

impl IceLite {
    /// An agent answering checks for `local_ufrag`/`local_pwd` (from our SDP)
    /// sent by the peer with `remote_ufrag` (from its SDP; empty if not
    /// known yet, which skips that check), with the default consent timeouts.
    pub fn new(local_ufrag: &str, local_pwd: &str, remote_ufrag: &str) -> Result<Self, IceError> {
        Self::with_timeouts(
            local_ufrag,
            local_pwd,
            remote_ufrag,
            ConsentTimeouts::default(),
        )
    }

    /// As [`IceLite::new`] with explicit consent timeouts.
    pub fn with_timeouts(
        local_ufrag: &str,
        local_pwd: &str,
        remote_ufrag: &str,
        timeouts: ConsentTimeouts,
    ) -> Result<Self, IceError> {
        let local_ufrag = check_cred(local_ufrag)?;
        let pwd = check_cred(local_pwd)?;
        if remote_ufrag.len() > MAX_UFRAG_LEN {
            return Err(IceError::BadCredentials);
        }
        Ok(IceLite {
            local_ufrag,
            remote_ufrag: remote_ufrag.as_bytes().into(),
            key: IntegrityKey::new(&pwd),
            state: IceState::New,
            selected: None,
            nominated: false,
            valid: [None; MAX_VALID_REMOTES],
            consent: ConsentClock::new(timeouts),
            counters: IceCounters::default(),
        })
    }

    /// Sets the peer's ufrag once its SDP arrives (our offer went first).
    pub fn set_remote_ufrag(&mut self, remote_ufrag: &str) -> Result<(), IceError> {
        if remote_ufrag.len() > MAX_UFRAG_LEN {
            return Err(IceError::BadCredentials);
        }
        self.remote_ufrag = remote_ufrag.as_bytes().into();
        Ok(())
    }

    /// Our ufrag: the key of this transport in the worker's ufrag table.
    #[must_use]
    pub fn local_ufrag(&self) -> &[u8] {
        &self.local_ufrag
    }

    /// Current state.
    #[must_use]
    pub fn state(&self) -> IceState {
        self.state
    }

    /// The selected remote address: where DTLS and media go.
    #[must_use]
    pub fn selected(&self) -> Option<SocketAddr> {
        self.selected
    }

    /// Whether the peer has nominated (USE-CANDIDATE) the selected address.
    #[must_use]
    pub fn is_nominated(&self) -> bool {
        self.nominated
    }

    /// Check counters since creation.
    #[must_use]
    pub fn counters(&self) -> IceCounters {
        self.counters
    }

    /// Whether `addr` passed a check. Only such addresses may send us DTLS
    /// or media (RFC 8445 section 7.3: no data before a valid check).
    #[must_use]
    pub fn is_valid_remote(&self, addr: SocketAddr) -> bool {
        self.state != IceState::Failed && self.valid.iter().flatten().any(|v| v.addr == addr)
    }

    /// Handles a STUN datagram from `from`: on a valid check writes the
    /// Binding Success Response into `out` and updates selection and
    /// consent. On error nothing changes and nothing is to be sent.
    pub fn handle_binding(
        &mut self,
        now: Instant,
        from: SocketAddr,
        pkt: &[u8],
        out: &mut [u8],
    ) -> Result<IceOutcome, IceError> {
        let result = self.answer(now, from, pkt, out);
        match &result {
            Ok(outcome) => {
                self.counters.answered += 1;
                if let Some(event) = outcome.event {
                    tracing::debug!(?event, %from, "ice-lite state change");
                }
            }
            Err(IceError::Unauthorized) => {
                self.counters.unauthorized += 1;
                tracing::trace!(%from, "ice check with bad integrity dropped");
            }
            Err(error) => {
                self.counters.rejected += 1;
                tracing::trace!(%from, %error, "ice check dropped");
            }
        }
        result
    }

    fn answer(
        &mut self,
        now: Instant,
        from: SocketAddr,
        pkt: &[u8],
        out: &mut [u8],
    ) -> Result<IceOutcome, IceError> {
        if self.state == IceState::Failed {
            return Err(IceError::Failed);
        }
        let req = parse_binding_request(pkt)?;
        if req.local_ufrag() != &*self.local_ufrag {
            return Err(IceError::UfragMismatch);
        }
        if !self.remote_ufrag.is_empty() && req.remote_ufrag() != &*self.remote_ufrag {
            return Err(IceError::RemoteUfragMismatch);
        }
        req.verify_integrity(&self.key).map_err(|e| match e {
            StunError::BadIntegrity => IceError::Unauthorized,
            other => IceError::Stun(other),
        })?;
        // Write the reply before touching state, so a too-small buffer
        // leaves the agent as it was.
        let response_len = write_binding_success(out, &req.transaction_id, from, &self.key)?;

        self.mark_valid(from, now);
        let switch = if req.use_candidate {
            self.nominated = true;
            self.selected != Some(from)
        } else {
            self.selected.is_none()
        };
        if switch {
            self.selected = Some(from);
        }
        let selected = self.selected == Some(from);
        let mut event = None;
        if selected {
            // Consent is about the selected pair (RFC 7675); checks on other
            // pairs validate them but do not keep this one alive.
            self.consent.refresh(now);
            let was = self.state;
            self.state = IceState::Connected;
            if switch || was != IceState::Connected {
                event = Some(IceEvent::Connected { remote: from });
            }
        }
        Ok(IceOutcome {
            response_len,
            selected,
            event,
        })
    }

    /// When [`IceLite::handle_timeout`] should be called next, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            IceState::Connected => self.consent.disconnect_at(),
            IceState::Disconnected => self.consent.fail_at(),
            IceState::New | IceState::Failed => None,
        }
    }

    /// Advances consent to `now`. Returns at most one event; if both
    /// deadlines have passed, call again (as [`IceLite::poll_timeout`] will
    /// say) to get the second.
    #[must_use]
    pub fn handle_timeout(&mut self, now: Instant) -> Option<IceEvent> {
        match self.state {
            IceState::Connected if self.consent.disconnect_at().is_some_and(|t| now >= t) => {
                self.state = IceState::Disconnected;
                tracing::debug!(selected = ?self.selected, "ice consent lapsed: disconnected");
                Some(IceEvent::Disconnected)
            }
            IceState::Disconnected if self.consent.fail_at().is_some_and(|t| now >= t) => {
                self.state = IceState::Failed;
                self.valid = [None; MAX_VALID_REMOTES];
                tracing::debug!(selected = ?self.selected, "ice consent timeout: failed");
                Some(IceEvent::Failed(FailReason::ConsentTimeout))
            }
            _ => None,
        }
    }

    fn mark_valid(&mut self, addr: SocketAddr, now: Instant) {
        if let Some(v) = self.valid.iter_mut().flatten().find(|v| v.addr == addr) {
            v.last_check = v.last_check.max(now);
            return;
        }
        let entry = Some(ValidRemote {
            addr,
            last_check: now,
        });
        if let Some(slot) = self.valid.iter_mut().find(|s| s.is_none()) {
            *slot = entry;
            return;
        }
        // Full: forget the least recently checked address that is not the
        // selected one.
        let selected = self.selected;
        let victim = self
            .valid
            .iter_mut()
            .filter(|s| s.is_some_and(|v| Some(v.addr) != selected))
            .min_by_key(|s| s.map(|v| v.last_check));
        if let Some(slot) = victim {
            *slot = entry;
        }
    }
}
