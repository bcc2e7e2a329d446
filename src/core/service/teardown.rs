//! A process's end closes its sockets in connection order.
//!
//! When a service host is emptied (its serve function returned, or it was
//! killed, crashed or restarted), turmoil drops the host's tokio runtime,
//! and with it every task the service spawned with `tokio::spawn` (tonic's
//! and axum's connection tasks among them). tokio drops those tasks shard
//! by shard, and a task's shard comes from its id, which a process-wide
//! counter hands out: another test thread's tasks, or an earlier case's,
//! change it. The sockets those tasks held would close, and peers see
//! their FINs and resets, in an order that differs between a run and its
//! replay. So while a host is emptied the harness holds the streams that
//! are dropped, and closes them in connection order once the host's own
//! software is dropped, still within the host: the same seed gives the
//! same trace, whatever the service spawns.

use std::cell::RefCell;
use std::sync::Arc;

use crate::case::trace::{record_current, EventKind};
use crate::core::net::Socket;

thread_local! {
    /// The streams dropped while a host is emptied, if one is.
    static HELD: RefCell<Option<Vec<Held>>> = const { RefCell::new(None) };
}

/// A stream dropped while its host is emptied: its connection number, its
/// host, and its socket, still open.
struct Held {
    connection: u64,
    host: Arc<str>,
    socket: Socket,
}

/// Empties a service host with `empty` (a bounce or a crash), the streams
/// it drops closed in connection order by the host's [`Closer`].
pub(crate) fn in_connection_order(empty: impl FnOnce()) {
    HELD.with(|held| *held.borrow_mut() = Some(Vec::new()));
    // The host's software held a `Closer`: nothing is left when `empty`
    // returns unless the host ran none, and then it had no streams. If
    // `empty` panics, this one still ends the hold, so a later case on the
    // thread closes its streams at once.
    let _closer = Closer;
    empty();
}

/// Held by a service host's software, for as long as the host runs it:
/// dropped as the host is emptied, after the runtime's tasks, it closes
/// the streams they dropped, in connection order.
#[derive(Debug)]
pub(crate) struct Closer;

impl Drop for Closer {
    fn drop(&mut self) {
        close_held();
    }
}

/// A stream's close: recorded and done now, or held if its host is being
/// emptied (the socket is handed back as `None` then).
pub(super) fn close(connection: u64, host: &Arc<str>, socket: Socket) -> Option<Socket> {
    let socket = HELD.with(|held| match held.borrow_mut().as_mut() {
        Some(held) => {
            held.push(Held {
                connection,
                host: Arc::clone(host),
                socket,
            });
            None
        }
        None => Some(socket),
    })?;
    record_current(host, EventKind::ConnectionClosed { connection });
    Some(socket)
}

/// Closes the held streams in connection order; later drops close at once.
fn close_held() {
    let Some(mut held) = HELD.with(|held| held.borrow_mut().take()) else {
        return;
    };
    held.sort_by_key(|stream| stream.connection);
    for stream in held {
        let connection = stream.connection;
        record_current(&stream.host, EventKind::ConnectionClosed { connection });
        drop(stream.socket);
    }
}
