//! The io_uring driver: one ring per worker, multishot RecvMsg over a provided
//! buffer ring (no receive syscall and no copy per packet), all sends of a turn
//! submitted as SendMsg SQEs in one `submit`, and one wait per turn bounded by
//! the handler's deadline.
use std::alloc::Layout;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use io_uring::{cqueue, opcode, types, IoUring, Probe};

use super::{
    sockaddr, socket_for, wait_for, DriverContext, DriverError, PacketHandler, SendQueue,
    WorkerCounters,
};

/// Buffer group id of the worker's provided-buffer ring.
const BGID: u16 = 0;
/// user_data tags (top byte) for the three kinds of operations.
const TAG_RECV: u64 = 1 << 56;
const TAG_SEND: u64 = 2 << 56;
const TAG_CANCEL: u64 = 3 << 56;
/// The read armed on the worker's wake eventfd (see `wake.rs`).
const TAG_WAKE: u64 = 4 << 56;
const TAG_MASK: u64 = 0xff << 56;
/// Space the kernel writes before the payload: recvmsg_out header + name.
const NAME_LEN: usize = std::mem::size_of::<libc::sockaddr_storage>();
/// `struct io_uring_recvmsg_out` (four u32).
const HEADER_LEN: usize = 16;

/// True when this kernel gives us a ring, RecvMsg/SendMsg, a provided buffer ring
/// and multishot recvmsg (Linux 6.0). Probed once per process.
pub fn is_supported() -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(probe)
}

fn probe() -> bool {
    if !kernel_at_least(6, 0) {
        return false;
    }
    let Ok(ring) = IoUring::new(8) else {
        return false;
    };
    let mut p = Probe::new();
    if ring.submitter().register_probe(&mut p).is_err()
        || !p.is_supported(opcode::RecvMsg::CODE)
        || !p.is_supported(opcode::SendMsg::CODE)
    {
        return false;
    }
    match BufRing::new(&ring, 8, 64) {
        Ok(br) => {
            let _ = ring.submitter().unregister_buf_ring(BGID);
            drop(br);
            true
        }
        Err(_) => false,
    }
}

fn kernel_at_least(major: u32, minor: u32) -> bool {
    // SAFETY: utsname is plain data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return false;
    }
    let release: String = u
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8 as char)
        .collect();
    let mut it = release
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse::<u32>().ok());
    let (ma, mi) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    (ma, mi) >= (major, minor)
}

/// The provided-buffer ring: `entries` descriptors (page aligned, shared with the
/// kernel) and `entries` receive buffers, all allocated once.
struct BufRing {
    ring: *mut types::BufRingEntry,
    ring_layout: Layout,
    bufs: *mut u8,
    bufs_layout: Layout,
    buf_size: usize,
    entries: u16,
    tail: u16,
}

impl BufRing {
    fn new(uring: &IoUring, entries: u16, buf_size: usize) -> std::io::Result<Self> {
        let entries = entries.next_power_of_two().clamp(1, 32768);
        let oom = || std::io::Error::from(std::io::ErrorKind::OutOfMemory);
        let ring_layout = Layout::from_size_align(
            entries as usize * std::mem::size_of::<types::BufRingEntry>(),
            4096,
        )
        .map_err(|_| oom())?;
        let bufs_layout =
            Layout::from_size_align(entries as usize * buf_size, 64).map_err(|_| oom())?;
        // SAFETY: both layouts have non-zero size.
        let ring = unsafe { std::alloc::alloc_zeroed(ring_layout) } as *mut types::BufRingEntry;
        let bufs = unsafe { std::alloc::alloc_zeroed(bufs_layout) };
        if ring.is_null() || bufs.is_null() {
            return Err(oom());
        }
        let mut br = Self {
            ring,
            ring_layout,
            bufs,
            bufs_layout,
            buf_size,
            entries,
            tail: 0,
        };
        // SAFETY: ring memory lives until Drop, after the ring is unregistered/destroyed.
        unsafe {
            uring
                .submitter()
                .register_buf_ring_with_flags(ring as u64, entries, BGID, 0)?
        };
        for bid in 0..entries {
            br.push(bid);
        }
        br.publish();
        Ok(br)
    }

    /// Queues buffer `bid` for the kernel (visible after `publish`).
    fn push(&mut self, bid: u16) {
        let mask = self.entries - 1;
        // SAFETY: index masked into the ring; bid < entries so the buffer is in bounds.
        unsafe {
            let e = &mut *self.ring.add((self.tail & mask) as usize);
            e.set_addr(self.bufs.add(bid as usize * self.buf_size) as u64);
            e.set_len(self.buf_size as u32);
            e.set_bid(bid);
        }
        self.tail = self.tail.wrapping_add(1);
    }

