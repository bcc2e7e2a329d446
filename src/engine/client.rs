//! Clients: the client host sends the schedule's requests and opens its
//! connections; the kubelet sends its probes the same way. Both record what
//! they saw.
//!
//! Observations are black-box: a status, or a refused, reset or timed-out
//! connection. turmoil has no TCP retransmission, so a lost segment would stall
//! a stream forever: every request carries a simulated timeout, and one that
//! runs out is recorded as such rather than hanging the run.
//!
//! Requests come in the manners real clients have ([`Manner`]): written at
//! once, a body sent slowly, a half-close after the request, a second request
//! on a kept connection. A `connect` step opens a connection that sends
//! nothing, or half a head, and holds it: what preconnects, warm pools, TCP
//! health checks and slow clients leave on a server at its stop.

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Empty};
use hyper::body::{Body, Frame, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::case::http::{health_check_service, Http, Protocol};
use crate::case::schedule::Manner;
use crate::case::trace::{EventKind, Outcome, Recorder, Sending};
use crate::core::net::{Net, Socket};
use crate::core::process::REQUEST_HEADER;
use crate::engine::backlog::Backlog;

mod streams;

use self::streams::{grpc, Connection as Http2, Reading, Streams, Upload};

/// Pieces a slow body is sent in, and the bytes of each.
const BODY_PIECES: u64 = 4;
const BODY_PIECE_BYTES: usize = 64;
/// The most response bytes a raw (half-closing) exchange reads.
const RAW_RESPONSE_BYTES_MAX: usize = 64 * 1024;

type RequestBody = Either<Empty<Bytes>, Pieces>;

/// One request to send.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub(crate) path: String,
    pub(crate) port: u16,
    /// How long to keep the connection open, idle, after the (last) response.
    pub(crate) keep: Option<Duration>,
    /// How the request is sent.
    pub(crate) manner: Manner,
}

/// One connection to open that is not a request.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    pub(crate) port: u16,
    /// Whether half a request head is sent.
    pub(crate) partial: bool,
    /// How long to hold it; none holds it until the server closes it.
    pub(crate) hold: Option<Duration>,
}

/// Where requests go, how long they wait, and where they are recorded.
#[derive(Clone)]
pub(crate) struct Sender {
    pub(crate) host: Arc<str>,
    pub(crate) server: Arc<str>,
    pub(crate) recorder: Recorder,
    pub(crate) timeout: Duration,
    /// Request numbers, shared by every sender of the run.
    pub(crate) request_ids: Rc<Cell<u64>>,
    /// The service's listen backlog, shared by every sender of the run.
    pub(crate) backlog: Backlog,
    /// The HTTP its requests are sent in: [`Http::Two`] sends them as
    /// HTTP/2 streams, anything else as HTTP/1.1.
    pub(crate) http: Http,
    /// What they carry: plain HTTP requests, or gRPC calls (over HTTP/2).
    pub(crate) protocol: Protocol,
    /// The network its connections go over: the simulation's, or real
    /// loopback.
    pub(crate) net: Net,
}

/// A kept HTTP/1 connection: its request handle and its driver task.
struct Kept {
    sender: SendRequest<RequestBody>,
    driver: JoinHandle<()>,
}

impl Sender {
    /// Sends one order and records each request of it and its outcome;
    /// `routed` says whether the service was in the endpoints when the order
    /// went out (a request that is not routed is recorded as such without
    /// being sent), `routing` whether it is now, for a later request of the
    /// order. Returns the outcome of the order's first request.
    pub(crate) async fn send(&self, order: Order, routed: bool, routing: &Cell<bool>) -> Outcome {
        let sending = match order.manner {
            Manner::Whole | Manner::Reuse(_) | Manner::Streams(_) => Sending::Whole,
            Manner::SlowBody(_) => Sending::SlowBody,
            Manner::HalfClose => Sending::HalfClose,
        };
        let request = self.sent(&order.path, sending);
        if !routed {
            return self.observed(request, Outcome::NotRouted);
        }
        // A half-close is HTTP/1.1's: TCP's, not a stream's.
        if self.http == Http::Two && order.manner != Manner::HalfClose {
            return self.send_two(order, request, routing).await;
        }
        let sent_at = tokio::time::Instant::now();
        let (outcome, kept) = match order.manner {
            Manner::HalfClose => (self.timed(self.half_close(&order, request)).await, None),
            manner => {
                let exchange = self.exchange(&order, request, manner, None);
                match tokio::time::timeout(self.timeout, exchange).await {
                    Ok(answered) => answered,
                    Err(_) => (Outcome::TimedOut, None),
                }
            }
        };
        let first = self.observed(request, outcome);
        let kept = match order.manner {
            Manner::Reuse(after) => {
                tokio::time::sleep_until(sent_at + after).await;
                self.reuse(&order, request, kept, routing).await
            }
            _ => kept,
        };
        if let (Some(keep), Some(kept)) = (order.keep, kept) {
            // An idle keep-alive connection: held open until the client is
            // done with it, or the server closes it.
            tokio::task::spawn_local(async move {
                let _ = tokio::time::timeout(keep, kept.driver).await;
                drop(kept.sender);
            });
        }
        first
    }

