//! Embedding: a runtime driven only through `turn`, its descriptor and
//! `next_wakeup`; descriptors of any kind inside evloop (`io::Async`, Unix
//! sockets, std sockets handed over).

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use evloop::io::Async;
use evloop::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use evloop::time::{sleep, sleep_until};
use evloop::{Builder, Runtime};

/// Whether `fd` becomes readable within `timeout` (`poll(2)`).
fn readable(fd: &impl AsRawFd, timeout: Duration) -> bool {
    let mut pollfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd, counted as one.
    let ready = unsafe { libc::poll(&mut pollfd, 1, ms) };
    assert!(
        ready >= 0,
        "poll failed: {}",
        std::io::Error::last_os_error()
    );
    ready == 1
}

/// The host loop of an embedder: wait on the runtime's descriptor until its next
/// wakeup, then turn without waiting; until `done` says so (or 10 s pass).
fn host_loop(rt: &Runtime, mut done: impl FnMut() -> bool) -> usize {
    let give_up = Instant::now() + Duration::from_secs(10);
    let mut turns = 0;
    while !done() {
        assert!(
            Instant::now() < give_up,
            "the embedded runtime made no progress"
        );
        let timeout = match rt.next_wakeup() {
            Some(at) => at.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(1),
        };
        readable(rt, timeout);
        rt.turn(Some(Duration::ZERO));
        turns += 1;
    }
    turns
}

#[test]
fn a_runtime_driven_only_through_its_descriptor_serves_tcp_and_fires_a_timer() {
    let rt = Runtime::new().unwrap();
    let (addr_tx, addr_rx) = mpsc::channel();
    let server = rt.spawn(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addr_tx.send(listener.local_addr().unwrap()).unwrap();
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 5];
        stream.read_exact(&mut buf).await.unwrap();
        stream.write_all(&buf).await.unwrap();
    });
    let started = Instant::now();
    let timer = rt.spawn(sleep(Duration::from_millis(30)));
    rt.turn(Some(Duration::ZERO)); // the server binds
    let addr = addr_rx.recv().unwrap();
    let client = thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(b"hello").unwrap();
        let mut echo = [0u8; 5];
        stream.read_exact(&mut echo).unwrap();
        echo
    });
    host_loop(&rt, || server.is_finished() && timer.is_finished());
    assert!(started.elapsed() >= Duration::from_millis(30));
    assert_eq!(&client.join().unwrap(), b"hello");
    // Everything done: the descriptor is quiet and nothing is pending.
    assert_eq!(rt.next_wakeup(), None);
    assert!(
        !readable(&rt, Duration::ZERO),
        "nothing to do, yet readable: {rt:?}"
    );
}

#[test]
fn run_until_stalled_runs_what_is_ready_and_never_waits_for_a_timer() {
    let rt = Runtime::new().unwrap();
    let quick = rt.spawn(async {
        for _ in 0..3 {
            evloop::yield_now().await;
        }
        7
    });
    let slow = rt.spawn(sleep(Duration::from_secs(3600)));
    let started = Instant::now();
    assert_eq!(rt.run_until_stalled(), 5); // quick 4 times, slow once
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(quick.is_finished() && !slow.is_finished());
    assert_eq!(rt.run_until_stalled(), 0);
    // A virtual clock does not jump either.
    let rt = Builder::new().virtual_time(true).build().unwrap();
    let slow = rt.spawn(sleep(Duration::from_secs(3600)));
    rt.run_until_stalled();
    assert!(!slow.is_finished());
}

#[test]
fn run_until_stalled_inside_a_task_is_a_clear_panic() {
    let rt = Runtime::new().unwrap();
    let inner = Runtime::new().unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { inner.run_until_stalled() })
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("Runtime::run_until_stalled called while"),
        "{message}"
    );
}

#[test]
fn the_descriptor_is_readable_after_a_remote_spawn_and_quiet_once_turned() {
    let rt = Runtime::new().unwrap();
    rt.run_until_stalled();
    assert!(!readable(&rt, Duration::ZERO));
    let handle = rt.handle();
    let remote = thread::spawn(move || handle.spawn(async { 5 }))
        .join()
        .unwrap();
    assert!(readable(&rt, Duration::from_secs(5)));
    assert!(rt.next_wakeup().is_some_and(|at| at <= Instant::now()));
    rt.turn(Some(Duration::ZERO));
    assert!(
        !readable(&rt, Duration::ZERO),
        "a turn must drain the wake-up"
    );
    assert_eq!(rt.block_on(remote).unwrap(), 5);
}

#[test]
fn the_descriptor_is_readable_once_a_timer_falls_due() {
    let rt = Runtime::new().unwrap();
    let deadline = Instant::now() + Duration::from_millis(40);
    let sleeper = rt.spawn(sleep_until(deadline));
    rt.turn(Some(Duration::ZERO)); // polls the sleeper: its timer is set
    assert_eq!(rt.next_wakeup(), Some(deadline));
    assert!(readable(&rt, Duration::from_secs(5)));
    assert!(Instant::now() >= deadline);
    rt.turn(Some(Duration::ZERO)); // fires it
    rt.turn(Some(Duration::ZERO)); // the sleeper ends
    assert!(sleeper.is_finished());
    assert!(!readable(&rt, Duration::ZERO));
}

