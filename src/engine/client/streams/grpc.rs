//! gRPC unary calls as the clients make them, and what their answers mean.
//!
//! A call is a POST of one length-prefixed message (gRPC's framing: a
//! compression flag, a 4-byte big-endian length, the bytes) with
//! `content-type: application/grpc`; its outcome is the `grpc-status` of
//! the response's trailers, or of its headers when the server answers
//! with headers only. The clients send the empty message, a valid request
//! of every method (protobuf gives each absent field its default), so a
//! scenario calls a user's methods without knowing their types. The
//! kubelet's `grpc` probe sends `grpc.health.v1.HealthCheckRequest` with
//! its service name, and passes on `SERVING`, as Kubernetes' prober does.

use crate::case::trace::Outcome;

/// The bytes of the message a health check's answer is read from, at most:
/// a `HealthCheckResponse` is a few bytes.
pub(super) const MESSAGE_BYTES_MAX: usize = 1024;

/// `grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING`.
const SERVING: u64 = 1;

/// gRPC status codes the outcome tells apart.
const OK: u32 = 0;
const CANCELLED: u32 = 1;
const DEADLINE_EXCEEDED: u32 = 4;
const UNAVAILABLE: u32 = 14;

/// What a gRPC response said, as the HTTP/2 stream carried it.
#[derive(Debug, Default)]
pub(super) struct Answer {
    /// The HTTP status of its headers.
    pub(super) status: u16,
    /// Its `grpc-status`, from the trailers or a headers-only answer.
    pub(super) grpc_status: Option<u32>,
    /// The first [`MESSAGE_BYTES_MAX`] bytes of its body.
    pub(super) message: Vec<u8>,
    /// Whether any body came (a response message was sent).
    pub(super) data: bool,
}

