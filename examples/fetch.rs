//! What it shows: waiting for several servers one after another takes the sum of
//! their delays; waiting for them all at once takes the longest delay. A blocking
//! client inside async tasks brings back the sum — unless it runs on the blocking
//! pool.
//! What to look for: the `total` line of each mode. With no URLs the example
//! starts its own server whose delays add up to 1.5 s, the longest being 0.5 s.
//! Try next: `--mode concurrent http://127.0.0.1:1/` to see an error reported
//! while the other fetches complete.
//!
//! Lesson 4 of LESSONS.md. The client speaks plain HTTP/1.1 (`Content-Length` and
//! chunked bodies); `https://` is reported as unsupported. Every fetch gives up
//! after 10 s.

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
    let (mode, mut urls) = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => return println!("{}", usage()),
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
struct Target {
    /// The host name or address.
    host: String,
    /// The port (80 if the URL gives none).
    port: u16,
    /// The path and query, starting with `/`.
    path: String,
}

/// Splits an `http://host[:port][/path]` URL.
fn parse_url(url: &str) -> Result<Target, String> {
    let rest = match url.split_once("://") {
        Some(("http", rest)) => rest,
        Some((scheme, _)) => {
            return Err(format!(
                "unsupported scheme {scheme:?}: only http:// is spoken"
            ))
        }
        None => return Err("not a URL: expected http://host/path".into()),
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse().map_err(|_| format!("bad port {port:?}"))?,
        ),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err("no host in the URL".into());
    }
    Ok(Target {
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

/// The request line and headers for `target`.
fn request(target: &Target) -> String {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: evloop-fetch\r\nConnection: close\r\n\r\n",
        target.path, target.host
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
        let mut response = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("reading the response failed: {e}"))?;
            response.extend_from_slice(&chunk[..n]);
            if let Some(bytes) = body_length(&response, n == 0)? {
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
    let mut response = Vec::new();
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
        response.extend_from_slice(&chunk[..n]);
        if let Some(bytes) = body_length(&response, n == 0)? {
            return Ok(bytes);
        }
    }
}

/// The body's length once `response` holds all of it (`None`: read more), or
/// why it is malformed. `ended` says the server closed the connection.
fn body_length(response: &[u8], ended: bool) -> Result<Option<usize>, String> {
    let Some(header_end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if ended {
            Err("malformed response: it ended inside the headers".into())
        } else {
            Ok(None)
        };
    };
    let head = String::from_utf8_lossy(&response[..header_end]);
    let body = &response[header_end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = match status.split(' ').collect::<Vec<_>>()[..] {
        [version, code, ..] if version.starts_with("HTTP/1.") => code,
        _ => return Err(format!("malformed response: status line {status:?}")),
    };
    if !code.starts_with('2') {
        return Err(format!(
            "the server answered {:?}",
            status.split_once(' ').map_or(status, |s| s.1)
        ));
    }
    let header = |name: &str| {
        head.split("\r\n")
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_string())
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return chunked_length(body, ended);
    }
    match header("content-length") {
        Some(length) => {
            let length: usize = length
                .parse()
                .map_err(|_| format!("malformed response: Content-Length {length:?}"))?;
            match body.len() >= length {
                true => Ok(Some(length)),
                false if ended => Err(format!(
                    "malformed response: {} of {length} bytes",
                    body.len()
                )),
                false => Ok(None),
            }
        }
        None => Ok(ended.then_some(body.len())),
    }
}

/// The length of a chunked body once its last chunk has arrived.
fn chunked_length(mut body: &[u8], ended: bool) -> Result<Option<usize>, String> {
    let mut total = 0;
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("malformed response: chunk size {size_hex:?}"))?;
        if size == 0 {
            return Ok(Some(total));
        }
        let chunk_end = line_end + 2 + size + 2;
        if body.len() < chunk_end {
            break;
        }
        total += size;
        body = &body[chunk_end..];
    }
    if ended {
        Err("malformed response: the chunked body ended early".into())
    } else {
        Ok(None)
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
