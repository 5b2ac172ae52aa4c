//! A lean HTTP/1.1 keep-alive client connection for the hot path: the request goes out as
//! bytes prepared by the caller (a static request is serialised once per run), the response
//! head is parsed in place with `httparse`, and the body is counted (and kept only when
//! asked) as it streams through one reused read buffer. No task, no channel, no allocation
//! per request on the common path — the wrk model, where hyper's client spends most of a
//! generator's user time on per-request machinery.
//!
//! Framing follows RFC 9112 §6.3: no body for `HEAD`, 1xx, 204 and 304; chunked transfer
//! coding; `content-length`; otherwise the body runs to the end of the connection. Interim
//! 1xx responses are skipped. Any failure leaves the connection unusable.

use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::failure::{Failure, Response};
use super::stream::Stream;
use crate::recorder::ErrorKind;

/// Most response-head bytes accepted before the response is called malformed.
const MAX_HEAD: usize = 64 * 1024;
/// Most response headers parsed.
const MAX_HEADERS: usize = 64;
/// A connection idle longer than this is checked for a close by the peer before reuse.
const IDLE_CHECK: Duration = Duration::from_millis(10);

/// One HTTP/1.1 client connection.
pub struct H1Conn {
    stream: Stream,
    rbuf: BytesMut,
    usable: bool,
    last_used: Instant,
}

/// What the caller wants from one exchange.
#[derive(Debug, Clone, Copy)]
pub struct Want {
    /// The request is a `HEAD`: the response has no body whatever its headers say.
    pub head_request: bool,
    /// Keep the body bytes in the response.
    pub body: bool,
    /// Keep the response headers.
    pub headers: bool,
    /// Largest body accepted.
    pub max_body: usize,
}

/// How the response body is delimited.
enum Framing {
    Length(u64),
    Chunked,
    ToEof,
}

/// The parsed head of a final response.
struct Head {
    status: u16,
    framing: Framing,
    close: bool,
    headers: HeaderMap,
}

impl H1Conn {
    /// Wraps a connected stream (TCP or TLS).
    pub fn new(stream: Stream) -> Self {
        H1Conn {
            stream,
            rbuf: BytesMut::with_capacity(8 * 1024),
            usable: true,
            last_used: Instant::now(),
        }
    }

    /// Whether the connection can take another request.
    pub fn is_usable(&self) -> bool {
        self.usable
    }

    /// Writes `request` (a complete serialised request) and reads the whole response;
    /// `now` is the caller's clock reading for the send (saves reading it again).
    pub async fn send(
        &mut self,
        request: &[u8],
        want: Want,
        now: Instant,
    ) -> Result<Response, Failure> {
        self.usable = false;
        let idle = now.saturating_duration_since(self.last_used);
        self.last_used = now;
        if idle >= IDLE_CHECK && self.peer_closed() {
            return Err(reset("the server closed the idle connection"));
        }
        self.rbuf.clear();
        self.stream
            .write_all(request)
            .await
            .map_err(|e| io_failure(&e, "request", None))?;
        let head = self.read_head(want.headers).await?;
        let status = head.status;
        let no_body = want.head_request || status == 204 || status == 304;
        let body = if no_body {
            Bytes::new()
        } else {
            let fail = |f: Failure| Failure {
                status: Some(status),
                ..f
            };
            match head.framing {
                Framing::Length(n) => self.read_length(n, want).await.map_err(fail)?,
                Framing::Chunked => self.read_chunked(want).await.map_err(fail)?,
                Framing::ToEof => self.read_to_eof(want).await.map_err(fail)?,
            }
        };
        let to_eof = matches!(head.framing, Framing::ToEof) && !no_body;
        // Leftover bytes mean the server sent more than its framing said (nothing is
        // pipelined): the stream is lost, and the response cannot be trusted either.
        if !self.rbuf.is_empty() {
            return Err(Failure {
                status: Some(status),
                ..Failure::new(
                    ErrorKind::Protocol,
                    format!("{} bytes after a complete response", self.rbuf.len()),
                )
            });
        }
        self.usable = !head.close && !to_eof;
        Ok(Response {
            status,
            headers: head.headers,
            body: want.body.then_some(body),
        })
    }

    /// True when the peer has closed (or reset) the connection; never waits. Unsolicited
    /// bytes on an idle connection count as closed: it cannot carry a clean exchange.
    fn peer_closed(&mut self) -> bool {
        self.stream.peer_closed()
    }

