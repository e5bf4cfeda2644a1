//! Child processes on the loop: [`Command`] starts a program, [`Child`] waits for
//! it and talks to it, and neither blocks the loop.
//!
//! Floor 3, beside `net` and `signal`. `Command` is `std::process::Command`'s
//! builder (the same methods, and [`as_std_mut`](Command::as_std_mut) for the
//! rest), and what it starts is `std`'s own child. What evloop adds is on the
//! waiting side:
//!
//! - the child's stdin, stdout and stderr, when piped, are byte streams registered
//!   with the reactor ([`ChildStdin`], [`ChildStdout`], [`ChildStderr`]), with
//!   `TcpStream`'s methods and the `futures-io` traits;
//! - its exit is learned from a `pidfd` registered with the reactor (Linux 5.3 and
//!   later), or else from SIGCHLD through evloop's signal machinery — no thread per
//!   child, no timer, and only its own children are ever reaped (`waitpid` of its
//!   pid, never `waitpid(-1)`); `EVLOOP_CHILD_WAIT=signal` forces the SIGCHLD way;
//! - a `Child` dropped while its process runs is reaped later, by one
//!   `evloop-reaper` thread started the first time that happens: never a zombie.
//!   With [`kill_on_drop(true)`](Command::kill_on_drop) it is killed first.
//!
//! Spawning happens on the loop: `std` starts the program with `posix_spawn` (a
//! `vfork`-style clone) where it can, so the loop stops only until the child has
//! called `exec` — 85 µs for `true` on the 2-core VM evloop is measured on, of the
//! 0.42 ms a spawn-and-wait takes; a `fork` that copies a big process's page
//! tables would take longer, which is why `std` avoids it. Moving the spawn to the
//! blocking pool would cost a thread hand-off each way for no gain (the `process`
//! benchmark measures spawn-and-wait of `true` beside tokio's).
//!
//! ```
//! use std::process::Stdio;
//! use evloop::process::Command;
//!
//! evloop::run(async {
//!     let output = Command::new("sh").args(["-c", "echo hello; exit 3"]).output().await.unwrap();
//!     assert_eq!(output.stdout, b"hello\n");
//!     assert_eq!(output.status.code(), Some(3));
//!
//!     // Or talk to it as it runs.
//!     let mut child = Command::new("cat")
//!         .stdin(Stdio::piped())
//!         .stdout(Stdio::piped())
//!         .spawn()
//!         .unwrap();
//!     let mut stdin = child.stdin.take().unwrap();
//!     stdin.write_all(b"ping").await.unwrap();
//!     drop(stdin); // cat sees the end of its input
//!     let mut echoed = Vec::new();
//!     child.stdout.take().unwrap().read_to_end(&mut echoed).await.unwrap();
//!     assert_eq!(echoed, b"ping");
//!     assert!(child.wait().await.unwrap().success());
//! });
//! ```
//!
//! What differs from tokio's `process`: Unix only (no Windows); `kill` is
//! `std`'s (it sends SIGKILL and returns; `wait` then reaps), where tokio's `kill`
//! also waits; the streams are evloop's own, not tokio's `AsyncRead`.

use std::ffi::OsStr;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};
use std::task::{Context, Poll};

mod exit;
mod pipe;

pub use pipe::{ChildStderr, ChildStdin, ChildStdout};

use exit::ExitWatch;

/// A program to start, with its arguments, environment and standard streams: the
/// builder of `std::process::Command`, whose children evloop waits for on the loop.
pub struct Command {
    /// The builder itself.
    std: std::process::Command,
    /// Whether a `Child` dropped while running kills its process.
    kill_on_drop: bool,
    /// Whether stdin, stdout and stderr were set (`output` pipes the ones not set).
    set: [bool; 3],
}