#[test]
fn next_wakeup_is_none_on_an_empty_runtime_and_now_with_work_ready() {
    let rt = Runtime::new().unwrap();
    assert_eq!(rt.next_wakeup(), None);
    let _task = rt.spawn(async {});
    assert!(rt.next_wakeup().is_some_and(|at| at <= Instant::now()));
    let rt = Builder::new().virtual_time(true).build().unwrap();
    let _sleeper = rt.spawn(sleep(Duration::from_secs(3600)));
    rt.run_until_stalled();
    // Under virtual time a pending timer is work: the clock jumps inside `turn`.
    assert!(rt.next_wakeup().is_some_and(|at| at <= Instant::now()));
}

/// A pipe: (read end, write end).
fn pipe() -> (std::fs::File, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both were just created and are owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    (read.into(), write.into())
}

#[test]
fn a_pipe_read_through_async_wakes_its_task_when_the_other_end_writes() {
    let (read, mut write) = pipe();
    let rt = Runtime::new().unwrap();
    let (wrote_tx, wrote_rx) = mpsc::channel::<()>();
    let got = rt.block_on(async move {
        let read = Async::new(read).unwrap();
        let reader = evloop::spawn(async move {
            let mut buf = [0u8; 16];
            let n = read.read_with(|mut f| f.read(&mut buf)).await.unwrap();
            buf[..n].to_vec()
        });
        evloop::yield_now().await; // the reader found the pipe empty and waits
        assert!(!reader.is_finished());
        thread::spawn(move || {
            write.write_all(b"through the pipe").unwrap();
            wrote_tx.send(()).unwrap();
        });
        reader.await.unwrap()
    });
    wrote_rx.recv().unwrap();
    assert_eq!(got, b"through the pipe");
}

#[test]
fn async_readable_and_writable_wait_for_the_descriptor() {
    let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    evloop::run(async move {
        let a = Async::new(a).unwrap();
        a.writable().await.unwrap();
        let mut buf = [0u8; 4];
        // Nothing to read: the read says WouldBlock, so readable() waits now.
        let waiting = evloop::time::timeout(Duration::from_millis(20), async {
            a.read_with(|mut s| s.read(&mut buf)).await
        });
        assert!(waiting.await.is_err());
        b.write_all(b"ping").unwrap();
        a.readable().await.unwrap();
        assert_eq!(a.read_with(|mut s| s.read(&mut buf)).await.unwrap(), 4);
        let inner = a.into_inner();
        assert_eq!(inner.peer_addr().unwrap().as_pathname(), None);
    });
}

#[test]
fn a_unix_socket_echoes_a_mebibyte() {
    const SIZE: usize = 1 << 20;
    let path = std::env::temp_dir().join(format!("evloop-echo-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    evloop::run(async {
        let listener = UnixListener::bind(&path).unwrap();
        let server = evloop::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n]).await.unwrap();
            }
        });
        // Two handles on the client's socket (a dup'ed descriptor): one task
        // writes while this one reads back, so neither waits for the other.
        let client = UnixStream::connect(&path)
            .await
            .unwrap()
            .into_std()
            .unwrap();
        let mut writer = UnixStream::from_std(client.try_clone().unwrap()).unwrap();
        let mut reader = UnixStream::from_std(client).unwrap();
        let data: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let writing = evloop::spawn(async move {
            writer.write_all(&sent).await.unwrap();
            writer.shutdown(std::net::Shutdown::Write).unwrap();
        });
        let mut echoed = Vec::with_capacity(SIZE);
        reader.read_to_end(&mut echoed).await.unwrap();
        writing.await.unwrap();
        server.await.unwrap();
        assert_eq!(echoed.len(), SIZE);
        assert!(echoed == data, "the echo differs from what was sent");
    });
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn spawn_with_runs_a_future_that_sleeps_and_uses_a_tcp_stream_from_another_thread() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(b"hi").unwrap();
    });
    let remote = thread::spawn(move || {
        handle.spawn_with(move || async move {
            sleep(Duration::from_millis(5)).await; // `Sleep` is not `Send`
            let mut stream = TcpStream::connect(addr).await.unwrap(); // nor is this
            let mut buf = [0u8; 2];
            stream.read_exact(&mut buf).await.unwrap();
            buf
        })
    })
    .join()
    .unwrap();
    assert_eq!(&rt.block_on(remote).unwrap(), b"hi");
    server.join().unwrap();
}

#[test]
fn sockets_made_elsewhere_work_and_go_back() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    evloop::run(async move {
        let listener = TcpListener::from_std(std_listener).unwrap();
        assert_eq!(
            listener.as_raw_fd(),
            std::os::fd::AsFd::as_fd(&listener).as_raw_fd()
        );
        let client = thread::spawn(move || std::net::TcpStream::connect(addr).unwrap());
        let (stream, _) = listener.accept().await.unwrap();
        let client = client.join().unwrap();
        let back = stream.into_std().unwrap();
        assert_eq!(back.peer_addr().unwrap(), client.local_addr().unwrap());
        let again = TcpStream::from_std(back).unwrap();
        assert_eq!(again.peer_addr().unwrap(), client.local_addr().unwrap());
        let std_listener = listener.into_std().unwrap();
        assert_eq!(std_listener.local_addr().unwrap(), addr);
    });
}
