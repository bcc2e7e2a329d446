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
