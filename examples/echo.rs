//! What it shows: one event loop serving many TCP connections at once, and one
//! loop driving many client connections — no thread per connection.
//! What to look for: `requests/s: N`, the round trips per second the clients got.
//! Try next: run `server` in one terminal and `client` in another, with more
//! `--connections`, and stop the server with Ctrl-C: it stops accepting, lets the
//! open connections finish for up to `--grace` seconds, and cuts the rest. Then
//! compare with tokio: `cargo bench --manifest-path benches/Cargo.toml --bench net`.
//!
//! Lesson 6 of the README's six. Each request is a line of text; the server sends
//! it back. A client that disconnects mid-line does not disturb the server; a
//! client reports errors instead of panicking.

mod common;

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use evloop::net::{TcpListener, TcpStream};
use evloop::sync::CancellationToken;

/// What the clients send, one line per request.
const MESSAGE: &[u8] = b"hello, event loop\n";

/// What to run, from the command line.
enum Role {
    /// Serve at an address until Ctrl-C (or killed), on this many loops (threads).
    Server {
        /// Where to listen.
        addr: String,
        /// How many loops, each on its own thread with its own listener.
        threads: usize,
        /// On Ctrl-C, how long the open connections may go on (one loop).
        grace: Duration,
    },
    /// Connect to an address and measure.
    Client {
        /// The server's address.
        addr: String,
        /// How many connections at once.
        connections: usize,
        /// How long to measure.
        seconds: f64,
    },
    /// Both in one process, for 3 s.
    Demo,
}

fn main() {
    common::quit_quietly_when_stdout_closes();
    let role = match parse_args(std::env::args().skip(1)) {
        Ok(Some(role)) => role,
        Ok(None) => return println!("{}\n\n{}", common::lesson(include_str!("echo.rs")), usage()),
        Err(message) => {
            eprintln!("echo: {message}\n\n{}", usage());
            std::process::exit(2);
        }
    };
    if let Role::Server { addr, threads, .. } = &role {
        if *threads > 1 {
            return serve_per_core(addr.clone(), *threads);
        }
    }
    let result = evloop::run(async move {
        match role {
            Role::Server { addr, grace, .. } => serve_until_ctrl_c(&addr, grace).await,
            Role::Client {
                addr,
                connections,
                seconds,
            } => measure(&addr, connections, seconds).await,
            Role::Demo => demo().await,
        }
    });
    if let Err(message) = result {
        eprintln!("echo: {message}");
        std::process::exit(1);
    }
}

/// Server and clients on one loop: 32 connections for 3 s.
async fn demo() -> Result<(), String> {
    let (addr_tx, addr_rx) = evloop::sync::oneshot::channel();
    let server = evloop::spawn(async move {
        let _ = serve("127.0.0.1:0", false, move |local| {
            let _ = addr_tx.send(local);
        })
        .await;
    });
    let addr = addr_rx
        .await
        .map_err(|_| "the server did not start".to_string())?;
    println!("serving on {addr}; 32 clients for 3 s");
    let measured = measure(&addr.to_string(), 32, 3.0).await;
    server.abort();
    measured
}

/// `echo server --threads N`: one loop per thread, each with its own listener on
/// the same address (`SO_REUSEPORT`): the kernel spreads the connections over
/// them, and no loop shares anything with another.
fn serve_per_core(addr: String, threads: usize) {
    let addr = std::sync::Arc::new(addr);
    let loops = evloop::run_per_core(threads, move |index| {
        let addr = addr.clone();
        async move {
            let ready = |local| println!("loop {index} serving on {local}");
            if let Err(message) = serve(&addr, true, ready).await {
                eprintln!("echo: loop {index}: {message}");
            }
        }
    });
    match loops {
        Ok(loops) => loops.join(), // until killed, or every loop failed to bind
        Err(e) => {
            eprintln!("echo: could not start {threads} loops: {e}");
            std::process::exit(1);
        }
    }
}

/// Accepts connections forever, one task each. `ready` hears the bound address;
/// `reuse_port` lets other loops listen on the same address.
async fn serve(
    addr: &str,
    reuse_port: bool,
    ready: impl FnOnce(std::net::SocketAddr),
) -> Result<(), String> {
    let listener = TcpListener::builder(addr)
        .reuse_port(reuse_port)
        .bind()
        .await
        .map_err(|e| e.to_string())?;
    ready(listener.local_addr().map_err(|e| e.to_string())?);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => drop(evloop::spawn(echo_lines(stream))),
            Err(e) if out_of_descriptors(&e) => {
                // Retrying at once would fail again until a connection closes: wait a
                // second, as asyncio's servers do, and let the connections drain.
                eprintln!("accept failed: {e}; pausing accepts for 1 s");
                evloop::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => eprintln!("accept failed: {e}"), // a reset before accept: keep serving
        }
    }
}

