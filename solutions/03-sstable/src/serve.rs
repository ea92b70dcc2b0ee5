//! Serving connections: the listening port, and the loop that accepts each
//! connection and hands it to hyper, within two limits that keep stalled
//! clients from taking the server away from everyone.
//!
//! Each connection is an open file, and a process may hold only so many
//! (its open-file limit, often 1024). A client that connects and then sends
//! nothing, or half a request head, costs the server one file for as long as
//! it stays; a thousand such clients cost it every file. `accept` then fails,
//! and a normal client waits in the kernel's queue until they leave. So:
//!
//! - a connection must send its whole request head within
//!   [`HEADER_READ_TIMEOUT`] of being accepted, or of its previous answer,
//!   or hyper closes it;
//! - at most [`max_connections`] connections are open at once, fewer than
//!   the open-file limit allows. The loop takes a slot before it accepts, so
//!   the connections beyond that wait in the kernel's queue
//!   ([`LISTEN_BACKLOG`]) instead of failing, and are accepted in order as
//!   slots free.
//!
//! The numbers, with the limit at 1024: 1024 − [`RESERVED_FILES`] = 768
//! connections. 1,100 clients that connect and stall take the 768 slots;
//! 3 s later hyper closes those, the other 332 are accepted, and so is a
//! normal client queued behind them, whose request is already waiting: it
//! is answered after about 3 s. In general a client waits one deadline for
//! each 768 stalled clients queued ahead of it.
//!
//! Shortcuts, and what they cost:
//! - Only the request head has a deadline. A client that sends its body
//!   slowly, or never reads its answer, keeps its slot while it stays.
//! - There is no limit per client: one client can take every slot. The
//!   server listens on 127.0.0.1 only, so that client is on this machine.
//! - The reserve is a budget, not a promise: a store call that finds no file
//!   left answers 500 with the file's path, and the server goes on.
//!
//! Invariants (`tests/tests/slow_clients.rs` checks them on the real
//! server, with its open-file limit at 1024):
//! - at most [`max_connections`] connections are open at once;
//! - a connection that sends nothing, or half a request head, is closed
//!   [`HEADER_READ_TIMEOUT`] after it was accepted, and its slot is free;
//! - once `shutdown` completes, no connection is accepted, every request in
//!   flight is answered, and then [`connections`] returns.
//!
//! Read after chapter 1 of the book, "A hash map behind HTTP", whose
//! `http.rs` serves the API through this file.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::{Listener, ListenerExt};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::{Error, Result};

/// How many connections may wait in the kernel to be accepted: those that
/// arrive while every slot is taken wait here. Tokio's default is 1024; a
/// burst of thousands of clients would then see some of their connection
/// attempts dropped and retried a second later. Linux caps this at
/// `net.core.somaxconn` (4096 by default).
pub const LISTEN_BACKLOG: i32 = 4096;

/// How long a connection may take to send a whole request head. A client on
/// this machine sends one in well under a millisecond; 3 s leaves room for a
/// slow or busy machine, and is what a normal client waits behind each wave
/// of stalled ones (see the arithmetic above).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(3);

/// The open files kept for everything that is not a connection: the
/// standard streams, the runtime's own descriptors and the listening socket
/// (a dozen), the files the store holds open (its log and its directory,
/// and in some steps one per table), and the table files that store calls
/// open while they run (one per call at a time). 256 is a quarter of the
/// common limit of 1024.
pub const RESERVED_FILES: u64 = 256;

/// Opens the listening socket on 127.0.0.1:`port` (0 picks a free port).
/// It needs no runtime, so a start can take its port before it does
/// anything else, and fail at once if the port is taken.
pub fn listen(port: u16) -> Result<std::net::TcpListener> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listen_error = |source| Error::Listen { addr, source };
    let socket =
        Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).map_err(listen_error)?;
    // Lets a restarted server bind the port at once, while the old
    // connections of the previous process still linger in TIME_WAIT.
    socket.set_reuse_address(true).map_err(listen_error)?;
    socket.bind(&addr.into()).map_err(listen_error)?;
    // std's `TcpListener::bind` would pick the backlog itself.
    socket.listen(LISTEN_BACKLOG).map_err(listen_error)?;
    // The runtime waits for connections with epoll, not in `accept`.
    socket.set_nonblocking(true).map_err(listen_error)?;
    Ok(socket.into())
}

/// Serves `app` on every connection `listener` accepts, at most
/// [`max_connections`] at once, until `shutdown` completes; then stops
/// accepting and returns once the requests in flight are answered.
pub async fn connections(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(max_connections(raise_open_file_limit())));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    // axum's `Listener` retries a failed `accept` (after a second, if the
    // process is out of files) instead of returning the error.
    let mut listener = listener.tap_io(|stream| {
        // Without TCP_NODELAY the kernel may hold a short response back
        // until the client acknowledges the previous packet, which adds up
        // to 40 ms.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::warn!("cannot set TCP_NODELAY on a connection: {error}");
        }
    });
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // The slot comes first: while every slot is taken, new connections
        // wait in the kernel's queue rather than take a file.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => {
                slot.expect("the slots' semaphore is never closed")
            }
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            (stream, _client) = listener.accept() => stream,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that left, or whose head came too late: nothing to
            // answer, and nothing the server's log needs.
            if let Err(error) = connection.await {
                tracing::debug!("connection closed: {error}");
            }
            // The connection's file is closed: its slot is free.
            drop(slot);
        });
    }
    drop(listener);
    // Each connection finishes the request it is serving and then closes; an
    // idle one closes at once, a half-sent head at its deadline.
    graceful.shutdown().await;
}

/// How many connections may be open at once with `open_file_limit` open
/// files: all of them but [`RESERVED_FILES`], and at least one.
pub fn max_connections(open_file_limit: u64) -> usize {
    let connections = open_file_limit.saturating_sub(RESERVED_FILES).max(1);
    usize::try_from(connections)
        .unwrap_or(usize::MAX)
        .min(Semaphore::MAX_PERMITS)
}

/// Raises this process's soft limit on open files to its hard limit, and
/// returns the soft limit. Each connection is an open file, and the soft
/// limit is often only 1024.
fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            tracing::debug!("open-file limit: {limit}");
            limit
        }
        Err(error) => {
            tracing::warn!("cannot raise the open-file limit: {error}");
            match rlimit::getrlimit(rlimit::Resource::NOFILE) {
                Ok((soft, _hard)) => soft,
                // Assume the common default.
                Err(_) => 1024,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_leave_the_reserve_free() {
        assert_eq!(max_connections(1024), 768);
        assert_eq!(max_connections(RESERVED_FILES), 1);
        assert_eq!(max_connections(u64::MAX), Semaphore::MAX_PERMITS);
    }
}
