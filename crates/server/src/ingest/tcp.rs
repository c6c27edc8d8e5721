//! The TCP side of the socket listeners: accepting, limiting, and reading framed records.
//!
//! [`serve`] accepts connections until shutdown, refusing peers outside the allow-list and
//! connections beyond the limit (both counted as drops), and runs one task per connection.
//! [`ConnReader`] is the read side of a line or frame protocol's connection: a buffer that
//! fills from the socket, from which the protocol consumes complete records, keeping the tail.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::net::{Cidr, allowed};
use crate::disk::DiskGuard;
use crate::telemetry::ListenerStats;

/// Accepts connections on `listener` and runs `handle` for each until `shutdown`.
pub async fn serve<H, F>(
    listener: std::net::TcpListener,
    stats: Arc<ListenerStats>,
    allow: Vec<Cidr>,
    max_connections: usize,
    shutdown: CancellationToken,
    connections: TaskTracker,
    handle: H,
) where
    H: Fn(TcpStream, SocketAddr) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let listener = match listener
        .set_nonblocking(true)
        .and_then(|()| tokio::net::TcpListener::from_std(listener))
    {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(listener = stats.name, error = %e, "cannot serve");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(max_connections));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(listener = stats.name, error = %e, "accept failed");
                continue;
            }
        };
        if !allowed(&allow, peer.ip()) {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(listener = stats.name, %peer, "refused a connection from outside the allow-list");
            continue;
        }
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(listener = stats.name, %peer, max_connections, "refused a connection over the limit");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = handle(stream, peer);
        connections.spawn(async move {
            connection.await;
            drop(permit);
        });
    }
}

/// A connection's read side: a buffer that fills from the socket and drains as records are
/// consumed, keeping the incomplete tail.
#[derive(Debug)]
pub struct ConnReader {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Reads pause while free disk space is under the floor.
    disk: Arc<DiskGuard>,
}

impl ConnReader {
    pub fn new(stream: TcpStream, disk: Arc<DiskGuard>) -> Self {
        ConnReader {
            stream,
            buf: Vec::with_capacity(64 * 1024),
            disk,
        }
    }

    /// Reads more. `Some(false)` after new bytes, `Some(true)` at EOF (the tail is still in
    /// [`ConnReader::data`]), `None` on shutdown or a read error. While free disk space is under
    /// the floor it waits first: the sender blocks on its full socket buffer, nothing is lost.
    pub async fn fill(
        &mut self,
        stats: &ListenerStats,
        shutdown: &CancellationToken,
    ) -> Option<bool> {
        if !self.disk.wait_for_space(shutdown).await {
            return None;
        }
        if self.buf.capacity() - self.buf.len() < 16 * 1024 {
            self.buf.reserve(64 * 1024);
        }
        let read = tokio::select! {
            read = self.stream.read_buf(&mut self.buf) => read,
            () = shutdown.cancelled() => return None,
        };
        match read {
            Ok(n) => {
                stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
                Some(n == 0)
            }
            Err(e) => {
                tracing::debug!(listener = stats.name, error = %e, "connection read failed");
                None
            }
        }
    }

    /// The bytes read and not yet consumed.
    pub fn data(&self) -> &[u8] {
        &self.buf
    }

    /// Drops the first `n` bytes, which were consumed.
    pub fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
    }
}