    /// Makes pushed buffers visible to the kernel.
    fn publish(&self) {
        // SAFETY: the tail field of the first entry is the shared ring tail.
        unsafe {
            let tail = types::BufRingEntry::tail(self.ring) as *const AtomicU16;
            (*tail).store(self.tail, Ordering::Release);
        }
    }

    fn buf(&mut self, bid: u16, len: usize) -> Option<&mut [u8]> {
        if bid >= self.entries || len > self.buf_size {
            return None;
        }
        // SAFETY: bounds checked; the kernel gave this buffer back and won't touch it until re-pushed.
        Some(unsafe {
            std::slice::from_raw_parts_mut(self.bufs.add(bid as usize * self.buf_size), len)
        })
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: allocated in new with these layouts.
        unsafe {
            std::alloc::dealloc(self.ring as *mut u8, self.ring_layout);
            std::alloc::dealloc(self.bufs, self.bufs_layout);
        }
    }
}

/// Kernel-visible descriptors of one send slot; stable until its CQE.
struct SendMeta {
    hdr: libc::msghdr,
    iov: libc::iovec,
    name: libc::sockaddr_storage,
}

/// Runs the loop until stop; see [`super::run`].
pub fn run<H: PacketHandler>(ctx: DriverContext<'_>, handler: &mut H) -> Result<(), DriverError> {
    let cfg = ctx.config;
    let c = ctx.counters;
    let err = DriverError::Uring;
    let locals: Vec<SocketAddr> = ctx
        .sockets
        .iter()
        .map(|s| s.local_addr())
        .collect::<Result<_, _>>()
        .map_err(err)?;
    let fds: Vec<types::Fd> = ctx
        .sockets
        .iter()
        .map(|s| types::Fd(s.as_raw_fd()))
        .collect();

    let raw_fds: Vec<i32> = ctx.sockets.iter().map(|s| s.as_raw_fd()).collect();
    let mut burst_tx = super::portable::MsgBatch::new();
    let mut out = SendQueue::new(cfg.send_slots, cfg.send_slot_size);
    // SAFETY: zeroed C structs are valid; pointers are filled before use.
    let mut send_meta: Box<[SendMeta]> = (0..cfg.send_slots)
        .map(|_| unsafe { std::mem::zeroed::<SendMeta>() })
        .collect();
    let recv_hdrs: Box<[libc::msghdr]> = (0..fds.len())
        .map(|_| {
            let mut h: libc::msghdr = unsafe { std::mem::zeroed() };
            h.msg_namelen = NAME_LEN as libc::socklen_t;
            h
        })
        .collect();
    let mut rearm: Vec<bool> = vec![true; fds.len()];
    // The eventfd's 8 bytes land here; boxed so its address is stable while
    // a read is armed (it is cancelled and reaped in `quiesce`).
    let mut wake_buf: Box<u64> = Box::new(0);
    let mut wake_armed = false;

    let sq_entries = (cfg.send_slots + fds.len() + 8)
        .next_power_of_two()
        .clamp(64, 4096) as u32;
    let buf_size = HEADER_LEN + NAME_LEN + cfg.recv_buffer_size;
    // Declared before the ring so the ring is dropped (and the kernel lets go) first.
    let mut ring = IoUring::new(sq_entries).map_err(err)?;
    let mut bufs = BufRing::new(&ring, cfg.recv_buffers, buf_size).map_err(err)?;
    // Registered sockets: each SQE names the socket by index, so the kernel
    // skips the fd table lookup and reference count per send (fget/fput,
    // ~0.5-1 % of samples with one SendMsg per forwarded packet). Plain fds
    // if the kernel refuses.
    let fixed = ring.submitter().register_files(&raw_fds).is_ok();
    let mut reported_drops = 0u64;

    while !ctx.stop.load(Ordering::Relaxed) && !handler.should_stop() {
        let now = Instant::now();
        WorkerCounters::add(&c.turns, 1);
        let packets_before = c.packets_in.load(std::sync::atomic::Ordering::Relaxed);
        // Read before the handler looks at its rings (see `Wake`).
        let epoch = ctx.wake.map(|w| w.epoch());
        handler.on_tick(now, &mut out);

        let (submitter, mut sq, mut cq) = ring.split();
        cq.sync();
        let mut handled = 0usize;
        let mut recycled = false;
        while handled < cfg.max_datagrams_per_turn {
            let Some(cqe) = cq.next() else { break };
            let ud = cqe.user_data();
            let res = cqe.result();
            let flags = cqe.flags();
            match ud & TAG_MASK {
                TAG_RECV => {
                    let si = (ud & !TAG_MASK) as usize;
                    if !cqueue::more(flags) {
                        if let Some(r) = rearm.get_mut(si) {
                            *r = true;
                        }
                    }
                    if res < 0 {
                        if res != -libc::ENOBUFS {
                            WorkerCounters::add(&c.recv_errors, 1);
                        }
                        continue;
                    }
                    let Some(bid) = cqueue::buffer_select(flags) else {
                        continue;
                    };
                    handled += 1;
                    if let (Some(buf), Some(hdr), Some(&local)) = (
                        bufs.buf(bid, res as usize),
                        recv_hdrs.get(si),
                        locals.get(si),
                    ) {
                        deliver(now, buf, hdr, local, handler, &mut out, c);
                    }
                    bufs.push(bid);
                    recycled = true;
                    if out.free_len() < cfg.send_slots / 2 {
                        // A fan-out burst (one datagram to many subscribers)
                        // would fill the queue before this turn's submit, and
                        // slots of earlier submits are only released by CQEs
                        // queued behind the datagrams still to handle. So the
                        // queued copies go out now with one sendmmsg per 64
                        // and their slots are free again at once.
                        super::portable::flush(&raw_fds, &locals, &mut out, &mut burst_tx, c);
                    }
                }
                TAG_WAKE => wake_armed = false,
                TAG_SEND => {
                    let id = (ud & !TAG_MASK) as u32;
                    if res < 0 {
                        WorkerCounters::add(&c.send_errors, 1);
                    } else {
                        WorkerCounters::add(&c.packets_out, 1);
                        WorkerCounters::add(&c.bytes_out, res as u64);
                    }
                    out.release(id);
                }
                _ => {}
            }
        }
        cq.sync();
        let backlog = !cq.is_empty();
        if recycled {
            bufs.publish();
        }

        for (si, r) in rearm.iter_mut().enumerate() {
            if *r {
                let e = if fixed {
                    opcode::RecvMsgMulti::new(types::Fixed(si as u32), &recv_hdrs[si], BGID).build()
                } else {
                    opcode::RecvMsgMulti::new(fds[si], &recv_hdrs[si], BGID).build()
                }
                .user_data(TAG_RECV | si as u64);
                // SAFETY: recv_hdrs and the buffer ring outlive the ring.
                if unsafe { sq.push(&e) }.is_ok() {
                    *r = false;
                }
            }
        }

        if let (Some(w), false) = (ctx.wake, wake_armed) {
            let e = opcode::Read::new(types::Fd(w.fd()), (&mut *wake_buf as *mut u64).cast(), 8)
                .build()
                .user_data(TAG_WAKE);
            // SAFETY: wake_buf outlives the ring's use of it (see quiesce).
            if unsafe { sq.push(&e) }.is_ok() {
                wake_armed = true;
            }
        }

        // Queue all sends of this turn; they go out in the single submit below.
        for i in 0..out.pending_len() {
            let id = out.pending_ids()[i];
            let (to, payload) = out.slot(id);
            let Some(si) = socket_for(&locals, &to) else {
                WorkerCounters::add(&c.send_errors, 1);
                out.release(id);
                continue;
            };
            let m = &mut send_meta[id as usize];
            let name_len = sockaddr::to_raw(&to, &mut m.name);
            m.iov = libc::iovec {
                iov_base: payload.as_ptr() as *mut _,
                iov_len: payload.len(),
            };
            m.hdr.msg_name = (&mut m.name as *mut libc::sockaddr_storage).cast();
            m.hdr.msg_namelen = name_len;
            m.hdr.msg_iov = &mut m.iov;
            m.hdr.msg_iovlen = 1;
            let e = if fixed {
                opcode::SendMsg::new(types::Fixed(si as u32), &m.hdr).build()
            } else {
                opcode::SendMsg::new(fds[si], &m.hdr).build()
            }
            .user_data(TAG_SEND | id as u64);
            // SAFETY: slot memory and its SendMeta stay untouched until the CQE releases the slot.
            while unsafe { sq.push(&e) }.is_err() {
                sq.sync();
                if let Err(e) = submitter.submit() {
                    if !transient(&e) {
                        return Err(DriverError::Uring(e));
                    }
                }
                sq.sync();
            }
        }
        out.clear_pending();
        let drops = out.drops();
        WorkerCounters::add(&c.send_queue_drops, drops - reported_drops);
        reported_drops = drops;
        sq.sync();

        c.record_turn(
            now.elapsed(),
            c.packets_in.load(std::sync::atomic::Ordering::Relaxed) - packets_before,
        );
        handler.end_turn();
        let may_sleep = !backlog
            && match (ctx.wake, epoch) {
                (Some(w), Some(seen)) => w.prepare_sleep(seen),
                _ => true,
            };
        let result = if !may_sleep {
            submitter.submit()
        } else {
            let wait = wait_for(now, handler.next_deadline(), cfg.max_wait);
            let ts = types::Timespec::from(wait);
            let args = types::SubmitArgs::new().timespec(&ts);
            submitter.submit_with_args(1, &args)
        };
        if let Some(w) = ctx.wake {
            w.awake();
        }
        if let Err(e) = result {
            if !transient(&e) {
                return Err(DriverError::Uring(e));
            }
        }
    }
    quiesce(&mut ring, &rearm, wake_armed, &mut out, cfg.send_slots);
    let _ = ring.submitter().unregister_buf_ring(BGID);
    drop(ring);
    drop(bufs);
    drop(wake_buf);
    Ok(())
}

