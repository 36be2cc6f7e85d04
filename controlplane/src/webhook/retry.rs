//! When a delivery is tried again, and after how long: go-retryablehttp's
//! defaults, which LiveKit uses (LIVEKIT_PROTOCOL.md 9.6): connection errors,
//! 5xx and 429 retry; other answers are final; exponential backoff.

use std::time::Duration;

/// The result of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer with this status.
    Status(u16),
    /// No answer: connect/write/read failed or timed out.
    ConnectionError,
}

impl Outcome {
    /// Whether the receiver accepted the event (2xx).
    pub fn delivered(self) -> bool {
        matches!(self, Outcome::Status(200..=299))
    }

    /// Whether trying again may help.
    pub fn retryable(self) -> bool {
        match self {
            Outcome::ConnectionError => true,
            Outcome::Status(429) => true,
            Outcome::Status(s) => s >= 500 && s != 501,
        }
    }
}

/// How many times and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (go-retryablehttp: 4).
    pub max_retries: u32,
    /// The first wait (1 s); doubled each retry.
    pub base: Duration,
    /// The longest wait (30 s).
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

/// The wait before retry number `retry` (0-based): `base * 2^retry`,
/// at most `max`.
pub fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
    policy.base.saturating_mul(factor).min(policy.max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_throttling_and_connection_errors_retry() {
        assert!(Outcome::ConnectionError.retryable());
        assert!(Outcome::Status(500).retryable());
        assert!(Outcome::Status(503).retryable());
        assert!(Outcome::Status(429).retryable());
        assert!(!Outcome::Status(501).retryable());
        assert!(!Outcome::Status(400).retryable());
        assert!(!Outcome::Status(404).retryable());
        assert!(Outcome::Status(204).delivered());
        assert!(!Outcome::Status(302).delivered());
    }

    #[test]
    fn backoff_doubles_from_one_second_and_caps() {
        let p = RetryPolicy::default();
        let secs: Vec<u64> = (0..7).map(|r| backoff(&p, r).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff(&p, 40), Duration::from_secs(30));
    }
}
