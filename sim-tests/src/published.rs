//! Published framework releases with known lifecycle bugs, run unmodified
//! through the public `Service` API as a user would: what the shipped
//! scenarios must find, within a small budget, and explain from the
//! framework's source.
//!
//! - **poem 2.0.1** cuts every request in flight when graceful shutdown
//!   begins. Its per-connection task selects between the connection and the
//!   server's shutdown token, and the token's branch drops the connection:
//!   hyper never gets to finish the response. poem 3.0.0 fixed it by calling
//!   hyper's `graceful_shutdown` on the connection and awaiting it, which is
//!   what `stock::poem` (3.1) runs.

use lifecycle_sim::{Listener, Service, Stream};

/// poem 2.0.1's route table and `Server`, served as its documentation shows
/// (`run_with_graceful_shutdown` with a 10s timeout) over the harness's
/// listener through a custom acceptor: the same app as `stock::poem`.
pub fn poem_2_0_1() -> Service {
    crate::poem_service!(poem_2_0_1, "poem-2-0-1", Acceptor)
}

/// The harness's listener as a poem 2 acceptor.
struct Acceptor(Listener);

#[async_trait::async_trait]
impl poem_2_0_1::listener::Acceptor for Acceptor {
    type Io = Stream;

    fn local_addr(&self) -> Vec<poem_2_0_1::web::LocalAddr> {
        self.0
            .local_addr()
            .map(|address| poem_2_0_1::web::LocalAddr(poem_2_0_1::Addr::SocketAddr(address)))
            .into_iter()
            .collect()
    }

    async fn accept(
        &mut self,
    ) -> std::io::Result<(
        Stream,
        poem_2_0_1::web::LocalAddr,
        poem_2_0_1::web::RemoteAddr,
        poem_2_0_1::http::uri::Scheme,
    )> {
        let (stream, peer) = self.0.accept().await?;
        let local = self.0.local_addr()?;
        Ok((
            stream,
            poem_2_0_1::web::LocalAddr(poem_2_0_1::Addr::SocketAddr(local)),
            poem_2_0_1::web::RemoteAddr(poem_2_0_1::Addr::SocketAddr(peer)),
            poem_2_0_1::http::uri::Scheme::HTTP,
        ))
    }
}