impl Command {
    /// A command that runs `program` (looked up in `PATH` unless it has a `/`),
    /// with no arguments, this process's environment and working directory, and
    /// its standard streams inherited — as `std`'s.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (then `env` adds to it).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Sets the child's standard input: `Stdio::piped()` gives `Child::stdin`.
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.set[0] = true;
        self
    }

    /// Sets the child's standard output: `Stdio::piped()` gives `Child::stdout`.
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.set[1] = true;
        self
    }

    /// Sets the child's standard error: `Stdio::piped()` gives `Child::stderr`.
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.set[2] = true;
        self
    }

    /// Whether a [`Child`] dropped while its process still runs kills the process
    /// (SIGKILL). Off by default, as in `std` and tokio: the process runs on, and
    /// is reaped when it exits. Either way it is never left a zombie.
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// The `std` builder, for what this one does not wrap (`uid`, `process_group`,
    /// `pre_exec`, …).
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The `std` builder, to change.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the program. Its exit is watched from now on, on this runtime.
    ///
    /// # Errors
    ///
    /// If the program cannot be started, with the OS's reason and the program's
    /// name (`NotFound` for a program that does not exist).
    ///
    /// # Panics
    ///
    /// Outside a runtime: the child's pipes and exit are waited for on the loop.
    pub fn spawn(&mut self) -> io::Result<Child> {
        if crate::runtime::current_reactor().is_none() {
            panic!(
                "evloop::process::Command::spawn called outside a runtime: call it inside \
                 Runtime::block_on (or use std::process::Command)"
            );
        }
        let child = self.std.spawn().map_err(|e| {
            let program = self.std.get_program().to_string_lossy();
            io::Error::new(e.kind(), format!("could not start `{program}`: {e}"))
        })?;
        Child::new(child, self.kill_on_drop)
    }

    /// Starts the program and waits for it to end; its stdin is closed first if it
    /// was piped. The standard streams are inherited unless set.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Command::spawn), or if waiting failed.
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        drop(child.stdin.take());
        child.wait().await
    }

    /// Starts the program and collects all it writes: stdout and stderr are read
    /// together (so a child that fills one pipe while the other is being read never
    /// stalls), then its status is awaited. Stdout and stderr are piped and stdin
    /// is null unless they were set — and stay so for later spawns, as in tokio.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Command::spawn), or if reading or waiting failed.
    pub async fn output(&mut self) -> io::Result<Output> {
        if !self.set[0] {
            self.stdin(Stdio::null());
        }
        if !self.set[1] {
            self.stdout(Stdio::piped());
        }
        if !self.set[2] {
            self.stderr(Stdio::piped());
        }
        let mut child = self.spawn()?;
        drop(child.stdin.take());
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
        poll_fn(|cx| {
            let out_done = drain(cx, &mut out, &mut stdout, ChildStdout::poll_read_buf)?;
            let err_done = drain(cx, &mut err, &mut stderr, ChildStderr::poll_read_buf)?;
            match out_done && err_done {
                true => Poll::Ready(Ok::<(), io::Error>(())),
                false => Poll::Pending,
            }
        })
        .await?;
        let status = child.wait().await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// Reads `stream` into `into` until it would wait (false) or ends (true, and the
/// stream is dropped).
fn drain<S>(
    cx: &mut Context<'_>,
    stream: &mut Option<S>,
    into: &mut Vec<u8>,
    poll_read: fn(&S, &mut Context<'_>, &mut [u8]) -> Poll<io::Result<usize>>,
) -> io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    while let Some(reading) = stream {
        match poll_read(reading, cx, &mut chunk) {
            Poll::Pending => return Ok(false),
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Ready(Ok(0)) => *stream = None,
            Poll::Ready(Ok(n)) => into.extend_from_slice(&chunk[..n]),
        }
    }
    Ok(true)
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            set: [false; 3],
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // std's Debug is the command line, quoted.
        fmt::Debug::fmt(&self.std, f)?;
        if self.kill_on_drop {
            f.write_str(" (killed on drop)")?;
        }
        Ok(())
    }
}

