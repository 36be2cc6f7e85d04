//! The simplest driver: one non-blocking UDP socket per bound address,
//! `recv_from`/`send_to` and `poll(2)`. It is the stand-in used until a
//! batched driver (io_uring or recvmmsg/sendmmsg in `driver/`) is attached;
//! it runs the same [`WorkerCore`], so behaviour is identical, only slower.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::core::{DatagramOut, WorkerCore};

/// Longest sleep in `poll`, so new commands are seen promptly.
const MAX_WAIT: Duration = Duration::from_millis(5);
/// Datagrams read per socket per turn.
const RECV_PER_TURN: usize = 256;
/// Largest datagram we accept (anything bigger is truncated and dropped by parsers).
const MAX_DATAGRAM: usize = 2048;

struct Outbox<'a> {
    socket: &'a UdpSocket,
    sent: u64,
    errors: u64,
}

impl DatagramOut for Outbox<'_> {
    fn send_to(&mut self, to: SocketAddr, payload: &[u8]) {
        match self.socket.send_to(payload, to) {
            Ok(_) => self.sent += 1,
            Err(_) => self.errors += 1,
        }
    }
}

/// Runs `core` on `sockets` until it is told to stop or `stop` is set.
pub fn run(mut core: WorkerCore, sockets: Vec<UdpSocket>, stop: Arc<AtomicBool>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut fds: Vec<libc::pollfd> = sockets
        .iter()
        .map(|s| libc::pollfd {
            fd: s.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let Some(first) = sockets.first() else { return };
    while !stop.load(Ordering::Relaxed) && !core.should_stop() {
        let now = Instant::now();
        for s in &sockets {
            let mut out = Outbox {
                socket: s,
                sent: 0,
                errors: 0,
            };
            for _ in 0..RECV_PER_TURN {
                match s.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        if let Some(data) = buf.get(..n) {
                            core.on_datagram(now, from, data, &mut out);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
        }
        // Timer and command output leaves from the first socket; replies to
        // peers go out of the socket they came in on (above).
        let mut out = Outbox {
            socket: first,
            sent: 0,
            errors: 0,
        };
        core.on_tick(now, &mut out);
        let wait = core
            .next_deadline()
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(MAX_WAIT)
            .min(MAX_WAIT);
        // SAFETY: fds points at `fds.len()` valid pollfd entries.
        unsafe {
            libc::poll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                wait.as_millis() as libc::c_int,
            );
        }
    }
}
