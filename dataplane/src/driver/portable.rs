//! The portable driver: non-blocking sockets, `recvmmsg`/`sendmmsg` batches and
//! `poll` with a timeout. Used where io_uring is refused (Docker's default
//! seccomp profile) or chosen by config. Same contract as the io_uring driver.
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{
    sockaddr, socket_for, wait_for, DriverContext, DriverError, PacketHandler, SendQueue,
    WorkerCounters,
};

/// Datagrams per recvmmsg/sendmmsg call.
const BATCH: usize = 64;

/// Preallocated msghdr arrays for one direction.
pub(crate) struct MsgBatch {
    hdrs: Vec<libc::mmsghdr>,
    iovs: Vec<libc::iovec>,
    names: Vec<libc::sockaddr_storage>,
}

impl MsgBatch {
    pub(crate) fn new() -> Self {
        // SAFETY: these C structs are valid when zeroed.
        let zero_hdr: libc::mmsghdr = unsafe { std::mem::zeroed() };
        let zero_name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        Self {
            hdrs: vec![zero_hdr; BATCH],
            iovs: vec![
                libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0
                };
                BATCH
            ],
            names: vec![zero_name; BATCH],
        }
    }
}

/// Runs the loop until stop; see [`super::run`].
pub fn run<H: PacketHandler>(ctx: DriverContext<'_>, handler: &mut H) -> Result<(), DriverError> {
    let cfg = ctx.config;
    let c = ctx.counters;
    let locals: Vec<SocketAddr> = ctx
        .sockets
        .iter()
        .map(|s| s.local_addr())
        .collect::<Result<_, _>>()
        .map_err(DriverError::Portable)?;
    let fds: Vec<i32> = ctx.sockets.iter().map(|s| s.as_raw_fd()).collect();
    let mut pollfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // The wake eventfd, polled last, beside the sockets.
    let wake_slot = ctx.wake.map(|w| {
        pollfds.push(libc::pollfd {
            fd: w.fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        pollfds.len() - 1
    });
    let mut out = SendQueue::new(cfg.send_slots, cfg.send_slot_size);
    let mut rx = MsgBatch::new();
    let mut tx = MsgBatch::new();
    let mut rx_bufs = vec![0u8; BATCH * cfg.recv_buffer_size];
    let mut reported_drops = 0u64;

    while !ctx.stop.load(Ordering::Relaxed) && !handler.should_stop() {
        let now = Instant::now();
        WorkerCounters::add(&c.turns, 1);
        let packets_before = c.packets_in.load(std::sync::atomic::Ordering::Relaxed);
        // Read before the handler looks at its rings (see `Wake`).
        let epoch = ctx.wake.map(|w| w.epoch());
        handler.on_tick(now, &mut out);

        let mut budget = cfg.max_datagrams_per_turn;
        for (si, &fd) in fds.iter().enumerate() {
            while budget > 0 {
                let want = budget.min(BATCH);
                let n = recv_batch(fd, &mut rx, &mut rx_bufs, cfg.recv_buffer_size, want);
                let n = match n {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        WorkerCounters::add(&c.recv_errors, 1);
                        break;
                    }
                };
                budget -= n;
                for i in 0..n {
                    let name_len = (rx.hdrs[i].msg_hdr.msg_namelen as usize)
                        .min(std::mem::size_of::<libc::sockaddr_storage>());
                    // SAFETY: names[i] is a live sockaddr_storage of at least name_len bytes.
                    let name = unsafe {
                        std::slice::from_raw_parts(&rx.names[i] as *const _ as *const u8, name_len)
                    };
                    let len = (rx.hdrs[i].msg_len as usize).min(cfg.recv_buffer_size);
                    let Some(from) = sockaddr::from_raw(name) else {
                        WorkerCounters::add(&c.recv_errors, 1);
                        continue;
                    };
                    WorkerCounters::add(&c.packets_in, 1);
                    WorkerCounters::add(&c.bytes_in, len as u64);
                    let start = i * cfg.recv_buffer_size;
                    if let Some(data) = rx_bufs.get_mut(start..start + len) {
                        handler.on_datagram(now, from, locals[si], data, &mut out);
                    }
                    if out.free_len() < cfg.send_slots / 2 {
                        // A fan-out burst: send what is queued now, so the
                        // next datagrams of the batch find free slots.
                        flush(&fds, &locals, &mut out, &mut tx, c);
                    }
                }
                if n < want {
                    break;
                }
            }
        }

        flush(&fds, &locals, &mut out, &mut tx, c);
        let drops = out.drops();
        WorkerCounters::add(&c.send_queue_drops, drops - reported_drops);
        reported_drops = drops;

        c.record_turn(
            now.elapsed(),
            c.packets_in.load(std::sync::atomic::Ordering::Relaxed) - packets_before,
        );
        handler.end_turn();
        let may_sleep = match (ctx.wake, epoch) {
            (Some(w), Some(seen)) => w.prepare_sleep(seen),
            _ => true,
        };
        if budget == cfg.max_datagrams_per_turn && may_sleep {
            // Nothing arrived this turn: sleep until traffic or the deadline.
            let wait = wait_for(now, handler.next_deadline(), cfg.max_wait);
            let ms = wait.as_micros().div_ceil(1000) as i32;
            // SAFETY: pollfds is a valid array of pollfd for its length.
            let r = unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, ms) };
            if r < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(DriverError::Portable(e));
                }
            }
            if let (Some(w), Some(i)) = (ctx.wake, wake_slot) {
                if pollfds
                    .get(i)
                    .is_some_and(|p| p.revents & libc::POLLIN != 0)
                {
                    w.drain();
                }
            }
        }
        if let Some(w) = ctx.wake {
            w.awake();
        }
    }
    Ok(())
}

