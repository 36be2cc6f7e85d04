//! UDP socket setup for the port-mux: every worker binds its own socket to the
//! same port with SO_REUSEPORT and the kernel spreads client 5-tuples.
use std::net::{SocketAddr, UdpSocket};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::DriverError;

/// Socket buffer sizes tried in order; the kernel may cap them (rmem_max).
const BUFFER_SIZES: [usize; 3] = [8 << 20, 4 << 20, 1 << 20];

/// A non-blocking UDP socket bound to `addr` with SO_REUSEPORT, large buffers,
/// and IPV6_V6ONLY for v6 (so a v4 socket can share the port).
pub fn bind_reuseport(addr: SocketAddr) -> Result<UdpSocket, DriverError> {
    let err = |source| DriverError::Socket { addr, source };
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(err)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true).map_err(err)?;
    }
    socket.set_reuse_port(true).map_err(err)?;
    socket.set_nonblocking(true).map_err(err)?;
    for size in BUFFER_SIZES {
        if socket.set_recv_buffer_size(size).is_ok() {
            break;
        }
    }
    for size in BUFFER_SIZES {
        if socket.set_send_buffer_size(size).is_ok() {
            break;
        }
    }
    socket.bind(&SockAddr::from(addr)).map_err(err)?;
    Ok(socket.into())
}
