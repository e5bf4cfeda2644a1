//! evloop::hyper (feature "hyper"): hyper's server over evloop's streams, its
//! header-read timeout on evloop's timers, and the `hello_http` example.
#![cfg(feature = "hyper")]

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use evloop::hyper::{Io, Timer};
use evloop::{time, Builder};

/// Serves one connection over `stream` with a 1 s header-read timeout when
/// `timer` is set.
async fn serve<S>(stream: S, timer: bool) -> hyper::Result<()>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + 'static,
{
    let hello = hyper::service::service_fn(|_request| async {
        Ok::<_, Infallible>(hyper::Response::new(String::from("hello")))
    });
    let mut server = hyper::server::conn::http1::Builder::new();
    if timer {
        server
            .timer(Timer::new())
            .header_read_timeout(Duration::from_secs(1));
    }
    server.serve_connection(Io::new(stream), hello).await
}

#[test]
fn a_request_over_a_duplex_stream_is_answered() {
    let rt = Builder::new().virtual_time(true).build().unwrap();
    rt.block_on(async {
        let (mut client, server) = evloop::io::duplex(4096);
        let served = evloop::spawn(serve(server, true));
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: evloop\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        client.read_to_end(&mut response).await.unwrap();
        let response = String::from_utf8(response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        assert!(response.ends_with("\r\n\r\nhello"), "{response}");
        served.await.unwrap().unwrap();
    });
}

#[test]
fn the_header_timeout_cuts_a_silent_client_at_its_time() {
    let rt = Builder::new().virtual_time(true).build().unwrap();
    rt.block_on(async {
        for with_timer in [true, false] {
            let (mut client, server) = evloop::io::duplex(4096);
            let served = evloop::spawn(serve(server, with_timer));
            let start = time::now();
            let mut buf = [0u8; 64];
            let closed = time::timeout(Duration::from_secs(60), client.read(&mut buf)).await;
            if with_timer {
                assert_eq!(closed.unwrap().unwrap(), 0, "hyper closed the connection");
                assert_eq!(
                    time::now() - start,
                    Duration::from_secs(1),
                    "at 1 s exactly"
                );
                let err = served.await.unwrap().unwrap_err();
                assert!(err.is_timeout(), "hyper says why: {err}");
            } else {
                // Without a timer hyper turns its timeout off: a minute later the
                // silent client still holds its connection.
                assert!(closed.is_err());
                assert!(!served.is_finished());
                served.abort();
            }
        }
    });
}

/// The example's binary.
fn hello_http() -> Command {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    path.pop();
    path.push("examples");
    path.push("hello_http");
    assert!(path.exists(), "{} is missing", path.display());
    Command::new(path)
}

#[test]
fn hello_http_answers_and_cuts_a_client_that_sends_nothing() {
    let mut server = hello_http()
        .args(["--addr", "127.0.0.1:0", "--header-timeout", "0.5"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("{first:?}"))
        .to_string();

    let mut get = std::net::TcpStream::connect(&addr).unwrap();
    get.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    get.write_all(b"GET /hi HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    get.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with("hello from evloop\n"), "{response}");

    // Connects, sends nothing: cut off after the header timeout, not before.
    let mut silent = std::net::TcpStream::connect(&addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 64];
    let read = silent.read(&mut buf);
    let waited = start.elapsed();
    assert!(
        matches!(read, Ok(0)),
        "the server closed the connection: {read:?}"
    );
    assert!(
        waited >= Duration::from_millis(450),
        "not before 0.5 s: {waited:?}"
    );
    // What the server printed, up to its line about the cut connection.
    let mut printed = Vec::new();
    for line in lines.map_while(Result::ok) {
        let cut = line.contains("closed");
        printed.push(line);
        if cut {
            break;
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(printed.iter().any(|l| l.contains("GET /hi")), "{printed:?}");
    assert!(
        printed.last().is_some_and(|l| l.contains("timeout")),
        "the server says why it closed: {printed:?}"
    );
}