/// Cancels the armed multishot receives and waits (bounded, 100 ms) for them
/// and any in-flight sends to complete, so the kernel holds no pointer into our
/// buffers when they are freed.
fn quiesce(
    ring: &mut IoUring,
    rearm: &[bool],
    wake_armed: bool,
    out: &mut SendQueue,
    slots: usize,
) {
    let (submitter, mut sq, mut cq) = ring.split();
    let mut live = 0usize;
    if wake_armed {
        live += 1;
        let e = opcode::AsyncCancel::new(TAG_WAKE)
            .build()
            .user_data(TAG_CANCEL);
        // SAFETY: cancel carries no pointers.
        let _ = unsafe { sq.push(&e) };
    }
    for (si, _) in rearm.iter().enumerate().filter(|(_, r)| !**r) {
        live += 1;
        let e = opcode::AsyncCancel::new(TAG_RECV | si as u64)
            .build()
            .user_data(TAG_CANCEL);
        // SAFETY: cancel carries no pointers.
        let _ = unsafe { sq.push(&e) };
    }
    sq.sync();
    let until = Instant::now() + std::time::Duration::from_millis(100);
    while (live > 0 || out.free_len() < slots) && Instant::now() < until {
        let ts = types::Timespec::from(std::time::Duration::from_millis(10));
        let _ = submitter.submit_with_args(1, &types::SubmitArgs::new().timespec(&ts));
        cq.sync();
        for cqe in &mut cq {
            let ud = cqe.user_data();
            match ud & TAG_MASK {
                TAG_RECV if !cqueue::more(cqe.flags()) => live = live.saturating_sub(1),
                TAG_WAKE => live = live.saturating_sub(1),
                TAG_SEND => out.release((ud & !TAG_MASK) as u32),
                _ => {}
            }
        }
    }
}