    /// Reads more bytes into the buffer; end of stream is an error.
    async fn fill(&mut self, context: &str, status: Option<u16>) -> Result<(), Failure> {
        if self.rbuf.capacity() - self.rbuf.len() < 4096 {
            // Once the buffer is drained this reclaims its own allocation: it stays 8 KiB.
            self.rbuf.reserve(8 * 1024);
        }
        match self.stream.read_buf(&mut self.rbuf).await {
            Ok(0) => Err(Failure {
                status,
                ..reset(&format!(
                    "{context}: connection closed before the message completed"
                ))
            }),
            Ok(_) => Ok(()),
            Err(e) => Err(io_failure(&e, context, status)),
        }
    }

    async fn read_head(&mut self, keep_headers: bool) -> Result<Head, Failure> {
        loop {
            if let Some((len, head)) = parse_head(&self.rbuf, keep_headers)? {
                self.rbuf.advance(len);
                if (100..200).contains(&head.status) && head.status != 101 {
                    continue; // interim response (100 Continue, 103 Early Hints)
                }
                return Ok(head);
            }
            if self.rbuf.len() > MAX_HEAD {
                return Err(Failure::new(
                    ErrorKind::Protocol,
                    format!("response head larger than {MAX_HEAD} bytes"),
                ));
            }
            self.fill("request", None).await?;
        }
    }

    async fn read_length(&mut self, n: u64, want: Want) -> Result<Bytes, Failure> {
        if n > want.max_body as u64 {
            return Err(too_large(want.max_body));
        }
        let n = n as usize;
        if !want.body {
            // Not kept: count and forget what arrives, keeping the buffer small.
            let have = self.rbuf.len().min(n);
            self.rbuf.advance(have);
            self.skip(n - have).await?;
            return Ok(Bytes::new());
        }
        while self.rbuf.len() < n {
            self.rbuf.reserve(n - self.rbuf.len());
            self.fill("response body", None).await?;
        }
        Ok(self.rbuf.split_to(n).freeze())
    }

    /// Reads and drops exactly `left` more body bytes.
    async fn skip(&mut self, mut left: usize) -> Result<(), Failure> {
        while left > 0 {
            self.fill("response body", None).await?;
            let take = left.min(self.rbuf.len());
            self.rbuf.advance(take);
            left -= take;
        }
        Ok(())
    }

    async fn read_chunked(&mut self, want: Want) -> Result<Bytes, Failure> {
        let mut kept = BytesMut::new();
        let mut size = 0usize;
        loop {
            let (used, chunk) = loop {
                match httparse::parse_chunk_size(&self.rbuf) {
                    Ok(httparse::Status::Complete((used, chunk))) => break (used, chunk),
                    Ok(httparse::Status::Partial) => self.fill("response body", None).await?,
                    Err(_) => {
                        return Err(Failure::new(ErrorKind::Protocol, "invalid chunk size"));
                    }
                }
            };
            self.rbuf.advance(used);
            if chunk == 0 {
                self.skip_trailers().await?;
                return Ok(kept.freeze());
            }
            size = size.saturating_add(chunk as usize);
            if size > want.max_body {
                return Err(too_large(want.max_body));
            }
            let mut left = chunk as usize;
            while left > 0 {
                if self.rbuf.is_empty() {
                    self.fill("response body", None).await?;
                }
                let take = left.min(self.rbuf.len());
                if want.body {
                    kept.extend_from_slice(&self.rbuf[..take]);
                }
                self.rbuf.advance(take);
                left -= take;
            }
            while self.rbuf.len() < 2 {
                self.fill("response body", None).await?;
            }
            if &self.rbuf[..2] != b"\r\n" {
                return Err(Failure::new(
                    ErrorKind::Protocol,
                    "chunk not followed by CRLF",
                ));
            }
            self.rbuf.advance(2);
        }
    }

