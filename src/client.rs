//! Clients: the client host sends the schedule's requests; the kubelet sends
//! its probes the same way. Both record what they saw.
//!
//! Observations are black-box: a status, or a refused, reset or timed-out
//! connection. turmoil has no TCP retransmission, so a lost segment would stall
//! a stream forever: every request carries a simulated timeout, and one that
//! runs out is recorded as such rather than hanging the run.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use turmoil::net::TcpStream;

use crate::backlog::Backlog;
use crate::lifecycle::REQUEST_HEADER;
use crate::trace::{EventKind, Outcome, Recorder};

/// One request to send.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub(crate) path: String,
    pub(crate) port: u16,
    /// How long to keep the connection open, idle, after the response.
    pub(crate) keep: Option<Duration>,
}

/// Where requests go, how long they wait, and where they are recorded.
#[derive(Clone)]
pub(crate) struct Sender {
    pub(crate) host: Rc<str>,
    pub(crate) server: Rc<str>,
    pub(crate) recorder: Recorder,
    pub(crate) timeout: Duration,
    /// Request numbers, shared by every sender of the run.
    pub(crate) request_ids: Rc<Cell<u64>>,
    /// The service's listen backlog, shared by every sender of the run.
    pub(crate) backlog: Backlog,
}

impl Sender {
    /// Sends one request and records it and its outcome; `routed` false
    /// records it as not routed without sending.
    pub(crate) async fn send(&self, order: Order, routed: bool) -> Outcome {
        let request = self.request_ids.get() + 1;
        self.request_ids.set(request);
        self.recorder.record(
            &self.host,
            EventKind::Sent {
                request,
                path: order.path.clone(),
            },
        );
        let outcome = if routed {
            tokio::time::timeout(self.timeout, self.exchange(&order, request))
                .await
                .unwrap_or(Outcome::TimedOut)
        } else {
            Outcome::NotRouted
        };
        self.recorder.record(
            &self.host,
            EventKind::Observed {
                request,
                outcome: outcome.clone(),
            },
        );
        outcome
    }

    /// One HTTP/1.1 exchange on a fresh connection.
    async fn exchange(&self, order: &Order, request: u64) -> Outcome {
        let Some(slot) = self.backlog.admit(&self.server, order.port) else {
            // The listener's backlog is full: refused, as by the kernel.
            return Outcome::Refused;
        };
        let connected = TcpStream::connect((&*self.server, order.port)).await;
        drop(slot);
        let stream = match connected {
            Ok(stream) => stream,
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                return Outcome::Refused
            }
            Err(_) => return Outcome::Reset,
        };
        let handshake =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await;
        let Ok((mut sender, connection)) = handshake else {
            return Outcome::Reset;
        };
        let connection = tokio::task::spawn_local(connection);
        let built = Request::get(order.path.as_str())
            .header(hyper::header::HOST, &*self.server)
            .header(REQUEST_HEADER, request)
            .body(Empty::new());
        let Ok(built) = built else {
            // Paths are checked when a schedule is read.
            return Outcome::Reset;
        };
        let Ok(response) = sender.send_request(built).await else {
            return Outcome::Reset;
        };
        let status = response.status().as_u16();
        if response.into_body().collect().await.is_err() {
            return Outcome::Reset;
        }
        if let Some(keep) = order.keep {
            // An idle keep-alive connection: held open until the client is
            // done with it, or the server closes it.
            tokio::task::spawn_local(async move {
                let _ = tokio::time::timeout(keep, connection).await;
                drop(sender);
            });
        }
        Outcome::Status(status)
    }
}

/// The director's handle on the client host.
pub(crate) struct Client {
    orders: mpsc::UnboundedSender<Order>,
    in_flight: Rc<Cell<usize>>,
}

impl Client {
    /// Asks the client to send a request; it goes out on the client's next tick.
    pub(crate) fn send(&self, order: Order) {
        self.in_flight.set(self.in_flight.get() + 1);
        // The receiver lives as long as the simulation; a send cannot fail before.
        let _ = self.orders.send(order);
    }

    /// How many requests were ordered and have not been answered yet.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.get()
    }
}

/// Builds the client's handle and the future that is its host's software.
/// `routed` says whether the service is in the endpoints right now.
pub(crate) fn client(
    sender: Sender,
    routed: Rc<Cell<bool>>,
) -> (Client, impl std::future::Future<Output = ()>) {
    let (orders, mut incoming) = mpsc::unbounded_channel::<Order>();
    let in_flight = Rc::new(Cell::new(0));
    let handle = Client {
        orders,
        in_flight: Rc::clone(&in_flight),
    };
    let software = async move {
        while let Some(order) = incoming.recv().await {
            let sender = sender.clone();
            let in_flight = Rc::clone(&in_flight);
            let routed = routed.get();
            tokio::task::spawn_local(async move {
                sender.send(order, routed).await;
                in_flight.set(in_flight.get() - 1);
            });
        }
    };
    (handle, software)
}
