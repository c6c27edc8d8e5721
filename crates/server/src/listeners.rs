//! The sockets a node listens on, bound by the caller before [`crate::start`].
//!
//! Binding is separate from serving so that tests bind port 0 and read the real address back,
//! and so that a port already in use fails start-up with a message naming the listener and the
//! address. [`ListenerKind`] is the closed list of listeners; each new protocol adds a variant
//! here and an arm in `start`, not a plugin. A listener set to `off` is not bound.

use std::net::{SocketAddr, TcpListener, UdpSocket};

use crate::config::{Config, ListenAddr};
use crate::error::{Error, Result};

/// Every kind of listener Sightline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// API, ingest routes, operations endpoints and UI.
    Http,
    CarbonTcp,
    CarbonUdp,
    CarbonPickle,
    StatsdUdp,
    StatsdTcp,
    SyslogUdp,
    SyslogTcp,
    JsonLinesTcp,
}

impl ListenerKind {
    pub const ALL: [ListenerKind; 9] = [
        ListenerKind::Http,
        ListenerKind::CarbonTcp,
        ListenerKind::CarbonUdp,
        ListenerKind::CarbonPickle,
        ListenerKind::StatsdUdp,
        ListenerKind::StatsdTcp,
        ListenerKind::SyslogUdp,
        ListenerKind::SyslogTcp,
        ListenerKind::JsonLinesTcp,
    ];

    /// The config key that sets this listener's address, and its environment variable.
    pub fn setting(self) -> (String, String) {
        let key = match self {
            ListenerKind::Http => "http.addr",
            ListenerKind::CarbonTcp => "carbon.tcp",
            ListenerKind::CarbonUdp => "carbon.udp",
            ListenerKind::CarbonPickle => "carbon.pickle",
            ListenerKind::StatsdUdp => "statsd.udp",
            ListenerKind::StatsdTcp => "statsd.tcp",
            ListenerKind::SyslogUdp => "logs.syslog_udp",
            ListenerKind::SyslogTcp => "logs.syslog_tcp",
            ListenerKind::JsonLinesTcp => "logs.json_lines_tcp",
        };
        // `__` between section and key always reads back (config_load's environment rule).
        let env = format!("SIGHTLINE_{}", key.replace('.', "__"));
        (key.to_owned(), env.to_uppercase())
    }

    /// The stable name used in telemetry labels and messages.
    pub fn name(self) -> &'static str {
        match self {
            ListenerKind::Http => "http",
            ListenerKind::CarbonTcp => "carbon_tcp",
            ListenerKind::CarbonUdp => "carbon_udp",
            ListenerKind::CarbonPickle => "carbon_pickle",
            ListenerKind::StatsdUdp => "statsd_udp",
            ListenerKind::StatsdTcp => "statsd_tcp",
            ListenerKind::SyslogUdp => "syslog_udp",
            ListenerKind::SyslogTcp => "syslog_tcp",
            ListenerKind::JsonLinesTcp => "json_lines_tcp",
        }
    }
}

/// Bound, not yet serving, sockets.
#[derive(Debug)]
pub struct Listeners {
    pub http: TcpListener,
    pub carbon_tcp: Option<TcpListener>,
    pub carbon_udp: Option<UdpSocket>,
    pub carbon_pickle: Option<TcpListener>,
    pub statsd_udp: Option<UdpSocket>,
    pub statsd_tcp: Option<TcpListener>,
    pub syslog_udp: Option<UdpSocket>,
    pub syslog_tcp: Option<TcpListener>,
    pub json_lines_tcp: Option<TcpListener>,
}

impl Listeners {
    /// Binds every enabled listener at its configured address.
    pub fn bind(config: &Config) -> Result<Listeners> {
        Ok(Listeners {
            http: bind_tcp(ListenerKind::Http, config.http.addr)?,
            carbon_tcp: maybe_tcp(ListenerKind::CarbonTcp, config.carbon.tcp)?,
            carbon_udp: maybe_udp(ListenerKind::CarbonUdp, config.carbon.udp)?,
            carbon_pickle: maybe_tcp(ListenerKind::CarbonPickle, config.carbon.pickle)?,
            statsd_udp: maybe_udp(ListenerKind::StatsdUdp, config.statsd.udp)?,
            statsd_tcp: maybe_tcp(ListenerKind::StatsdTcp, config.statsd.tcp)?,
            syslog_udp: maybe_udp(ListenerKind::SyslogUdp, config.logs.syslog_udp)?,
            syslog_tcp: maybe_tcp(ListenerKind::SyslogTcp, config.logs.syslog_tcp)?,
            json_lines_tcp: maybe_tcp(ListenerKind::JsonLinesTcp, config.logs.json_lines_tcp)?,
        })
    }

