//! The echo server at scale: requests per second with 32 and 256 connections, on
//! evloop (one loop, and one loop per core), tokio (current-thread and
//! multi-thread) and monoio, all against the same client — one evloop loop on a
//! thread of its own. Not a criterion bench: each server runs for a few seconds per
//! round, the servers take turns, and the medians of the rounds are printed.
//!
//! `cargo bench --manifest-path benches/Cargo.toml --bench echo`; with `-- sweep`,
//! the sweep over connections and request sizes in monoio's published format.
//!
//! On a 2-core machine the client competes with the server for the cores: two
//! server loops leave the client less than a core. Read the per-core rows as "what
//! a second core buys when the load comes from elsewhere", which this machine can
//! only approximate.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

/// Bytes per request (the echo example's line).
const MESSAGE: &[u8] = b"hello, event loop\n";
/// How long each measurement runs.
const SECONDS: f64 = 2.0;
/// Rounds per server and connection count.
const ROUNDS: usize = 5;

/// Whether the servers' threads are pinned to core 0 and the client's to core 1
/// (the sweep's setting, monoio's published one).
static PINNED: AtomicBool = AtomicBool::new(false);

/// Pins the calling thread to `core` if the sweep asks for it.
fn pin_to(core: usize) {
    if !PINNED.load(Ordering::Relaxed) {
        return;
    }
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET writes inside it, and
    // sched_setaffinity reads it for the calling thread (pid 0).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Echoes whatever arrives on an evloop stream, into a 4 KiB buffer.
async fn evloop_echo(mut stream: evloop::net::TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        if stream.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

/// evloop's accept loop on `listener`.
async fn evloop_accept(listener: evloop::net::TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        evloop::spawn(evloop_echo(stream));
    }
}

/// Starts an evloop server on `loops` loops (SO_REUSEPORT), recording its
/// timeline if `traced`; returns its address and what stops it.
fn evloop_server(loops: usize, traced: bool) -> (SocketAddr, Box<dyn FnOnce()>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (ready_tx, ready_rx) = mpsc::channel();
    let running = evloop::Builder::new()
        .trace(traced)
        .run_per_core(loops, move |_| {
            let ready = ready_tx.clone();
            async move {
                pin_to(0);
                let listener = evloop::net::TcpListener::builder(("127.0.0.1", port))
                    .reuse_port(true)
                    .bind()
                    .await
                    .unwrap();
                ready.send(()).unwrap();
                evloop_accept(listener).await;
            }
        })
        .unwrap();
    for _ in 0..loops {
        ready_rx.recv().unwrap();
    }
    (
        SocketAddr::from(([127, 0, 0, 1], port)),
        Box::new(move || running.stop()),
    )
}

/// Starts a tokio server (current-thread, or multi-thread with `workers`).
fn tokio_server(workers: Option<usize>) -> (SocketAddr, Box<dyn FnOnce()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let runtime = match workers {
        None => common::tokio(),
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()
            .unwrap(),
    };
    let (addr_tx, addr_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        pin_to(0);
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let serve = async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    tokio::spawn(async move {
                        let _ = stream.set_nodelay(true);
                        let mut buf = [0u8; 4096];
                        while let Ok(n @ 1..) = stream.read(&mut buf).await {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            };
            futures_util::future::select(Box::pin(serve), stop_rx).await;
        });
        runtime.shutdown_background();
    });
    (
        addr_rx.recv().unwrap(),
        Box::new(move || {
            let _ = stop_tx.send(()); // the server may be gone already
        }),
    )
}

/// Starts a monoio server (epoll driver).
fn monoio_server() -> (SocketAddr, Box<dyn FnOnce()>) {
    use monoio::buf::IoBuf;
    use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
    let (addr_tx, addr_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = futures_channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        pin_to(0);
        let mut runtime = common::monoio();
        runtime.block_on(async move {
            let listener = monoio::net::TcpListener::bind("127.0.0.1:0").unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let serve = async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    monoio::spawn(async move {
                        let _ = stream.set_nodelay(true);
                        let mut buf = Vec::with_capacity(4096);
                        loop {
                            let (read, back) = stream.read(buf).await;
                            let n = match read {
                                Ok(n @ 1..) => n,
                                _ => break,
                            };
                            let (written, back) = stream.write_all(back.slice(0..n)).await;
                            if written.is_err() {
                                break;
                            }
                            buf = back.into_inner();
                            buf.clear();
                        }
                    });
                }
            };
            futures_util::future::select(Box::pin(serve), stop_rx).await;
        });
    });
    (
        addr_rx.recv().unwrap(),
        Box::new(move || {
            let _ = stop_tx.send(()); // the server may be gone already
        }),
    )
}

