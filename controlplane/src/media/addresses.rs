//! Which addresses go into our ICE candidates: one host candidate per
//! address, all on the UDP mux port (LiveKit's `rtc.node_ip`,
//! `bind_addresses`, `enable_loopback_candidate`).

use std::net::IpAddr;

use crate::config::Config;

/// The addresses to advertise, in priority order.
///
/// - `rtc.node_ip` alone when set (the operator knows best);
/// - else the specific `bind_addresses` (not `0.0.0.0`/`::`);
/// - else every up interface address, loopback included only when
///   `rtc.enable_loopback_candidate` is on.
pub fn candidate_ips(config: &Config) -> Vec<IpAddr> {
    if let Some(ip) = config
        .rtc
        .node_ip
        .as_deref()
        .and_then(|s| s.parse::<IpAddr>().ok())
    {
        return vec![ip];
    }
    let bound: Vec<IpAddr> = bind_ips(config)
        .into_iter()
        .filter(|ip| !ip.is_unspecified())
        .collect();
    if !bound.is_empty() {
        return bound;
    }
    choose_interface_ips(interface_ips(), config.rtc.enable_loopback_candidate)
}

/// The IPs of `bind_addresses` (`[::1]` and `::1` both read), unparsable
/// entries skipped.
pub fn bind_ips(config: &Config) -> Vec<IpAddr> {
    config
        .bind_addresses
        .iter()
        .filter_map(|a| a.trim_matches(|c| c == '[' || c == ']').parse().ok())
        .collect()
}

/// Which interface addresses become candidates: loopback only if allowed,
/// no link-local v6, routable ones first; loopback v4 when nothing is left.
fn choose_interface_ips(all: Vec<IpAddr>, loopback_ok: bool) -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = all
        .into_iter()
        .filter(|ip| loopback_ok || !ip.is_loopback())
        .filter(|ip| match ip {
            // Link-local v6 needs a scope id in candidates; browsers ignore it.
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
            IpAddr::V4(_) => true,
        })
        .collect();
    // Non-loopback first: those are what remote clients can reach.
    ips.sort_by_key(|ip| (ip.is_loopback(), ip.is_ipv6()));
    ips.dedup();
    if ips.is_empty() {
        ips.push(IpAddr::from([127, 0, 0, 1]));
    }
    ips
}

/// Addresses of every interface that is up (getifaddrs).
fn interface_ips() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below; we only read
    // entries whose ifa_addr is non-null and whose family we check first.
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return out;
        }
        let mut cur = head;
        while !cur.is_null() {
            let ifa = &*cur;
            let up = ifa.ifa_flags & (libc::IFF_UP as u32) != 0;
            if up && !ifa.ifa_addr.is_null() {
                match i32::from((*ifa.ifa_addr).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                        out.push(IpAddr::from(
                            u32::from_be(sin.sin_addr.s_addr).to_be_bytes(),
                        ));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                        out.push(IpAddr::from(sin6.sin6_addr.s6_addr));
                    }
                    _ => {}
                }
            }
            cur = ifa.ifa_next;
        }
        libc::freeifaddrs(head);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ip_wins_then_bind_addresses() {
        let mut c = Config {
            bind_addresses: vec!["127.0.0.1".into(), "::1".into()],
            ..Config::default()
        };
        assert_eq!(
            candidate_ips(&c),
            vec![
                IpAddr::from([127, 0, 0, 1]),
                "::1".parse::<IpAddr>().unwrap()
            ]
        );
        c.rtc.node_ip = Some("203.0.113.7".into());
        assert_eq!(
            candidate_ips(&c),
            vec!["203.0.113.7".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn interface_choice_orders_filters_and_falls_back() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let all = vec![
            ip("127.0.0.1"),
            ip("fe80::1"),
            ip("fd00::2"),
            ip("192.0.2.2"),
            ip("192.0.2.2"),
        ];
        assert_eq!(
            choose_interface_ips(all.clone(), true),
            vec![ip("192.0.2.2"), ip("fd00::2"), ip("127.0.0.1")]
        );
        assert_eq!(
            choose_interface_ips(all, false),
            vec![ip("192.0.2.2"), ip("fd00::2")]
        );
        assert_eq!(
            choose_interface_ips(vec![ip("::1")], false),
            vec![ip("127.0.0.1")]
        );
    }
}
