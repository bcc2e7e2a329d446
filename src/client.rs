//! The client host: sends the schedule's requests and records what it saw.
//!
//! Its observations are black-box: a status, or a refused, reset or timed-out
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

use crate::lifecycle::{PORT, REQUEST_HEADER};
use crate::trace::{EventKind, Outcome, Recorder};

/// One request the director asks the client to send.
pub(crate) struct Order {
    pub(crate) request: u64,
    pub(crate) path: String,
}

/// The director's handle on the client host.
#[derive(Clone)]
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

/// Where the client sends, and how long it waits.
#[derive(Clone)]
pub(crate) struct Setup {
    pub(crate) host: Rc<str>,
    pub(crate) server: Rc<str>,
    pub(crate) recorder: Recorder,
    pub(crate) timeout: Duration,
}

/// Builds the client's handle and the future that is its host's software.
pub(crate) fn client(setup: Setup) -> (Client, impl std::future::Future<Output = ()>) {
    let (orders, mut incoming) = mpsc::unbounded_channel::<Order>();
    let in_flight = Rc::new(Cell::new(0));
    let handle = Client {
        orders,
        in_flight: Rc::clone(&in_flight),
    };
    let software = async move {
        while let Some(order) = incoming.recv().await {
            let setup = setup.clone();
            let in_flight = Rc::clone(&in_flight);
            tokio::task::spawn_local(async move {
                setup.recorder.record(
                    &setup.host,
                    EventKind::Sent {
                        request: order.request,
                        path: order.path.clone(),
                    },
                );
                let outcome = tokio::time::timeout(setup.timeout, exchange(&setup, &order))
                    .await
                    .unwrap_or(Outcome::TimedOut);
                setup.recorder.record(
                    &setup.host,
                    EventKind::Observed {
                        request: order.request,
                        outcome,
                    },
                );
                in_flight.set(in_flight.get() - 1);
            });
        }
    };
    (handle, software)
}

/// One HTTP/1.1 exchange on a fresh connection.
async fn exchange(setup: &Setup, order: &Order) -> Outcome {
    let stream = match TcpStream::connect((&*setup.server, PORT)).await {
        Ok(stream) => stream,
        Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => return Outcome::Refused,
        Err(_) => return Outcome::Reset,
    };
    let Ok((mut sender, connection)) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await
    else {
        return Outcome::Reset;
    };
    tokio::task::spawn_local(connection);
    let request = Request::get(order.path.as_str())
        .header(hyper::header::HOST, &*setup.server)
        .header(REQUEST_HEADER, order.request)
        .body(Empty::new());
    let Ok(request) = request else {
        // The path was validated when the schedule was read.
        return Outcome::Reset;
    };
    let Ok(response) = sender.send_request(request).await else {
        return Outcome::Reset;
    };
    let status = response.status().as_u16();
    match response.into_body().collect().await {
        Ok(_) => Outcome::Status(status),
        Err(_) => Outcome::Reset,
    }
}
