//! The byte stream every protocol client runs on: plain TCP or TLS over TCP, one enum so the
//! clients are written once and dispatch stays static (a `match`, no `dyn`, no allocation).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::failure::Failure;
use crate::recorder::ErrorKind;

/// A connected stream.
pub enum Stream {
    /// Plain TCP (`http://`, `ws://`).
    Tcp(TcpStream),
    /// TLS over TCP (`https://`, `wss://`); boxed, as the TLS state is large.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    /// True when the peer has closed (or reset) the connection, or sent bytes nobody asked
    /// for; never waits.
    pub fn peer_closed(&mut self) -> bool {
        let mut probe = [0u8; 1];
        match self {
            Stream::Tcp(s) => match s.try_read(&mut probe) {
                Ok(_) => true,
                Err(e) => e.kind() != io::ErrorKind::WouldBlock,
            },
            Stream::Tls(s) => {
                // TLS records (session tickets, close_notify) need the TLS layer: poll it
                // once without a task to wake. Pending means idle and open.
                let mut cx = Context::from_waker(std::task::Waker::noop());
                let mut buf = ReadBuf::new(&mut probe);
                Pin::new(&mut **s).poll_read(&mut cx, &mut buf).is_ready()
            }
        }
    }
}

impl AsyncRead for Stream {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
        }
    }

    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(&mut **s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// Whether a connect failure is the generator's own limit (descriptors, ephemeral ports,
/// socket memory) rather than anything the target did.
pub fn generator_side(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::EADDRNOTAVAIL | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Opens a TCP connection (no delay) to `addr`, classifying failures.
pub async fn tcp_connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, Failure> {
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Err(_) => {
            return Err(Failure::new(
                ErrorKind::ConnectTimeout,
                format!("connect to {addr} timed out"),
            ));
        }
        Ok(Err(e)) => {
            let kind = if e.kind() == io::ErrorKind::ConnectionRefused {
                ErrorKind::ConnectRefused
            } else if generator_side(&e) {
                ErrorKind::GeneratorError
            } else {
                ErrorKind::ConnectError
            };
            return Err(Failure::new(kind, format!("connect to {addr}: {e}")));
        }
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    Ok(stream)
}
