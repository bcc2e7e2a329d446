//! What one process of a user's service gets: its [`Launch`], the
//! simulated [`Listener`] it accepts on, and each recording [`Stream`].
//!
//! A stream tells the protocol by the first bytes its server reads: HTTP/2's
//! preface (h2c with prior knowledge) hands the rest to the `h2` frame
//! reader; anything else is read as HTTP/1 request heads here.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;

use crate::case::http::Http;
use crate::case::trace::{record_current, refuse_http2_current, EventKind, Milestone};
use crate::core::process::{bind_error, REQUEST_HEADER};

use super::h2::{Frames, Opening};
use super::teardown;
use crate::core::net::{Listening, Net, Socket};
use crate::core::perturb::{self, Site};

/// How long a request head may grow before the harness stops reading it: a
/// head this long is not one of the harness's clients' requests.
const HEAD_BYTES_MAX: usize = 16 * 1024;
/// Segments one read of a [`Stream`] gathers at most.
const READS_PER_POLL_MAX: usize = 64;
/// Headers read in one request head at most.
const HEADERS_MAX: usize = 64;

/// What one process of a [`Service`](super::Service) gets from the harness.
pub struct Launch {
    pub(super) host: Arc<str>,
    pub(super) port: u16,
    pub(super) stop: watch::Receiver<bool>,
    pub(super) seed: u64,
    pub(super) connection_ids: Arc<AtomicU64>,
    pub(super) startup_work: Duration,
    pub(super) drain_deadline: Duration,
    pub(super) http: Http,
    pub(super) net: Net,
}

impl Launch {
    /// Binds the service's port on its simulated host (`0.0.0.0:port`); from
    /// here, connections to the port wait in the backlog until accepted.
    /// Under the threads backend it binds an ephemeral port on real
    /// loopback, where the harness's clients connect.
    pub async fn bind(&self) -> io::Result<Listener> {
        let inner = Listening::bind(&self.net, self.port)
            .await
            .map_err(bind_error)?;
        record_current(&self.host, EventKind::Milestone(Milestone::Bound));
        Ok(Listener {
            inner,
            host: Arc::clone(&self.host),
            connection_ids: Arc::clone(&self.connection_ids),
            accepting: false,
            stop: self.stop.clone(),
        })
    }

    /// The address to bind, for a framework that insists on binding its
    /// own listener: under the threads backend, a free port on real
    /// loopback that the harness's clients connect to from now on; in
    /// simulation, the service's port on its simulated host
    /// (`0.0.0.0:port`), which only turmoil's sockets can bind (use
    /// [`Launch::bind`] there).
    ///
    /// Prefer [`Launch::bind`] wherever the framework takes a listener. A
    /// listener of the framework's own is not the harness's: no
    /// connection or request it serves is recorded, so the oracles that
    /// judge what the server read (`request-cut`, `accepted-request-failed`,
    /// the keep-alive rule) see nothing; `drain-deadline`, `exited-unasked`
    /// and the clients' outcomes still judge. The port is free when this
    /// returns and until the framework binds it: another process's
    /// ephemeral bind could take it in between, which the kernel's random
    /// choice of ports makes rare.
    pub fn addr(&self) -> io::Result<SocketAddr> {
        match &self.net {
            Net::Simulated => Ok(SocketAddr::from((Ipv4Addr::UNSPECIFIED, self.port))),
            Net::Real(board) => board.reserve(),
        }
    }

    /// Whether this process runs on real threads and sockets (the threads
    /// backend) rather than in turmoil's simulation.
    pub fn real_threads(&self) -> bool {
        matches!(self.net, Net::Real(_))
    }

