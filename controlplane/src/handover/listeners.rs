//! The HTTP/WebSocket listening sockets outlive the control plane: the
//! `ringcast dataplane` process binds them and hands copies to each control
//! plane that attaches, over a Unix socket beside the region (SCM_RIGHTS).
//! While the control plane restarts, the kernel keeps completing clients'
//! TCP handshakes into the listen backlog, so an SDK's resume attempt waits
//! for the new control plane instead of being refused (a refused resume
//! makes the SDKs tear down their PeerConnections and rejoin).

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// At most this many listeners are handed over (bind addresses x 1 port).
pub const MAX_LISTENERS: usize = 16;

/// Where the listeners of the region at `shm_path` are served.
pub fn socket_path(shm_path: &Path) -> PathBuf {
    let mut p = shm_path.as_os_str().to_owned();
    p.push(".sock");
    PathBuf::from(p)
}

/// Dataplane process: serves `listeners` to every control plane that
/// connects to `path`, on a thread, until the process exits.
pub fn serve(path: &Path, listeners: Vec<TcpListener>) -> io::Result<()> {
    let _ = std::fs::remove_file(path);
    let server = UnixListener::bind(path)?;
    let fds: Vec<RawFd> = listeners.iter().map(AsRawFd::as_raw_fd).collect();
    std::thread::Builder::new()
        .name("ringcast-handover".into())
        .spawn(move || {
            // The listeners live as long as this thread (the process).
            let _keep = listeners;
            for conn in server.incoming() {
                match conn {
                    Ok(stream) => {
                        if let Err(e) = send_fds(&stream, &fds) {
                            tracing::warn!(error = %e, "handing listeners over failed");
                        } else {
                            tracing::info!(
                                listeners = fds.len(),
                                "control plane attached: listeners handed over"
                            );
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "handover socket accept failed"),
                }
            }
        })?;
    Ok(())
}

/// Control plane: the listeners the dataplane process holds for it.
pub fn fetch(path: &Path) -> io::Result<Vec<TcpListener>> {
    let stream = UnixStream::connect(path)?;
    let fds = recv_fds(&stream)?;
    Ok(fds.into_iter().map(TcpListener::from).collect())
}

fn send_fds(stream: &UnixStream, fds: &[RawFd]) -> io::Result<()> {
    if fds.len() > MAX_LISTENERS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "too many listeners",
        ));
    }
    let count = [fds.len() as u8];
    let mut iov = libc::iovec {
        iov_base: count.as_ptr() as *mut libc::c_void,
        iov_len: 1,
    };
    let fd_bytes = std::mem::size_of_val(fds) as u32;
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(fd_bytes) } as usize;
    let mut control = vec![0u8; space.max(1)];
    // SAFETY: zeroed msghdr is a valid "empty" header; every pointer set
    // below targets a live local buffer of the stated length.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: the control buffer is CMSG_SPACE(fd_bytes) long, so the
        // first header and its data fit.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            if cmsg.is_null() {
                return Err(io::Error::other("no room for SCM_RIGHTS"));
            }
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(fd_bytes) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr().cast::<u8>(),
                libc::CMSG_DATA(cmsg),
                fd_bytes as usize,
            );
        }
    }
    // SAFETY: `msg` describes valid buffers; the fd is a connected socket.
    let n = unsafe { libc::sendmsg(stream.as_raw_fd(), &msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn recv_fds(stream: &UnixStream) -> io::Result<Vec<OwnedFd>> {
    let mut count = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: count.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let max_bytes = (MAX_LISTENERS * std::mem::size_of::<RawFd>()) as u32;
    // SAFETY: pure size computation.
    let space = unsafe { libc::CMSG_SPACE(max_bytes) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: as in `send_fds`.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: `msg` describes valid local buffers.
    let n = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    // SAFETY: walking the control messages the kernel wrote into `control`
    // with the CMSG_* macros, which stay inside msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg);
                let header = libc::CMSG_LEN(0) as usize;
                let len = ((*cmsg).cmsg_len as usize).saturating_sub(header);
                for i in 0..len / std::mem::size_of::<RawFd>() {
                    let fd = std::ptr::read_unaligned(data.cast::<RawFd>().add(i));
                    // Each fd is new in this process and owned by us.
                    out.push(OwnedFd::from_raw_fd(fd));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::other("listener handover truncated"));
    }
    if out.len() != usize::from(count[0]) {
        return Err(io::Error::other(format!(
            "expected {} listeners, got {}",
            count[0],
            out.len()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn listeners_handed_over_accept_connections_queued_before_the_handover() {
        let dir = std::env::temp_dir().join(format!("ringcast-handover-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let sock = socket_path(&dir.join("region"));
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        serve(&sock, vec![l]).unwrap();
        // A client connects while no control plane runs: the backlog keeps it.
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.write_all(b"hello").unwrap();
        let got = fetch(&sock).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].local_addr().unwrap(), addr);
        let (mut conn, _) = got[0].accept().unwrap();
        let mut buf = [0u8; 5];
        conn.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        // A second control plane gets them too.
        assert_eq!(fetch(&sock).unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