/// One recvmmsg into the preallocated batch; returns datagrams received.
fn recv_batch(
    fd: i32,
    rx: &mut MsgBatch,
    bufs: &mut [u8],
    buf_size: usize,
    want: usize,
) -> std::io::Result<usize> {
    for i in 0..want {
        rx.iovs[i] = libc::iovec {
            iov_base: bufs[i * buf_size..].as_mut_ptr().cast(),
            iov_len: buf_size,
        };
        let h = &mut rx.hdrs[i].msg_hdr;
        h.msg_name = (&mut rx.names[i] as *mut libc::sockaddr_storage).cast();
        h.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        h.msg_iov = &mut rx.iovs[i];
        h.msg_iovlen = 1;
        h.msg_control = std::ptr::null_mut();
        h.msg_controllen = 0;
        h.msg_flags = 0;
    }
    // SAFETY: hdrs[..want] point at live buffers owned by this worker.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            rx.hdrs.as_mut_ptr(),
            want as _,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Sends every pending slot with sendmmsg (per socket family), then frees them.
/// The io_uring driver uses it too, for fan-out bursts (see `uring::run`).
pub(crate) fn flush(
    fds: &[i32],
    locals: &[SocketAddr],
    out: &mut SendQueue,
    tx: &mut MsgBatch,
    c: &WorkerCounters,
) {
    let total = out.pending_len();
    let mut done = 0;
    while done < total {
        let mut n = 0;
        let mut sock = None;
        while done + n < total && n < BATCH {
            let id = out.pending_ids()[done + n];
            let (to, payload) = out.slot(id);
            let Some(si) = socket_for(locals, &to) else {
                break;
            };
            if sock.is_some_and(|s| s != si) {
                break;
            }
            sock = Some(si);
            let len = sockaddr::to_raw(&to, &mut tx.names[n]);
            tx.iovs[n] = libc::iovec {
                iov_base: payload.as_ptr() as *mut _,
                iov_len: payload.len(),
            };
            let h = &mut tx.hdrs[n].msg_hdr;
            h.msg_name = (&mut tx.names[n] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = len;
            h.msg_iov = &mut tx.iovs[n];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            n += 1;
        }
        let Some(si) = sock else {
            // No socket of this family: count and skip the datagram.
            WorkerCounters::add(&c.send_errors, 1);
            done += 1;
            continue;
        };
        let mut sent = 0;
        while sent < n {
            // SAFETY: hdrs[sent..n] point at slot payloads that live until release below.
            let r = unsafe {
                libc::sendmmsg(
                    fds[si],
                    tx.hdrs[sent..].as_mut_ptr(),
                    (n - sent) as _,
                    libc::MSG_DONTWAIT,
                )
            };
            if r < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                // Socket buffer full or error: these datagrams are lost, as UDP allows.
                WorkerCounters::add(&c.send_errors, (n - sent) as u64);
                break;
            }
            for h in &tx.hdrs[sent..sent + r as usize] {
                WorkerCounters::add(&c.packets_out, 1);
                WorkerCounters::add(&c.bytes_out, h.msg_len as u64);
            }
            sent += r as usize;
        }
        done += n;
    }
    for i in 0..total {
        let id = out.pending_ids()[i];
        out.release(id);
    }
    out.clear_pending();
}
