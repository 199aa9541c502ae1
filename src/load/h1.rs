//! Quick mode's HTTP/1.1 keep-alive client: one prebuilt request written as it is, the
//! response head parsed by `httparse` (hyper's own parser) into a stack array, the body framed
//! by `Content-Length`, `Transfer-Encoding: chunked`, or the end of the connection, and read
//! into one buffer per connection. Nothing is allocated per request unless the response is a
//! failure (status ≥ 400), whose headers and body are kept for the report's sample.
//!
//! Why not hyper here (it was used before; measured in docs/benchmarks.md): hyper's client
//! drives each connection from its own task and hands every request and response across a
//! channel, builds a `HeaderMap` per response, and reads once more after each response only to
//! find the socket empty. For one fixed GET or POST repeated as fast as possible, that was most
//! of the generator's own CPU. This client runs inside the worker's task and makes one `write`
//! and one `read` per request (the socket's readiness is cleared once a response is complete,
//! so the next read waits for the kernel's event instead of trying first).

use std::io;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, HOST, TRANSFER_ENCODING, USER_AGENT};
use hyper::Method;
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;

/// Most headers a response may carry (hyper's default limit).
const MAX_HEADERS: usize = 100;
/// Read buffer per connection; a response head must fit in [`MAX_HEAD`].
const BUF: usize = 16 * 1024;
const MAX_HEAD: usize = 1024 * 1024;

/// A request serialised once: request line, headers, body.
pub fn serialize(
    method: &Method,
    path: &str,
    authority: &str,
    headers: &[(HeaderName, HeaderValue)],
    body: &[u8],
) -> Bytes {
    let mut all: Vec<(HeaderName, HeaderValue)> = Vec::new();
    let agent = concat!("harness/", env!("CARGO_PKG_VERSION"));
    let defaults = [
        (HOST, HeaderValue::from_str(authority).ok()),
        (USER_AGENT, Some(HeaderValue::from_static(agent))),
    ];
    for (name, value) in defaults {
        all.extend(value.map(|v| (name, v)));
    }
    for (name, value) in headers {
        // The body's framing is ours (as hyper's was): a given length or encoding is replaced.
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        // The last value given for a name wins, in the place of the first (`HeaderMap::insert`).
        match all.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.clone(),
            None => all.push((name.clone(), value.clone())),
        }
    }
    if !body.is_empty() {
        all.push((CONTENT_LENGTH, HeaderValue::from(body.len())));
    }
    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(format!("{method} {path} HTTP/1.1\r\n").as_bytes());
    for (name, value) in &all {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// A response as the caller needs it: the status, and for a failure its headers (names in
/// lower case, as hyper gives them) and body.
#[derive(Debug, Default)]
pub struct Reply {
    pub status: u16,
    pub headers: Option<Vec<(String, String)>>,
    pub body: Bytes,
}

/// Why an exchange failed: an I/O error, or a response that is not HTTP/1.x.
#[derive(Debug)]
pub enum Failure {
    Io(io::Error),
    /// The connection was closed or reset before a byte of the response came (on a reused
    /// connection, one the server had closed: the request can be sent again on a new one).
    ClosedBeforeResponse,
    Protocol(String),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Io(e) => write!(f, "{e}"),
            Failure::ClosedBeforeResponse => f.write_str("connection closed before the response"),
            Failure::Protocol(m) => write!(f, "invalid HTTP response: {m}"),
        }
    }
}

/// How the body of a response ends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

/// What the head of a response says.
#[derive(Debug)]
struct Head {
    len: usize,
    status: u16,
    framing: Framing,
    /// The connection may carry another request afterwards.
    keep_alive: bool,
    headers: Option<Vec<(String, String)>>,
}

/// One keep-alive connection and its read buffer (`buf[start..end]` is unread).
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Requests sent on it (a fresh connection has 0).
    pub used: u64,
}

