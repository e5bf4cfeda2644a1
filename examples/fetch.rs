//! What it shows: waiting for several servers one after another takes the sum of
//! their delays; waiting for them all at once takes the longest delay. A blocking
//! client inside async tasks brings back the sum — unless it runs on the blocking
//! pool.
//! What to look for: the `total` line of each mode. With no URLs the example
//! starts its own server whose delays add up to 1.5 s, the longest being 0.5 s.
//! Try next: `--mode concurrent http://127.0.0.1:1/` to see an error reported
//! while the other fetches complete.
//!
//! Lesson 4 of the README's six. The notes fetched six URLs with `urlopen` inside
//! coroutines: still one at a time, in request order, the total near the sum —
//! `urlopen` blocks the loop; through `run_in_executor` the total fell to about
//! half, a little over the slowest fetch, with results in completion order. The
//! client here speaks plain HTTP/1.1 (`Content-Length`, chunked, and bodiless
//! responses); `https://` is reported as unsupported. Every fetch gives up after
//! 10 s.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use evloop::net::{TcpListener, TcpStream};
use evloop::time::{sleep, timeout};
use evloop::JoinSet;

/// The delays (ms) the local server is asked for when no URL is given.
const DELAYS: [u64; 5] = [300, 100, 500, 200, 400];

/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// How a fetch went: the body's size in bytes, or what went wrong.
type Outcome = Result<usize, String>;

fn main() {
    common::quit_quietly_when_stdout_closes();
    let (mode, mut urls) = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            return println!(
                "{}\n\n{}",
                common::lesson(include_str!("fetch.rs")),
                usage()
            )
        }
        Err(message) => {
            eprintln!("fetch: {message}\n\n{}", usage());
            std::process::exit(2);
        }
    };
    if urls.is_empty() {
        let server = start_demo_server();
        urls = DELAYS
            .iter()
            .map(|ms| format!("http://{server}/delay/{ms}"))
            .collect();
    }
    let start = Instant::now();
    let outcomes = evloop::run(fetch_all(&mode, urls));
    println!("total: {:.2} s", start.elapsed().as_secs_f64());
    if outcomes.iter().any(Result::is_err) {
        std::process::exit(1);
    }
}

/// Fetches every URL the way `mode` says, printing each result as it completes.
async fn fetch_all(mode: &str, urls: Vec<String>) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    if mode == "sequential" {
        for url in urls {
            let started = Instant::now();
            let outcome = fetch(&url).await;
            report(&url, &outcome, started.elapsed());
            outcomes.push(outcome);
        }
        return outcomes;
    }
    let mut fetches = JoinSet::new();
    for url in urls {
        let mode = mode.to_string();
        fetches.spawn(async move {
            let started = Instant::now();
            let outcome = match mode.as_str() {
                "concurrent" => fetch(&url).await,
                // A blocking call straight inside a task: it holds the loop.
                "blocking" => fetch_blocking(&url),
                // The same call on the blocking pool: run_in_executor.
                _ => {
                    let job_url = url.clone();
                    evloop::spawn_blocking(move || fetch_blocking(&job_url))
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()))
                }
            };
            (url, outcome, started.elapsed())
        });
    }
    while let Some(done) = fetches.join_next().await {
        let (url, outcome, took) = done.expect("a fetch task panicked");
        report(&url, &outcome, took);
        outcomes.push(outcome);
    }
    outcomes
}

/// Prints one result line: the URL, the bytes or the error, the seconds it took.
fn report(url: &str, outcome: &Outcome, took: Duration) {
    let seconds = took.as_secs_f64();
    match outcome {
        Ok(bytes) => println!("{url}  {bytes} bytes  {seconds:.2} s"),
        Err(reason) => println!("{url}  error: {reason}  {seconds:.2} s"),
    }
}

/// Where a URL points.
#[derive(Debug)]
struct Target {
    /// The host name or address.
    host: String,
    /// The port (80 if the URL gives none).
    port: u16,
    /// The path and query, starting with `/`.
    path: String,
}

/// Splits an `http://host[:port][/path][#fragment]` URL; the scheme is
/// case-insensitive, an IPv6 host is written in brackets (`http://[::1]:8080/`),
/// and the fragment stays with the client, as browsers keep it.
fn parse_url(url: &str) -> Result<Target, String> {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) => {
            return Err(format!(
                "unsupported scheme {scheme:?}: only http:// is spoken"
            ))
        }
        None => return Err("not a URL: expected http://host/path".into()),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) if rest[at..].starts_with('?') => (&rest[..at], format!("/{}", &rest[at..])),
        Some(at) => (&rest[..at], rest[at..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: `[addr]` or `[addr]:port`.
        Some(bracketed) => match bracketed.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, port)) => (host, Some(port.strip_prefix(':').unwrap_or(port))),
            None => return Err(format!("no closing ']' in {authority:?}")),
        },
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(port) => port.parse().map_err(|_| format!("bad port {port:?}"))?,
        None => 80,
    };
    if host.is_empty() {
        return Err("no host in the URL".into());
    }
    Ok(Target {
        host: host.to_string(),
        port,
        path,
    })
}

