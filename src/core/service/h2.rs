//! The HTTP/2 frames a client sends a user's server, read as the server reads
//! them, so the harness learns which requests the server accepted: the
//! HTTP/2 twin of the request heads `socket` sniffs on HTTP/1 connections.
//!
//! Only h2c with prior knowledge is followed: a connection whose first bytes
//! are the 24-byte preface (see [`Opening`]). A [`Frames`] reader is then fed
//! every byte the server reads, in whatever pieces its reads return. It
//! checks the preface, then walks the frames: the payloads of HEADERS and
//! CONTINUATION frames gather into one header block, and every other frame
//! (DATA above all) is skipped by counting its bytes, never buffered. HPACK
//! keeps one dynamic table for the whole connection, so every block is
//! decoded, in order, by one decoder — trailers too, though only a block
//! with a `:path` (a request's first) and the harness's request-number
//! header yields a [`Request`].
//!
//! Memory is bounded: a header block may hold [`HEADER_BLOCK_BYTES_MAX`],
//! the HPACK table [`TABLE_BYTES_MAX`]. Bytes the reader cannot follow end
//! its reading of the connection with a [`Stop`] naming why; no request
//! after them is recorded, as the HTTP/1 sniffing gives up on a head too
//! long to be the harness's.

use loona_hpack::decoder::DecoderError;

use crate::core::process::REQUEST_HEADER;

/// What a client with prior knowledge of HTTP/2 sends first (RFC 9113 §3.4).
/// No HTTP/1 request starts so: `PRI` is no method, `HTTP/2.0` no version.
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// A frame header: length (24 bits), type, flags, stream id (31 bits).
const FRAME_HEADER_BYTES: usize = 9;
/// The longest header block (a HEADERS frame and its CONTINUATIONs, padding
/// included) the reader gathers; a longer one is no request of the
/// harness's clients, whose heads are a few hundred bytes.
pub(super) const HEADER_BLOCK_BYTES_MAX: usize = 64 * 1024;
/// The largest HPACK dynamic table a client may ask for. The table's size
/// is the server's to announce (SETTINGS_HEADER_TABLE_SIZE, 4,096 bytes
/// unless changed) and the client's to adopt with a size update inside a
/// header block, which the decoder applies; so the reader need not parse the
/// server's SETTINGS, only bound what it will hold. 1 MiB is 256 times the
/// default, above what common servers announce (hyper, Go, nginx and Envoy
/// keep 4,096), and bounds a connection's table.
pub(super) const TABLE_BYTES_MAX: usize = 1024 * 1024;

const TYPE_HEADERS: u8 = 0x1;
const TYPE_PUSH_PROMISE: u8 = 0x5;
const TYPE_CONTINUATION: u8 = 0x9;
const FLAG_END_HEADERS: u8 = 0x4;
const FLAG_PADDED: u8 = 0x8;
const FLAG_PRIORITY: u8 = 0x20;
/// A PRIORITY flag's stream dependency (4 bytes) and weight (1 byte).
const PRIORITY_BYTES: usize = 5;

/// What a connection's first bytes say about its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Opening {
    /// They begin the preface but are fewer than its 24 bytes: wait.
    Partial,
    /// They start with the whole preface: HTTP/2 with prior knowledge.
    Http2,
    /// Anything else: HTTP/1 (an upgrade to h2c starts as HTTP/1 too).
    Other,
}

impl Opening {
    /// Judges the first bytes a connection's server read.
    pub(super) fn of(first: &[u8]) -> Opening {
        if first.starts_with(PREFACE) {
            Opening::Http2
        } else if PREFACE.starts_with(first) {
            Opening::Partial
        } else {
            Opening::Other
        }
    }
}

/// A request the server read: a header block that opens a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Request {
    /// The stream it opened.
    pub(super) stream: u32,
    /// The harness's number for it, from the request-number header.
    pub(super) request: u64,
    /// Its `:path` (path and query).
    pub(super) path: String,
}