/// A request message framed as gRPC sends it: the empty message, or a
/// `HealthCheckRequest` naming `service` for a health check.
pub(crate) fn request_body(health_service: Option<&str>) -> Vec<u8> {
    let mut message = Vec::new();
    if let Some(service) = health_service.filter(|service| !service.is_empty()) {
        // Field 1, `service`, length-delimited.
        message.push(0x0a);
        put_varint(&mut message, service.len() as u64);
        message.extend_from_slice(service.as_bytes());
    }
    let mut framed = vec![0];
    // A message the harness builds is far below 4 GiB.
    framed.extend_from_slice(
        &u32::try_from(message.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    framed.extend_from_slice(&message);
    framed
}

/// The outcome of a call: `OK` is a 200 (for a health check, only if it
/// says `SERVING`; any other serving status is a 503, a failed probe);
/// `UNAVAILABLE` with no response message is refused, unprocessed, as
/// gRPC clients retry it; `DEADLINE_EXCEEDED` is the client's timeout;
/// any other status is the HTTP status Google's API design guide maps it
/// to (`CANCELLED` 499, as tonic's own server timeout answers; a call a
/// server drops reaches its client as a reset stream instead). The judge
/// takes a 5xx that ends a call the drain caught for a cut. A response
/// that is not a gRPC one (another HTTP status, or no `grpc-status`)
/// keeps its HTTP status, or is a 500 (gRPC's `INTERNAL`) if that was 200.
pub(super) fn outcome(answer: &Answer, health: bool) -> Outcome {
    if answer.status != 200 {
        return Outcome::Status(answer.status);
    }
    match answer.grpc_status {
        None => Outcome::Status(500),
        Some(OK) if health => match serving_status(&answer.message) {
            Some(SERVING) => Outcome::Status(200),
            _ => Outcome::Status(503),
        },
        Some(OK) => Outcome::Status(200),
        Some(UNAVAILABLE) if !answer.data => Outcome::Refused,
        Some(DEADLINE_EXCEEDED) => Outcome::TimedOut,
        Some(code) => Outcome::Status(http_status(code)),
    }
}

/// The HTTP status of a gRPC status code, as Google's API design guide
/// (`google.rpc.Code`) maps them.
fn http_status(code: u32) -> u16 {
    match code {
        // CANCELLED: "Client Closed Request".
        CANCELLED => 499,
        // INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE.
        3 | 9 | 11 => 400,
        // UNAUTHENTICATED.
        16 => 401,
        // PERMISSION_DENIED.
        7 => 403,
        // NOT_FOUND.
        5 => 404,
        // ALREADY_EXISTS, ABORTED.
        6 | 10 => 409,
        // RESOURCE_EXHAUSTED.
        8 => 429,
        // UNIMPLEMENTED.
        12 => 501,
        // UNAVAILABLE (with a response message).
        14 => 503,
        // UNKNOWN, INTERNAL, DATA_LOSS, and codes gRPC does not define.
        _ => 500,
    }
}

/// The `status` field of a framed `HealthCheckResponse`; `None` if the
/// bytes are not one whole message. An absent field is 0, `UNKNOWN`.
fn serving_status(framed: &[u8]) -> Option<u64> {
    let (&compressed, rest) = framed.split_first()?;
    let length = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let mut message = rest.get(4..4 + length)?;
    if compressed != 0 {
        return None;
    }
    let mut status = 0;
    while !message.is_empty() {
        let key = take_varint(&mut message)?;
        match (key >> 3, key & 7) {
            (1, 0) => status = take_varint(&mut message)?,
            (_, 0) => drop(take_varint(&mut message)?),
            (_, 1) => message = message.get(8..)?,
            (_, 2) => {
                let length = usize::try_from(take_varint(&mut message)?).ok()?;
                message = message.get(length..)?;
            }
            (_, 5) => message = message.get(4..)?,
            _ => return None,
        }
    }
    Some(status)
}

/// Appends `value` as a protobuf varint.
fn put_varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

/// Reads a protobuf varint off the front of `bytes`: at most ten bytes.
fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0_u64;
    for (index, &byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            *bytes = &bytes[index + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(grpc_status: u32, message: &[u8]) -> Answer {
        Answer {
            status: 200,
            grpc_status: Some(grpc_status),
            message: message.to_vec(),
            data: !message.is_empty(),
        }
    }

    #[test]
    fn the_empty_message_is_five_zero_bytes_and_a_health_check_names_its_service() {
        assert_eq!(request_body(None), [0; 5]);
        assert_eq!(request_body(Some("")), [0; 5]);
        assert_eq!(request_body(Some("ready")), b"\0\0\0\0\x07\x0a\x05ready");
    }

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(outcome(&answered(OK, &[0; 5]), false), Outcome::Status(200));
        assert_eq!(
            outcome(&answered(UNAVAILABLE, &[]), false),
            Outcome::Refused
        );
        assert_eq!(
            outcome(&answered(UNAVAILABLE, &[0; 5]), false),
            Outcome::Status(503)
        );
        assert_eq!(
            outcome(&answered(DEADLINE_EXCEEDED, &[]), false),
            Outcome::TimedOut
        );
        assert_eq!(
            outcome(&answered(CANCELLED, &[]), false),
            Outcome::Status(499)
        );
        assert_eq!(outcome(&answered(12, &[]), false), Outcome::Status(501));
        assert_eq!(outcome(&answered(13, &[]), false), Outcome::Status(500));
        assert_eq!(outcome(&answered(5, &[]), false), Outcome::Status(404));
        let missing = Answer {
            status: 200,
            ..Answer::default()
        };
        assert_eq!(outcome(&missing, false), Outcome::Status(500));
        let proxy = Answer {
            status: 502,
            ..Answer::default()
        };
        assert_eq!(outcome(&proxy, false), Outcome::Status(502));
    }

    #[test]
    fn a_health_check_passes_on_serving_only() {
        let serving = b"\0\0\0\0\x02\x08\x01";
        let not_serving = b"\0\0\0\0\x02\x08\x02";
        assert_eq!(outcome(&answered(OK, serving), true), Outcome::Status(200));
        assert_eq!(
            outcome(&answered(OK, not_serving), true),
            Outcome::Status(503)
        );
        // An absent status is UNKNOWN; an unknown field is skipped.
        assert_eq!(outcome(&answered(OK, &[0; 5]), true), Outcome::Status(503));
        let with_extra = b"\0\0\0\0\x07\x12\x03abc\x08\x01";
        assert_eq!(
            outcome(&answered(OK, with_extra), true),
            Outcome::Status(200)
        );
        // A truncated or malformed message is not SERVING.
        assert_eq!(
            outcome(&answered(OK, b"\0\0\0\0\x02\x08"), true),
            Outcome::Status(503)
        );
        assert_eq!(
            outcome(&answered(OK, b"\0\0\0\0\x01\xff"), true),
            Outcome::Status(503)
        );
        assert_eq!(
            outcome(&answered(OK, b"\x01\0\0\0\x02\x08\x01"), true),
            Outcome::Status(503)
        );
        assert_eq!(outcome(&answered(UNAVAILABLE, &[]), true), Outcome::Refused);
    }
}