/// The request line and headers for `target`.
fn request(target: &Target) -> String {
    let host = match target.host.contains(':') {
        true => format!("[{}]", target.host), // IPv6
        false => target.host.clone(),
    };
    let host = match target.port {
        80 => host,
        port => format!("{host}:{port}"),
    };
    format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: evloop-fetch\r\nConnection: close\r\n\r\n",
        target.path
    )
}

/// Fetches `url` on the event loop.
async fn fetch(url: &str) -> Outcome {
    let target = parse_url(url)?;
    let exchange = async {
        let mut stream = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| e.to_string())?;
        stream
            .write_all(request(&target).as_bytes())
            .await
            .map_err(|e| format!("sending the request failed: {e}"))?;
        let mut response = Response::default();
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("reading the response failed: {e}"))?;
            if let Some(bytes) = response.push(&chunk[..n])? {
                return Ok(bytes);
            }
        }
    };
    timeout(FETCH_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("timed out after {} s", FETCH_TIMEOUT.as_secs())))
}

/// Fetches `url` with a blocking `std::net` client: holds its thread until done.
fn fetch_blocking(url: &str) -> Outcome {
    let target = parse_url(url)?;
    let addr = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| format!("could not resolve {}: {e}", target.host))?
        .next()
        .ok_or_else(|| format!("{} has no address", target.host))?;
    let mut stream = std::net::TcpStream::connect_timeout(&addr, FETCH_TIMEOUT)
        .map_err(|e| format!("could not connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(FETCH_TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(request(&target).as_bytes())
        .map_err(|e| format!("sending the request failed: {e}"))?;
    let mut response = Response::default();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return Err(format!("timed out after {} s", FETCH_TIMEOUT.as_secs()))
            }
            Err(e) => return Err(format!("reading the response failed: {e}")),
        };
        if let Some(bytes) = response.push(&chunk[..n])? {
            return Ok(bytes);
        }
    }
}

/// The longest response head (status line and headers) the client accepts.
const MAX_HEAD: usize = 64 * 1024;

/// A response as it arrives, parsed once: the headers when they are complete,
/// then the body's framing, chunk by chunk — never again from the start, so a
/// body of many small chunks costs no more than one big one.
#[derive(Default)]
struct Response {
    /// What arrived so far, once the headers are parsed only the body's unparsed
    /// rest.
    bytes: Vec<u8>,
    /// How the body ends, once the headers are in.
    framing: Option<Framing>,
    /// Body bytes counted so far.
    body: usize,
}

/// How a response body's end is known.
enum Framing {
    /// After this many bytes (`Content-Length`).
    Length(usize),
    /// At the zero-length chunk (`Transfer-Encoding: chunked`).
    Chunked,
    /// When the server closes the connection.
    Close,
}

impl Response {
    /// Takes the next bytes read (`[]`: the server closed the connection); returns
    /// the body's length once it is complete, or why the response is malformed.
    fn push(&mut self, data: &[u8]) -> Result<Option<usize>, String> {
        let ended = data.is_empty();
        self.bytes.extend_from_slice(data);
        if self.framing.is_none() && self.bytes.len() > MAX_HEAD {
            return Err(format!(
                "malformed response: headers longer than {MAX_HEAD} bytes"
            ));
        }
        if self.framing.is_none() {
            let Some((head, body_start)) = split_head(&self.bytes) else {
                return match ended {
                    true => Err("malformed response: it ended inside the headers".into()),
                    false => Ok(None),
                };
            };
            let framing = framing(&String::from_utf8_lossy(head))?;
            self.bytes.drain(..body_start);
            self.framing = Some(framing);
        }
        match self.framing {
            Some(Framing::Length(length)) => {
                self.body += self.bytes.len();
                self.bytes.clear();
                match self.body >= length {
                    true => Ok(Some(length)),
                    false if ended => Err(format!(
                        "malformed response: {} of {length} bytes",
                        self.body
                    )),
                    false => Ok(None),
                }
            }
            Some(Framing::Chunked) => self.next_chunks(ended),
            _ => {
                self.body += self.bytes.len();
                self.bytes.clear();
                Ok(ended.then_some(self.body))
            }
        }
    }

