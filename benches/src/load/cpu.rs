//! The server's CPU time, read from `/proc/<pid>/stat` (utime + stime, all
//! threads), so a run can report CPU seconds over the measured window and
//! CPU microseconds per forwarded packet.

use std::io;

/// utime + stime in clock ticks from the text of `/proc/<pid>/stat`.
///
/// The command name (field 2) is in parentheses and may itself contain
/// spaces and `)`, so fields are counted from the last `)`: after it come
/// state (field 3) ... utime (14) and stime (15).
#[must_use]
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // Fields 3..=13 come before utime.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
#[must_use]
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions; it returns -1 on error.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// CPU seconds (user + system) the process `pid` has used so far.
pub fn process_cpu_seconds(pid: u32) -> io::Result<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ticks = parse_stat_ticks(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "unexpected /proc/<pid>/stat format",
        )
    })?;
    Ok(ticks as f64 / ticks_per_second() as f64)
}

/// Resident memory of the process `pid` in KiB (`VmRSS` of
/// `/proc/<pid>/status`), to report memory per participant.
pub fn process_rss_kib(pid: u32) -> io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_vm_rss_kib(&text)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS in /proc/<pid>/status"))
}

/// `VmRSS:   1234 kB` -> 1234.
#[must_use]
pub fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Raises the open-file soft limit to the hard limit: every simulated
/// participant holds a UDP socket and a TCP connection, and the usual soft
/// limit of 1024 stops a run at about 500 participants. Returns the limit
/// now in force.
pub fn raise_fd_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid rlimit with cur <= max.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(lim.rlim_cur)
}

/// Sets a socket's receive buffer to `bytes` (SO_RCVBUFFORCE when allowed,
/// else SO_RCVBUF, which the kernel caps at rmem_max). A subscriber socket
/// must hold what arrives while this process is not scheduled: at 180
/// video packets a second, a half-second stall of the load generator on a
/// busy machine fills the default buffer (packets cost about twice their
/// size in it), and the loss would be charged to the server.
pub fn set_rcvbuf(fd: std::os::fd::RawFd, bytes: usize) {
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: `fd` is an open socket of the caller's; the option value
        // is a c_int of the size passed.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                std::ptr::addr_of!(v).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r == 0 {
            return;
        }
    }
}
