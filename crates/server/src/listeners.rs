//! The sockets a node listens on, bound by the caller before [`crate::start`].
//!
//! Binding is separate from serving so that tests bind port 0 and read the real address back,
//! and so that a port already in use fails start-up with a message naming the listener and the
//! address. [`ListenerKind`] is the closed list of listeners; each new protocol adds a variant
//! here and an arm in `start`, not a plugin.

use std::net::{SocketAddr, TcpListener};

use crate::config::Config;
use crate::error::{Error, Result};

/// Every kind of listener Sightline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// API, ingest routes, operations endpoints and UI.
    Http,
}

impl ListenerKind {
    /// The stable name used in telemetry labels and messages.
    pub fn name(self) -> &'static str {
        match self {
            ListenerKind::Http => "http",
        }
    }
}

/// Bound, not yet serving, sockets.
#[derive(Debug)]
pub struct Listeners {
    pub http: TcpListener,
}

impl Listeners {
    /// Binds every enabled listener at its configured address.
    pub fn bind(config: &Config) -> Result<Listeners> {
        let http = bind_tcp(ListenerKind::Http, config.http.addr)?;
        Ok(Listeners { http })
    }

    /// The address each listener actually bound, in a stable order.
    pub fn addresses(&self) -> Result<Vec<(ListenerKind, SocketAddr)>> {
        Ok(vec![(ListenerKind::Http, self.http.local_addr()?)])
    }
}

fn bind_tcp(kind: ListenerKind, addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).map_err(|source| Error::Bind {
        listener: kind.name(),
        addr,
        source,
    })
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
            err.starts_with("cannot bind http listener to 127.0.0.1:"),
            "{err}"
        );
        assert!(err.to_lowercase().contains("in use"), "{err}");
    }
}
