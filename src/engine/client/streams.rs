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

use crate::case::trace::Outcome;
use crate::core::net::Socket;

pub(super) mod grpc;

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
    pub(super) async fn open(stream: Socket) -> Result<Connection, Outcome> {
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
    /// Sends `request` with `body` (none: a GET's end of stream at once)
    /// and reads its response to the end: its outcome, as `reading` reads
    /// it, or none if the stream could not be opened (the connection was
    /// closing), so it was never sent.
    pub(super) async fn send(
        &self,
        request: Request<()>,
        body: Option<Upload>,
        reading: Reading,
    ) -> Option<Outcome> {
        let mut send = self.0.clone().ready().await.ok()?;
        let (response, mut stream) = send.send_request(request, body.is_none()).ok()?;
        if let Some(upload) = body {
            for (index, piece) in upload.pieces.iter().enumerate() {
                if !upload.interval.is_zero() {
                    tokio::time::sleep(upload.interval).await;
                }
                let last = index + 1 == upload.pieces.len();
                if stream.send_data(piece.clone(), last).is_err() {
                    // The stream ended early: the response says how.
                    break;
                }
            }
        }
        Some(answer(response, reading).await)
    }
}

/// A request body: its pieces, each sent this long after the last (at
/// once if zero), the last one ending the stream.
pub(super) struct Upload {
    pub(super) pieces: Vec<Bytes>,
    pub(super) interval: Duration,
}

/// How a response is read: as a plain HTTP one (its status), or as a gRPC
/// call's ([`grpc::outcome`]), a health check's or another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reading {
    Http,
    Grpc { health: bool },
}

/// The outcome of a sent stream once the whole response has come, or its
/// fate.
async fn answer(response: h2::client::ResponseFuture, reading: Reading) -> Outcome {
    let response = match response.await {
        Ok(response) => response,
        Err(error) => return fate(&error),
    };
    let mut answered = grpc::Answer {
        status: response.status().as_u16(),
        grpc_status: grpc_status(response.headers()),
        ..grpc::Answer::default()
    };
    let mut body = response.into_body();
    let mut read = 0_usize;
    while let Some(data) = body.data().await {
        match data {
            Ok(data) => {
                let _ = body.flow_control().release_capacity(data.len());
                answered.data |= !data.is_empty();
                let room = grpc::MESSAGE_BYTES_MAX.saturating_sub(answered.message.len());
                answered
                    .message
                    .extend_from_slice(&data[..data.len().min(room)]);
                read = read.saturating_add(data.len());
                if read > RESPONSE_BYTES_MAX && reading == Reading::Http {
                    return Outcome::Status(answered.status);
                }
            }
            Err(error) => return fate(&error),
        }
    }
    match body.trailers().await {
        Ok(trailers) => {
            if let Some(status) = trailers.as_ref().and_then(grpc_status) {
                answered.grpc_status = Some(status);
            }
        }
        Err(error) => return fate(&error),
    }
    match reading {
        Reading::Http => Outcome::Status(answered.status),
        Reading::Grpc { health } => grpc::outcome(&answered, health),
    }
}

/// The `grpc-status` a header block carries, if any.
fn grpc_status(headers: &hyper::HeaderMap) -> Option<u32> {
    headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
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
