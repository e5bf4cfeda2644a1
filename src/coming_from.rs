//! Coming from tokio or asyncio: the names you already type, and what works here.
//!
//! evloop is a single-threaded runtime, like tokio's current-thread runtime with a
//! `LocalSet` or asyncio's event loop: tasks need not be `Send`, and every task of
//! a runtime runs on the thread that drives it.
//!
//! | you know | tokio | asyncio | evloop |
//! |---|---|---|---|
//! | start the loop | `#[tokio::main]`, `Runtime::block_on` | `asyncio.run`, `run_until_complete` | [`run`](crate::run), [`Runtime::block_on`](crate::Runtime::block_on) |
//! | a task | `spawn_local` (`LocalSet`), `spawn` | `create_task` | [`spawn`](crate::spawn) (need not be `Send`) |
//! | from another thread | `Handle::spawn` | `run_coroutine_threadsafe` | [`Handle::spawn`](crate::Handle::spawn), [`Handle::spawn_with`](crate::Handle::spawn_with) (a non-`Send` future, built on the loop) |
//! | blocking work | `spawn_blocking` | `run_in_executor(None, f)` | [`spawn_blocking`](crate::spawn_blocking) |
//! | give up a turn | `task::yield_now` | `sleep(0)` | [`yield_now`](crate::yield_now) |
//! | wait for all | `JoinSet`, `join!` | `gather` | [`JoinSet::join_all`](crate::JoinSet::join_all) |
//! | as they finish | `JoinSet::join_next` | `as_completed` | [`JoinSet::join_next`](crate::JoinSet::join_next), or `JoinSet` as a `Stream` |
//! | first of several | `tokio::select!` | `wait(…, FIRST_COMPLETED)` | `futures::select!` — evloop's futures are fused, no `.fuse()` needed |
//! | time | `time::sleep`, `timeout`, `interval` | `sleep`, `wait_for` | [`time::sleep`](crate::time::sleep), [`time::timeout`](crate::time::timeout), [`time::interval`](crate::time::interval) (a `Stream`) |
//! | signalling | `sync::Notify` | `asyncio.Event` | [`sync::Event`](crate::sync::Event) |
//! | channels, locks | `sync::{mpsc, oneshot, Semaphore, Mutex}` | `Queue`, `Semaphore`, `Lock` | [`sync`](crate::sync): the same names, fair (first come, first served) |
//! | sockets | `net::{TcpListener, TcpStream, UdpSocket, UnixStream}` | `open_connection`, `start_server` | [`net`](crate::net): the same names; `split`, `into_split` as tokio's |
//! | any descriptor | `io::unix::AsyncFd` | `add_reader` | [`io::Async`](crate::io::Async) |
//! | child processes | `process::Command` | `create_subprocess_exec` | [`process::Command`](crate::process::Command) (`spawn`, `status`, `output`; `Child::wait`, `kill`, piped stdio) |
//! | HTTP with hyper | hyper-util's `TokioExecutor`, `TokioTimer`, `TokioIo` | — | `evloop::hyper::{Executor, Timer, Io}` (feature `hyper`) |
//! | Ctrl-C | `signal::ctrl_c` | `add_signal_handler` | [`signal::ctrl_c`](crate::signal::ctrl_c), [`signal::unix`](crate::signal::unix) |
//! | stop a group of tasks | tokio-util's `CancellationToken` | — | [`sync::CancellationToken`](crate::sync::CancellationToken) (`child_token`, `cancelled().await`) |
//! | a graceful shutdown | tokio-util's `TaskTracker` | `wait_for` over the tasks | [`JoinSet::shutdown(grace)`](crate::JoinSet::shutdown): finish within the grace, abort the rest |
//! | a value per task | `task_local!` | `contextvars.ContextVar` | [`task_local!`](crate::task_local) (`scope`, `with`, `get`) |
//! | a stream in memory | `io::duplex` | — | [`io::duplex`](crate::io::duplex) |
//! | another interleaving | (`rng_seed`, unstable: `select!` only) | — (trio shuffles) | [`Builder::seed`](crate::Builder::seed), `EVLOOP_SEED`, [`check::explore`](crate::check::explore) |
//! | read/write traits | `AsyncRead`/`AsyncWrite` (tokio's) | streams | the `futures-io` traits (`futures::io::AsyncReadExt`…) |
//!
//! **Crates that need no runtime work unchanged**: `futures` and `futures-util`
//! (including its `io` module), `async-channel`, `async-lock`, `tokio::sync` (it
//! needs no tokio runtime), `async-tungstenite` and `futures-rustls` over evloop's
//! `futures-io` streams, and hyper (below).
//!
//! **Crates built on the tokio runtime do not**: `tokio::time::sleep`,
//! `tokio::net`, `reqwest`, axum's `serve` and the like look for a tokio reactor
//! and panic with "there is no reactor running, must be called from the context of
//! a Tokio 1.x runtime". Use evloop's equivalents, or run them on a tokio runtime
//! in another thread and talk to it through a channel.
//!
//! **hyper 1.x** asks its runtime for an executor, a timer and I/O adapters: the
//! feature `hyper` gives them, as `evloop::hyper::{Executor, Timer, Io}`
//! (`cargo run --example hello_http --features hyper`). Do not leave out the
//! timer: without one hyper silently drops its timeouts — a server's
//! `header_read_timeout` never fires, and a client that connects and sends
//! nothing holds its connection for ever.