    /// The second request of a reused connection: on the kept connection if
    /// the server left it open, else on a new one, as a pool would.
    async fn reuse(
        &self,
        order: &Order,
        of: u64,
        kept: Option<Kept>,
        routed: &Cell<bool>,
    ) -> Option<Kept> {
        let open = kept.filter(|kept| !kept.sender.is_closed());
        let request = self.sent_again(order, of, open.is_some(), routed)?;
        let exchange = self.exchange(order, request, Manner::Whole, open);
        let (outcome, kept) = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(answered) => answered,
            Err(_) => (Outcome::TimedOut, None),
        };
        self.observed(request, outcome);
        kept
    }

    /// Records the second request of a reused connection, on it if it is
    /// `open`, else on a new one: its number, or none if a new connection
    /// would not be routed (recorded as such).
    fn sent_again(&self, order: &Order, of: u64, open: bool, routed: &Cell<bool>) -> Option<u64> {
        let sending = if open {
            Sending::Reused { of }
        } else {
            Sending::Whole
        };
        let request = self.sent(&order.path, sending);
        // A kept connection goes straight to the pod, routed or not.
        if !open && !routed.get() {
            self.observed(request, Outcome::NotRouted);
            return None;
        }
        Some(request)
    }

    fn sent(&self, path: &str, sending: Sending) -> u64 {
        let request = self.request_ids.get() + 1;
        self.request_ids.set(request);
        let path = path.to_string();
        let kind = EventKind::Sent {
            request,
            path,
            sending,
        };
        self.recorder.record(&self.host, kind);
        request
    }

    fn observed(&self, request: u64, outcome: Outcome) -> Outcome {
        let kind = EventKind::Observed {
            request,
            outcome: outcome.clone(),
        };
        self.recorder.record(&self.host, kind);
        outcome
    }

    async fn timed(&self, exchange: impl Future<Output = Outcome>) -> Outcome {
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Outcome::TimedOut)
    }

    async fn connect(&self, port: u16) -> Result<Socket, Outcome> {
        let Some(slot) = self.backlog.admit(&self.server, port) else {
            // The listener's backlog is full: refused, as by the kernel.
            return Err(Outcome::Refused);
        };
        let connected = Socket::connect(&self.net, &self.server, port).await;
        drop(slot);
        match connected {
            Ok(stream) => Ok(stream),
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => Err(Outcome::Refused),
            Err(_) => Err(Outcome::Reset),
        }
    }

    /// One HTTP/1.1 exchange, on `kept` or a fresh connection; returns the
    /// connection too when the server means to keep it open.
    async fn exchange(
        &self,
        order: &Order,
        request: u64,
        manner: Manner,
        kept: Option<Kept>,
    ) -> (Outcome, Option<Kept>) {
        let mut kept = match kept {
            Some(kept) => kept,
            None => match self.handshake(order.port).await {
                Ok(kept) => kept,
                Err(outcome) => return (outcome, None),
            },
        };
        let builder = Request::builder()
            .uri(order.path.as_str())
            .header(hyper::header::HOST, &*self.server)
            .header(REQUEST_HEADER, request);
        let built = match manner {
            Manner::SlowBody(span) => builder
                .method(hyper::Method::POST)
                .header(
                    hyper::header::CONTENT_LENGTH,
                    BODY_PIECES * BODY_PIECE_BYTES as u64,
                )
                .body(Either::Right(Pieces::new(span))),
            _ => builder.body(Either::Left(Empty::new())),
        };
        let Ok(built) = built else {
            // Paths are checked when a schedule is read.
            return (Outcome::Reset, None);
        };
        if kept.sender.ready().await.is_err() {
            return (Outcome::Reset, None);
        }
        let Ok(response) = kept.sender.send_request(built).await else {
            return (Outcome::Reset, None);
        };
        let status = response.status().as_u16();
        let close = response
            .headers()
            .get_all(hyper::header::CONNECTION)
            .iter()
            .any(|value| {
                value
                    .to_str()
                    .is_ok_and(|value| value.to_ascii_lowercase().contains("close"))
            });
        if response.into_body().collect().await.is_err() {
            return (Outcome::Reset, None);
        }
        (Outcome::Status(status), (!close).then_some(kept))
    }

    async fn handshake(&self, port: u16) -> Result<Kept, Outcome> {
        let stream = self.connect(port).await?;
        let handshake =
            hyper::client::conn::http1::handshake::<_, RequestBody>(TokioIo::new(stream)).await;
        let Ok((sender, connection)) = handshake else {
            return Err(Outcome::Reset);
        };
        let driver = tokio::task::spawn_local(async move {
            let _ = connection.await;
        });
        Ok(Kept { sender, driver })
    }

    /// A GET written by hand, then the sending half shut down; the answer is
    /// read to its end (or the connection's).
    async fn half_close(&self, order: &Order, request: u64) -> Outcome {
        let mut stream = match self.connect(order.port).await {
            Ok(stream) => stream,
            Err(outcome) => return outcome,
        };
        let head = request_head(&order.path, &self.server, request);
        if stream.write_all(head.as_bytes()).await.is_err() || stream.shutdown().await.is_err() {
            return Outcome::Reset;
        }
        let mut response = Vec::new();
        let mut buffer = [0_u8; 4096];
        while response.len() < RAW_RESPONSE_BYTES_MAX {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => response.extend_from_slice(&buffer[..read]),
            }
            if whole_response(&response, false).is_some() {
                break;
            }
        }
        whole_response(&response, true).map_or(Outcome::Reset, Outcome::Status)
    }

    /// Opens a connection that sends nothing, or half a head, and holds it.
    pub(crate) async fn hold(&self, connection: Connection) {
        let Ok(mut stream) = self.connect(connection.port).await else {
            return;
        };
        if connection.partial {
            // Half of what the client sends first: a request head, or
            // HTTP/2's connection preface.
            let head = request_head("/", &self.server, 0);
            let first = match self.http {
                Http::Two => streams::PREFACE,
                _ => head.as_bytes(),
            };
            if stream.write_all(&first[..first.len() / 2]).await.is_err() {
                return;
            }
        }
        let until_closed = async {
            let mut buffer = [0_u8; 1024];
            while let Ok(read) = stream.read(&mut buffer).await {
                if read == 0 {
                    break;
                }
            }
        };
        match connection.hold {
            Some(hold) => drop(tokio::time::timeout(hold, until_closed).await),
            None => until_closed.await,
        }
    }
}