impl Conn {
    pub async fn connect(addr: &str) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            buf: vec![0; BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            used: 0,
        })
    }

    /// Sends `request` and reads the response to its end. `Ok((reply, reusable))`.
    pub async fn exchange(&mut self, request: &[u8], head: bool) -> Result<(Reply, bool), Failure> {
        self.used += 1;
        if let Err(e) = self.stream.write_all(request).await {
            return Err(match e.kind() {
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                    Failure::ClosedBeforeResponse
                }
                _ => e.into(),
            });
        }
        let h = loop {
            let h = self.head(head).await?;
            // 1xx: an interim response (101 is not expected: no upgrade was asked for).
            if (100..200).contains(&h.status) && h.status != 101 {
                self.start += h.len;
                continue;
            }
            break h;
        };
        self.start += h.len;
        let keep = h.headers.is_some();
        let body = match h.framing {
            Framing::Empty => Vec::new(),
            Framing::Length(n) => self.body_of_length(n, keep).await?,
            Framing::Chunked => self.chunked(keep).await?,
            Framing::UntilClose => self.until_close(keep).await?,
        };
        let reusable = h.keep_alive
            && h.status != 101
            && h.framing != Framing::UntilClose
            && self.start == self.end;
        if reusable {
            self.quiet();
        }
        let reply = Reply {
            status: h.status,
            headers: h.headers,
            body: Bytes::from(body),
        };
        Ok((reply, reusable))
    }

    /// Reads until a whole response head is buffered, and parses it.
    async fn head(&mut self, head_request: bool) -> Result<Head, Failure> {
        loop {
            if self.end > self.start {
                if let Some(h) = parse_head(&self.buf[self.start..self.end], head_request)? {
                    return Ok(h);
                }
            }
            let first = self.start == self.end;
            let n = match self.fill().await {
                Err(Failure::Io(e)) if first && e.kind() == io::ErrorKind::ConnectionReset => 0,
                other => other?,
            };
            if n == 0 {
                return Err(if first {
                    Failure::ClosedBeforeResponse
                } else {
                    Failure::Protocol("connection closed in the response head".into())
                });
            }
        }
    }

    /// Reads more into the buffer (making room first); 0 at the end of the stream.
    async fn fill(&mut self) -> Result<usize, Failure> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            } else if self.buf.len() < MAX_HEAD {
                let mut bigger = vec![0; self.buf.len() * 2].into_boxed_slice();
                bigger[..self.end].copy_from_slice(&self.buf[..self.end]);
                self.buf = bigger;
            } else {
                return Err(Failure::Protocol("response head over 1 MiB".into()));
            }
        }
        loop {
            self.stream.readable().await?;
            match self.stream.try_read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Takes up to `n` buffered bytes (into `keep` when given); returns how many.
    fn take(&mut self, n: u64, keep: Option<&mut Vec<u8>>) -> u64 {
        let avail = (self.end - self.start).min(usize::try_from(n).unwrap_or(usize::MAX));
        if let Some(body) = keep {
            body.extend_from_slice(&self.buf[self.start..self.start + avail]);
        }
        self.start += avail;
        avail as u64
    }

    async fn body_of_length(&mut self, mut n: u64, keep: bool) -> Result<Vec<u8>, Failure> {
        let mut body = Vec::new();
        loop {
            n -= self.take(n, keep.then_some(&mut body));
            if n == 0 {
                return Ok(body);
            }
            if self.fill().await? == 0 {
                return Err(Failure::Protocol("connection closed in the body".into()));
            }
        }
    }

    async fn chunked(&mut self, keep: bool) -> Result<Vec<u8>, Failure> {
        let mut body = Vec::new();
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.start += used;
                        break size;
                    }
                    Ok(httparse::Status::Partial) => self.more("chunk size").await?,
                    Err(_) => return Err(Failure::Protocol("invalid chunk size".into())),
                }
            };
            if size == 0 {
                return self.trailers().await.map(|()| body);
            }
            let mut left = size;
            while left > 0 {
                left -= self.take(left, keep.then_some(&mut body));
                if left > 0 {
                    self.more("chunk").await?;
                }
            }
            while self.end - self.start < 2 {
                self.more("chunk").await?;
            }
            if &self.buf[self.start..self.start + 2] != b"\r\n" {
                return Err(Failure::Protocol("chunk not followed by CRLF".into()));
            }
            self.start += 2;
        }
    }

    /// Skips the trailer section of a chunked body, up to its empty line.
    async fn trailers(&mut self) -> Result<(), Failure> {
        loop {
            let unread = &self.buf[self.start..self.end];
            match unread.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.start += 2;
                    return Ok(());
                }
                Some(i) => self.start += i + 2,
                None => self.more("trailers").await?,
            }
        }
    }

    /// Reads more, or fails: the connection ended inside `what`.
    async fn more(&mut self, what: &str) -> Result<(), Failure> {
        match self.fill().await? {
            0 => Err(Failure::Protocol(format!(
                "connection closed in the {what}"
            ))),
            _ => Ok(()),
        }
    }

    async fn until_close(&mut self, keep: bool) -> Result<Vec<u8>, Failure> {
        let mut body = Vec::new();
        loop {
            self.take(u64::MAX, keep.then_some(&mut body));
            if self.fill().await? == 0 {
                return Ok(body);
            }
        }
    }

    /// Marks the socket as not readable: the response was read to its end and nothing else
    /// is expected before the next request, so the next read waits for the kernel's event
    /// instead of first trying a read that would find the socket empty. (A close by the server
    /// in between is then seen at the next request: its write is answered by a reset.)
    fn quiet(&self) {
        let _ = self.stream.try_io(Interest::READABLE, || {
            Err::<(), _>(io::Error::from(io::ErrorKind::WouldBlock))
        });
    }
}