/// A running (or ended) child process: its pipes, if they were asked for, and its
/// exit, awaited on the loop with [`wait`](Child::wait).
///
/// A `Child` belongs to the runtime that spawned it (its pipes and its pidfd are
/// registered there) and is not `Send`. Dropping it does not kill the process
/// unless [`Command::kill_on_drop`] said so; either way it is reaped when it ends.
pub struct Child {
    /// The child's standard input, if it was `Stdio::piped()`.
    pub stdin: Option<ChildStdin>,
    /// The child's standard output, if it was `Stdio::piped()`.
    pub stdout: Option<ChildStdout>,
    /// The child's standard error, if it was `Stdio::piped()`.
    pub stderr: Option<ChildStderr>,
    /// `std`'s child, its pipes taken out: its pid, `try_wait`, `kill`. Taken out
    /// only by `drop`, for the reaper.
    std: Option<std::process::Child>,
    /// How its exit is learned; gone once it is reaped.
    exit: Option<ExitWatch>,
    /// The exit status, once reaped.
    status: Option<ExitStatus>,
    /// Whether dropping this `Child` kills a process that still runs.
    kill_on_drop: bool,
}

impl Child {
    /// Wraps `std`'s child: its pipes registered with the loop, its exit watched.
    fn new(mut std: std::process::Child, kill_on_drop: bool) -> io::Result<Child> {
        let (stdin, stdout, stderr) = (std.stdin.take(), std.stdout.take(), std.stderr.take());
        let exit = Some(ExitWatch::new(std.id()));
        let mut child = Child {
            stdin: None,
            stdout: None,
            stderr: None,
            std: Some(std),
            exit,
            status: None,
            kill_on_drop,
        };
        // On an error here the child runs on; dropping `child` reaps it later.
        child.stdin = stdin.map(ChildStdin::new).transpose()?;
        child.stdout = stdout.map(ChildStdout::new).transpose()?;
        child.stderr = stderr.map(ChildStderr::new).transpose()?;
        Ok(child)
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.std.as_ref().map_or(0, std::process::Child::id)
    }

    /// `std`'s child, there until `drop`.
    fn std(&mut self) -> &mut std::process::Child {
        self.std
            .as_mut()
            .expect("a Child keeps std's child until it is dropped")
    }

    /// Waits for the process to end and reaps it; returns its exit status (a code,
    /// or the signal that ended it: `std::os::unix::process::ExitStatusExt`). Closes
    /// the child's stdin first, if it is still here, so that a child reading its
    /// input to the end cannot wait for us while we wait for it. Once it has
    /// returned, it returns the same status again.
    ///
    /// **Cancel safety**: dropping the future loses nothing; wait again later.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    /// [`wait`](Child::wait) as a poll function (without closing stdin).
    pub fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        if let Some(status) = self.status {
            return Poll::Ready(Ok(status));
        }
        let (Some(exit), Some(std)) = (&mut self.exit, &mut self.std) else {
            unreachable!("a child without an exit status is watched");
        };
        let polled = std::task::ready!(exit.poll_exit(std, cx));
        Poll::Ready(polled.map(|status| self.reaped(status)))
    }

    /// The exit status if the process has ended (and reaps it), else `None`; never
    /// waits.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        Ok(self.std().try_wait()?.map(|status| self.reaped(status)))
    }

    /// Sends SIGKILL, which the process cannot ignore; `wait` then reaps it. `Ok`
    /// if it had ended already.
    pub fn kill(&mut self) -> io::Result<()> {
        match self.status {
            Some(_) => Ok(()),
            None => self.std().kill(),
        }
    }

    /// Keeps `status` and stops watching: the pid may be reused from now on.
    fn reaped(&mut self, status: ExitStatus) -> ExitStatus {
        self.status = Some(status);
        self.exit = None;
        status
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.try_wait().ok().flatten().is_some() {
            return;
        }
        if self.kill_on_drop {
            let _ = self.std().kill();
        }
        // Still running (or dying): the reaper waits for it.
        self.exit = None;
        if let Some(std) = self.std.take() {
            exit::reap_later(std);
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("status", &self.status)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}
