//! Conversions between `SocketAddr` and the C `sockaddr_storage` the kernel fills.
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Parses a kernel-filled socket address; `None` for other families or short data.
pub fn from_raw(bytes: &[u8]) -> Option<SocketAddr> {
    if bytes.len() < std::mem::size_of::<libc::sa_family_t>() {
        return None;
    }
    // SAFETY: length checked; read_unaligned tolerates any alignment.
    let family = unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const libc::sa_family_t) };
    match family as i32 {
        libc::AF_INET if bytes.len() >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: length checked above.
            let sin =
                unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if bytes.len() >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: length checked above.
            let sin6 =
                unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Writes `addr` into `storage`, returning the length to pass to the kernel.
pub fn to_raw(addr: &SocketAddr, storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
    // SAFETY: sockaddr_storage is large and aligned enough for both families.
    unsafe {
        match addr {
            SocketAddr::V4(a) => {
                let sin = storage as *mut _ as *mut libc::sockaddr_in;
                *sin = std::mem::zeroed();
                (*sin).sin_family = libc::AF_INET as libc::sa_family_t;
                (*sin).sin_port = a.port().to_be();
                (*sin).sin_addr.s_addr = u32::from(*a.ip()).to_be();
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
            }
            SocketAddr::V6(a) => {
                let sin6 = storage as *mut _ as *mut libc::sockaddr_in6;
                *sin6 = std::mem::zeroed();
                (*sin6).sin6_family = libc::AF_INET6 as libc::sa_family_t;
                (*sin6).sin6_port = a.port().to_be();
                (*sin6).sin6_flowinfo = a.flowinfo();
                (*sin6).sin6_addr.s6_addr = a.ip().octets();
                (*sin6).sin6_scope_id = a.scope_id();
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
            }
        }
    }
}