    /// Resolves when the process is asked to stop (SIGTERM). A future of its
    /// own, `Send`, so it can go to `with_graceful_shutdown` or a spawned task.
    pub fn shutdown(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut stop = self.stop.clone();
        async move {
            if stop.wait_for(|stopping| *stopping).await.is_err() {
                // The process is gone (killed): no stop will come.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Whether a stop was requested already.
    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Waits the declared startup work, in simulated time.
    pub async fn startup_work(&self) {
        if !self.startup_work.is_zero() {
            tokio::time::sleep(self.startup_work).await;
        }
    }

    /// The drain deadline the service declared: a serve loop can bound its
    /// drain with it.
    pub fn drain_deadline(&self) -> Duration {
        self.drain_deadline
    }

    /// The HTTP the service declared it serves ([`Service::http`](super::Service::http)):
    /// a serve loop of its own picks its connection builder by it.
    pub fn http(&self) -> Http {
        self.http
    }

    /// A seed for this process's own random choices: derived from the case
    /// seed, so a replay makes the same choices.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The simulated host's name.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// The service's listening socket on the simulated network. It records when
/// the service first accepts, and each connection it accepts.
pub struct Listener {
    inner: Listening,
    host: Arc<str>,
    connection_ids: Arc<AtomicU64>,
    accepting: bool,
    /// The process's stop signal: whether a stop was requested when an
    /// answer is written.
    stop: watch::Receiver<bool>,
}

impl Listener {
    /// Accepts the next connection.
    pub async fn accept(&mut self) -> io::Result<(Stream, SocketAddr)> {
        if !self.accepting {
            self.accepting = true;
            record_current(&self.host, EventKind::Milestone(Milestone::Accepting));
        }
        perturb::point(Site::Socket);
        let (inner, peer) = self.inner.accept().await?;
        perturb::point(Site::Socket);
        let connection = self.connection_ids.fetch_add(1, Ordering::Relaxed) + 1;
        record_current(&self.host, EventKind::ConnectionOpened { connection });
        let stream = Stream {
            inner: Some(inner),
            host: Arc::clone(&self.host),
            connection,
            protocol: Protocol::Unknown,
            head: Vec::new(),
            sniffing: true,
            answer: None,
            stop: self.stop.clone(),
            first_written: Vec::new(),
            preface_answer_judged: false,
        };
        Ok((stream, peer))
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

#[cfg(feature = "tonic")]
impl Listener {
    /// The connections it accepts, as a stream: what tonic's
    /// `serve_with_incoming` and `serve_with_incoming_shutdown` take, for a
    /// serve function of your own around a tonic server (one that bounds
    /// its drain, or reports NOT_SERVING at SIGTERM first).
    pub fn incoming(self) -> impl futures_util::Stream<Item = io::Result<Stream>> + Send + 'static {
        futures_util::stream::unfold(self, |mut listener| async move {
            let accepted = listener.accept().await.map(|(stream, _)| stream);
            Some((accepted, listener))
        })
    }
}

/// What tonic's server asks of an accepted connection: nothing is told
/// of the simulated peer.
#[cfg(feature = "tonic")]
impl tonic::transport::server::Connected for Stream {
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

#[cfg(feature = "axum")]
impl axum::serve::Listener for Listener {
    type Io = Stream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Stream, SocketAddr) {
        // As axum's own TCP listener: an accept error is logged and retried.
        loop {
            match Listener::accept(self).await {
                Ok(accepted) => return accepted,
                Err(error) => {
                    tracing::debug!(%error, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Listener::local_addr(self)
    }
}

/// One accepted connection. Reads and writes go straight to the simulated
/// socket; the harness notes the request heads the service reads and the
/// connection's close.
pub struct Stream {
    /// The socket: taken only when the stream is dropped.
    inner: Option<Socket>,
    host: Arc<str>,
    connection: u64,
    /// The protocol its server reads, once its first bytes tell.
    protocol: Protocol,
    /// Bytes of the request head read so far; while the protocol is
    /// unknown, the first bytes (fewer than HTTP/2's preface).
    head: Vec<u8>,
    /// Whether HTTP/1 heads are still read (not past a head too long to be
    /// ours).
    sniffing: bool,
    /// Bytes of the answer head written so far, once a request head was read
    /// and until the answer's head is whole. HTTP/1 only: it stays `None` on
    /// an HTTP/2 connection.
    answer: Option<Vec<u8>>,
    /// The process's stop signal.
    stop: watch::Receiver<bool>,
    /// The first bytes the server wrote, up to a frame header's first four:
    /// after an HTTP/2 preface, an HTTP/2 server's SETTINGS frame.
    first_written: Vec<u8>,
    /// Whether its answer to an HTTP/2 preface was judged.
    preface_answer_judged: bool,
}

/// The protocol a [`Stream`]'s server reads, told by its first bytes.
enum Protocol {
    /// The bytes read so far, if any, begin HTTP/2's preface.
    Unknown,
    /// Request heads, read by [`Stream::sniff_heads`].
    Http1,
    /// Frames, read by their own reader (boxed: HTTP/1 streams stay small).
    Http2(Box<Frames>),
}

impl Stream {
    /// Judges the server's answer to an HTTP/2 preface it read, once its
    /// first frame header was written, or at the connection's `closing`
    /// (by the server, not by its process's end): no SETTINGS frame before
    /// any stop is a server that does not serve HTTP/2.
    fn judge_preface_answer(&mut self, closing: bool) {
        if self.preface_answer_judged || !matches!(self.protocol, Protocol::Http2(_)) {
            return;
        }
        /// HTTP/2's SETTINGS frame type, a frame header's fourth byte.
        const SETTINGS: u8 = 0x4;
        let answered = match self.first_written.get(3) {
            Some(&frame_type) => frame_type == SETTINGS,
            None if closing => false,
            None => return,
        };
        self.preface_answer_judged = true;
        if !answered && !*self.stop.borrow() {
            refuse_http2_current(self.connection);
        }
    }

    /// The socket, until the stream is dropped.
    fn socket(&mut self) -> io::Result<Pin<&mut Socket>> {
        self.inner
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }

    /// Notes each request in `bytes`, the next the service read, that
    /// carries the harness's request number: the service has read it.
    fn sniff(&mut self, bytes: &[u8]) {
        match &mut self.protocol {
            Protocol::Http1 => self.sniff_heads(bytes),
            Protocol::Http2(frames) => {
                let stopped = frames.stop().is_some();
                let found = frames.read(bytes);
                if let (false, Some(stop)) = (stopped, frames.stop()) {
                    let connection = self.connection;
                    tracing::debug!(connection, ?stop, "stopped reading HTTP/2 frames");
                }
                for request in found {
                    self.note_request(request.request, request.path);
                }
            }
            Protocol::Unknown => {
                self.head.extend_from_slice(bytes);
                self.protocol = match Opening::of(&self.head) {
                    Opening::Partial => return,
                    Opening::Http2 => Protocol::Http2(Box::default()),
                    Opening::Other => Protocol::Http1,
                };
                // Once, with the first bytes: the protocol is known now.
                let first = std::mem::take(&mut self.head);
                self.sniff(&first);
            }
        }
    }

    /// Notes each complete HTTP/1 request head in `bytes`.
    fn sniff_heads(&mut self, mut bytes: &[u8]) {
        while self.sniffing && !bytes.is_empty() {
            let already = self.head.len();
            self.head.extend_from_slice(bytes);
            let Some(end) = find_head_end(&self.head, already) else {
                self.sniffing = self.head.len() <= HEAD_BYTES_MAX;
                return;
            };
            self.note_head(&self.head[..end]);
            self.answer = Some(Vec::new());
            bytes = &bytes[end - already..];
            self.head.clear();
        }
    }

    /// Follows the head of the answer to the last request read: one that
    /// keeps the connection alive, written after a stop was requested, is
    /// noted (a client may reuse the connection as the server closes it).
    fn sniff_answer(&mut self, bytes: &[u8]) {
        let Some(answer) = &mut self.answer else {
            return;
        };
        let already = answer.len();
        answer.extend_from_slice(bytes);
        let Some(end) = find_head_end(answer, already) else {
            if answer.len() > HEAD_BYTES_MAX {
                self.answer = None;
            }
            return;
        };
        let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = response.parse(&answer[..end]);
        if response.code.is_some_and(|code| (100..200).contains(&code)) {
            // An interim answer (100 Continue): the final one follows.
            answer.drain(..end);
            return;
        }
        let close = response.headers.iter().any(|header| {
            header.name.eq_ignore_ascii_case("connection")
                && std::str::from_utf8(header.value)
                    .is_ok_and(|value| value.to_ascii_lowercase().contains("close"))
        });
        let complete = matches!(parsed, Ok(httparse::Status::Complete(_)));
        self.answer = None;
        if complete && !close && *self.stop.borrow() {
            let connection = self.connection;
            record_current(&self.host, EventKind::KeptAlive { connection });
        }
    }

    fn note_head(&self, head: &[u8]) {
        let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
        let mut request = httparse::Request::new(&mut headers);
        if !matches!(request.parse(head), Ok(httparse::Status::Complete(_))) {
            return;
        }
        let path = request.path.unwrap_or_default().to_string();
        let number = request
            .headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(REQUEST_HEADER))
            .and_then(|header| std::str::from_utf8(header.value).ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        if let Some(request) = number {
            self.note_request(request, path);
        }
    }

    /// Records that the service read the harness's request `request`.
    fn note_request(&self, request: u64, path: String) {
        let connection = self.connection;
        record_current(
            &self.host,
            EventKind::RequestStarted {
                request,
                connection,
                path,
            },
        );
    }
}

/// Where the head in `bytes` ends (just past its blank line), searching from
/// a little before `from`, where the last search stopped.
fn find_head_end(bytes: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    bytes[start..]
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|position| start + position + 4)
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        perturb::point(Site::Socket);
        let before = buf.filled().len();
        let mut polled = self.socket()?.poll_read(cx, buf);
        // turmoil hands over one segment per read; a kernel's receive buffer
        // hands over every byte that has arrived. Read on while more is
        // there, so a server that drains "what is already here" (hyper before
        // closing an unread body) sees what it would see on a real socket.
        let mut reads = 1;
        while matches!(polled, Poll::Ready(Ok(())))
            && buf.remaining() > 0
            && buf.filled().len() > before
            && reads < READS_PER_POLL_MAX
        {
            let filled = buf.filled().len();
            match self.socket()?.poll_read(cx, buf) {
                Poll::Ready(Ok(())) if buf.filled().len() > filled => reads += 1,
                // The end of the stream, an error or nothing yet: what was
                // read is this read's; the rest waits for the next.
                _ => break,
            }
        }
        if let Poll::Ready(Ok(())) = &polled {
            self.sniff(&buf.filled()[before..]);
            // An HTTP/2 server may have written its SETTINGS before it read
            // the preface.
            self.judge_preface_answer(false);
        } else if buf.filled().len() > before {
            polled = Poll::Ready(Ok(()));
        }
        polled
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        perturb::point(Site::Socket);
        let polled = self.socket()?.poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = &polled {
            let written = &buf[..*written];
            self.sniff_answer(written);
            let room = 4_usize.saturating_sub(self.first_written.len());
            self.first_written
                .extend_from_slice(&written[..written.len().min(room)]);
            self.judge_preface_answer(false);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.socket()?.poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.socket()?.poll_shutdown(cx)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let Some(socket) = self.inner.take() else {
            return;
        };
        if let Some(socket) = teardown::close(self.connection, &self.host, socket) {
            // Closed by the server itself, not by its process's end.
            self.judge_preface_answer(true);
            drop(socket);
        }
    }
}

/// The listener and its streams can move to `Send` tasks (axum's
/// `serve` and `tokio::spawn` need it): checked when this compiles.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Listener>();
    send::<Stream>();
};

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::super::h2::{client_bytes, Sent};
    use super::*;
    use crate::case::trace::{Current, Recorder};

    #[test]
    fn a_stream_records_the_requests_its_server_reads_over_http2_and_http1() {
        // An HTTP/2 connection whose preface reaches the server in three
        // reads, then an HTTP/1 one, to a server that only reads: each
        // numbered request is recorded on its connection, once.
        let requests = vec![
            Sent::get("/one", Some("1")),
            Sent::get("/two", None),
            Sent::get("/three", Some("3")),
        ];
        let http2 = client_bytes(requests, None);
        let recorder = Recorder::default();
        let _current = Current::install(&recorder);
        // Segments take 1 ms and the client pauses 10 ms between writes, so
        // each write is one read of the server's.
        let mut sim = turmoil::Builder::new()
            .min_message_latency(Duration::from_millis(1))
            .max_message_latency(Duration::from_millis(1))
            .build();
        sim.host("server", || async {
            let (_stop_sender, stop) = watch::channel(false);
            let launch = Launch {
                host: Arc::from("server"),
                port: 80,
                stop,
                seed: 0,
                connection_ids: Arc::new(AtomicU64::new(0)),
                startup_work: Duration::ZERO,
                drain_deadline: Duration::ZERO,
                http: Http::Two,
                net: Net::Simulated,
            };
            let mut listener = launch.bind().await?;
            loop {
                let (mut stream, _) = listener.accept().await?;
                tokio::spawn(async move {
                    let mut buffer = [0; 4096];
                    while let Ok(1..) = stream.read(&mut buffer).await {}
                });
            }
        });
        sim.client("client", async move {
            let mut connection = turmoil::net::TcpStream::connect(("server", 80)).await?;
            for piece in [&http2[..5], &http2[5..16], &http2[16..]] {
                connection.write_all(piece).await?;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let mut connection = turmoil::net::TcpStream::connect(("server", 80)).await?;
            let head = format!("GET /old HTTP/1.1\r\nhost: server\r\n{REQUEST_HEADER}: 4\r\n\r\n");
            connection.write_all(head.as_bytes()).await?;
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok(())
        });
        sim.run().expect("the simulation runs");
        let started: Vec<(u64, u64, String)> = recorder
            .take()
            .into_iter()
            .filter_map(|event| match event.kind {
                EventKind::RequestStarted {
                    request,
                    connection,
                    path,
                } => Some((connection, request, path)),
                _ => None,
            })
            .collect();
        let expected = [(1, 1, "/one"), (1, 3, "/three"), (2, 4, "/old")];
        let expected: Vec<(u64, u64, String)> = expected
            .into_iter()
            .map(|(connection, request, path)| (connection, request, path.to_string()))
            .collect();
        assert_eq!(started, expected);
    }
}