/// `echo server`, one loop: serves until Ctrl-C, then shuts down gracefully —
/// stops accepting, lets the open connections finish for up to `grace`, aborts
/// the rest, and says how many finished and how many were cut.
async fn serve_until_ctrl_c(addr: &str, grace: Duration) -> Result<(), String> {
    let stop = CancellationToken::new();
    let ctrl_c = evloop::signal::ctrl_c(); // the handler is in place from here on
    evloop::spawn({
        let stop = stop.clone();
        async move {
            if ctrl_c.await.is_ok() {
                stop.cancel();
            }
        }
    });
    let listener = TcpListener::bind(addr).await.map_err(|e| e.to_string())?;
    println!(
        "serving on {}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let mut connections = evloop::JoinSet::new();
    loop {
        let next = {
            let mut accepted = pin!(listener.accept());
            let mut stopped = pin!(stop.cancelled());
            poll_fn(|cx| {
                if stopped.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                // Forget the connections that ended, so the set holds open ones only.
                while let Poll::Ready(Some(_)) = connections.poll_join_next(cx) {}
                accepted.as_mut().poll(cx).map(Some)
            })
            .await
        };
        match next {
            None => break, // Ctrl-C
            Some(Ok((stream, _))) => connections.spawn(echo_lines(stream)),
            Some(Err(e)) if out_of_descriptors(&e) => {
                eprintln!("accept failed: {e}; pausing accepts for 1 s");
                evloop::time::sleep(Duration::from_secs(1)).await;
            }
            Some(Err(e)) => eprintln!("accept failed: {e}"),
        }
    }
    drop(listener); // no new connections from here on
    let open = connections.len();
    println!(
        "Ctrl-C: stopped accepting; {open} open, giving them up to {:.1} s",
        grace.as_secs_f64()
    );
    let ended = connections.shutdown(evloop::time::sleep(grace)).await;
    let cut = ended
        .iter()
        .filter(|e| e.as_ref().is_err_and(|e| e.is_cancelled()));
    let cut = cut.count();
    println!("{} finished, {cut} cut", ended.len() - cut);
    Ok(())
}

/// Whether `error` says the process (`EMFILE`) or the system (`ENFILE`) ran out of
/// file descriptors.
fn out_of_descriptors(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Sends back whatever arrives, until the client goes away (cleanly or not).
async fn echo_lines(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return, // closed, or reset mid-message: this connection only
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Runs `connections` clients against `addr` for `seconds`; prints requests/s.
async fn measure(addr: &str, connections: usize, seconds: f64) -> Result<(), String> {
    let requests = Rc::new(Cell::new(0u64));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut clients = evloop::JoinSet::new();
    for _ in 0..connections {
        let (addr, requests) = (addr.to_string(), requests.clone());
        clients.spawn(async move { client(&addr, deadline, &requests).await });
    }
    let start = Instant::now();
    let mut failures = 0;
    while let Some(done) = clients.join_next().await {
        if let Err(message) = done.map_err(|e| e.to_string()).and_then(|r| r) {
            eprintln!("client error: {message}");
            failures += 1;
        }
    }
    let rate = requests.get() as f64 / start.elapsed().as_secs_f64();
    println!("requests/s: {}", rate.round() as u64);
    match failures {
        0 => Ok(()),
        n => Err(format!("{n} of {connections} clients failed")),
    }
}

/// One client: sends a line and reads it back, until `deadline`.
async fn client(addr: &str, deadline: Instant, requests: &Cell<u64>) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut echo = vec![0u8; MESSAGE.len()];
    while Instant::now() < deadline {
        stream
            .write_all(MESSAGE)
            .await
            .map_err(|e| format!("send failed: {e}"))?;
        stream
            .read_exact(&mut echo)
            .await
            .map_err(|e| format!("no echo: {e}"))?;
        if echo != MESSAGE {
            return Err("the echo came back changed".into());
        }
        requests.set(requests.get() + 1);
    }
    Ok(())
}

/// `Ok(None)` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Role>, String> {
    let Some(command) = args.next() else {
        return Ok(Some(Role::Demo));
    };
    let mut addr = String::from("127.0.0.1:7878");
    let mut connections = 32;
    let mut seconds = 3.0;
    let mut threads = 1;
    let mut grace = Duration::from_secs(5);
    let mut options = args;
    while let Some(option) = options.next() {
        let mut value = || options.next().ok_or(format!("{option} needs a value"));
        match option.as_str() {
            "--addr" => addr = value()?,
            "--connections" => {
                connections = value()?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--connections needs a whole number of 1 or more")?
            }
            "--seconds" => {
                seconds = value()?
                    .parse()
                    .ok()
                    .filter(|&s: &f64| s > 0.0 && s.is_finite())
                    .ok_or("--seconds needs a positive number")?
            }
            "--threads" => {
                threads = value()?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--threads needs a whole number of 1 or more")?
            }
            "--grace" => {
                grace = value()?
                    .parse()
                    .ok()
                    .filter(|&s: &f64| s >= 0.0 && s.is_finite())
                    .map(Duration::from_secs_f64)
                    .ok_or("--grace needs a number of seconds, 0 or more")?
            }
            "-h" | "--help" => return Ok(None), // `echo server --help` too
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    match command.as_str() {
        "-h" | "--help" => Ok(None),
        "server" => Ok(Some(Role::Server {
            addr,
            threads,
            grace,
        })),
        _ if threads > 1 => Err("--threads is for `echo server`".into()),
        "client" => Ok(Some(Role::Client {
            addr,
            connections,
            seconds,
        })),
        other => Err(format!("unknown command {other:?}")),
    }
}

/// The `--help` text.
fn usage() -> &'static str {
    "usage: echo                      server and 32 clients in one process, for 3 s
       echo server [--addr A] [--threads N] [--grace S]
                                  serve at A (default 127.0.0.1:7878) on N loops,
                                  one per thread, sharing the port (SO_REUSEPORT);
                                  on Ctrl-C (one loop) stop accepting, let open
                                  connections finish for up to S s (default 5)
       echo client [--addr A] [--connections C] [--seconds S]

Prints `requests/s: N`: round trips of one line per second, over all clients."
}
