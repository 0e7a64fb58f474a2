//! [`Who`]: whose allowance a request spends, and the client address it is known by.
//!
//! A verified token names its subject, and the subject is the key. In open mode the user
//! name is only a claim anyone can change from one request to the next, so the key is the
//! client's address: renaming does not reset an allowance, and a client sending made-up
//! names makes no new entries. IPv6 clients count by their /64 network, which one host
//! usually holds whole (it could otherwise take a fresh address per request).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use axum::http::HeaderMap;

/// Whose allowance a request spends.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub enum Who {
    /// The subject of a verified token.
    Subject(String),
    /// A client without a verified identity, by its address (IPv6: its /64 network).
    Address(IpAddr),
    /// A client whose address is not known (a router driven in-process).
    Unknown,
}

impl Who {
    /// The key for a client at `ip` without a verified identity.
    pub fn address(ip: Option<IpAddr>) -> Self {
        match ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V6(v6)) => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                Self::Address(IpAddr::V6(Ipv6Addr::from(network)))
            }
            Some(v4) => Self::Address(v4),
            None => Self::Unknown,
        }
    }
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Subject(sub) => f.write_str(sub),
            Self::Address(ip @ IpAddr::V6(_)) => write!(f, "client {ip}/64"),
            Self::Address(ip) => write!(f, "client {ip}"),
            Self::Unknown => f.write_str("a client of unknown address"),
        }
    }
}

/// The client's address: the connection's peer, or, when that peer is a trusted proxy
/// (`--trusted-proxies`), the last address in `X-Forwarded-For` that is not one. Without
/// trusted proxies the header is ignored: anyone can write it.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer.map(|ip| ip.to_canonical())?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    // Each proxy appends the address it got the request from, so the right-most entry
    // that is not a trusted proxy is the first one no trusted party vouches for.
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in forwarded.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip.to_canonical()) => continue,
            Ok(ip) => return Some(ip.to_canonical()),
            // A hop we cannot read: stop at the proxy that passed it on.
            Err(_) => break,
        }
    }
    Some(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_forwarded_header_counts_only_from_a_trusted_proxy() {
        let headers = forwarded("203.0.113.9, 10.0.0.2");
        let proxy = ip("10.0.0.1");
        assert_eq!(
            client_ip(Some(proxy), &headers, &[]),
            Some(proxy),
            "no trusted proxy: the header is anyone's to write"
        );
        assert_eq!(
            client_ip(Some(ip("198.51.100.7")), &headers, &[proxy]),
            Some(ip("198.51.100.7")),
            "a client that is not the proxy cannot name another address"
        );
        assert_eq!(
            client_ip(Some(proxy), &headers, &[proxy, ip("10.0.0.2")]),
            Some(ip("203.0.113.9")),
            "behind two trusted proxies, the first hop they vouch for"
        );
        assert_eq!(
            client_ip(Some(proxy), &forwarded("1.1.1.1, 203.0.113.9"), &[proxy]),
            Some(ip("203.0.113.9")),
            "an address the client wrote itself (left) does not count"
        );
        assert_eq!(
            client_ip(Some(proxy), &HeaderMap::new(), &[proxy]),
            Some(proxy)
        );
    }

    #[test]
    fn ipv6_clients_count_by_their_64_network() {
        let a = Who::address(Some(ip("2001:db8:1:2:aaaa::1")));
        let b = Who::address(Some(ip("2001:db8:1:2:bbbb::2")));
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "client 2001:db8:1:2::/64");
        assert_ne!(a, Who::address(Some(ip("2001:db8:1:3::1"))));
        assert_eq!(
            Who::address(Some(ip("::ffff:192.0.2.1"))),
            Who::Address(ip("192.0.2.1"))
        );
    }
}