    /// The address each listener actually bound, in a stable order.
    pub fn addresses(&self) -> Result<Vec<(ListenerKind, SocketAddr)>> {
        let mut out = vec![(ListenerKind::Http, self.http.local_addr()?)];
        let tcp = [
            (ListenerKind::CarbonTcp, &self.carbon_tcp),
            (ListenerKind::CarbonPickle, &self.carbon_pickle),
            (ListenerKind::StatsdTcp, &self.statsd_tcp),
            (ListenerKind::SyslogTcp, &self.syslog_tcp),
            (ListenerKind::JsonLinesTcp, &self.json_lines_tcp),
        ];
        for (kind, listener) in tcp {
            if let Some(l) = listener {
                out.push((kind, l.local_addr()?));
            }
        }
        for (kind, socket) in [
            (ListenerKind::CarbonUdp, &self.carbon_udp),
            (ListenerKind::StatsdUdp, &self.statsd_udp),
            (ListenerKind::SyslogUdp, &self.syslog_udp),
        ] {
            if let Some(s) = socket {
                out.push((kind, s.local_addr()?));
            }
        }
        Ok(out)
    }
}

/// Connections the kernel queues before they are accepted. std's 128 is too few for a burst
/// of senders (a fleet of agents reconnecting at once): past it, handshakes stall and
/// uploads are reset. The kernel caps it at `net.core.somaxconn`.
const TCP_BACKLOG: i32 = 4096;

fn bind_tcp(kind: ListenerKind, addr: SocketAddr) -> Result<TcpListener> {
    let bind = || -> std::io::Result<TcpListener> {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )?;
        // As std does: a restarted server rebinds a port its old connections still hold.
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(TCP_BACKLOG)?;
        Ok(socket.into())
    };
    bind().map_err(|error| Error::Bind {
        listener: kind.name(),
        addr,
        error,
    })
}

fn maybe_tcp(kind: ListenerKind, addr: ListenAddr) -> Result<Option<TcpListener>> {
    addr.0.map(|a| bind_tcp(kind, a)).transpose()
}

fn maybe_udp(kind: ListenerKind, addr: ListenAddr) -> Result<Option<UdpSocket>> {
    let bind = |a: SocketAddr| {
        UdpSocket::bind(a).map_err(|error| Error::Bind {
            listener: kind.name(),
            addr: a,
            error,
        })
    };
    addr.0.map(bind).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_use_names_the_listener_and_address() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut config = Config::default();
        config.http.addr = taken.local_addr().unwrap();
        let err = Listeners::bind(&config).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot bind the http listener to 127.0.0.1:"),
            "{err}"
        );
        assert!(err.to_lowercase().contains("in use"), "{err}");

        let taken_udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut config = Config::default();
        config.http.addr = "127.0.0.1:0".parse().unwrap();
        config.carbon = crate::config::CarbonConfig {
            tcp: ListenAddr::OFF,
            pickle: ListenAddr::OFF,
            udp: ListenAddr::on(taken_udp.local_addr().unwrap()),
            ..Default::default()
        };
        config.statsd.udp = ListenAddr::OFF;
        config.statsd.tcp = ListenAddr::OFF;
        let err = Listeners::bind(&config).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot bind the carbon_udp listener to 127.0.0.1:"),
            "{err}"
        );
        assert!(
            err.contains("`carbon.udp`") && err.contains("SIGHTLINE_CARBON__UDP"),
            "{err}"
        );
    }

    #[test]
    fn off_listeners_are_not_bound() {
        let mut config = Config::default();
        config.http.addr = "127.0.0.1:0".parse().unwrap();
        config.carbon.tcp = ListenAddr::OFF;
        config.carbon.udp = ListenAddr::OFF;
        config.carbon.pickle = ListenAddr::OFF;
        config.statsd.udp = ListenAddr::OFF;
        config.statsd.tcp = ListenAddr::OFF;
        config.logs.syslog_udp = ListenAddr::OFF;
        config.logs.syslog_tcp = ListenAddr::OFF;
        config.logs.json_lines_tcp = ListenAddr::OFF;
        let listeners = Listeners::bind(&config).unwrap();
        assert_eq!(listeners.addresses().unwrap().len(), 1);
    }
}
