//! [`Http`]: which HTTP a service speaks, and which its clients send;
//! [`Protocol`]: what its requests carry over it, plain HTTP or gRPC.

use std::fmt;

/// An HTTP version, as a service serves it or a scenario's clients send it.
///
/// A service declares what it serves ([`Service::http`](crate::Service::http));
/// a scenario says what its clients send (`[run] http`), and runs only
/// against services that serve it. The kubelet's `http` probes are
/// HTTP/1.1 whatever the scenario's clients send, as Kubernetes' are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Http {
    /// HTTP/1.1 (`"1.1"`).
    #[default]
    One,
    /// HTTP/2 over cleartext with prior knowledge, h2c (`"2"`): clients
    /// send the connection preface at once, as gRPC clients do.
    Two,
    /// A service that serves both on one port, telling them apart by the
    /// HTTP/2 preface (`"auto"`), as hyper-util's auto builder does. Not a
    /// client's choice.
    Auto,
}

impl Http {
    /// Whether a service serving `self` answers clients sending `clients`.
    pub fn serves(self, clients: Http) -> bool {
        matches!(
            (self, clients),
            (Http::Auto, _) | (Http::One, Http::One) | (Http::Two, Http::Two)
        )
    }

    /// Its name in a scenario file.
    pub fn name(self) -> &'static str {
        match self {
            Http::One => "1.1",
            Http::Two => "2",
            Http::Auto => "auto",
        }
    }

    /// The version with this name in a scenario file.
    pub fn from_name(name: &str) -> Option<Http> {
        [Http::One, Http::Two, Http::Auto]
            .into_iter()
            .find(|http| http.name() == name)
    }
}

impl fmt::Display for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Http::One => f.write_str("HTTP/1.1"),
            Http::Two => f.write_str("HTTP/2 (h2c)"),
            Http::Auto => f.write_str("HTTP/1.1 and HTTP/2"),
        }
    }
}

/// The method of the gRPC Health Checking Protocol, as the kubelet's `grpc`
/// probes call it (Kubernetes 1.24 and later). As a service's health or
/// readiness path it checks the server as a whole (`service` empty);
/// `GRPC_HEALTH_CHECK` followed by `?service=` and a name checks that name,
/// as a probe's `grpc.service` field does.
pub const GRPC_HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";

/// The Health service name a path checks, if it is a gRPC health check
/// ([`GRPC_HEALTH_CHECK`], with `?service=` and a name or without): the
/// method's path is what goes on the wire, the name in the request.
pub(crate) fn health_check_service(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(GRPC_HEALTH_CHECK)?;
    if rest.is_empty() {
        return Some("");
    }
    rest.strip_prefix("?service=")
}

/// What a service's requests carry: plain HTTP requests, or gRPC calls
/// (unary calls over HTTP/2, their outcome in `grpc-status`).
///
/// A service declares it ([`Service::protocol`](crate::Service::protocol);
/// `Service::tonic` declares gRPC); a scenario says what its clients send
/// (`[run] protocol`) and what the kubelet probes with (`[kubelet] probe`),
/// and runs only against services that serve it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// Plain HTTP requests (`"http"`): a GET, or a POST with a body.
    #[default]
    Http,
    /// gRPC unary calls (`"grpc"`): a POST of one empty message, which
    /// every method takes (protobuf gives each field its default), over
    /// HTTP/2. A call answered `OK` counts as a 200; `UNAVAILABLE` with no
    /// response message as refused (gRPC clients retry it);
    /// `DEADLINE_EXCEEDED` as the client's timeout; any other status as the
    /// HTTP status Google's API design guide maps it to (`CANCELLED` 499,
    /// `INTERNAL` 500, `UNIMPLEMENTED` 501, ...). A 5xx that ends a call the
    /// server read after its SIGTERM is judged a cut, as a reset is.
    Grpc,
}

impl Protocol {
    /// Its name in a scenario file.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Grpc => "grpc",
        }
    }

    /// The protocol with this name in a scenario file.
    pub fn from_name(name: &str) -> Option<Protocol> {
        [Protocol::Http, Protocol::Grpc]
            .into_iter()
            .find(|protocol| protocol.name() == name)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Http => f.write_str("plain HTTP"),
            Protocol::Grpc => f.write_str("gRPC"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_serves_what_it_declares_and_auto_serves_both() {
        assert!(Http::One.serves(Http::One));
        assert!(!Http::One.serves(Http::Two));
        assert!(Http::Two.serves(Http::Two));
        assert!(!Http::Two.serves(Http::One));
        assert!(Http::Auto.serves(Http::One) && Http::Auto.serves(Http::Two));
        for http in [Http::One, Http::Two, Http::Auto] {
            assert_eq!(Http::from_name(http.name()), Some(http));
        }
        assert_eq!(Http::from_name("3"), None);
        for protocol in [Protocol::Http, Protocol::Grpc] {
            assert_eq!(Protocol::from_name(protocol.name()), Some(protocol));
        }
        assert_eq!(Protocol::from_name("thrift"), None);
    }

    #[test]
    fn a_health_check_path_names_its_service() {
        assert_eq!(health_check_service(GRPC_HEALTH_CHECK), Some(""));
        let named = format!("{GRPC_HEALTH_CHECK}?service=echo.Echo");
        assert_eq!(health_check_service(&named), Some("echo.Echo"));
        assert_eq!(health_check_service("/grpc.health.v1.Health/Watch"), None);
        assert_eq!(health_check_service("/health"), None);
    }
}
