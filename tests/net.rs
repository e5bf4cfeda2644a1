//! Networking: TCP on the reactor.

use std::io::ErrorKind;

use evloop::net::{TcpListener, TcpStream};

#[test]
fn tcp_echo_of_one_mebibyte_between_two_tasks() {
    const SIZE: usize = 1 << 20;
    let received = evloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = evloop::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n]).await.unwrap();
            }
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let payload: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
        let expected = payload.clone();
        // Write and read concurrently, or both sides' buffers fill and stall.
        let stream = std::rc::Rc::new(std::cell::RefCell::new(Some(stream)));
        let mut writer_half = stream.borrow_mut().take().unwrap();
        let reader = evloop::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            let mut received = Vec::with_capacity(SIZE);
            let mut writer_done = false;
            let mut offset = 0;
            // One task alternates: write a chunk, then read what came back.
            while received.len() < SIZE {
                if !writer_done {
                    let end = (offset + 64 * 1024).min(SIZE);
                    writer_half.write_all(&payload[offset..end]).await.unwrap();
                    offset = end;
                    writer_done = offset == SIZE;
                }
                let n = writer_half.read(&mut buf).await.unwrap();
                assert!(n > 0, "the echo ended early");
                received.extend_from_slice(&buf[..n]);
            }
            writer_half.shutdown(std::net::Shutdown::Write).unwrap();
            received
        });
        let received = reader.await.unwrap();
        server.await.unwrap();
        assert!(received == expected, "the echo came back changed");
        received.len()
    });
    assert_eq!(received, SIZE);
}

#[test]
fn binding_a_taken_port_names_the_address() {
    evloop::run(async {
        let first = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = first.local_addr().unwrap();
        let err = TcpListener::bind(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    });
}

#[test]
fn connecting_to_a_closed_port_is_refused_with_the_address() {
    evloop::run(async {
        let addr = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap()
        };
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    });
}

#[test]
fn a_host_name_is_resolved_off_the_loop() {
    evloop::run(async {
        let listener = TcpListener::bind(("localhost", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accept = evloop::spawn(async move { listener.accept().await.map(|(_, a)| a) });
        let stream = TcpStream::connect(format!("localhost:{port}"))
            .await
            .unwrap();
        assert_eq!(accept.await.unwrap().unwrap(), stream.local_addr().unwrap());
    });
}

#[test]
fn a_malformed_address_is_a_clear_error() {
    evloop::run(async {
        let err = TcpListener::bind("not an address").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("not an address"), "{err}");
    });
}

#[test]
fn read_to_end_reads_until_the_peer_closes() {
    evloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        evloop::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.write_all(b"hello, loop").await.unwrap();
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let mut all = Vec::new();
        stream.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"hello, loop");
    });
}

#[cfg(feature = "futures-io")]
#[test]
fn tcp_stream_implements_the_futures_io_traits() {
    fn assert_traits<T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>() {}
    assert_traits::<TcpStream>();
}

#[test]
fn a_udp_round_trip_on_loopback() {
    use evloop::net::UdpSocket;
    evloop::run(async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server_addr = server.local_addr().unwrap();
        let echo = evloop::spawn(async move {
            let mut buf = [0u8; 64];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            server.send_to(&buf[..n], from).await.unwrap();
        });
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(server_addr).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), server_addr);
        client.send(b"marco").await.unwrap();
        let mut buf = [0u8; 64];
        let n = client.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"marco");
        echo.await.unwrap();
    });
}

#[test]
fn an_end_of_stream_that_arrives_with_the_data_is_not_lost_after_a_short_read() {
    // The peer writes and closes before the first read: one readiness event says
    // "readable, and closed". The read that drains the data is short, which makes
    // the reactor wait for the next event — none will come — so the close must be
    // remembered apart from the readiness the short read cleared.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (closed_tx, closed_rx) = std::sync::mpsc::channel();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        std::io::Write::write_all(&mut stream, b"hello, loop").unwrap();
        drop(stream);
        closed_tx.send(()).unwrap();
    });
    let client = std::net::TcpStream::connect(addr).unwrap();
    // On loopback the data and the close are queued at this end by the time the
    // peer's close returns; registering the socket then reports both in one event.
    closed_rx.recv().unwrap();
    evloop::run(async move {
        let mut stream = TcpStream::from_std(client).unwrap();
        evloop::yield_now().await; // a turn: the reactor takes that one event now
        let mut all = Vec::new();
        let read = evloop::time::timeout(
            std::time::Duration::from_secs(5),
            stream.read_to_end(&mut all),
        );
        read.await
            .expect("read_to_end saw the end of the stream")
            .unwrap();
        assert_eq!(all, b"hello, loop");
    });
    peer.join().unwrap();
}