/// Why a reader stopped following its connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Stop {
    /// The first bytes are not the preface.
    NotPreface,
    /// A HEADERS frame on stream 0, which no request can use.
    HeadersWithoutStream,
    /// A header block was open and the next frame is not its CONTINUATION.
    ContinuationMissing,
    /// A CONTINUATION with no header block open.
    ContinuationUnexpected,
    /// A PUSH_PROMISE, which only servers send: its header block would
    /// change the HPACK table behind the reader's back.
    PushPromise,
    /// A HEADERS frame whose padding and priority exceed its payload.
    PaddingTooLong,
    /// A header block longer than [`HEADER_BLOCK_BYTES_MAX`].
    HeaderBlockTooLong {
        /// The length it would have reached.
        block_bytes: usize,
    },
    /// A header block HPACK cannot decode, or a table size update above
    /// [`TABLE_BYTES_MAX`].
    Hpack(DecoderError),
}

/// Where the reader is in the client's bytes.
enum State {
    /// Matching the preface; this many bytes of it matched.
    Preface { matched_bytes: usize },
    /// Gathering a frame header into `Frames::header`; this many bytes so far.
    FrameHeader { filled_bytes: usize },
    /// Gathering a HEADERS or CONTINUATION payload into `Frames::block`.
    HeaderPayload {
        frame: Frame,
        remaining_bytes: usize,
    },
    /// Passing over any other frame's payload.
    Skip { remaining_bytes: usize },
    /// Given up on the connection.
    Stopped(Stop),
}

/// A frame's header, decoded.
#[derive(Debug, Clone, Copy)]
struct Frame {
    length_bytes: usize,
    kind: u8,
    flags: u8,
    stream: u32,
}

impl Frame {
    fn parse(header: &[u8; FRAME_HEADER_BYTES]) -> Frame {
        let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = *header;
        Frame {
            length_bytes: usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2),
            kind,
            flags,
            stream: u32::from_be_bytes([s0, s1, s2, s3]) & 0x7fff_ffff,
        }
    }
}

/// Reads one connection's client-to-server HTTP/2 bytes for requests.
pub(super) struct Frames {
    state: State,
    /// The frame header being gathered.
    header: [u8; FRAME_HEADER_BYTES],
    /// The header block gathered so far: the open HEADERS frame's fragment
    /// (its padding and priority removed once whole), then its CONTINUATIONs'.
    block: Vec<u8>,
    /// The stream whose header block is open, awaiting a CONTINUATION.
    open_stream: Option<u32>,
    /// HPACK's decoder, with the connection's dynamic table.
    decoder: loona_hpack::Decoder<'static>,
}

impl Default for Frames {
    fn default() -> Frames {
        let mut decoder = loona_hpack::Decoder::new();
        decoder.set_max_allowed_table_size(TABLE_BYTES_MAX);
        Frames {
            state: State::Preface { matched_bytes: 0 },
            header: [0; FRAME_HEADER_BYTES],
            block: Vec::new(),
            open_stream: None,
            decoder,
        }
    }
}

impl Frames {
    /// Reads the next bytes the server read, from the connection's first
    /// (the preface) on; returns the requests whose header blocks they end.
    pub(super) fn read(&mut self, mut bytes: &[u8]) -> Vec<Request> {
        let mut found = Vec::new();
        // Every turn consumes at least one byte or stops the reader, so the
        // loop ends within `bytes.len()` turns.
        while !bytes.is_empty() && self.stop().is_none() {
            match self.step(bytes, &mut found) {
                Ok(consumed) => bytes = &bytes[consumed..],
                Err(stop) => {
                    self.state = State::Stopped(stop);
                    self.block = Vec::new();
                }
            }
        }
        found
    }

    /// Why the reader gave up on the connection, if it did.
    pub(super) fn stop(&self) -> Option<Stop> {
        match self.state {
            State::Stopped(stop) => Some(stop),
            _ => None,
        }
    }

