//! The dataplane's configuration: how many workers, where they listen, and
//! which I/O driver they use. Built by the control plane (from its YAML/CLI)
//! or by a standalone dataplane process, and handed to the dataplane as is.

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

/// Which I/O driver the workers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DriverKind {
    /// io_uring when the kernel allows it, the portable driver otherwise.
    #[default]
    Auto,
    /// io_uring only; starting fails if it is unavailable.
    IoUring,
    /// Plain non-blocking sockets (`recvmmsg`/`sendmmsg` or equivalent);
    /// works in containers where io_uring is blocked by seccomp.
    Portable,
}

/// `DriverKind::from_str` got something other than auto/io_uring/portable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dataplane driver {0:?}: expected auto, io_uring or portable")]
pub struct UnknownDriver(pub String);

impl FromStr for DriverKind {
    type Err = UnknownDriver;

    /// Accepts `auto`, `io_uring` (also `io-uring`, `iouring`, `uring`) and
    /// `portable`, case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(DriverKind::Auto),
            "io_uring" | "io-uring" | "iouring" | "uring" => Ok(DriverKind::IoUring),
            "portable" => Ok(DriverKind::Portable),
            _ => Err(UnknownDriver(s.to_string())),
        }
    }
}

impl std::fmt::Display for DriverKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DriverKind::Auto => "auto",
            DriverKind::IoUring => "io_uring",
            DriverKind::Portable => "portable",
        })
    }
}

/// Default UDP media port (LiveKit's `rtc.udp_port` default, single-port mux).
pub const DEFAULT_UDP_PORT: u16 = 7882;
/// Default slots per control/event ring.
pub const DEFAULT_RING_CAPACITY: usize = 4096;

/// `DataplaneConfig::validate` found an unusable value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// At least one worker is needed; at most 65535 (worker ids are `u16`).
    #[error("workers must be in 1..=65535, got {0}")]
    Workers(usize),
    /// Ring capacity must be a power of two within the ring's limit.
    #[error("ring_capacity must be a power of two in 1..={max}, got {got}", max = crate::ring::spsc::MAX_CAPACITY)]
    RingCapacity { got: usize },
    /// Nothing to bind.
    #[error("bind_addrs is empty")]
    NoBindAddrs,
}

/// Everything the dataplane needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataplaneConfig {
    /// Worker threads, one per core by default.
    pub workers: usize,
    /// The one UDP port all workers share with `SO_REUSEPORT`.
    pub udp_port: u16,
    /// Addresses to bind the media port on (each worker binds each).
    pub bind_addrs: Vec<IpAddr>,
    /// I/O driver choice.
    pub driver: DriverKind,
    /// Slots per command and per event ring (power of two).
    pub ring_capacity: usize,
    /// Pin worker `i` to core `i` (off in shared CI boxes).
    pub pin_cores: bool,
}

impl Default for DataplaneConfig {
    fn default() -> Self {
        DataplaneConfig {
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            udp_port: DEFAULT_UDP_PORT,
            bind_addrs: vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED)],
            driver: DriverKind::Auto,
            ring_capacity: DEFAULT_RING_CAPACITY,
            pin_cores: true,
        }
    }
}

impl DataplaneConfig {
    /// Checks the values the dataplane and the shared region cannot work with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.workers == 0 || self.workers > u16::MAX as usize {
            return Err(ConfigError::Workers(self.workers));
        }
        let cap = self.ring_capacity;
        if cap == 0 || cap > crate::ring::spsc::MAX_CAPACITY || !cap.is_power_of_two() {
            return Err(ConfigError::RingCapacity { got: cap });
        }
        if self.bind_addrs.is_empty() {
            return Err(ConfigError::NoBindAddrs);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_kind_parses_the_three_names() {
        assert_eq!("auto".parse(), Ok(DriverKind::Auto));
        assert_eq!("io_uring".parse(), Ok(DriverKind::IoUring));
        assert_eq!("IO-URING".parse(), Ok(DriverKind::IoUring));
        assert_eq!("portable".parse(), Ok(DriverKind::Portable));
        assert!("epoll".parse::<DriverKind>().is_err());
        for k in [DriverKind::Auto, DriverKind::IoUring, DriverKind::Portable] {
            assert_eq!(k.to_string().parse(), Ok(k));
        }
    }

    #[test]
    fn default_config_is_valid_and_bad_values_are_refused() {
        let c = DataplaneConfig::default();
        assert_eq!(c.validate(), Ok(()));
        assert!(c.workers >= 1);
        assert_eq!(
            DataplaneConfig {
                workers: 0,
                ..c.clone()
            }
            .validate(),
            Err(ConfigError::Workers(0))
        );
        assert_eq!(
            DataplaneConfig {
                ring_capacity: 1000,
                ..c.clone()
            }
            .validate(),
            Err(ConfigError::RingCapacity { got: 1000 })
        );
        assert_eq!(
            DataplaneConfig {
                bind_addrs: vec![],
                ..c
            }
            .validate(),
            Err(ConfigError::NoBindAddrs)
        );
    }
}
