//! What every socket listener shares: listen addresses, CIDR allow-lists, and logging bad input
//! without letting a bad peer flood the log.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where a listener binds, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenAddr(pub Option<SocketAddr>);

impl ListenAddr {
    pub fn on(addr: SocketAddr) -> Self {
        ListenAddr(Some(addr))
    }

    pub const OFF: ListenAddr = ListenAddr(None);

    pub fn loopback(port: u16) -> Self {
        ListenAddr(Some(SocketAddr::from(([127, 0, 0, 1], port))))
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(addr) => write!(f, "{addr}"),
            None => f.write_str("off"),
        }
    }
}

impl FromStr for ListenAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "off" {
            return Ok(ListenAddr::OFF);
        }
        resolve(s)
            .map(|a| ListenAddr(Some(a)))
            .map_err(|e| format!("{e}, or `off`"))
    }
}

/// A listen address: `IP:port`, or `name:port` resolved now (the first IPv4 address the name
/// has, else its first address), so `localhost:8080` works as it does for other servers.
pub fn resolve(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    let example = "an address such as 127.0.0.1:8080 or localhost:8080";
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("`{text}` has no port: use {example}"));
    };
    if port.parse::<u16>().is_err() || host.is_empty() {
        return Err(format!("`{text}` is not {example}"));
    }
    let found: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("`{host}` does not resolve ({e}); use {example}"))?
        .collect();
    found
        .iter()
        .find(|a| a.is_ipv4())
        .or(found.first())
        .copied()
        .ok_or_else(|| format!("`{host}` resolves to no address; use {example}"))
}

/// serde's reading of a listen address that is never `off` (the HTTP listener's).
pub fn deserialize_addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    resolve(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

impl Serialize for ListenAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ListenAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A network in CIDR notation, such as `10.0.0.0/8` or `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), 32, self.prefix)
                    == masked(u128::from(u32::from(ip)), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix)
                    == masked(u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn masked(bits: u128, width: u8, prefix: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    bits >> (width - prefix)
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a network like 10.0.0.0/8 or an address");
        let (addr, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let network: IpAddr = addr.parse().map_err(|_| bad())?;
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(bad)?,
            None => width,
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Whether `ip` may send: an empty list allows everyone.
pub fn allowed(list: &[Cidr], ip: IpAddr) -> bool {
    list.is_empty() || list.iter().any(|c| c.contains(ip))
}

/// Logs the first problem from a peer at once, then at most one line per interval with the
/// number of problems in between.
#[derive(Debug)]
pub struct QuietLog {
    listener: &'static str,
    peer: SocketAddr,
    last: Option<Instant>,
    suppressed: u64,
}

const QUIET_INTERVAL: Duration = Duration::from_secs(10);

impl QuietLog {
    pub fn new(listener: &'static str, peer: SocketAddr) -> Self {
        QuietLog {
            listener,
            peer,
            last: None,
            suppressed: 0,
        }
    }

    pub fn bad_record(&mut self, error: &dyn fmt::Display, record: &[u8]) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < QUIET_INTERVAL)
        {
            self.suppressed += 1;
            return;
        }
        let shown: String = String::from_utf8_lossy(&record[..record.len().min(200)]).into_owned();
        tracing::warn!(
            listener = self.listener,
            peer = %self.peer,
            error = %error,
            record = %shown.escape_debug(),
            suppressed = self.suppressed,
            "skipped a bad record"
        );
        self.last = Some(now);
        self.suppressed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!("off".parse::<ListenAddr>().unwrap(), ListenAddr::OFF);
        assert_eq!(
            "localhost:2003".parse::<ListenAddr>().unwrap(),
            ListenAddr::loopback(2003),
            "a name is resolved"
        );
        assert!(resolve("8080").unwrap_err().contains("no port"));
        assert!(
            resolve("no-such-host.invalid:80")
                .unwrap_err()
                .contains("does not resolve")
        );
        assert_eq!(
            "127.0.0.1:2003".parse::<ListenAddr>().unwrap(),
            ListenAddr::loopback(2003)
        );
        assert_eq!(ListenAddr::loopback(8125).to_string(), "127.0.0.1:8125");
        assert!("localhost".parse::<ListenAddr>().is_err());
    }

    #[test]
    fn cidrs() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(
            net.contains("::ffff:10.9.9.9".parse().unwrap()),
            "v4-mapped v6 addresses match v4 networks"
        );
        let host: Cidr = "::1".parse().unwrap();
        assert!(host.contains("::1".parse().unwrap()));
        assert!(
            "0.0.0.0/0"
                .parse::<Cidr>()
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!(allowed(&[], "1.2.3.4".parse().unwrap()));
        assert!(!allowed(&[net], "1.2.3.4".parse().unwrap()));
    }
}