    /// Reads what the current state wants of `bytes` (not empty); returns
    /// how many bytes it took, at least one.
    fn step(&mut self, bytes: &[u8], found: &mut Vec<Request>) -> Result<usize, Stop> {
        match &mut self.state {
            State::Preface { matched_bytes } => {
                let wanted = &PREFACE[*matched_bytes..];
                let taken = wanted.len().min(bytes.len());
                if bytes[..taken] != wanted[..taken] {
                    return Err(Stop::NotPreface);
                }
                *matched_bytes += taken;
                if *matched_bytes == PREFACE.len() {
                    self.state = State::FrameHeader { filled_bytes: 0 };
                }
                Ok(taken)
            }
            State::FrameHeader { filled_bytes } => {
                let filled = *filled_bytes;
                let taken = (FRAME_HEADER_BYTES - filled).min(bytes.len());
                self.header[filled..filled + taken].copy_from_slice(&bytes[..taken]);
                *filled_bytes += taken;
                if *filled_bytes == FRAME_HEADER_BYTES {
                    self.begin(Frame::parse(&self.header), found)?;
                }
                Ok(taken)
            }
            State::HeaderPayload {
                frame,
                remaining_bytes,
            } => {
                let taken = (*remaining_bytes).min(bytes.len());
                self.block.extend_from_slice(&bytes[..taken]);
                *remaining_bytes -= taken;
                if *remaining_bytes == 0 {
                    let frame = *frame;
                    self.end(frame, found)?;
                }
                Ok(taken)
            }
            State::Skip { remaining_bytes } => {
                let taken = (*remaining_bytes).min(bytes.len());
                *remaining_bytes -= taken;
                if *remaining_bytes == 0 {
                    self.state = State::FrameHeader { filled_bytes: 0 };
                }
                Ok(taken)
            }
            State::Stopped(_) => Ok(bytes.len()),
        }
    }

    /// Starts on a frame whose header was read: gathers a header frame's
    /// payload, skips any other's.
    fn begin(&mut self, frame: Frame, found: &mut Vec<Request>) -> Result<(), Stop> {
        match (frame.kind, self.open_stream) {
            (TYPE_CONTINUATION, Some(stream)) if frame.stream == stream => {}
            (_, Some(_)) => return Err(Stop::ContinuationMissing),
            (TYPE_CONTINUATION, None) => return Err(Stop::ContinuationUnexpected),
            (TYPE_PUSH_PROMISE, None) => return Err(Stop::PushPromise),
            (TYPE_HEADERS, None) if frame.stream == 0 => return Err(Stop::HeadersWithoutStream),
            (TYPE_HEADERS, None) => {}
            (_, None) => {
                self.state = match frame.length_bytes {
                    0 => State::FrameHeader { filled_bytes: 0 },
                    remaining_bytes => State::Skip { remaining_bytes },
                };
                return Ok(());
            }
        }
        let block_bytes = self.block.len() + frame.length_bytes;
        if block_bytes > HEADER_BLOCK_BYTES_MAX {
            return Err(Stop::HeaderBlockTooLong { block_bytes });
        }
        self.state = State::HeaderPayload {
            frame,
            remaining_bytes: frame.length_bytes,
        };
        if frame.length_bytes == 0 {
            // Nothing more will come for it: end it now, not at the next read.
            self.end(frame, found)?;
        }
        Ok(())
    }

    /// Ends a header frame whose payload is in `block`: strips a HEADERS
    /// frame's padding and priority, and decodes the block once whole.
    fn end(&mut self, frame: Frame, found: &mut Vec<Request>) -> Result<(), Stop> {
        self.state = State::FrameHeader { filled_bytes: 0 };
        if frame.kind == TYPE_HEADERS {
            // A HEADERS frame opens the block: its payload is all of it.
            let padded = frame.flags & FLAG_PADDED != 0;
            let padding_bytes = match (padded, self.block.first()) {
                (true, Some(&padding)) => usize::from(padding),
                (true, None) => return Err(Stop::PaddingTooLong),
                (false, _) => 0,
            };
            let priority_bytes = match frame.flags & FLAG_PRIORITY {
                0 => 0,
                _ => PRIORITY_BYTES,
            };
            let prefix_bytes = usize::from(padded) + priority_bytes;
            if prefix_bytes + padding_bytes > self.block.len() {
                return Err(Stop::PaddingTooLong);
            }
            self.block.truncate(self.block.len() - padding_bytes);
            self.block.drain(..prefix_bytes);
        }
        if frame.flags & FLAG_END_HEADERS == 0 {
            self.open_stream = Some(frame.stream);
            return Ok(());
        }
        self.open_stream = None;
        let decoded = self.decode(frame.stream);
        self.block.clear();
        found.extend(decoded?);
        Ok(())
    }

