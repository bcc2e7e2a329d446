//! [`Http`]: which HTTP a service speaks, and which its clients send.

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
    }
}