    /// Counts the complete chunks that arrived and drops them; the body's length
    /// once the last (zero-length) chunk is in.
    fn next_chunks(&mut self, ended: bool) -> Result<Option<usize>, String> {
        let mut at = 0;
        while let Some(line_end) = self.bytes[at..].iter().position(|&b| b == b'\n') {
            let size_text = String::from_utf8_lossy(&self.bytes[at..at + line_end]);
            let size_hex = size_text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_hex, 16)
                .map_err(|_| format!("malformed response: chunk size {size_hex:?}"))?;
            if size == 0 {
                return Ok(Some(self.body));
            }
            let chunk_end = at + line_end + 1 + size + 2; // data, then CRLF
            if self.bytes.len() < chunk_end {
                break;
            }
            self.body += size;
            at = chunk_end;
        }
        self.bytes.drain(..at);
        match ended {
            true => Err("malformed response: the chunked body ended early".into()),
            false => Ok(None),
        }
    }
}

/// The headers and where the body starts, once a blank line ends them (CRLF, or a
/// bare LF as some servers send).
fn split_head(bytes: &[u8]) -> Option<(&[u8], usize)> {
    let end = bytes
        .windows(2)
        .position(|w| w == b"\n\n" || w == b"\n\r")?;
    let body_start = match bytes[end + 1] {
        b'\n' => end + 2,
        _ if bytes.get(end + 2) == Some(&b'\n') => end + 3,
        _ => return None, // "\n\r" not yet followed by its "\n"
    };
    Some((&bytes[..end], body_start))
}

/// How the body of a response with these headers ends, or why there will be no
/// body worth reading (an error status).
fn framing(head: &str) -> Result<Framing, String> {
    let mut lines = head.lines().map(|line| line.trim_end_matches('\r'));
    let status = lines.next().unwrap_or_default();
    let code = match status.split(' ').collect::<Vec<_>>()[..] {
        [version, code, ..] if version.to_ascii_uppercase().starts_with("HTTP/1.") => code,
        _ => return Err(format!("malformed response: status line {status:?}")),
    };
    if !code.starts_with('2') {
        let reason = status.split_once(' ').map_or(status, |s| s.1);
        return Err(format!("the server answered {reason:?}"));
    }
    if code == "204" || code == "205" {
        return Ok(Framing::Length(0)); // no body, whatever the headers say
    }
    let headers: Vec<(&str, &str)> = lines.filter_map(|line| line.split_once(':')).collect();
    let header = |name: &str| {
        let found = headers
            .iter()
            .find(|(key, _)| key.trim().eq_ignore_ascii_case(name));
        found.map(|(_, value)| value.trim())
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return Ok(Framing::Chunked);
    }
    match header("content-length") {
        Some(length) => length
            .parse()
            .map(Framing::Length)
            .map_err(|_| format!("malformed response: Content-Length {length:?}")),
        None => Ok(Framing::Close),
    }
}

/// Starts the demo server on its own thread with its own runtime — never on the
/// loop that fetches, which `blocking` mode holds up — and returns its address.
fn start_demo_server() -> SocketAddr {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("fetch-server".into())
        .spawn(move || {
            evloop::run(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
                ready_tx
                    .send(listener.local_addr().expect("an address"))
                    .expect("main waits");
                loop {
                    if let Ok((stream, _)) = listener.accept().await {
                        evloop::spawn(serve(stream));
                    }
                }
            })
        })
        .expect("the server thread");
    ready_rx.recv().expect("the server started")
}

/// Answers one request: `/delay/<ms>` after that many milliseconds, else 404.
async fn serve(mut stream: TcpStream) {
    let mut request = Vec::new();
    let mut chunk = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let delay = text
        .strip_prefix("GET /delay/")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|ms| ms.parse::<u64>().ok());
    let response = match delay {
        Some(ms) => {
            sleep(Duration::from_millis(ms)).await;
            let body = format!("waited {ms} ms\n");
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    };
    let _ = stream.write_all(response.as_bytes()).await;
}