impl Sender {
    // HTTP/2: each request a stream (the `streams` module).

    /// Sends one order over HTTP/2, its first request numbered `request`
    /// (recorded already, and routed), and records each request of it and
    /// its outcome; returns the outcome of the first.
    async fn send_two(&self, order: Order, request: u64, routing: &Cell<bool>) -> Outcome {
        let sent_at = tokio::time::Instant::now();
        let connection = match self.open_two(order.port).await {
            Ok(connection) => connection,
            Err(outcome) => return self.observed(request, outcome),
        };
        let first = match order.manner {
            Manner::Streams(count) => {
                self.multiplexed(&connection.streams(), &order.path, request, count)
                    .await
            }
            manner => {
                let outcome = self
                    .timed_stream(&connection.streams(), &order.path, request, manner)
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
    async fn multiplexed(&self, streams: &Streams, path: &str, first: u64, count: u16) -> Outcome {
        let mut requests = vec![first];
        for _ in 1..count {
            requests.push(self.sent(path, Sending::Multiplexed { of: first }));
        }
        let streams: Vec<JoinHandle<Outcome>> = requests
            .into_iter()
            .map(|request| {
                let (sender, streams, path) = (self.clone(), streams.clone(), path.to_string());
                tokio::task::spawn_local(async move {
                    let outcome = sender
                        .timed_stream(&streams, &path, request, Manner::Whole)
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
        mut connection: Http2,
        routed: &Cell<bool>,
    ) -> Option<Http2> {
        let usable = tokio::time::timeout(self.timeout, connection.usable()).await;
        let open = usable.unwrap_or(false).then_some(connection);
        let request = self.sent_again(order, of, open.is_some(), routed)?;
        let connection = match open {
            Some(connection) => connection,
            None => match self.open_two(order.port).await {
                Ok(connection) => connection,
                Err(outcome) => {
                    self.observed(request, outcome);
                    return None;
                }
            },
        };
        let outcome = self
            .timed_stream(&connection.streams(), &order.path, request, Manner::Whole)
            .await;
        self.observed(request, outcome);
        Some(connection)
    }

    /// Opens an HTTP/2 connection within the client's timeout: TCP, then
    /// the preface and SETTINGS.
    async fn open_two(&self, port: u16) -> Result<Http2, Outcome> {
        let opening = async { Http2::open(self.connect(port).await?).await };
        tokio::time::timeout(self.timeout, opening)
            .await
            .unwrap_or(Err(Outcome::TimedOut))
    }

    /// One stream within the client's timeout. A stream that could not be
    /// opened, the connection closing before it was sent, was refused:
    /// the server processed nothing of it.
    async fn timed_stream(
        &self,
        streams: &Streams,
        path: &str,
        request: u64,
        manner: Manner,
    ) -> Outcome {
        let exchange = self.stream(streams, path, request, manner);
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Some(outcome)) => outcome,
            Ok(None) => Outcome::Refused,
            Err(_) => Outcome::TimedOut,
        }
    }

    /// Sends request number `request` as a stream and reads its response
    /// to the end: its outcome, or none if the stream could not be opened.
    /// A plain HTTP request is a GET, or a POST whose body comes slowly; a
    /// gRPC call is a POST of one message, all at once or in pieces.
    async fn stream(
        &self,
        streams: &Streams,
        path: &str,
        request: u64,
        manner: Manner,
    ) -> Option<Outcome> {
        let interval = match manner {
            Manner::SlowBody(span) => Some(span / BODY_PIECES as u32),
            _ => None,
        };
        let mut builder = Request::builder().header(REQUEST_HEADER, request);
        let (body, reading, path) = if self.protocol == Protocol::Grpc {
            // A health check's path names its service; its method is one.
            let health = health_check_service(path);
            let path = health.map_or(path, |_| crate::case::http::GRPC_HEALTH_CHECK);
            builder = builder
                .method(hyper::Method::POST)
                .header(hyper::header::CONTENT_TYPE, "application/grpc")
                .header(hyper::header::TE, "trailers");
            let message = Bytes::from(grpc::request_body(health));
            let pieces = match interval {
                // A message in pieces, as a slow client's upload arrives.
                Some(_) => (0..BODY_PIECES as usize)
                    .map(|piece| split(&message, piece, BODY_PIECES as usize))
                    .collect(),
                None => vec![message],
            };
            let upload = Upload {
                pieces,
                interval: interval.unwrap_or_default(),
            };
            let reading = Reading::Grpc {
                health: health.is_some(),
            };
            (Some(upload), reading, path)
        } else {
            let upload = interval.map(|interval| Upload {
                pieces: vec![Bytes::from_static(&[b'x'; BODY_PIECE_BYTES]); BODY_PIECES as usize],
                interval,
            });
            if upload.is_some() {
                builder = builder.method(hyper::Method::POST).header(
                    hyper::header::CONTENT_LENGTH,
                    BODY_PIECES * BODY_PIECE_BYTES as u64,
                );
            }
            (upload, Reading::Http, path)
        };
        // Paths are checked when a schedule is read.
        let uri = format!("http://{}{path}", self.server);
        let built = builder.uri(uri).body(()).ok()?;
        streams.send(built, body, reading).await
    }
}

/// Piece `index` of `count` nearly equal pieces of `bytes` (the first ones
/// a byte longer when they do not divide evenly).
fn split(bytes: &Bytes, index: usize, count: usize) -> Bytes {
    let (each, longer) = (bytes.len() / count, bytes.len() % count);
    let start = index * each + index.min(longer);
    let end = start + each + usize::from(index < longer);
    bytes.slice(start..end)
}

/// The head of a GET written by hand, with the harness's request number.
fn request_head(path: &str, server: &str, request: u64) -> String {
    format!("GET {path} HTTP/1.1\r\nhost: {server}\r\n{REQUEST_HEADER}: {request}\r\n\r\n")
}

/// The status of `bytes` if they hold a whole response: its head, and the
/// body its length or chunking promises (or, `at_end` of the connection,
/// whatever body came when neither is given).
fn whole_response(bytes: &[u8], at_end: bool) -> Option<u16> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head) = response.parse(bytes).ok()? else {
        return None;
    };
    let status = response.code?;
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .and_then(|header| std::str::from_utf8(header.value).ok())
    };
    let body = &bytes[head..];
    let whole = if let Some(length) = header("content-length") {
        length
            .trim()
            .parse::<usize>()
            .is_ok_and(|length| body.len() >= length)
    } else if header("transfer-encoding").is_some_and(|coding| coding.contains("chunked")) {
        body.ends_with(b"0\r\n\r\n")
    } else {
        at_end
    };
    whole.then_some(status)
}

/// A request body sent in pieces spread over a span.
pub(crate) struct Pieces {
    left: u64,
    interval: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Pieces {
    fn new(span: Duration) -> Self {
        Self {
            left: BODY_PIECES,
            interval: span / BODY_PIECES as u32,
            sleep: None,
        }
    }
}

impl Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let interval = self.interval;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
        ready!(sleep.as_mut().poll(cx));
        self.sleep = None;
        self.left -= 1;
        let piece = Bytes::from_static(&[b'x'; BODY_PIECE_BYTES]);
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left * BODY_PIECE_BYTES as u64)
    }
}