/// Parses a response head at the start of `buf`; `None` when more is needed.
fn parse_head(buf: &[u8], head_request: bool) -> Result<Option<Head>, Failure> {
    // Room for 32 headers first (clearing room for 100 on every response costs more than the
    // parse); a response with more is parsed again with room for 100.
    let mut few = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut few);
    match resp.parse(buf) {
        Err(httparse::Error::TooManyHeaders) => {
            let mut many = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut many);
            let parsed = resp.parse(buf);
            read_head(&resp, parsed, head_request)
        }
        parsed => read_head(&resp, parsed, head_request),
    }
}

/// What a parsed head says (`parsed`: httparse's result over the buffer).
fn read_head(
    resp: &httparse::Response<'_, '_>,
    parsed: httparse::Result<usize>,
    head_request: bool,
) -> Result<Option<Head>, Failure> {
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(Failure::Protocol(e.to_string())),
    };
    let status = resp.code.unwrap_or(0);
    let http11 = resp.version == Some(1);
    let mut length: Option<u64> = None;
    let mut chunked = None;
    let mut close = !http11;
    for h in resp.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| Failure::Protocol("invalid content-length".into()))?;
            if length.is_some_and(|l| l != n) {
                return Err(Failure::Protocol("conflicting content-length".into()));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked when chunked is the last coding; any other: the body ends at the close.
            let last = h.value.rsplit(|b| *b == b',').next().unwrap_or_default();
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|b| *b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && !http11 {
                    close = false;
                }
            }
        }
    }
    let framing = if head_request || status == 204 || status == 304 || status < 200 {
        Framing::Empty
    } else {
        match (chunked, length) {
            (Some(true), _) => Framing::Chunked,
            (Some(false), _) => Framing::UntilClose,
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::UntilClose,
        }
    };
    let headers = (status >= 400).then(|| {
        resp.headers
            .iter()
            .map(|h| {
                let value = String::from_utf8_lossy(h.value).into_owned();
                (h.name.to_ascii_lowercase(), value)
            })
            .collect()
    });
    Ok(Some(Head {
        len,
        status,
        framing,
        keep_alive: !close,
        headers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    /// A server that reads one request head per response in `replies`, answers it with the
    /// bytes given (in pieces, to exercise partial reads), and closes after the last one.
    async fn serve(
        replies: Vec<Vec<&'static [u8]>>,
    ) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = Vec::new();
            for pieces in replies {
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let mut chunk = [0u8; 1024];
                    let n = s.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                seen.push(String::from_utf8_lossy(&buf[..end]).into_owned());
                buf.drain(..end);
                for p in pieces {
                    s.write_all(p).await.unwrap();
                    s.flush().await.unwrap();
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            }
            seen
        });
        (addr, task)
    }

    /// Tests are bounded in time: a client waiting for a readiness it cleared would hang.
    async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(std::time::Duration::from_secs(5), f)
            .await
            .expect("the exchange ended within 5 s")
    }

    fn get(path: &str, addr: &str) -> Bytes {
        serialize(&Method::GET, path, addr, &[], b"")
    }

    #[tokio::test]
    async fn content_length_and_chunked_responses_reuse_the_connection() {
        let (addr, server) = serve(vec![
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", b"lo"],
            vec![
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
                b"2;x=1\r\nde\r\n0\r\nT: 1\r\n\r\n",
            ],
            vec![b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\nRetry-After: 1\r\n\r\nbusy"],
            vec![b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"],
        ])
        .await;
        let mut c = Conn::connect(&addr).await.unwrap();
        let req = get("/a?b=1", &addr);
        let (r, reuse) = bounded(c.exchange(&req, false)).await.unwrap();
        assert_eq!((r.status, reuse, r.headers.is_none()), (200, true, true));
        assert!(r.body.is_empty(), "a success's body is not kept");
        let (r, reuse) = bounded(c.exchange(&req, false)).await.unwrap();
        assert_eq!((r.status, reuse), (200, true));
        let (r, reuse) = bounded(c.exchange(&req, false)).await.unwrap();
        assert_eq!((r.status, reuse, &r.body[..]), (503, true, &b"busy"[..]));
        let headers = r.headers.unwrap();
        assert!(
            headers.contains(&("retry-after".into(), "1".into())),
            "{headers:?}"
        );
        let (r, reuse) = bounded(c.exchange(&req, false)).await.unwrap();
        assert_eq!((r.status, reuse), (204, true));
        let seen = server.await.unwrap();
        assert_eq!(seen.len(), 4);
        assert!(
            seen[0].starts_with("GET /a?b=1 HTTP/1.1\r\nhost: 127.0.0.1:"),
            "{}",
            seen[0]
        );
        assert!(seen[0].contains("\r\nuser-agent: harness/"), "{}", seen[0]);
    }

    #[tokio::test]
    async fn close_and_read_to_end_responses_are_not_reused() {
        let (addr, server) = serve(vec![vec![
            b"HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno",
        ]])
        .await;
        let mut c = Conn::connect(&addr).await.unwrap();
        let (r, reuse) = bounded(c.exchange(&get("/", &addr), false)).await.unwrap();
        assert_eq!((r.status, reuse, &r.body[..]), (500, false, &b"no"[..]));
        server.await.unwrap();

        let (addr, server) = serve(vec![vec![
            &b"HTTP/1.0 404 Not Found\r\n\r\nto "[..],
            b"the end",
        ]])
        .await;
        let mut c = Conn::connect(&addr).await.unwrap();
        let (r, reuse) = bounded(c.exchange(&get("/", &addr), false)).await.unwrap();
        assert_eq!(
            (r.status, reuse, &r.body[..]),
            (404, false, &b"to the end"[..])
        );
        server.await.unwrap();
    }

    #[tokio::test]
    async fn truncated_and_malformed_responses_are_failures() {
        let cases: [(&'static [u8], &str); 4] = [
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                "closed in the body",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "invalid chunk size",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Le",
                "closed in the response head",
            ),
            (b"SMTP ready\r\n\r\n", "invalid HTTP response"),
        ];
        for (reply, want) in cases {
            let (addr, server) = serve(vec![vec![reply]]).await;
            let mut c = Conn::connect(&addr).await.unwrap();
            let err = bounded(c.exchange(&get("/", &addr), false))
                .await
                .unwrap_err();
            assert!(err.to_string().contains(want), "{err} (want {want})");
            server.await.unwrap();
        }
        // A connection closed before any byte of the response can be retried.
        let (addr, server) = serve(vec![vec![]]).await;
        let mut c = Conn::connect(&addr).await.unwrap();
        let err = bounded(c.exchange(&get("/", &addr), false))
            .await
            .unwrap_err();
        assert!(matches!(err, Failure::ClosedBeforeResponse), "{err}");
        server.await.unwrap();
    }

    #[test]
    fn requests_carry_their_body_length_and_the_last_header_given() {
        let h = |n: &str, v: &str| {
            (
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            )
        };
        let headers = [
            h("X-A", "1"),
            h("Host", "example"),
            h("x-a", "2"),
            h("Content-Length", "99"),
        ];
        let req = serialize(&Method::POST, "/p", "127.0.0.1:9", &headers, b"{}");
        let text = String::from_utf8(req.to_vec()).unwrap();
        let agent = concat!("harness/", env!("CARGO_PKG_VERSION"));
        assert_eq!(
            text,
            format!("POST /p HTTP/1.1\r\nhost: example\r\nuser-agent: {agent}\r\nx-a: 2\r\ncontent-length: 2\r\n\r\n{{}}")
        );
    }
}