/// `Ok(None)` for `--help`; else the mode and the URLs.
fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> Result<Option<(String, Vec<String>)>, String> {
    let mut mode = String::from("sequential");
    let mut urls = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--mode" => mode = args.next().ok_or("--mode needs a value")?,
            url if !url.starts_with("--") => urls.push(url.to_string()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !["sequential", "concurrent", "blocking", "executor"].contains(&mode.as_str()) {
        return Err(format!("unknown mode {mode:?}"));
    }
    Ok(Some((mode, urls)))
}

/// The `--help` text.
fn usage() -> &'static str {
    "usage: fetch [--mode MODE] [http://URL ...]

Fetches the URLs (default: five /delay/<ms> URLs of a local demo server) and
prints one line per URL as it completes, then the total time.

modes:
  sequential  one await after another: total ≈ the sum of the delays (default)
  concurrent  one task per URL: total ≈ the longest delay
  blocking    a blocking std::net client inside the tasks: ≈ the sum again
  executor    the blocking client through spawn_blocking: ≈ the longest delay"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `response` to a parser in pieces of `piece` bytes, then the close;
    /// returns the first verdict.
    fn parse(response: &[u8], piece: usize) -> Result<Option<usize>, String> {
        let mut parser = Response::default();
        for part in response.chunks(piece) {
            if let Some(done) = parser.push(part)? {
                return Ok(Some(done));
            }
        }
        parser.push(&[])
    }

    #[test]
    fn urls_with_capitals_ipv6_hosts_queries_and_fragments_parse() {
        let target = parse_url("HTTP://[::1]:8767/a?b=1#section").unwrap();
        assert_eq!(
            (target.host.as_str(), target.port, target.path.as_str()),
            ("::1", 8767, "/a?b=1")
        );
        assert!(request(&target).contains("Host: [::1]:8767\r\n"));
        assert!(
            request(&target).starts_with("GET /a?b=1 HTTP/1.1\r\n"),
            "no fragment sent"
        );
        let target = parse_url("http://[::1]/").unwrap();
        assert_eq!((target.host.as_str(), target.port), ("::1", 80));
        let target = parse_url("http://example.com?q").unwrap();
        assert_eq!(
            (target.host.as_str(), target.path.as_str()),
            ("example.com", "/?q")
        );
        assert!(request(&target).contains("Host: example.com\r\n"));
        assert!(parse_url("https://example.com/")
            .unwrap_err()
            .contains("only http://"));
        assert!(parse_url("http://[::1/").unwrap_err().contains("']'"));
    }

    #[test]
    fn a_response_without_a_body_is_complete_at_its_blank_line() {
        let no_content = b"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n";
        let mut parser = Response::default();
        assert_eq!(
            parser.push(no_content),
            Ok(Some(0)),
            "no wait for the close"
        );
        let not_modified = b"HTTP/1.1 304 Not Modified\r\n\r\n";
        assert!(Response::default()
            .push(not_modified)
            .unwrap_err()
            .contains("304"));
    }

    #[test]
    fn headers_ending_in_bare_newlines_are_understood() {
        let response = b"HTTP/1.0 200 OK\nContent-Length: 5\n\nhello";
        let mut parser = Response::default();
        assert_eq!(
            parser.push(response),
            Ok(Some(5)),
            "complete without the close"
        );
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", 1),
            Ok(Some(2))
        );
    }

    #[test]
    fn endless_headers_are_refused() {
        let mut parser = Response::default();
        let long = vec![b'x'; MAX_HEAD + 1];
        assert!(parser.push(&long).unwrap_err().contains("headers longer"));
    }

    /// A chunked body of `size` bytes in 100-byte chunks.
    fn chunked(size: usize) -> Vec<u8> {
        let mut response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..size / 100 {
            response.extend_from_slice(b"64\r\n");
            response.extend_from_slice(&[b'.'; 100]);
            response.extend_from_slice(b"\r\n");
        }
        response.extend_from_slice(b"0\r\n\r\n");
        response
    }

    #[test]
    fn a_body_of_many_small_chunks_costs_time_in_proportion_to_its_size() {
        let (small, large) = (chunked(250_000), chunked(1_000_000));
        assert_eq!(parse(&small, 8192), Ok(Some(250_000)));
        let once = |response: &[u8]| {
            let start = std::time::Instant::now();
            assert!(parse(response, 8192).unwrap().is_some());
            start.elapsed()
        };
        // The fastest of five, taken in turns: a busy machine only slows a run.
        let (mut small_best, mut large_best) = (std::time::Duration::MAX, std::time::Duration::MAX);
        for _ in 0..5 {
            small_best = small_best.min(once(&small));
            large_best = large_best.min(once(&large));
        }
        let (small, large) = (
            small_best.max(std::time::Duration::from_micros(1)),
            large_best,
        );
        // Four times the bytes: about four times the time, never the sixteen a
        // parser that starts over at every read would take.
        assert!(
            large < small * 10,
            "4x the body took {large:?} vs {small:?}"
        );
    }

    #[test]
    fn a_refused_connection_is_reported_with_the_address() {
        let outcome = evloop::run(fetch("http://127.0.0.1:1/"));
        assert!(outcome.unwrap_err().contains("127.0.0.1:1"));
    }

    #[test]
    fn an_ipv6_server_is_fetched() {
        let Ok(listener) = std::net::TcpListener::bind("[::1]:0") else {
            return; // no IPv6 loopback on this machine
        };
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let n = stream.read(&mut request).unwrap();
            assert!(String::from_utf8_lossy(&request[..n]).contains(&format!("Host: [::1]:{port}")));
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nsix")
                .unwrap();
        });
        let outcome = evloop::run(fetch(&format!("http://[::1]:{port}/#top")));
        assert_eq!(outcome, Ok(3));
        server.join().unwrap();
    }
}
