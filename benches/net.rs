//! TCP echo on loopback: 64-byte ping-pongs over one connection, and over 32.

use criterion::{criterion_group, criterion_main, Criterion};

mod common;

/// Bytes per message.
const MESSAGE: usize = 64;

/// evloop: an echo server task on a fresh listener; returns its address.
async fn evloop_server() -> std::net::SocketAddr {
    let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    evloop::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            evloop::spawn(async move {
                let mut buf = [0u8; MESSAGE];
                while stream.read_exact(&mut buf).await.is_ok() {
                    stream.write_all(&buf).await.unwrap();
                }
            });
        }
    });
    addr
}

/// tokio: the same server.
async fn tokio_server() -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; MESSAGE];
                while stream.read_exact(&mut buf).await.is_ok() {
                    stream.write_all(&buf).await.unwrap();
                }
            });
        }
    });
    addr
}

/// evloop: `rounds` ping-pongs on each of `connections` connections at once.
async fn evloop_clients(addr: std::net::SocketAddr, connections: usize, rounds: usize) {
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            evloop::spawn(async move {
                let mut stream = evloop::net::TcpStream::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let mut buf = [7u8; MESSAGE];
                for _ in 0..rounds {
                    stream.write_all(&buf).await.unwrap();
                    stream.read_exact(&mut buf).await.unwrap();
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
}

/// tokio: the same clients.
async fn tokio_clients(addr: std::net::SocketAddr, connections: usize, rounds: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let mut buf = [7u8; MESSAGE];
                for _ in 0..rounds {
                    stream.write_all(&buf).await.unwrap();
                    stream.read_exact(&mut buf).await.unwrap();
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
}

fn tcp_echo(c: &mut Criterion) {
    for (name, connections, rounds) in [("tcp_echo_1x1000", 1, 1_000), ("tcp_echo_32x100", 32, 100)]
    {
        let mut group = c.benchmark_group(name);
        let rt = common::evloop();
        let addr = rt.block_on(evloop_server());
        group.bench_function("evloop", |b| {
            b.iter(|| rt.block_on(evloop_clients(addr, connections, rounds)))
        });
        let rt = common::tokio();
        let addr = rt.block_on(tokio_server());
        group.bench_function("tokio", |b| {
            b.iter(|| rt.block_on(tokio_clients(addr, connections, rounds)))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = tcp_echo
}
criterion_main!(benches);
