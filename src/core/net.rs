//! The network a process serves on: turmoil's simulated one, or real
//! loopback sockets under the threads backend. The harness's [`Listener`]
//! and [`Stream`] wrap either, so a service's code and every recording
//! stay the same.
//!
//! [`Listener`]: crate::Listener
//! [`Stream`]: crate::Stream

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Where a process's listener goes.
#[derive(Clone, Default)]
pub(crate) enum Net {
    /// turmoil's network: the host's own port.
    #[default]
    Simulated,
    /// Real loopback: an ephemeral port, published on the run's board.
    Real(Arc<Board>),
}

/// Where the current process of a real-threads run listens, if it does:
/// its clients connect there, and are refused while nothing listens (before
/// a start, between a listener's close and the next bind, after a kill).
#[derive(Debug, Default)]
pub(crate) struct Board {
    listening: Mutex<Option<SocketAddr>>,
}

impl Board {
    /// The address clients connect to now, if any.
    pub(crate) fn address(&self) -> Option<SocketAddr> {
        *self
            .listening
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes (or, with `None`, withdraws) the address the current
    /// process listens on.
    pub(crate) fn publish(&self, address: Option<SocketAddr>) {
        *self
            .listening
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = address;
    }

    /// A free loopback port, published as the current process's address,
    /// for a framework that binds its own listener ([`Launch::addr`]): a
    /// client that connects before it binds is refused, as it would be.
    ///
    /// [`Launch::addr`]: crate::Launch::addr
    pub(crate) fn reserve(&self) -> io::Result<SocketAddr> {
        let address = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?;
        self.publish(Some(address));
        Ok(address)
    }

    /// Withdraws `address` if it is the one published: a listener closing
    /// leaves a newer process's alone.
    fn withdraw(&self, address: SocketAddr) {
        let mut listening = self
            .listening
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *listening == Some(address) {
            *listening = None;
        }
    }
}

/// A listening socket: simulated, or real with the board it is published on.
pub(crate) enum Listening {
    Simulated(turmoil::net::TcpListener),
    Real(tokio::net::TcpListener, Arc<Board>),
}

impl Listening {
    /// Binds the service's port: `0.0.0.0:port` on its simulated host, or
    /// an ephemeral loopback port, published.
    pub(crate) async fn bind(net: &Net, port: u16) -> io::Result<Listening> {
        match net {
            Net::Simulated => {
                let listener =
                    turmoil::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).await?;
                Ok(Listening::Simulated(listener))
            }
            Net::Real(board) => {
                let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
                board.publish(Some(listener.local_addr()?));
                Ok(Listening::Real(listener, Arc::clone(board)))
            }
        }
    }

    pub(crate) async fn accept(&mut self) -> io::Result<(Socket, SocketAddr)> {
        match self {
            Listening::Simulated(listener) => {
                let (socket, peer) = listener.accept().await?;
                Ok((Socket::Simulated(socket), peer))
            }
            Listening::Real(listener, _) => {
                let (socket, peer) = listener.accept().await?;
                Ok((Socket::Real(socket), peer))
            }
        }
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Listening::Simulated(listener) => listener.local_addr(),
            Listening::Real(listener, _) => listener.local_addr(),
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        if let Listening::Real(listener, board) = self {
            if let Ok(address) = listener.local_addr() {
                board.withdraw(address);
            }
        }
    }
}

/// One connection's socket: simulated or real.
#[derive(Debug)]
pub(crate) enum Socket {
    Simulated(turmoil::net::TcpStream),
    Real(tokio::net::TcpStream),
}

impl Socket {
    /// Connects to the service: to `server:port` in the simulation, or to
    /// the address on the board, refused if nothing is published.
    pub(crate) async fn connect(net: &Net, server: &str, port: u16) -> io::Result<Socket> {
        match net {
            Net::Simulated => Ok(Socket::Simulated(
                turmoil::net::TcpStream::connect((server, port)).await?,
            )),
            Net::Real(board) => {
                let address = board
                    .address()
                    .ok_or_else(|| io::Error::from(io::ErrorKind::ConnectionRefused))?;
                let socket = tokio::net::TcpStream::connect(address).await?;
                // Requests are small: sent at once, as a client that turns
                // Nagle off sends them.
                socket.set_nodelay(true)?;
                Ok(Socket::Real(socket))
            }
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Simulated(socket) => Pin::new(socket).poll_read(cx, buf),
            Socket::Real(socket) => Pin::new(socket).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Simulated(socket) => Pin::new(socket).poll_write(cx, buf),
            Socket::Real(socket) => Pin::new(socket).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Simulated(socket) => Pin::new(socket).poll_flush(cx),
            Socket::Real(socket) => Pin::new(socket).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Simulated(socket) => Pin::new(socket).poll_shutdown(cx),
            Socket::Real(socket) => Pin::new(socket).poll_shutdown(cx),
        }
    }
}
