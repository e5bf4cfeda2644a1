//! One loop per core: `run_per_core` with `SO_REUSEPORT` listeners.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use evloop::net::{TcpListener, TcpStream};

/// A port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn two_loops_share_a_port_and_each_serves_at_least_a_quarter_of_the_requests() {
    const CONNECTIONS: usize = 64;
    const ROUNDS: usize = 20;
    let port = free_port();
    let served: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let bound = Arc::new(std::sync::Barrier::new(3));
    let (counts, ready) = (served.clone(), bound.clone());
    let loops = evloop::run_per_core(2, move |index| {
        let (counts, ready) = (counts.clone(), ready.clone());
        async move {
            let listener = TcpListener::builder(("127.0.0.1", port))
                .reuse_port(true)
                .bind()
                .await
                .unwrap();
            ready.wait(); // both loops listen before any client connects
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let counts = counts.clone();
                evloop::spawn(async move {
                    let mut buf = [0u8; 8];
                    while stream.read_exact(&mut buf).await.is_ok() {
                        counts[index].fetch_add(1, Ordering::Relaxed);
                        if stream.write_all(&buf).await.is_err() {
                            break;
                        }
                    }
                });
            }
        }
    })
    .unwrap();
    bound.wait();
    evloop::run(async move {
        let mut clients = evloop::JoinSet::new();
        for _ in 0..CONNECTIONS {
            clients.spawn(async move {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                let mut echo = [0u8; 8];
                for _ in 0..ROUNDS {
                    stream.write_all(b"request!").await.unwrap();
                    stream.read_exact(&mut echo).await.unwrap();
                }
            });
        }
        for done in clients.join_all().await {
            done.unwrap();
        }
    });
    loops.stop();
    let counts = [0, 1].map(|i| served[i].load(Ordering::Relaxed));
    let total: usize = counts.iter().sum();
    assert_eq!(total, CONNECTIONS * ROUNDS);
    assert!(
        counts.iter().all(|&n| n * 4 >= total),
        "the loops served {counts:?}"
    );
}

#[test]
fn stopping_the_loops_ends_their_threads_and_zero_loops_is_an_error() {
    let loops = evloop::run_per_core(3, |_| std::future::pending()).unwrap();
    assert_eq!(loops.handles().len(), 3);
    let remote = loops.handles()[2].spawn(async { 3 });
    assert_eq!(remote.join().unwrap(), 3);
    loops.stop(); // returns: every thread ended
    let error = evloop::run_per_core(0, |_| async {}).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("run_per_core(0"));
}

#[test]
fn join_waits_until_every_setup_returned() {
    let ran = Arc::new(AtomicUsize::new(0));
    let counted = ran.clone();
    let loops = evloop::run_per_core(2, move |_| {
        let counted = counted.clone();
        async move {
            evloop::yield_now().await;
            counted.fetch_add(1, Ordering::SeqCst);
        }
    })
    .unwrap();
    loops.join();
    assert_eq!(ran.load(Ordering::SeqCst), 2);
}