/// ETIME (the wait timed out), EINTR and EBUSY (CQ full; we reap next turn) are normal.
fn transient(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY) | Some(libc::EAGAIN)
    )
}

/// Parses one multishot recvmsg buffer and hands the payload to the handler.
fn deliver<H: PacketHandler>(
    now: Instant,
    buf: &mut [u8],
    hdr: &libc::msghdr,
    local: SocketAddr,
    handler: &mut H,
    out: &mut SendQueue,
    c: &WorkerCounters,
) {
    let (from, start, len) = {
        let Ok(msg) = types::RecvMsgOut::parse(buf, hdr) else {
            WorkerCounters::add(&c.recv_errors, 1);
            return;
        };
        if msg.is_payload_truncated() {
            WorkerCounters::add(&c.recv_errors, 1);
            return;
        }
        let Some(from) = sockaddr::from_raw(msg.name_data()) else {
            WorkerCounters::add(&c.recv_errors, 1);
            return;
        };
        let payload = msg.payload_data();
        (
            from,
            payload.as_ptr() as usize - buf.as_ptr() as usize,
            payload.len(),
        )
    };
    let Some(data) = buf.get_mut(start..start + len) else {
        return;
    };
    WorkerCounters::add(&c.packets_in, 1);
    WorkerCounters::add(&c.bytes_in, len as u64);
    handler.on_datagram(now, from, local, data, out);
}