    /// Skips the trailer section after the last chunk, up to and including its empty line.
    async fn skip_trailers(&mut self) -> Result<(), Failure> {
        loop {
            match self.rbuf.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.rbuf.advance(2);
                    return Ok(());
                }
                Some(pos) => self.rbuf.advance(pos + 2),
                None if self.rbuf.len() > MAX_HEAD => {
                    return Err(Failure::new(ErrorKind::Protocol, "trailers too large"));
                }
                None => self.fill("response trailers", None).await?,
            }
        }
    }

    async fn read_to_eof(&mut self, want: Want) -> Result<Bytes, Failure> {
        let mut kept = BytesMut::new();
        let mut size = 0usize;
        loop {
            size += self.rbuf.len();
            if size > want.max_body {
                return Err(too_large(want.max_body));
            }
            if want.body {
                kept.extend_from_slice(&self.rbuf);
            }
            self.rbuf.clear();
            self.rbuf.reserve(16 * 1024);
            match self.stream.read_buf(&mut self.rbuf).await {
                Ok(0) => return Ok(kept.freeze()),
                Ok(_) => {}
                Err(e) => return Err(io_failure(&e, "response body", None)),
            }
        }
    }
}

/// Parses a response head at the start of `buf`: `None` if incomplete.
fn parse_head(buf: &[u8], keep_headers: bool) -> Result<Option<(usize, Head)>, Failure> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => {
            return Err(Failure::new(
                ErrorKind::Protocol,
                format!("invalid response head: {e}"),
            ));
        }
    };
    let status = resp.code.unwrap_or(0);
    let protocol = |msg: &str| Failure {
        status: Some(status),
        ..Failure::new(ErrorKind::Protocol, msg)
    };
    let mut length: Option<u64> = None;
    let mut codings = Codings::default();
    let mut close = resp.version == Some(0);
    let mut headers = HeaderMap::new();
    for h in resp.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            // RFC 9112 §6.3: a list of identical values is one value; anything else
            // (different values, signs, spaces inside, empty) is unrecoverable.
            for part in h.value.split(|&b| b == b',') {
                let n = content_length(part).ok_or_else(|| protocol("invalid content-length"))?;
                if length.is_some_and(|l| l != n) {
                    return Err(protocol("conflicting content-length values"));
                }
                length = Some(n);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            codings.add(h.value);
        } else if name.eq_ignore_ascii_case(b"connection") {
            if has_token(h.value, b"close") {
                close = true;
            } else if has_token(h.value, b"keep-alive") {
                close = false;
            }
        }
        if keep_headers
            && let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name),
                HeaderValue::from_bytes(h.value),
            )
        {
            headers.append(n, v);
        }
    }
    let framing = match (codings.seen, length) {
        (true, Some(_)) => {
            return Err(protocol(
                "both content-length and transfer-encoding (request smuggling risk)",
            ));
        }
        (true, None) if codings.chunked == 1 && codings.chunked_last => Framing::Chunked,
        (true, None) => {
            return Err(protocol(
                "transfer-encoding does not end in a single chunked coding",
            ));
        }
        (false, Some(n)) => Framing::Length(n),
        (false, None) => Framing::ToEof,
    };
    Ok(Some((
        len,
        Head {
            status,
            framing,
            close,
            headers,
        },
    )))
}

/// The transfer codings of a response, over every `transfer-encoding` header.
#[derive(Default)]
struct Codings {
    /// A `transfer-encoding` header was present.
    seen: bool,
    /// How many times `chunked` was listed.
    chunked: u32,
    /// Whether the last coding listed is `chunked`.
    chunked_last: bool,
}

impl Codings {
    fn add(&mut self, value: &[u8]) {
        self.seen = true;
        for t in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
            if t.is_empty() {
                continue;
            }
            let chunked = t.eq_ignore_ascii_case(b"chunked");
            self.chunked += u32::from(chunked);
            self.chunked_last = chunked;
        }
    }
}

