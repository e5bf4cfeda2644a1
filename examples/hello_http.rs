//! What it shows: hyper's HTTP/1 server on evloop, through `evloop::hyper` (feature
//! `hyper`): a listener, a task per connection, and hyper's header-read timeout on
//! the loop's timers.
//! What to look for: `curl http://127.0.0.1:8080/` answers `hello from evloop`;
//! `nc 127.0.0.1 8080`, sending nothing, is cut off after `--header-timeout`
//! seconds, and the server prints why.
//! Try next: drop the `.timer(…)` line: hyper then silently turns its timeouts off,
//! and the silent `nc` keeps its connection for ever.
//!
//! Run it with `cargo run --example hello_http --features hyper`.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use evloop::hyper::{Io, Timer};
use evloop::net::TcpListener;

fn main() {
    common::quit_quietly_when_stdout_closes();
    let (addr, header_timeout) = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            return println!(
                "{}\n\n{USAGE}",
                common::lesson(include_str!("hello_http.rs"))
            )
        }
        Err(message) => {
            eprintln!("hello_http: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    evloop::run(async move {
        let listener = match TcpListener::bind(addr.as_str()).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("hello_http: {e}");
                std::process::exit(1);
            }
        };
        let local = listener.local_addr().expect("a bound listener's address");
        println!("listening on http://{local}/ (header timeout {header_timeout:?})");
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    println!("accept: {e}");
                    continue;
                }
            };
            evloop::spawn(async move {
                let hello = hyper::service::service_fn(|request| async move {
                    println!("{peer}: {} {}", request.method(), request.uri());
                    let body = String::from("hello from evloop\n");
                    Ok::<_, Infallible>(hyper::Response::new(body))
                });
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(Timer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(Io::new(stream), hello)
                    .await;
                if let Err(e) = served {
                    println!("{peer}: closed: {e}");
                }
            });
        }
    });
}

/// The `--help` text.
const USAGE: &str = "usage: hello_http [--addr HOST:PORT] [--header-timeout SECONDS]

--addr            where to listen (default 127.0.0.1:8080; port 0 picks a free one)
--header-timeout  how long a client may take to send its request's headers (default 5)";

/// `Ok(None)` for `--help`; else the address and the header timeout.
fn parse_args(
    mut args: impl Iterator<Item = String>,
) -> Result<Option<(String, Duration)>, String> {
    let mut addr = String::from("127.0.0.1:8080");
    let mut timeout = Duration::from_secs(5);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--addr" => addr = args.next().ok_or("--addr needs a value")?,
            "--header-timeout" => {
                let value = args.next().ok_or("--header-timeout needs a value")?;
                timeout = match value.parse::<f64>() {
                    Ok(s) if s > 0.0 && s.is_finite() => Duration::from_secs_f64(s),
                    _ => return Err(format!("--header-timeout {value:?}: give seconds above 0")),
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some((addr, timeout)))
}
