//! Who is asking: the client's address, for rate limits, lockout and the audit log.
//!
//! Behind the chart's own ingress every request comes from the ingress controller, so the TCP
//! peer would make everyone one client. The address is taken from `Forwarded` (RFC 7239) or
//! `X-Forwarded-For` — but only as far as the hops are trusted: from the peer backwards, each
//! address that is a configured proxy (`server.trusted_proxies`) hands over to the one before
//! it; the first that is not a proxy is the client. A header from anyone else is ignored, so a
//! client cannot choose its own address.

use std::net::IpAddr;

/// One trusted network, `address/prefix` (a bare address is a single host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}`: not an IP address or CIDR"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: prefix length must be 0–{max}"))?,
            None => max,
        };
        Ok(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// `::ffff:10.0.0.1` is 10.0.0.1.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// The proxies whose word about the client is taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    pub fn parse(list: &[String]) -> Result<Self, String> {
        list.iter()
            .map(|s| Cidr::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client behind `peer`, given the request's `Forwarded` and `X-Forwarded-For`.
    pub fn client(
        &self,
        peer: IpAddr,
        forwarded: Option<&str>,
        x_forwarded_for: Option<&str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        // `Forwarded` is the standard; `X-Forwarded-For` what most ingresses send.
        let hops: Vec<Option<IpAddr>> = match forwarded {
            Some(f) => forwarded_for(f),
            None => x_forwarded_for
                .map(|x| x.split(',').map(|h| parse_hop(h.trim())).collect())
                .unwrap_or_default(),
        };
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            // An unreadable hop (`unknown`, an obfuscated name) ends what can be known.
            let Some(hop) = hop.map(canonical) else { break };
            client = hop;
            if !self.trusts(hop) {
                break;
            }
        }
        client
    }
}

/// The `for=` of each element of a `Forwarded` header, in order.
fn forwarded_for(header: &str) -> Vec<Option<IpAddr>> {
    header
        .split(',')
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_hop(v.trim().trim_matches('"')))
            })
        })
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]`, `[2001:db8::1]:443`, `2001:db8::1`.
fn parse_hop(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    s.rsplit_once(':').and_then(|(h, _)| h.parse().ok())
}

/// The client address of a request, as text (for limits, lockout, audit).
pub fn of(req: &actix_web::HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    // Registered as its own app data by `startup` (`server.trusted_proxies`).
    let client = match req.app_data::<actix_web::web::Data<TrustedProxies>>() {
        Some(proxies) => proxies.client(peer, header("forwarded"), header("x-forwarded-for")),
        None => peer,
    };
    Some(client.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(
            &list
                .iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains(ip("10.255.1.2")));
        assert!(c.contains(ip("::ffff:10.1.2.3")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(!Cidr::parse("fd00::/8").unwrap().contains(ip("10.0.0.1")));
        assert!(
            Cidr::parse("192.168.1.7")
                .unwrap()
                .contains(ip("192.168.1.7"))
        );
        assert!(
            !Cidr::parse("192.168.1.7")
                .unwrap()
                .contains(ip("192.168.1.8"))
        );
        for bad in ["10.0.0.0/33", "fd00::/129", "ten", "10.0.0.0/x", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_trusted_hops_are_believed() {
        let t = proxies(&["10.0.0.0/8"]);
        let ingress = ip("10.0.0.5");
        // From the ingress: the address it saw.
        assert_eq!(
            t.client(ingress, None, Some("203.0.113.7")),
            ip("203.0.113.7")
        );
        // A client's own header is behind the ingress's: ignored.
        assert_eq!(
            t.client(ingress, None, Some("1.1.1.1, 203.0.113.7")),
            ip("203.0.113.7")
        );
        // A chain of trusted proxies hands over to the first stranger.
        assert_eq!(
            t.client(ingress, None, Some("198.51.100.2, 10.1.1.1")),
            ip("198.51.100.2")
        );
        // Not from a proxy: the header is a lie and the peer is the client.
        assert_eq!(
            t.client(ip("198.51.100.9"), None, Some("1.2.3.4")),
            ip("198.51.100.9")
        );
        // No proxies configured: always the peer.
        assert_eq!(
            TrustedProxies::default().client(ingress, None, Some("1.2.3.4")),
            ingress
        );
        // RFC 7239, with ports, quotes and IPv6.
        assert_eq!(
            t.client(
                ingress,
                Some("for=\"[2001:db8::7]:4711\";proto=https, for=10.2.2.2"),
                Some("9.9.9.9")
            ),
            ip("2001:db8::7")
        );
        assert_eq!(
            t.client(ingress, Some("for=unknown"), None),
            ingress,
            "an unreadable hop tells nothing"
        );
    }
}
