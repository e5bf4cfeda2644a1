//! What it shows: evloop inside a loop it does not own. The host here is a plain
//! `poll(2)` loop that reads stdin; evloop serves a TCP echo server and ticks an
//! interval, driven only through its descriptor (`AsRawFd`), `next_wakeup()` and
//! `turn(Some(Duration::ZERO))` — no `block_on`, no helper thread.
//! What to look for: each line you type goes from the host, through a channel,
//! to an evloop task that sends it over TCP to the echo server and prints the
//! echo; the ticks keep coming while the host waits on stdin. At the end, how many
//! times the host woke for each side.
//! Try next: `printf 'one\ntwo\n' | cargo run --example embed` (it ends at the end
//! of stdin), or type lines and end with Ctrl-D.

mod common;

use std::cell::Cell;
use std::io::{self, BufRead};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use evloop::net::{TcpListener, TcpStream};
use evloop::sync::mpsc;
use evloop::time::interval;

fn main() {
    common::quit_quietly_when_stdout_closes();
    common::no_options("embed", include_str!("embed.rs"), "embed < lines");
    let rt = evloop::Runtime::new().expect("a runtime");
    let (lines_tx, lines_rx) = mpsc::unbounded::<String>();
    let mut lines_tx = Some(lines_tx);
    let echoed = Rc::new(Cell::new(0));
    let echo = rt.spawn(echo_lines(lines_rx, echoed.clone()));
    let ticked = Rc::new(Cell::new(0));
    let ticker = rt.spawn({
        let ticked = ticked.clone();
        async move {
            let mut ticks = interval(Duration::from_millis(250));
            for tick in 1.. {
                ticks.tick().await;
                println!("evloop: tick {tick}");
                ticked.set(tick);
            }
        }
    });
    let started = Instant::now();
    let (mut host_wakes, mut evloop_wakes, mut turns) = (0, 0, 0);
    let mut stdin = Some(io::stdin().lock());
    // Until every line is echoed and a tick came through evloop's descriptor: piped
    // input arrives all at once, and the host would never have to wait for evloop.
    while !echo.is_finished() || ticked.get() < 2 {
        // The host's wait: stdin (while open) and evloop's descriptor, for as long
        // as evloop says it can wait.
        let timeout = rt
            .next_wakeup()
            .map(|at| at.saturating_duration_since(Instant::now()));
        let stdin_fd = stdin.as_ref().map_or(-1, |s| s.as_raw_fd()); // -1: ignored
        let [stdin_ready, evloop_ready] = wait([stdin_fd, rt.as_raw_fd()], timeout);
        if stdin_ready {
            host_wakes += 1;
            let mut line = String::new();
            match stdin.as_mut().map(|s| s.read_line(&mut line)) {
                Some(Ok(n)) if n > 0 => {
                    println!("host: read {:?} from stdin", line.trim_end());
                    let line = line.trim_end().to_string();
                    lines_tx.as_ref().map(|tx| tx.try_send(line)); // unbounded: never full
                }
                _ => {
                    println!("host: stdin ended");
                    stdin = None;
                    lines_tx = None; // the echo task ends once it has sent the rest
                }
            }
        }
        if evloop_ready {
            evloop_wakes += 1;
        }
        turns += 1;
        rt.turn(Some(Duration::ZERO)); // evloop does what became ready, never waits
    }
    ticker.abort();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    println!(
        "host: {} echoed in {:.2} s; woke {} for stdin, {} for evloop's descriptor; {}",
        plural(echoed.get(), "line", "lines"),
        started.elapsed().as_secs_f64(),
        plural(host_wakes, "time", "times"),
        plural(evloop_wakes, "time", "times"),
        plural(turns, "turn", "turns"),
    );
}

/// evloop's side: an echo server, and a task that sends each line the host hands
/// over through it and prints the echo, counting them in `echoed`.
async fn echo_lines(mut lines: mpsc::Receiver<String>, echoed: Rc<Cell<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    println!("evloop: echo server on {addr}");
    evloop::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            evloop::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = stream.read(&mut buf).await {
                    if stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let mut client = TcpStream::connect(addr).await.expect("connect");
    while let Some(line) = lines.recv().await {
        let mut back = vec![0u8; line.len()];
        client.write_all(line.as_bytes()).await.expect("send");
        client.read_exact(&mut back).await.expect("echo");
        println!("evloop: echoed {:?}", String::from_utf8_lossy(&back));
        echoed.set(echoed.get() + 1);
    }
}

/// Waits until one of `fds` is readable or `timeout` passes (`None`: for ever);
/// says which are readable. A negative fd is ignored, as `poll(2)` does.
fn wait<const N: usize>(fds: [i32; N], timeout: Option<Duration>) -> [bool; N] {
    let mut pollfds = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    // Round up: waking a little late is fine, waking early costs a spin.
    let ms = timeout.map_or(-1, |t| {
        let ms = t.as_nanos().div_ceil(1_000_000);
        libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
    });
    // SAFETY: `pollfds` is an array of N initialised pollfd structs, and N is the
    // count passed; poll writes only their `revents` fields.
    let ready = unsafe { libc::poll(pollfds.as_mut_ptr(), N as libc::nfds_t, ms) };
    if ready < 0 {
        let error = io::Error::last_os_error();
        assert_eq!(
            error.kind(),
            io::ErrorKind::Interrupted,
            "poll failed: {error}"
        );
    }
    pollfds.map(|p| p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0)
}
