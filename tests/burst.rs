//! A burst of 500 simultaneous connects to an evloop listener: every one is
//! accepted. (With the 128-connection listen queue std and mio use, part of such a
//! burst is dropped or reset.) Its own binary: it may raise the process's limit
//! on open descriptors.

use std::io::{Read, Write};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use evloop::net::TcpListener;

/// Connections in the burst.
const BURST: usize = 500;

/// Raises the soft limit on open descriptors to at least `wanted`, if the hard
/// limit allows; returns the soft limit in force.
fn raise_fd_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for getrlimit to fill and setrlimit to read.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
    limit.rlim_cur
}

#[test]
fn five_hundred_simultaneous_connects_are_all_accepted() {
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(u32::MAX);
    if somaxconn < BURST as u32 {
        eprintln!("skipped: net.core.somaxconn is {somaxconn}, below the {BURST} the test needs");
        return;
    }
    let limit = raise_fd_limit(4 * BURST as u64);
    if limit < 3 * BURST as u64 {
        eprintln!(
            "skipped: only {limit} descriptors allowed; the test needs {}",
            3 * BURST
        );
        return;
    }
    let runtime = evloop::Runtime::new().unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    // Every client connects at the same moment, and the server accepts none until
    // every connect has returned: the burst must fit in the listen queue.
    let start = Arc::new(Barrier::new(BURST));
    let (connected_tx, connected_rx) = std::sync::mpsc::channel();
    let clients: Vec<_> = (0..BURST)
        .map(|i| {
            let (start, connected) = (start.clone(), connected_tx.clone());
            std::thread::spawn(move || {
                start.wait();
                let stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5));
                connected.send(stream.is_ok()).unwrap();
                let mut stream = stream?;
                stream.set_read_timeout(Some(Duration::from_secs(30)))?;
                stream.write_all(&[i as u8])?;
                let mut echo = [0u8; 1];
                stream.read_exact(&mut echo)?;
                Ok::<_, std::io::Error>(echo[0] == i as u8)
            })
        })
        .collect();
    let connected = connected_rx.iter().take(BURST).filter(|ok| *ok).count();
    assert_eq!(
        connected, BURST,
        "only {connected} of {BURST} connects got through"
    );
    let served = runtime.block_on(async move {
        let mut served = 0;
        while served < BURST {
            let accepted = evloop::time::timeout(Duration::from_secs(5), listener.accept()).await;
            let Ok(Ok((mut stream, _))) = accepted else {
                break;
            };
            evloop::spawn(async move {
                let mut byte = [0u8; 1];
                if stream.read_exact(&mut byte).await.is_ok() {
                    let _ = stream.write_all(&byte).await;
                }
            });
            served += 1;
        }
        served
    });
    let answered = runtime.block_on(async {
        // Let the echo tasks finish while the clients read.
        let clients = evloop::spawn_blocking(move || {
            clients
                .into_iter()
                .map(|client| client.join().unwrap())
                .filter(|echoed| matches!(echoed, Ok(true)))
                .count()
        });
        clients.await.unwrap()
    });
    assert_eq!(
        served, BURST,
        "accepted only {served} of {BURST} connections"
    );
    assert_eq!(
        answered, BURST,
        "only {answered} of {BURST} round trips completed"
    );
}
