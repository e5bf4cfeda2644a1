//! The child-process tests, written once: `tests/process.rs` runs them with
//! pidfds (where the kernel has them), `tests/process_sigchld.rs` with
//! `EVLOOP_CHILD_WAIT=signal`, the SIGCHLD fallback. Each runs under its own
//! deadline, so a lost exit fails in seconds instead of hanging the suite.
#![allow(dead_code)] // each binary runs the ones it needs

use std::os::unix::process::ExitStatusExt;
use std::panic::{self, AssertUnwindSafe};
use std::process::Stdio;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use evloop::process::Command;
use evloop::time;

/// Runs `f` on a thread of its own inside a fresh runtime and returns its result,
/// re-raising its panic; fails the test if it has not ended after `seconds`.
pub fn within<T: Send + 'static, F: std::future::Future<Output = T>>(
    seconds: u64,
    what: &str,
    f: impl FnOnce() -> F + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(|| evloop::run(f()))));
    });
    match rx.recv_timeout(Duration::from_secs(seconds)) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => panic::resume_unwind(panic),
        Err(_) => panic!("{what}: still running after {seconds} s — an exit was lost"),
    }
}

/// How many of this process's descriptors are pidfds.
pub fn open_pidfds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().contains("pidfd"))
        .count()
}

/// Whether process `pid` still exists (running, or a zombie nobody reaped), and
/// if so whether it is a zombie.
pub fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid …": the state follows the last ')'.
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// Waits (yielding to the loop, up to 10 s) until `pid` is gone: reaped.
pub async fn until_reaped(pid: u32) {
    let start = Instant::now();
    while let Some(state) = process_state(pid) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "process {pid} is still there (state {state}) 10 s later: nobody reaped it"
        );
        time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn stdout_and_stderr_are_read_together() {
    within(60, "8 MiB on each pipe", || async {
        // The child writes all of stderr before any stdout: a parent reading
        // stdout to the end first would wait for ever with stderr's pipe full.
        let script = "head -c 8388608 /dev/zero | tr '\\0' e >&2; \
                      head -c 8388608 /dev/zero | tr '\\0' o";
        let output = Command::new("sh")
            .args(["-c", script])
            .output()
            .await
            .unwrap();
        assert!(output.status.success(), "{:?}", output.status);
        assert_eq!(output.stdout.len(), 8 << 20);
        assert_eq!(output.stderr.len(), 8 << 20);
        assert!(output.stdout.iter().all(|&b| b == b'o'));
        assert!(output.stderr.iter().all(|&b| b == b'e'));
    });
}

pub fn exit_codes_and_signals_are_reported() {
    within(30, "exit codes", || async {
        let code = Command::new("sh")
            .args(["-c", "exit 7"])
            .status()
            .await
            .unwrap();
        assert_eq!(code.code(), Some(7));
        let killed = Command::new("sh")
            .args(["-c", "kill -TERM $$"])
            .status()
            .await
            .unwrap();
        assert_eq!(killed.code(), None);
        assert_eq!(killed.signal(), Some(libc::SIGTERM));
        assert!(Command::new("true").status().await.unwrap().success());
    });
}

pub fn stdin_is_written_then_closed() {
    within(30, "stdin", || async {
        let mut child = Command::new("wc")
            .arg("-c")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&vec![b'x'; 1 << 20]).await.unwrap();
        stdin.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(
            stdin.write(b"late").await.is_err(),
            "shut down: writes fail"
        );
        let mut counted = String::new();
        let mut stdout = child.stdout.take().unwrap();
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).await.unwrap();
        counted.push_str(String::from_utf8(bytes).unwrap().trim());
        assert_eq!(counted, "1048576");
        assert!(child.wait().await.unwrap().success());
    });
}

pub fn kill_ends_a_child_that_ignores_sigterm() {
    within(30, "kill", || async {
        let mut child = Command::new("sh")
            .args(["-c", "trap '' TERM; echo ready; exec sleep 30"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = [0u8; 6];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut ready)
            .await
            .unwrap();
        assert_eq!(&ready, b"ready\n");
        // SAFETY: kill(2) on our own child's pid, with a valid signal number.
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
        let ignored = time::timeout(Duration::from_millis(200), child.wait()).await;
        assert!(ignored.is_err(), "SIGTERM is ignored: still running");
        child.kill().unwrap();
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(
            child.try_wait().unwrap(),
            Some(status),
            "the same status again"
        );
        child.kill().unwrap(); // ended already: Ok
    });
}

pub fn a_dropped_child_is_reaped() {
    within(30, "dropped children", || async {
        // Dropped while running: reaped once it exits (its stdin closing ends it).
        let child = Command::new("sh")
            .args(["-c", "read line"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(process_state(pid).is_some());
        drop(child);
        until_reaped(pid).await;
        // With kill_on_drop, killed first: `sleep 30` is gone at once.
        let sleeper = Command::new("sleep")
            .arg("30")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = sleeper.id();
        drop(sleeper);
        until_reaped(pid).await;
    });
}

pub fn the_loop_ticks_while_children_run() {
    within(60, "50 children and a 1 ms interval", || async {
        let children: Vec<_> = (0..50)
            .map(|_| Command::new("sleep").arg("0.3").spawn().unwrap())
            .collect();
        let start = Instant::now();
        let waiting = evloop::spawn(async move {
            for mut child in children {
                assert!(child.wait().await.unwrap().success());
            }
        });
        let mut ticks = 0u64;
        let mut interval = time::interval(Duration::from_millis(1));
        while !waiting.is_finished() {
            interval.tick().await;
            ticks += 1;
        }
        waiting.await.unwrap();
        let elapsed_ms = start.elapsed().as_millis() as u64;
        assert!(
            elapsed_ms >= 290,
            "the children slept 0.3 s: {elapsed_ms} ms"
        );
        // A loop blocked on the children would tick a handful of times; a free one
        // ticks about once a millisecond. Allow a loaded machine a quarter of that.
        assert!(
            ticks * 4 >= elapsed_ms,
            "{ticks} ticks of 1 ms in {elapsed_ms} ms: the loop was blocked"
        );
    });
}

pub fn a_missing_program_is_named() {
    within(30, "not found", || async {
        let err = Command::new("evloop-no-such-program").spawn().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert!(
            err.to_string().contains("evloop-no-such-program"),
            "the error names the program: {err}"
        );
    });
}

pub fn std_children_are_not_stolen() {
    within(30, "std's child", || async {
        let mut theirs = std::process::Command::new("sleep")
            .arg("0.2")
            .spawn()
            .unwrap();
        // Our children end (and SIGCHLDs arrive) while std's still runs, and after.
        for _ in 0..5 {
            assert!(Command::new("true").status().await.unwrap().success());
        }
        let mut late = Command::new("sleep").arg("0.4").spawn().unwrap();
        let status = evloop::spawn_blocking(move || theirs.wait()).await.unwrap();
        assert!(
            status.unwrap().success(),
            "std's wait got its own child's status"
        );
        assert!(late.wait().await.unwrap().success());
    });
}
