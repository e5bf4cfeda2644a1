//! evloop with the ecosystem's crates: `futures::select!` without `.fuse()`,
//! runtime-free crates (tokio's sync module), and hyper through evloop's `hyper` feature.

use std::time::Duration;

use evloop::net::{TcpListener, TcpStream};
use evloop::{time, Builder};
use futures_util::{select, StreamExt};

#[test]
fn select_needs_no_fuse_on_evloop_futures_and_streams() {
    let rt = Builder::new().virtual_time(true).build().unwrap();
    rt.block_on(async {
        let (tx, mut rx) = evloop::sync::mpsc::channel::<u32>(4);
        let mut ticks = time::interval(Duration::from_secs(1));
        let mut nap = time::sleep(Duration::from_millis(2500));
        let mut task = evloop::spawn(async {
            time::sleep(Duration::from_millis(4500)).await;
            "task done"
        });
        let sender = evloop::spawn(async move {
            time::sleep(Duration::from_millis(3500)).await;
            tx.send(7).await.unwrap();
        });
        // Nothing here is `.fuse()`d: each is a FusedFuture or a FusedStream, so a
        // branch that finished (the nap, the channel at its end) is skipped after.
        let mut seen = Vec::new();
        while seen.last() != Some(&"task done".to_string()) {
            select! {
                value = rx.next() => seen.push(format!("value {value:?}")),
                _ = ticks.next() => seen.push("tick".to_string()),
                () = nap => seen.push("nap over".to_string()),
                out = task => seen.push(out.unwrap().to_string()),
            }
        }
        sender.await.unwrap();
        let expected = [
            "tick",
            "tick",
            "tick",
            "nap over",
            "tick",
            "value Some(7)",
            "value None",
            "tick",
            "task done",
        ];
        assert_eq!(seen, expected);
    });
}

#[test]
fn tokio_sync_works_on_evloop_because_it_needs_no_runtime() {
    evloop::run(async {
        let notify = std::rc::Rc::new(tokio::sync::Notify::new());
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let waiter = evloop::spawn({
            let notify = notify.clone();
            async move {
                notify.notified().await;
                rx.recv().await
            }
        });
        evloop::yield_now().await;
        tx.send("through tokio's channel").await.unwrap();
        notify.notify_one();
        assert_eq!(waiter.await.unwrap(), Some("through tokio's channel"));
    });
}

// hyper 1.x through evloop's `hyper` feature: `evloop::hyper::{Executor, Timer, Io}`.
use evloop::hyper::{Executor, Io, Timer};

/// Serves one connection: every request gets "hello from evloop".
async fn serve(stream: TcpStream, timer: Option<Timer>) -> hyper::Result<()> {
    let service = hyper::service::service_fn(|_request| async {
        let body = http_body_util::Full::new(hyper::body::Bytes::from("hello from evloop"));
        Ok::<_, std::convert::Infallible>(hyper::Response::new(body))
    });
    let mut server = hyper::server::conn::http1::Builder::new();
    if let Some(timer) = timer {
        server
            .timer(timer)
            .header_read_timeout(Duration::from_secs(1));
    }
    server.serve_connection(Io::new(stream), service).await
}

#[test]
fn hyper_serves_and_fetches_over_evloop_sockets() {
    evloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let timer = Timer::new();
        let server = evloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            serve(stream, Some(timer)).await
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(Io::new(stream))
            .await
            .unwrap();
        let _ = Executor; // HTTP/1 spawns nothing; HTTP/2 would take it
        evloop::spawn(connection);
        let request = hyper::Request::get("/")
            .header("host", "evloop")
            .body(http_body_util::Empty::<hyper::body::Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap();
        assert_eq!(body.to_bytes(), "hello from evloop");
        drop(sender);
        server.await.unwrap().unwrap();
    });
}

#[test]
fn hyper_closes_an_idle_connection_only_with_a_timer() {
    let rt = Builder::new().virtual_time(true).build().unwrap();
    rt.block_on(async {
        for with_timer in [true, false] {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let timer = with_timer.then(Timer::new);
            let server = evloop::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                serve(stream, timer).await
            });
            // A client that connects and never sends its headers.
            let mut idle = TcpStream::connect(addr).await.unwrap();
            let mut buf = [0u8; 64];
            let closed = time::timeout(Duration::from_secs(60), idle.read(&mut buf)).await;
            if with_timer {
                assert!(
                    closed.is_ok(),
                    "header_read_timeout (1 s) closed the connection"
                );
                assert!(server.await.unwrap().is_err(), "hyper reports the timeout");
            } else {
                // Without a timer hyper silently drops its header timeout: after a
                // (virtual) minute the idle connection is still open.
                assert!(closed.is_err());
                server.abort();
            }
        }
    });
}