    /// Decodes the whole header block of `stream`: a request, if it has a
    /// `:path` and the harness's number.
    fn decode(&mut self, stream: u32) -> Result<Option<Request>, Stop> {
        let mut path = None;
        // The first request-number header decides, as on HTTP/1.
        let mut number = None;
        self.decoder
            .decode_with_cb(&self.block, |name, value| {
                if path.is_none() && name.as_ref() == b":path" {
                    path = Some(String::from_utf8_lossy(&value).into_owned());
                } else if number.is_none() && name.eq_ignore_ascii_case(REQUEST_HEADER.as_bytes()) {
                    number = Some(
                        std::str::from_utf8(&value)
                            .ok()
                            .and_then(|value| value.trim().parse::<u64>().ok()),
                    );
                }
            })
            .map_err(Stop::Hpack)?;
        Ok(match (path, number.flatten()) {
            (Some(path), Some(request)) => Some(Request {
                stream,
                request,
                path,
            }),
            _ => None,
        })
    }
}

/// `socket`'s tests drive a stream with the same real client bytes.
#[cfg(test)]
pub(super) use self::tests::{client_bytes, Sent};

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use hyper::{HeaderMap, Request as HttpRequest, Response};
    use loona_hpack::decoder::IntegerDecodingError;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

    use super::*;

    /// One request the test client sends.
    pub(in crate::core::service) struct Sent {
        pub(in crate::core::service) request: HttpRequest<()>,
        pub(in crate::core::service) body_bytes: usize,
        pub(in crate::core::service) trailers: Option<HeaderMap>,
    }

    impl Sent {
        /// A GET of `path`, with the harness's number when `number` is one.
        pub(in crate::core::service) fn get(path: &str, number: Option<&str>) -> Sent {
            let mut request = HttpRequest::get(format!("http://service{path}"))
                .header("user-agent", "lifecycle-sim-test");
            if let Some(number) = number {
                request = request.header(REQUEST_HEADER, number);
            }
            Sent {
                request: request.body(()).expect("a valid request"),
                body_bytes: 0,
                trailers: None,
            }
        }
    }

    /// The client's end of the pipe, keeping a copy of every byte written.
    struct Recording {
        inner: DuplexStream,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl AsyncRead for Recording {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Recording {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
            if let Poll::Ready(Ok(written)) = polled {
                let mut copy = self.written.lock().expect("not poisoned");
                copy.extend_from_slice(&buf[..written]);
            }
            polled
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    /// Every byte `h2`'s client writes sending `requests` one after another
    /// on one connection to `h2`'s server, which announces `table_bytes` as
    /// its HPACK table size (4,096 when `None`) and answers each request
    /// once it has read all of it.
    pub(in crate::core::service) fn client_bytes(
        requests: Vec<Sent>,
        table_bytes: Option<u32>,
    ) -> Vec<u8> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let written = Arc::new(Mutex::new(Vec::new()));
        let (client_io, server_io) = tokio::io::duplex(1 << 20);
        let client_io = Recording {
            inner: client_io,
            written: Arc::clone(&written),
        };
        runtime.block_on(async move {
            tokio::spawn(serve(server_io, table_bytes));
            let (mut sender, connection) =
                ::h2::client::handshake(client_io).await.expect("handshake");
            tokio::spawn(connection);
            for sent in requests {
                sender = sender.ready().await.expect("ready");
                let end = sent.body_bytes == 0 && sent.trailers.is_none();
                let (response, mut stream) = sender
                    .send_request(sent.request, end)
                    .expect("request sent");
                if sent.body_bytes > 0 {
                    let body = Bytes::from(vec![b'b'; sent.body_bytes]);
                    stream
                        .send_data(body, sent.trailers.is_none())
                        .expect("body sent");
                }
                if let Some(trailers) = sent.trailers {
                    stream.send_trailers(trailers).expect("trailers sent");
                }
                let response = response.await.expect("a response");
                assert_eq!(response.status(), 200);
            }
        });
        let bytes = written.lock().expect("not poisoned").clone();
        bytes
    }

    /// `h2`'s server: answers every request 200 once its body and
    /// trailers are read.
    async fn serve(io: DuplexStream, table_bytes: Option<u32>) {
        let mut builder = ::h2::server::Builder::new();
        if let Some(table_bytes) = table_bytes {
            builder.header_table_size(table_bytes);
        }
        let mut connection = builder.handshake::<_, Bytes>(io).await.expect("handshake");
        while let Some(Ok((request, mut respond))) = connection.accept().await {
            // Its own task: the connection moves bytes only while accepted on.
            tokio::spawn(async move {
                let mut body = request.into_body();
                while let Some(Ok(chunk)) = body.data().await {
                    let _ = body.flow_control().release_capacity(chunk.len());
                }
                let _ = body.trailers().await;
                let _ = respond.send_response(Response::new(()), true);
            });
        }
    }

    /// Twenty requests on one connection (streams 1 to 39): those with an
    /// even index carry the harness's number 100 + index; index 4 has a
    /// 40,000-byte body (three DATA frames), index 6 trailers with a
    /// request-number header of their own, index 8 a header block too long
    /// for one frame (a CONTINUATION), index 9 a number that is no number.
    /// The request-number header and the user agent repeat, so HPACK sends
    /// them from its dynamic table after the first.
    fn mixed_requests() -> Vec<Sent> {
        (0..20)
            .map(|index| {
                let number = (100 + index).to_string();
                let path = match index {
                    10 => "/k10?q=a%20b".to_string(),
                    _ => format!("/k{index}"),
                };
                let mut sent = match index {
                    9 => Sent::get(&path, Some("nine")),
                    _ if index % 2 == 0 => Sent::get(&path, Some(&number)),
                    _ => Sent::get(&path, None),
                };
                match index {
                    4 => sent.body_bytes = 40_000,
                    6 => {
                        let mut trailers = HeaderMap::new();
                        trailers.insert(REQUEST_HEADER, "9999".parse().expect("a value"));
                        trailers.insert("grpc-status", "0".parse().expect("a value"));
                        sent.trailers = Some(trailers);
                    }
                    8 => {
                        let long = "a".repeat(40_000);
                        let headers = sent.request.headers_mut();
                        headers.insert("x-long", long.parse().expect("a value"));
                    }
                    _ => {}
                }
                sent
            })
            .collect()
    }

    /// What `mixed_requests` should yield: (stream, number, path).
    fn mixed_expected() -> Vec<(u32, u64, &'static str)> {
        vec![
            (1, 100, "/k0"),
            (5, 102, "/k2"),
            (9, 104, "/k4"),
            (13, 106, "/k6"),
            (17, 108, "/k8"),
            (21, 110, "/k10?q=a%20b"),
            (25, 112, "/k12"),
            (29, 114, "/k14"),
            (33, 116, "/k16"),
            (37, 118, "/k18"),
        ]
    }

    /// Feeds `bytes` to a new reader in pieces of the lengths `piece` gives.
    fn read_in_pieces(
        bytes: &[u8],
        mut piece: impl FnMut() -> usize,
    ) -> (Vec<(u32, u64, String)>, Frames) {
        let mut frames = Frames::default();
        let mut found = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (now, later) = rest.split_at(piece().clamp(1, rest.len()));
            for request in frames.read(now) {
                found.push((request.stream, request.request, request.path));
            }
            rest = later;
        }
        (found, frames)
    }

    fn owned(expected: Vec<(u32, u64, &'static str)>) -> Vec<(u32, u64, String)> {
        expected
            .into_iter()
            .map(|(stream, request, path)| (stream, request, path.to_string()))
            .collect()
    }

    /// A frame: its header, then `payload`.
    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let length = u32::try_from(payload.len()).expect("a short payload");
        let mut bytes = length.to_be_bytes()[1..].to_vec();
        bytes.extend([kind, flags]);
        bytes.extend(stream.to_be_bytes());
        bytes.extend_from_slice(payload);
        bytes
    }

    /// A request's header block, encoded by a fresh HPACK encoder.
    fn request_block(path: &str, number: &str) -> Vec<u8> {
        loona_hpack::Encoder::new().encode([
            (b":method".as_slice(), b"GET".as_slice()),
            (b":scheme", b"http"),
            (b":path", path.as_bytes()),
            (REQUEST_HEADER.as_bytes(), number.as_bytes()),
        ])
    }

    #[test]
    fn real_client_requests_are_found_whole_in_one_read() {
        // The reader finds exactly the numbered requests, with their streams
        // and paths, when all the client's bytes arrive at once.
        let bytes = client_bytes(mixed_requests(), None);
        let (found, frames) = read_in_pieces(&bytes, || usize::MAX);
        assert_eq!(found, owned(mixed_expected()));
        assert_eq!(frames.stop(), None);
    }

    #[test]
    fn real_client_requests_are_found_read_one_byte_at_a_time() {
        // Every frame header, payload and the preface split at every byte.
        let bytes = client_bytes(mixed_requests(), None);
        let (found, frames) = read_in_pieces(&bytes, || 1);
        assert_eq!(found, owned(mixed_expected()));
        assert_eq!(frames.stop(), None);
    }

    #[test]
    fn real_client_requests_are_found_in_random_pieces() {
        // Pieces of random lengths, as a kernel's reads might return them.
        let bytes = client_bytes(mixed_requests(), None);
        for seed in 0..16_u64 {
            let mut random = SmallRng::seed_from_u64(seed);
            let longest = [7, 100, 5_000, 40_000][(seed % 4) as usize];
            let (found, frames) = read_in_pieces(&bytes, || random.random_range(1..=longest));
            assert_eq!(found, owned(mixed_expected()), "seed {seed}");
            assert_eq!(frames.stop(), None, "seed {seed}");
        }
    }

    #[test]
    fn a_table_size_update_from_the_client_is_followed() {
        // A server announcing no table (0): the client sends a size update to
        // 0 in its next block and encodes every header literally after it.
        // (`h2`'s encoder never grows its table past 4 KiB, so a larger
        // announcement changes nothing on the wire.)
        let bytes = client_bytes(mixed_requests(), Some(0));
        let (found, frames) = read_in_pieces(&bytes, || 13);
        assert_eq!(found, owned(mixed_expected()));
        assert_eq!(frames.stop(), None);
    }

    #[test]
    fn a_table_size_update_above_the_bound_stops_the_reader() {
        // A size update to TABLE_BYTES_MAX is honoured; one a byte above
        // stops the reader, and the request in its block is not found.
        let update = |table_bytes: usize| {
            let mut update = loona_hpack::encoder::encode_integer(table_bytes, 5);
            update[0] |= 0x20;
            update
        };
        let mut bytes = PREFACE.to_vec();
        let block = [update(TABLE_BYTES_MAX), request_block("/at", "1")].concat();
        bytes.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 1, &block));
        let block = [update(TABLE_BYTES_MAX + 1), request_block("/over", "2")].concat();
        bytes.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 3, &block));
        let (found, frames) = read_in_pieces(&bytes, || usize::MAX);
        assert_eq!(found, vec![(1, 1, "/at".to_string())]);
        let error = DecoderError::InvalidMaxDynamicSize;
        assert_eq!(frames.stop(), Some(Stop::Hpack(error)));
    }

    #[test]
    fn padding_priority_and_continuations_are_stripped() {
        // A HEADERS frame with 3 bytes of padding and a priority, then two
        // CONTINUATIONs, the last empty: one request, found in the read that
        // ends it, though its last frame has no payload to wait for.
        let block = request_block("/padded", "7");
        let (first, second) = block.split_at(5);
        let mut headers = vec![3];
        headers.extend([0, 0, 0, 0, 16]);
        headers.extend_from_slice(first);
        headers.extend([0, 0, 0]);
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(
            TYPE_HEADERS,
            FLAG_PADDED | FLAG_PRIORITY,
            3,
            &headers,
        ));
        bytes.extend(frame(TYPE_CONTINUATION, 0, 3, second));
        bytes.extend(frame(TYPE_CONTINUATION, FLAG_END_HEADERS, 3, &[]));
        let (found, frames) = read_in_pieces(&bytes, || usize::MAX);
        assert_eq!(found, vec![(3, 7, "/padded".to_string())]);
        assert_eq!(frames.stop(), None);
    }

    #[test]
    fn a_data_frame_larger_than_the_bound_is_skipped_not_gathered() {
        // 1 MiB of DATA (16 times HEADER_BLOCK_BYTES_MAX), then a request.
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(0x0, 0, 1, &vec![0; 1024 * 1024]));
        let block = request_block("/after-data", "8");
        bytes.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 3, &block));
        let (found, frames) = read_in_pieces(&bytes, || 4096);
        assert_eq!(found, vec![(3, 8, "/after-data".to_string())]);
        assert_eq!(frames.stop(), None);
        assert!(frames.block.capacity() < HEADER_BLOCK_BYTES_MAX);
    }

    #[test]
    fn a_header_block_over_the_bound_stops_the_reader() {
        // Four 16 KiB frames fill the bound exactly; a fifth goes over, and
        // the reader stops at its frame header, before its payload.
        let fragment = vec![0; 16 * 1024];
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(TYPE_HEADERS, 0, 1, &fragment));
        for _ in 0..3 {
            bytes.extend(frame(TYPE_CONTINUATION, 0, 1, &fragment));
        }
        let mut frames = Frames::default();
        assert_eq!(frames.read(&bytes), vec![]);
        assert_eq!(frames.stop(), None);
        assert_eq!(frames.block.len(), HEADER_BLOCK_BYTES_MAX);
        let over = frame(TYPE_CONTINUATION, FLAG_END_HEADERS, 1, &[]);
        let mut over = over[..FRAME_HEADER_BYTES].to_vec();
        over[2] = 1;
        assert_eq!(frames.read(&over), vec![]);
        let block_bytes = HEADER_BLOCK_BYTES_MAX + 1;
        assert_eq!(
            frames.stop(),
            Some(Stop::HeaderBlockTooLong { block_bytes })
        );
        assert_eq!(frames.block.capacity(), 0);
    }

    #[test]
    fn a_single_frame_over_the_bound_stops_the_reader_at_its_header() {
        // The reader stops on the header alone, before any payload arrives.
        let mut bytes = PREFACE.to_vec();
        // A frame header announcing a 100,000-byte HEADERS payload.
        bytes.extend([0x01, 0x86, 0xa0, TYPE_HEADERS, FLAG_END_HEADERS, 0, 0, 0, 1]);
        let mut frames = Frames::default();
        assert_eq!(frames.read(&bytes), vec![]);
        let block_bytes = 100_000;
        assert_eq!(
            frames.stop(),
            Some(Stop::HeaderBlockTooLong { block_bytes })
        );
    }

    #[test]
    fn garbage_after_the_preface_stops_the_reader_and_later_requests_are_not_found() {
        // A header block that is no HPACK (an integer of too many octets),
        // then a good request: the reader stopped at the first and does not
        // read the second, whose stream the HPACK table may no longer match.
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 1, &[0xff; 8]));
        let block = request_block("/later", "9");
        bytes.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 3, &block));
        let (found, frames) = read_in_pieces(&bytes, || 5);
        assert_eq!(found, vec![]);
        let error = DecoderError::IntegerDecodingError(IntegerDecodingError::TooManyOctets);
        assert_eq!(frames.stop(), Some(Stop::Hpack(error)));
    }

    #[test]
    fn a_malformed_table_size_update_stops_the_reader() {
        // A size update whose integer runs past five octets: an error, not
        // the panic loona-hpack before 0.4.3 met it with.
        let mut bytes = PREFACE.to_vec();
        let block = [0x3f, 0xff, 0xff, 0xff, 0xff, 0xff];
        bytes.extend(frame(TYPE_HEADERS, FLAG_END_HEADERS, 1, &block));
        let (found, frames) = read_in_pieces(&bytes, || usize::MAX);
        assert_eq!(found, vec![]);
        let error = DecoderError::IntegerDecodingError(IntegerDecodingError::TooManyOctets);
        assert_eq!(frames.stop(), Some(Stop::Hpack(error)));
    }

    #[test]
    fn frames_breaking_the_framing_rules_stop_the_reader() {
        // Each case: the frames after the preface, and the stop they cause.
        let block = request_block("/x", "1");
        let cases = [
            (
                frame(TYPE_HEADERS, FLAG_END_HEADERS, 0, &block),
                Stop::HeadersWithoutStream,
            ),
            (
                frame(TYPE_CONTINUATION, FLAG_END_HEADERS, 1, &block),
                Stop::ContinuationUnexpected,
            ),
            (
                frame(TYPE_PUSH_PROMISE, FLAG_END_HEADERS, 1, &block),
                Stop::PushPromise,
            ),
            (
                frame(TYPE_HEADERS, FLAG_PADDED | FLAG_END_HEADERS, 1, &[9, 1, 2]),
                Stop::PaddingTooLong,
            ),
            (
                frame(TYPE_HEADERS, FLAG_PADDED | FLAG_END_HEADERS, 1, &[]),
                Stop::PaddingTooLong,
            ),
            (
                [frame(TYPE_HEADERS, 0, 1, &block), frame(0x0, 0, 1, b"data")].concat(),
                Stop::ContinuationMissing,
            ),
            (
                [
                    frame(TYPE_HEADERS, 0, 1, &block),
                    frame(TYPE_CONTINUATION, 0, 3, &[]),
                ]
                .concat(),
                Stop::ContinuationMissing,
            ),
        ];
        for (index, (after, stop)) in cases.into_iter().enumerate() {
            let bytes = [PREFACE.as_slice(), &after].concat();
            let (found, frames) = read_in_pieces(&bytes, || usize::MAX);
            assert_eq!(found, vec![], "case {index}");
            assert_eq!(frames.stop(), Some(stop), "case {index}");
        }
    }

    #[test]
    fn bytes_that_are_not_the_preface_stop_the_reader() {
        let mut frames = Frames::default();
        assert_eq!(frames.read(b"PRI * HTTP/2.0\r\n"), vec![]);
        assert_eq!(frames.stop(), None);
        assert_eq!(frames.read(b"\r\nXM"), vec![]);
        assert_eq!(frames.stop(), Some(Stop::NotPreface));
    }

    #[test]
    fn random_bytes_after_the_preface_never_panic() {
        // Seeded random frames and noise: the reader finds nothing and
        // stops or skips, but never panics or gathers past its bound.
        for seed in 0..300_u64 {
            let mut random = SmallRng::seed_from_u64(seed);
            let mut bytes = PREFACE.to_vec();
            for _ in 0..random.random_range(1..8) {
                let length = random.random_range(0..300);
                let kind = [0x0, TYPE_HEADERS, TYPE_CONTINUATION, 0x4, 0x8, 0xff]
                    [random.random_range(0..6)];
                let mut payload = vec![0; length];
                random.fill(&mut payload[..]);
                bytes.extend(frame(kind, random.random(), random.random(), &payload));
            }
            if random.random_bool(0.5) {
                let mut noise = vec![0; random.random_range(0..64)];
                random.fill(&mut noise[..]);
                bytes.extend(noise);
            }
            let (_, frames) = read_in_pieces(&bytes, || random.random_range(1..50));
            assert!(frames.block.len() <= HEADER_BLOCK_BYTES_MAX, "seed {seed}");
        }
    }

    #[test]
    fn the_opening_tells_http2_from_http1_even_in_pieces() {
        assert_eq!(Opening::of(b""), Opening::Partial);
        assert_eq!(Opening::of(b"PRI * HTTP/2.0\r\n"), Opening::Partial);
        assert_eq!(Opening::of(PREFACE), Opening::Http2);
        assert_eq!(
            Opening::of(&[PREFACE.as_slice(), b"\0\0"].concat()),
            Opening::Http2
        );
        assert_eq!(Opening::of(b"GET / HTTP/1.1\r\n"), Opening::Other);
        assert_eq!(Opening::of(b"PRI * HTTP/1.1\r\n"), Opening::Other);
        assert_eq!(Opening::of(b"P"), Opening::Partial);
        assert_eq!(Opening::of(b"PO"), Opening::Other);
    }
}
