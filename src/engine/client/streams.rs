//! HTTP/2 exchanges (h2c, prior knowledge): each request is a stream, on a
//! connection of its own, beside others on one connection (multiplexed),
//! or on a connection kept from an earlier request.
//!
//! The h2 crate tells a stream's fate apart as real clients (gRPC's, a
//! browser's) do. A stream the server refused, with REFUSED_STREAM or by a
//! GOAWAY whose last stream id lies below it, was not processed and may be
//! sent again: it is recorded `refused`. A stream reset otherwise, or whose
//! connection closed under it, is `reset`: the server may have acted on it.

use std::cell::Cell;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use hyper::Request;
use tokio::task::JoinHandle;

use super::{Order, Sender, BODY_PIECES, BODY_PIECE_BYTES};
use crate::case::schedule::Manner;
use crate::case::trace::{Outcome, Sending};
use crate::core::process::REQUEST_HEADER;

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
    /// Whether the connection can take a new stream: the server has not
    /// closed it or sent GOAWAY. A pool would open a new one otherwise.
    async fn usable(&mut self) -> bool {
        !self.driver.is_finished() && self.send.clone().ready().await.is_ok()
    }

    /// Holds the connection open, idle, for `keep` or until the server
    /// closes it.
    async fn hold(self, keep: Duration) {
        let _ = tokio::time::timeout(keep, self.driver).await;
        drop(self.send);
    }
}

impl Sender {
    /// Sends one order over HTTP/2, its first request numbered `request`
    /// (recorded already, and routed), and records each request of it and
    /// its outcome; returns the outcome of the first.
    pub(super) async fn send_two(
        &self,
        order: Order,
        request: u64,
        routing: &Cell<bool>,
    ) -> Outcome {
        let sent_at = tokio::time::Instant::now();
        let opened = tokio::time::timeout(self.timeout, self.open_two(order.port)).await;
        let connection = match opened.unwrap_or(Err(Outcome::TimedOut)) {
            Ok(connection) => connection,
            Err(outcome) => return self.observed(request, outcome),
        };
        let first = match order.manner {
            Manner::Streams(count) => {
                self.multiplexed(&connection.send, &order.path, request, count)
                    .await
            }
            manner => {
                let outcome = self
                    .timed_stream(&connection.send, &order.path, request, manner)
                    .await;
                self.observed(request, outcome)
            }
        };
        let connection = match order.manner {
            Manner::Reuse(after) => {
                tokio::time::sleep_until(sent_at + after).await;
                self.reuse_two(&order, request, connection, routing).await
            }
            _ => Some(connection),
        };
        if let (Some(keep), Some(connection)) = (order.keep, connection) {
            // An idle connection, held until the client is done with it.
            tokio::task::spawn_local(connection.hold(keep));
        }
        first
    }

    /// `count` requests sent at once as streams of one connection, the
    /// first numbered `first`: each is recorded as it ends; returns the
    /// first's outcome.
    async fn multiplexed(
        &self,
        send: &SendRequest<Bytes>,
        path: &str,
        first: u64,
        count: u16,
    ) -> Outcome {
        let mut requests = vec![first];
        for _ in 1..count {
            requests.push(self.sent(path, Sending::Multiplexed { of: first }));
        }
        let streams: Vec<JoinHandle<Outcome>> = requests
            .into_iter()
            .map(|request| {
                let (sender, send, path) = (self.clone(), send.clone(), path.to_string());
                tokio::task::spawn_local(async move {
                    let outcome = sender
                        .timed_stream(&send, &path, request, Manner::Whole)
                        .await;
                    sender.observed(request, outcome)
                })
            })
            .collect();
        let mut outcomes = Vec::with_capacity(streams.len());
        for stream in streams {
            // A stream's task ends only by finishing: the host outlives it.
            outcomes.push(stream.await.unwrap_or(Outcome::Reset));
        }
        outcomes.swap_remove(0)
    }

    /// The second request of a reused connection: a new stream on it if
    /// the server has neither closed it nor sent GOAWAY, else on a new
    /// connection, as a pool would.
    async fn reuse_two(
        &self,
        order: &Order,
        of: u64,
        mut connection: Connection,
        routed: &Cell<bool>,
    ) -> Option<Connection> {
        let usable = tokio::time::timeout(self.timeout, connection.usable()).await;
        let open = usable.unwrap_or(false).then_some(connection);
        let sending = match open {
            Some(_) => Sending::Reused { of },
            None => Sending::Whole,
        };
        let request = self.sent(&order.path, sending);
        // A kept connection goes straight to the pod, routed or not.
        if open.is_none() && !routed.get() {
            self.observed(request, Outcome::NotRouted);
            return None;
        }
        let connection = match open {
            Some(connection) => connection,
            None => {
                let opened = tokio::time::timeout(self.timeout, self.open_two(order.port)).await;
                match opened.unwrap_or(Err(Outcome::TimedOut)) {
                    Ok(connection) => connection,
                    Err(outcome) => {
                        self.observed(request, outcome);
                        return None;
                    }
                }
            }
        };
        let outcome = self
            .timed_stream(&connection.send, &order.path, request, Manner::Whole)
            .await;
        self.observed(request, outcome);
        Some(connection)
    }

    /// Opens an HTTP/2 connection: TCP, then the preface and SETTINGS.
    async fn open_two(&self, port: u16) -> Result<Connection, Outcome> {
        let stream = self.connect(port).await?;
        let Ok((send, connection)) = h2::client::handshake(stream).await else {
            return Err(Outcome::Reset);
        };
        let driver = tokio::task::spawn_local(async move {
            let _ = connection.await;
        });
        Ok(Connection { send, driver })
    }

    /// One stream within the client's timeout. A stream that could not be
    /// opened, the connection closing before it was sent, was refused:
    /// the server processed nothing of it.
    async fn timed_stream(
        &self,
        send: &SendRequest<Bytes>,
        path: &str,
        request: u64,
        manner: Manner,
    ) -> Outcome {
        let exchange = self.stream(send, path, request, manner);
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Some(outcome)) => outcome,
            Ok(None) => Outcome::Refused,
            Err(_) => Outcome::TimedOut,
        }
    }

    /// Sends request number `request` as a stream and reads its response
    /// to the end: its outcome, or none if the stream could not be opened.
    async fn stream(
        &self,
        send: &SendRequest<Bytes>,
        path: &str,
        request: u64,
        manner: Manner,
    ) -> Option<Outcome> {
        let slow = match manner {
            Manner::SlowBody(span) => Some(span),
            _ => None,
        };
        let uri = format!("http://{}{path}", self.server);
        let mut builder = Request::builder().uri(uri).header(REQUEST_HEADER, request);
        if slow.is_some() {
            builder = builder.method(hyper::Method::POST).header(
                hyper::header::CONTENT_LENGTH,
                BODY_PIECES * BODY_PIECE_BYTES as u64,
            );
        }
        // Paths are checked when a schedule is read.
        let built = builder.body(()).ok()?;
        let mut send = send.clone().ready().await.ok()?;
        let (response, mut body) = send.send_request(built, slow.is_none()).ok()?;
        if let Some(span) = slow {
            let interval = span / BODY_PIECES as u32;
            for piece in 0..BODY_PIECES {
                tokio::time::sleep(interval).await;
                let last = piece + 1 == BODY_PIECES;
                let bytes = Bytes::from_static(&[b'x'; BODY_PIECE_BYTES]);
                if body.send_data(bytes, last).is_err() {
                    // The stream ended early: the response says how.
                    break;
                }
            }
        }
        Some(answer(response).await)
    }
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