/// What the client host is asked to do.
enum Job {
    Request(Order),
    Connect(Connection),
}

/// The director's handle on the client host.
pub(crate) struct Client {
    jobs: mpsc::UnboundedSender<Job>,
    in_flight: Rc<Cell<usize>>,
}

impl Client {
    /// Asks the client to send a request; it goes out on the client's next tick.
    pub(crate) fn send(&self, order: Order) {
        self.in_flight.set(self.in_flight.get() + 1);
        // The receiver lives as long as the simulation; a send cannot fail before.
        let _ = self.jobs.send(Job::Request(order));
    }

    /// Asks the client to open a connection and hold it. It is not a
    /// request: a run does not wait for it to end.
    pub(crate) fn connect(&self, connection: Connection) {
        let _ = self.jobs.send(Job::Connect(connection));
    }

    /// How many requests were ordered and have not been answered yet.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.get()
    }
}

/// Builds the client's handle and the future that is its host's software.
/// `routed` says whether the service is in the endpoints right now.
pub(crate) fn client(sender: Sender, routed: Rc<Cell<bool>>) -> (Client, impl Future<Output = ()>) {
    let (jobs, mut incoming) = mpsc::unbounded_channel::<Job>();
    let in_flight = Rc::new(Cell::new(0));
    let handle = Client {
        jobs,
        in_flight: Rc::clone(&in_flight),
    };
    let software = async move {
        while let Some(job) = incoming.recv().await {
            let sender = sender.clone();
            match job {
                Job::Request(order) => {
                    let in_flight = Rc::clone(&in_flight);
                    let routing = Rc::clone(&routed);
                    // Whether it is routed is decided as it goes out.
                    let routed = routed.get();
                    tokio::task::spawn_local(async move {
                        sender.send(order, routed, &routing).await;
                        in_flight.set(in_flight.get() - 1);
                    });
                }
                Job::Connect(connection) => {
                    tokio::task::spawn_local(async move { sender.hold(connection).await });
                }
            }
        }
    };
    (handle, software)
}
