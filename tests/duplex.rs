//! `io::duplex`: in-memory byte streams, bounded, closing at drop.

use std::time::Duration;

use evloop::io::duplex;

/// Runs `fut` on a fresh virtual-time runtime, failing after 10 s of real time
/// instead of hanging (a lost wake would otherwise stop the suite).
fn run<F: std::future::Future + 'static>(fut: F) -> F::Output
where
    F::Output: Send + 'static,
{
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(10)).is_err() {
            eprintln!("a duplex test hung for 10 s");
            std::process::exit(1);
        }
    });
    let rt = evloop::Builder::new().virtual_time(true).build().unwrap();
    let output = rt.block_on(fut);
    done_tx.send(()).unwrap();
    output
}

#[test]
fn a_mebibyte_crosses_a_small_pair_intact() {
    run(async {
        let (mut a, mut b) = duplex(100);
        let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        let expected = data.clone();
        let writer = evloop::spawn(async move {
            a.write_all(&data).await.unwrap();
        });
        let mut got = Vec::new();
        let mut buf = [0u8; 37];
        while got.len() < expected.len() {
            let n = b.read(&mut buf).await.unwrap();
            assert!(n > 0 && n <= 37);
            got.extend_from_slice(&buf[..n]);
        }
        writer.await.unwrap();
        assert_eq!(got, expected);
    });
}

#[test]
fn a_write_beyond_the_capacity_waits_until_the_peer_reads() {
    run(async {
        let (mut a, mut b) = duplex(4);
        assert_eq!(
            a.write(b"abcdefgh").await.unwrap(),
            4,
            "only the capacity fits"
        );
        let writer = evloop::spawn(async move {
            a.write_all(b"efgh").await.unwrap();
            a
        });
        for _ in 0..5 {
            evloop::yield_now().await;
        }
        assert!(!writer.is_finished(), "the buffer is full: the write waits");
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abcd");
        let _a = writer.await.unwrap();
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"efgh");
    });
}

#[test]
fn after_the_peer_drops_reads_end_and_writes_are_a_broken_pipe() {
    run(async {
        let (mut a, mut b) = duplex(16);
        a.write_all(b"last").await.unwrap();
        drop(a);
        let mut rest = Vec::new();
        assert_eq!(
            b.read_to_end(&mut rest).await.unwrap(),
            4,
            "what was written stays"
        );
        assert_eq!(b.read(&mut [0u8; 8]).await.unwrap(), 0, "then the end");
        let error = b.write(b"hello?").await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe);
        assert!(error.to_string().contains("other end"), "{error}");
    });
}

#[test]
fn a_reader_waiting_when_the_peer_drops_is_woken_with_the_end() {
    run(async {
        let (a, mut b) = duplex(16);
        let reader = evloop::spawn(async move { b.read(&mut [0u8; 8]).await.unwrap() });
        evloop::yield_now().await;
        drop(a);
        assert_eq!(reader.await.unwrap(), 0);
    });
}

#[test]
fn shutting_down_writing_ends_the_peers_stream() {
    run(async {
        let (mut a, mut b) = duplex(16);
        a.write_all(b"bye").await.unwrap();
        a.shutdown(std::net::Shutdown::Write).unwrap();
        let mut all = Vec::new();
        b.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"bye");
        assert!(a.write(b"more").await.is_err());
        b.write_all(b"open this way").await.unwrap();
    });
}

#[test]
fn a_stream_that_is_always_ready_still_yields_to_other_tasks() {
    // The budget: a task that only reads a full stream yields now and then, so a
    // task beside it gets polled before the reader is done.
    run(async {
        let (mut a, mut b) = duplex(1 << 20);
        a.write_all(&vec![7u8; 1 << 20]).await.unwrap();
        let ticked = std::rc::Rc::new(std::cell::Cell::new(false));
        let ticker = evloop::spawn({
            let ticked = ticked.clone();
            async move { ticked.set(true) }
        });
        let mut buf = [0u8; 1];
        let mut read_before_tick = 0;
        while !ticked.get() {
            b.read_exact(&mut buf).await.unwrap();
            read_before_tick += 1;
        }
        ticker.await.unwrap();
        assert!(
            read_before_tick <= 1024,
            "{read_before_tick} reads before the other task ran"
        );
    });
}

#[test]
#[should_panic(expected = "duplex(0)")]
fn a_capacity_of_zero_is_refused() {
    let _ = duplex(0);
}
