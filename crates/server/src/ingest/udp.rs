//! The UDP side of the socket listeners: one thread per socket, blocking reads.
//!
//! A dedicated thread with a blocking `recv_from` costs one syscall per datagram and no task
//! wake-ups, and a large socket receive buffer absorbs bursts: every statsd loss observed at
//! the peers' limits was a kernel receive-buffer drop. The read timeout lets the thread notice
//! shutdown. Datagrams from outside the allow-list are counted as drops.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::net::{Cidr, allowed};
use crate::disk::DiskGuard;
use crate::telemetry::ListenerStats;

/// Starts a thread that passes each datagram to `handle` until `shutdown`.
pub fn spawn<H>(
    socket: UdpSocket,
    stats: Arc<ListenerStats>,
    allow: Vec<Cidr>,
    receive_buffer: usize,
    disk: Arc<DiskGuard>,
    shutdown: CancellationToken,
    mut handle: H,
) -> std::io::Result<JoinHandle<()>>
where
    H: FnMut(&[u8], SocketAddr) + Send + 'static,
{
    let sock = socket2::SockRef::from(&socket);
    if let Err(e) = sock.set_recv_buffer_size(receive_buffer) {
        tracing::warn!(listener = stats.name, error = %e, "could not enlarge the receive buffer");
    }
    socket.set_read_timeout(Some(Duration::from_millis(100)))?;
    std::thread::Builder::new()
        .name(format!("{}-recv", stats.name))
        .spawn(move || {
            let mut buf = vec![0u8; 65_536];
            while !shutdown.is_cancelled() {
                let (n, peer) = match socket.recv_from(&mut buf) {
                    Ok(got) => got,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(listener = stats.name, error = %e, "receive failed");
                        continue;
                    }
                };
                stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
                if !allowed(&allow, peer.ip()) {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                // UDP cannot push back: under the disk floor a datagram is dropped, counted.
                if disk.is_low() {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                    disk.refuse();
                    continue;
                }
                handle(&buf[..n], peer);
            }
        })
}