/// A CPU clock's reading (`CLOCK_PROCESS_CPUTIME_ID`, `CLOCK_THREAD_CPUTIME_ID`).
fn cpu(clock: libc::clockid_t) -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to one timespec, which clock_gettime fills in.
    assert_eq!(unsafe { libc::clock_gettime(clock, &mut now) }, 0);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// What one measurement saw.
#[derive(Clone, Copy)]
struct Measured {
    /// Requests per second.
    rate: f64,
    /// The server's CPU time per request, µs.
    cost: f64,
    /// The server's CPU time over the wall time of the run, in %.
    busy: f64,
}

/// The client: `connections` connections on one evloop loop, each sending a
/// message and reading it back for `seconds` — as fast as it comes back, or, with
/// `paced`, at that many requests per second over all connections. The server's CPU
/// time is the process's over the run less the client thread's own.
fn measure(
    addr: SocketAddr,
    connections: usize,
    message: &'static [u8],
    seconds: f64,
    paced: Option<f64>,
) -> Measured {
    let process_before = cpu(libc::CLOCK_PROCESS_CPUTIME_ID);
    let (requests, elapsed, client_cpu) = std::thread::spawn(move || {
        pin_to(1);
        let client_before = cpu(libc::CLOCK_THREAD_CPUTIME_ID);
        let (requests, elapsed) = evloop::run(async move {
            let start = Instant::now();
            let requests = Rc::new(std::cell::Cell::new(0u64));
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            let mut clients = evloop::JoinSet::new();
            for _ in 0..connections {
                let requests = requests.clone();
                clients.spawn(async move {
                    let mut stream = evloop::net::TcpStream::connect(addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    let mut echo = vec![0u8; message.len()];
                    let period =
                        paced.map(|rate| Duration::from_secs_f64(connections as f64 / rate));
                    let mut next = Instant::now();
                    while Instant::now() < deadline {
                        if let Some(period) = period {
                            next += period;
                            evloop::time::sleep_until(next).await;
                        }
                        stream.write_all(message).await.unwrap();
                        stream.read_exact(&mut echo).await.unwrap();
                        requests.set(requests.get() + 1);
                    }
                });
            }
            for done in clients.join_all().await {
                done.unwrap();
            }
            (requests.get(), start.elapsed())
        });
        (
            requests,
            elapsed,
            cpu(libc::CLOCK_THREAD_CPUTIME_ID) - client_before,
        )
    })
    .join()
    .unwrap();
    let server_cpu = cpu(libc::CLOCK_PROCESS_CPUTIME_ID) - process_before - client_cpu;
    Measured {
        rate: requests as f64 / elapsed.as_secs_f64(),
        cost: server_cpu.as_secs_f64() * 1e6 / requests as f64,
        busy: server_cpu.as_secs_f64() * 100.0 / elapsed.as_secs_f64(),
    }
}

/// The median of `values`, and their range.
fn summary(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

/// What starts a server: its address, and what stops it.
type Start = fn() -> (SocketAddr, Box<dyn FnOnce()>);

/// `rounds` rounds in which each server in turn is started, measured with
/// `connections` clients sending `message` for `seconds` (`paced` as in
/// [`measure`]), and stopped; returns each server's medians over the rounds, and the
/// range of its requests per second and of its CPU per request.
fn rounds(
    servers: &[(&str, Start)],
    rounds: usize,
    connections: usize,
    message: &'static [u8],
    seconds: f64,
    paced: Option<f64>,
) -> Vec<(Measured, [f64; 4])> {
    let mut seen: Vec<Vec<Measured>> = vec![Vec::new(); servers.len()];
    for _ in 0..rounds {
        for (i, (_, start)) in servers.iter().enumerate() {
            let (addr, stop) = start();
            seen[i].push(measure(addr, connections, message, seconds, paced));
            stop();
        }
    }
    let medians = |seen: &[Measured]| {
        let (rate, rate_low, rate_high) = summary(seen.iter().map(|m| m.rate).collect());
        let (cost, cost_low, cost_high) = summary(seen.iter().map(|m| m.cost).collect());
        let busy = summary(seen.iter().map(|m| m.busy).collect()).0;
        (
            Measured { rate, cost, busy },
            [rate_low, rate_high, cost_low, cost_high],
        )
    };
    seen.iter().map(|seen| medians(seen)).collect()
}

/// A 100-byte and a 1-KiB request, monoio's published sizes.
static SMALL: [u8; 100] = [b'e'; 100];
static LARGE: [u8; 1024] = [b'E'; 1024];

/// The sweep, in monoio's published format: connections 1, 16, 64, 256 and 1,024,
/// requests of 100 bytes and 1 KiB, each server on core 0 and the client on core 1,
/// the servers taking turns round after round. Prints requests per second and the
/// server's CPU per request, medians of the rounds; then, with the client paced to
/// a fixed request rate, the server's CPU %.
fn sweep() {
    const ROUNDS: usize = 3;
    const SWEEP_SECONDS: f64 = 1.0;
    PINNED.store(true, Ordering::Relaxed);
    let servers: [(&str, Start); 3] = [
        ("evloop", || evloop_server(1, false)),
        ("tokio current-thread", || tokio_server(None)),
        ("monoio (epoll)", monoio_server),
    ];
    println!("| connections | size | evloop req/s | tokio req/s | monoio req/s | evloop µs CPU/req | tokio | monoio |");
    println!("|---|---|---|---|---|---|---|---|");
    for connections in [1, 16, 64, 256, 1024] {
        for (size, message) in [("100 B", &SMALL[..]), ("1 KiB", &LARGE[..])] {
            let m = rounds(&servers, ROUNDS, connections, message, SWEEP_SECONDS, None);
            println!(
                "| {connections} | {size} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} |",
                m[0].0.rate, m[1].0.rate, m[2].0.rate, m[0].0.cost, m[1].0.cost, m[2].0.cost
            );
        }
    }
    const PACED: f64 = 20_000.0;
    println!();
    println!("| at {PACED} requests/s | size | evloop CPU % | tokio CPU % | monoio CPU % |");
    println!("|---|---|---|---|---|");
    for connections in [16, 256] {
        let m = rounds(&servers, ROUNDS, connections, &SMALL, 2.0, Some(PACED));
        println!(
            "| {connections} connections | 100 B | {:.1} | {:.1} | {:.1} |",
            m[0].0.busy, m[1].0.busy, m[2].0.busy
        );
    }
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo bench --no-run` style listing: nothing to list
    }
    if std::env::args().any(|arg| arg == "sweep") {
        return sweep(); // `cargo bench --bench echo -- sweep`
    }
    let servers: [(&str, Start); 6] = [
        ("evloop, 1 loop", || evloop_server(1, false)),
        ("evloop, 1 loop, traced (the ring)", || {
            evloop_server(1, true)
        }),
        ("evloop, 2 loops (run_per_core)", || evloop_server(2, false)),
        ("tokio current-thread", || tokio_server(None)),
        ("tokio multi-thread, 2 workers", || tokio_server(Some(2))),
        ("monoio (epoll)", monoio_server),
    ];
    for connections in [32, 256] {
        let measured = rounds(&servers, ROUNDS, connections, MESSAGE, SECONDS, None);
        for ((name, _), (median, range)) in servers.iter().zip(measured) {
            let (median, cost) = (median.rate, median.cost);
            let [low, high, cost_low, cost_high] = range;
            println!(
                "echo/{connections} connections/{name}: {median:.0} requests/s (rounds {low:.0}–{high:.0}); \
                 server CPU {cost:.2} µs/request ({cost_low:.2}–{cost_high:.2})"
            );
        }
    }
}
