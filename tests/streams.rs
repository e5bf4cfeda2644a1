//! The ecosystem's traits (feature `futures-core`): streams and fused futures; and
//! byte streams split into halves, as tokio's.

#[cfg(feature = "futures-core")]
use std::future::{poll_fn, Future};
#[cfg(feature = "futures-core")]
use std::pin::{pin, Pin};
#[cfg(feature = "futures-core")]
use std::time::Duration;

use evloop::net::{TcpListener, TcpStream, UnixStream};
#[cfg(feature = "futures-core")]
use evloop::sync::{mpsc, oneshot};
#[cfg(feature = "futures-core")]
use evloop::{Builder, JoinSet};

/// A connected pair of TCP streams.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap());
    let (client, accepted) = (client.await.unwrap(), listener.accept().await.unwrap().0);
    (client, accepted)
}

#[test]
fn borrowed_halves_read_and_write_the_same_stream() {
    evloop::run(async {
        let (mut a, mut b) = tcp_pair().await;
        let (mut read, mut write) = a.split();
        write.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await.unwrap();
        b.write_all(b"pong").await.unwrap();
        read.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
    });
}

#[test]
fn owned_halves_let_one_task_read_while_another_writes_and_reunite() {
    evloop::run(async {
        let (a, mut b) = tcp_pair().await;
        let (mut read, mut write) = a.into_split();
        let writer = evloop::spawn(async move {
            for i in 0..100u8 {
                write.write_all(&[i; 1000]).await.unwrap();
            }
            write
        });
        // The peer echoes everything back while the writer is still writing.
        let echo = evloop::spawn(async move {
            let mut buf = [0u8; 4096];
            let mut total = 0;
            while total < 100_000 {
                let n = b.read(&mut buf).await.unwrap();
                b.write_all(&buf[..n]).await.unwrap();
                total += n;
            }
            b
        });
        let mut back = vec![0u8; 100_000];
        read.read_exact(&mut back).await.unwrap();
        assert!(back
            .chunks(1000)
            .enumerate()
            .all(|(i, c)| c.iter().all(|&x| x == i as u8)));
        let (write, _b) = (writer.await.unwrap(), echo.await.unwrap());
        let whole = read.reunite(write).unwrap();
        assert!(whole.peer_addr().is_ok());
    });
}

#[test]
fn dropping_an_owned_write_half_ends_the_peers_stream_and_mismatched_halves_do_not_reunite() {
    evloop::run(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let (c, _d) = UnixStream::pair().unwrap();
        let (read_a, write_a) = a.into_split();
        let (_read_c, write_c) = c.into_split();
        let error = read_a.reunite(write_c).unwrap_err();
        assert!(error.to_string().contains("two different streams"));
        let (read_a, _write_c) = (error.0, error.1);
        drop(write_a);
        let mut rest = Vec::new();
        assert_eq!(
            b.read_to_end(&mut rest).await.unwrap(),
            0,
            "the end of the stream"
        );
        drop(read_a);
    });
}

#[cfg(feature = "futures-core")]
/// The next item of a stream.
async fn next<S: futures_core::Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

#[cfg(feature = "futures-core")]
#[test]
fn an_interval_a_receiver_and_a_join_set_are_streams() {
    let rt = Builder::new().virtual_time(true).build().unwrap();
    rt.block_on(async {
        let mut ticks = evloop::time::interval(Duration::from_secs(1));
        let first = next(&mut ticks).await.unwrap();
        assert_eq!(
            next(&mut ticks).await.unwrap() - first,
            Duration::from_secs(1)
        );
        assert!(!futures_core::stream::FusedStream::is_terminated(&ticks));

        let (tx, mut rx) = mpsc::unbounded();
        tx.try_send(1).unwrap();
        drop(tx);
        assert_eq!(next(&mut rx).await, Some(1));
        assert!(!futures_core::stream::FusedStream::is_terminated(&rx));
        assert_eq!(next(&mut rx).await, None);
        assert!(futures_core::stream::FusedStream::is_terminated(&rx));

        let mut set = JoinSet::new();
        set.spawn(async {
            evloop::time::sleep(Duration::from_secs(2)).await;
            "slow"
        });
        set.spawn(async { "quick" });
        assert_eq!(next(&mut set).await.unwrap().unwrap(), "quick");
        assert_eq!(next(&mut set).await.unwrap().unwrap(), "slow");
        assert!(next(&mut set).await.is_none());
    });
}

#[cfg(feature = "futures-core")]
/// Polls `future` to completion and says whether it then calls itself terminated.
async fn terminated_after<F: Future + futures_core::FusedFuture>(future: F) -> bool {
    let mut future = pin!(future);
    assert!(!future.is_terminated());
    future.as_mut().await;
    future.is_terminated()
}

#[cfg(feature = "futures-core")]
#[test]
fn sleeps_join_handles_and_receive_futures_are_fused() {
    let rt = Builder::new().virtual_time(true).build().unwrap();
    rt.block_on(async {
        assert!(terminated_after(evloop::time::sleep(Duration::from_secs(1))).await);
        assert!(terminated_after(evloop::spawn(async { 1 })).await);
        let (tx, rx) = oneshot::channel();
        tx.send(2).unwrap();
        assert!(terminated_after(rx).await);
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(3).await.unwrap();
        assert!(terminated_after(rx.recv()).await);
    });
}
