//! HTTP/2 exchanges (h2c, prior knowledge): each request is a stream, on a
//! connection of its own, beside others on one connection (multiplexed),
//! or on a connection kept from an earlier request.
//!
//! The h2 crate tells a stream's fate apart as real clients (gRPC's, a
//! browser's) do. A stream the server refused, with REFUSED_STREAM or by a
//! GOAWAY whose last stream id lies below it, was not processed and may be
//! sent again: it is recorded `refused`. A stream reset otherwise, or whose
//! connection closed under it, is `reset`: the server may have acted on it.

use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use hyper::Request;
use tokio::task::JoinHandle;
use turmoil::net::TcpStream;

use crate::case::trace::Outcome;

/// The HTTP/2 connection preface a client sends first.
pub(super) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// The most response body bytes a stream reads before it stops counting
/// them: a response this long is answered, whatever follows.
const RESPONSE_BYTES_MAX: usize = 1024 * 1024;

/// An open HTTP/2 connection: its request handle and its driver task.
pub(super) struct Connection {
    send: SendRequest<Bytes>,
    driver: JoinHandle<()>,
}

impl Connection {
    /// Opens an HTTP/2 connection on `stream`: the preface and SETTINGS.
    pub(super) async fn open(stream: TcpStream) -> Result<Connection, Outcome> {
        let Ok((send, connection)) = h2::client::handshake(stream).await else {
            return Err(Outcome::Reset);
        };
        let driver = tokio::task::spawn_local(async move {
            let _ = connection.await;
        });
        Ok(Connection { send, driver })
    }

    /// Whether the connection can take a new stream: the server has not
    /// closed it or sent GOAWAY. A pool would open a new one otherwise.
    pub(super) async fn usable(&mut self) -> bool {
        !self.driver.is_finished() && self.send.clone().ready().await.is_ok()
    }

    /// Holds the connection open, idle, for `keep` or until the server
    /// closes it.
    pub(super) async fn hold(self, keep: Duration) {
        let _ = tokio::time::timeout(keep, self.driver).await;
        drop(self.send);
    }

    /// A handle that sends streams on this connection.
    pub(super) fn streams(&self) -> Streams {
        Streams(self.send.clone())
    }
}

/// Sends streams on one connection; cloned for each task that sends.
#[derive(Clone)]
pub(super) struct Streams(SendRequest<Bytes>);

impl Streams {
    /// Sends `request`, a GET, or a POST whose body comes slowly, and reads
    /// its response to the end: its outcome, or none if the stream could
    /// not be opened (the connection was closing), so it was never sent.
    pub(super) async fn send(&self, request: Request<()>, slow: Option<Slowly>) -> Option<Outcome> {
        let mut send = self.0.clone().ready().await.ok()?;
        let (response, mut body) = send.send_request(request, slow.is_none()).ok()?;
        if let Some(slow) = slow {
            for piece in 0..slow.pieces {
                tokio::time::sleep(slow.interval).await;
                let last = piece + 1 == slow.pieces;
                if body.send_data(slow.piece.clone(), last).is_err() {
                    // The stream ended early: the response says how.
                    break;
                }
            }
        }
        Some(answer(response).await)
    }
}

/// A request body sent in pieces: this many, each this long after the last.
pub(super) struct Slowly {
    pub(super) pieces: u64,
    pub(super) interval: Duration,
    pub(super) piece: Bytes,
}

/// The outcome of a sent stream: its status once the whole response has
/// come, or its fate.
async fn answer(response: h2::client::ResponseFuture) -> Outcome {
    let response = match response.await {
        Ok(response) => response,
        Err(error) => return fate(&error),
    };
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut read = 0_usize;
    while let Some(data) = body.data().await {
        match data {
            Ok(data) => {
                let _ = body.flow_control().release_capacity(data.len());
                read = read.saturating_add(data.len());
                if read > RESPONSE_BYTES_MAX {
                    return Outcome::Status(status);
                }
            }
            Err(error) => return fate(&error),
        }
    }
    match body.trailers().await {
        Ok(_) => Outcome::Status(status),
        Err(error) => fate(&error),
    }
}

/// What a stream's error says of it: refused, unprocessed, by the server
/// (REFUSED_STREAM, or above its GOAWAY's last stream id); else reset.
fn fate(error: &h2::Error) -> Outcome {
    let refused = error.reason() == Some(h2::Reason::REFUSED_STREAM) && error.is_remote();
    // The h2 crate fails a stream with the server's GOAWAY only when the
    // stream's id lies above the GOAWAY's last stream id; streams below it
    // go on, and fail with a broken pipe if the connection then closes.
    let above_go_away = error.is_go_away() && error.is_remote();
    if refused || above_go_away {
        Outcome::Refused
    } else {
        Outcome::Reset
    }
}