/// A `content-length` value: ASCII digits only (no sign, no inner space), within `u64`.
fn content_length(v: &[u8]) -> Option<u64> {
    let v = v.trim_ascii();
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Whether a comma-separated header value contains `token` (case-insensitive).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

fn reset(message: &str) -> Failure {
    Failure::new(ErrorKind::ConnectionReset, message)
}

fn too_large(max: usize) -> Failure {
    Failure::new(
        ErrorKind::BodyTooLarge,
        format!("response body over {max} bytes"),
    )
}

fn io_failure(e: &std::io::Error, context: &str, status: Option<u16>) -> Failure {
    use std::io::ErrorKind as Io;
    if let Some(reason) = super::tls::tls_reason(e) {
        return Failure {
            status,
            ..Failure::new(ErrorKind::TlsHandshake, format!("{context}: TLS: {reason}"))
        };
    }
    let kind = match e.kind() {
        Io::ConnectionReset | Io::BrokenPipe | Io::ConnectionAborted | Io::UnexpectedEof => {
            ErrorKind::ConnectionReset
        }
        Io::TimedOut => ErrorKind::RequestTimeout,
        _ => ErrorKind::Other,
    };
    Failure {
        status,
        ..Failure::new(kind, format!("{context}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_framed_by_length_chunks_or_eof() {
        let (n, h) = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
            .unwrap()
            .unwrap();
        assert_eq!((n, h.status, h.close), (38, 200, false));
        assert!(matches!(h.framing, Framing::Length(2)));
        assert!(h.headers.is_empty());
        let (_, h) = parse_head(
            b"HTTP/1.1 201 X\r\ntransfer-encoding: gzip, chunked\r\nConnection: close\r\nx-id: 7\r\n\r\n",
            true,
        )
        .unwrap()
        .unwrap();
        assert!(matches!(h.framing, Framing::Chunked));
        assert!(h.close);
        assert_eq!(h.headers["x-id"], "7");
        let (_, h) = parse_head(b"HTTP/1.0 200 OK\r\n\r\n", false)
            .unwrap()
            .unwrap();
        assert!(matches!(h.framing, Framing::ToEof) && h.close);
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Le", false)
                .unwrap()
                .is_none()
        );
        let bad = parse_head(b"garbage that is not http\r\n\r\n", false)
            .err()
            .unwrap();
        assert_eq!(bad.kind, ErrorKind::Protocol);
    }

    /// A server that answers each of `replies` in turn, one per request head it reads.
    async fn serve(replies: Vec<&'static [u8]>) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            for reply in replies {
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let mut chunk = [0u8; 1024];
                    let n = sock.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                buf.clear();
                sock.write_all(reply).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn chunked_interim_and_eof_bodies_over_a_real_socket() {
        let addr = serve(vec![
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nt: 1\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\nuntil the end",
        ])
        .await;
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut c = H1Conn::new(Stream::Tcp(stream));
        let want = Want {
            head_request: false,
            body: true,
            headers: false,
            max_body: 1024,
        };
        let req = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";
        let r = c.send(req, want, Instant::now()).await.unwrap();
        assert_eq!((r.status, r.body.as_deref()), (200, Some(&b"abcde"[..])));
        assert!(c.is_usable());
        let r = c.send(req, want, Instant::now()).await.unwrap();
        assert_eq!((r.status, r.body.as_deref()), (204, Some(&b""[..])));
        let r = c.send(req, want, Instant::now()).await.unwrap();
        assert_eq!(r.body.as_deref(), Some(&b"until the end"[..]));
        assert!(
            !c.is_usable(),
            "a body delimited by close ends the connection"
        );
    }

    /// A server that writes `reply` to the first request in `pieces` writes (flushed apart),
    /// then reads until the client closes and reports that on the returned channel.
    async fn serve_once(
        reply: Vec<u8>,
        cuts: Vec<usize>,
    ) -> (std::net::SocketAddr, tokio::sync::oneshot::Receiver<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (closed_tx, closed) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            sock.set_nodelay(true).unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let mut at = 0;
            for cut in cuts.into_iter().chain([reply.len()]) {
                let cut = cut.clamp(at, reply.len());
                if sock.write_all(&reply[at..cut]).await.is_err() {
                    return;
                }
                at = cut;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            // End the stream (a body delimited by close ends here), then wait for the
            // client to close (bounded: the test's own timeout ends it).
            let _ = sock.shutdown().await;
            while matches!(sock.read(&mut chunk).await, Ok(n) if n > 0) {}
            let _ = closed_tx.send(());
        });
        (addr, closed)
    }

    const WANT: Want = Want {
        head_request: false,
        body: true,
        headers: false,
        max_body: 1 << 20,
    };

    /// Sends one request over a fresh connection to a server answering `reply`.
    async fn exchange(
        reply: &[u8],
        cuts: Vec<usize>,
    ) -> (
        Result<Response, Failure>,
        H1Conn,
        tokio::sync::oneshot::Receiver<()>,
    ) {
        let (addr, closed) = serve_once(reply.to_vec(), cuts).await;
        let mut c = H1Conn::new(Stream::Tcp(
            tokio::net::TcpStream::connect(addr).await.unwrap(),
        ));
        let r = tokio::time::timeout(
            Duration::from_secs(2),
            c.send(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", WANT, Instant::now()),
        )
        .await
        .expect("no hang: the client answers within the request timeout");
        (r, c, closed)
    }

    #[tokio::test]
    async fn framing_violations_are_protocol_errors_and_close_the_connection() {
        let cases: [(&str, &[u8]); 7] = [
            (
                "conflicting content-length",
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabc",
            ),
            (
                "conflicting content-length",
                b"HTTP/1.1 200 OK\r\nContent-Length: 3, 5\r\n\r\nabc",
            ),
            ("invalid content-length", b"HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc"),
            ("invalid content-length", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
            (
                "does not end in a single chunked",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            ),
            (
                "both content-length and transfer-encoding",
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            ),
            (
                "bytes after a complete response",
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n",
            ),
        ];
        for (why, reply) in cases {
            let (r, c, closed) = exchange(reply, vec![]).await;
            let f = r.err().unwrap_or_else(|| panic!("{why}: accepted"));
            assert_eq!(f.kind, ErrorKind::Protocol, "{why}: {}", f.message);
            assert!(f.message.contains(why), "{why}: {}", f.message);
            assert!(!c.is_usable(), "{why}: the connection is not reused");
            drop(c);
            tokio::time::timeout(Duration::from_secs(2), closed)
                .await
                .unwrap_or_else(|_| panic!("{why}: the connection was not closed"))
                .unwrap();
        }
        // Identical repeated lengths are one length (RFC 9112 §6.3).
        let (r, c, _) =
            exchange(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", vec![]).await;
        assert_eq!(r.unwrap().body.as_deref(), Some(&b"ok"[..]));
        assert!(c.is_usable());
    }

    /// Valid responses, each as (bytes, status, body).
    fn valid_responses() -> Vec<(&'static [u8], u16, &'static [u8])> {
        vec![
            (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-a: b\r\n\r\nhello", 200, b"hello"),
            (
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nt: 1\r\n\r\n",
                201,
                b"abcde",
            ),
            (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b""),
            (b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nuntil the end", 404, b"until the end"),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

        /// Every proper prefix of a valid head is incomplete; the whole parses.
        #[test]
        fn any_prefix_of_a_head_is_partial(which in 0usize..4) {
            let (bytes, status, _) = valid_responses()[which];
            let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            for cut in 0..end {
                proptest::prop_assert!(parse_head(&bytes[..cut], true).unwrap().is_none());
            }
            let (n, head) = parse_head(bytes, true).unwrap().unwrap();
            proptest::prop_assert_eq!(n, end);
            if status != 201 {
                proptest::prop_assert_eq!(head.status, status);
            }
        }

        /// Any split of a valid response across reads parses the same.
        #[test]
        fn any_split_across_reads_parses_the_same(
            which in 0usize..4,
            cuts in proptest::collection::vec(0usize..200, 0..6),
        ) {
            let (bytes, status, body) = valid_responses()[which];
            let mut cuts = cuts;
            cuts.sort_unstable();
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let r = rt.block_on(async { exchange(bytes, cuts).await.0 });
            let r = r.map_err(|f| f.message).unwrap();
            proptest::prop_assert_eq!(r.status, status);
            proptest::prop_assert_eq!(r.body.as_deref(), Some(body));
        }

        /// Hostile bytes never panic and never hang: the parser fails or waits for more,
        /// and over a socket the exchange ends (the server closes after writing).
        #[test]
        fn hostile_input_never_panics_nor_hangs(
            head in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            framed in 0usize..4,
        ) {
            let prefix: &[u8] = [
                &b""[..],
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
                b"HTTP/1.1 200 OK\r\n",
            ][framed];
            let mut reply = prefix.to_vec();
            reply.extend_from_slice(&head);
            reply.extend_from_slice(b"\r\n\r\n");
            reply.extend_from_slice(&tail);
            let _ = parse_head(&reply, true);
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = tokio::spawn(async move {
                    let (mut sock, _) = listener.accept().await.unwrap();
                    let mut chunk = [0u8; 1024];
                    let _ = sock.read(&mut chunk).await;
                    let _ = sock.write_all(&reply).await;
                    // Closing ends any body that runs to the end of the connection.
                });
                let mut c = H1Conn::new(Stream::Tcp(tokio::net::TcpStream::connect(addr).await.unwrap()));
                let r = tokio::time::timeout(
                    Duration::from_secs(2),
                    c.send(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", WANT, Instant::now()),
                )
                .await;
                server.abort();
                assert!(r.is_ok(), "hung on hostile input");
            });
        }
    }
}
