//! # evloop — an event loop you can read
//!
//! evloop is a single-threaded coroutine runtime for Rust: a task queue, wakers, a
//! mio-based reactor, timers, and a thread pool for blocking calls. It is small
//! enough to read in an afternoon, fast enough to race tokio's current-thread
//! runtime, and dependable enough to embed.
//!
//! ```
//! use std::time::Duration;
//!
//! let answer = evloop::run(async {
//!     let spinner = evloop::spawn(async {
//!         loop {
//!             evloop::time::sleep(Duration::from_millis(100)).await; // a frame
//!         }
//!     });
//!     evloop::time::sleep(Duration::from_millis(250)).await; // "slow work"
//!     spinner.abort();
//!     42
//! });
//! assert_eq!(answer, 42);
//! ```
//!
//! ## A guided tour
//!
//! Read it bottom-up: each layer uses only the layers below it, so you never meet
//! a name before its definition.
//!
//! 1. **[`runtime`](Runtime)** (`src/runtime/mod.rs`) — start here for the big
//!    picture. Its module doc draws one turn of the loop, and `Runtime::turn` is
//!    those four steps, one line each:
//!    1. *timers* — `src/time/timers.rs`, `Timers::fire_due`;
//!    2. *remote wakes* — `src/task/waker.rs` (the `Injector`) and
//!       `Executor::take_injected` in `src/task/executor.rs`;
//!    3. *run tasks* — `Executor::run_ready`, in `src/task/executor.rs`;
//!    4. *reactor* — `Drivers::wait_for_io` (`src/runtime/drivers.rs`) decides how
//!       long to wait, `Reactor::wait` (`src/reactor.rs`) waits and wakes.
//! 2. **Tasks** (`src/task/`) — how [`spawn`] stores a future in a slab, how a
//!    `Waker` puts it back on the run queue (from this thread without a lock, from
//!    another through the injection queue), and how a [`JoinHandle`] gets the
//!    output or a [`JoinError`]. [`JoinSet`] (`join_set.rs`) awaits a group of
//!    tasks; [`RemoteHandle`] (`remote.rs`) a task spawned from another thread
//!    through a [`Handle`].
//! 3. **The reactor** (`src/reactor.rs`) — one `mio::Poll`, edge-triggered; a
//!    socket operation that would block parks its task until the socket is ready.
//! 4. **Time** (`src/time/`) — the clock (real or virtual), the timers (a
//!    `BTreeMap` by deadline) and the [`time::sleep`], [`time::timeout`] and
//!    [`time::interval`] built on them; `src/runtime/alarm.rs` arms a `timerfd` so
//!    timers fire within microseconds, not `epoll_wait`'s milliseconds.
//! 5. **The blocking pool** (`src/blocking.rs`) — the threads behind
//!    [`spawn_blocking`], asyncio's `run_in_executor`: started lazily, capped, and
//!    retired when idle; results come back through a oneshot.
//! 6. **Networking** (`src/net/`) — [`net::TcpListener`], [`net::TcpStream`] and
//!    [`net::UdpSocket`]; host names are resolved on the blocking pool.
//! 7. **Sync** (`src/sync/`) — between tasks and threads: [`sync::mpsc`] channels,
//!    [`sync::oneshot`], [`sync::Event`], [`sync::Semaphore`], [`sync::Mutex`].
//!    None of them knows the runtime, so they work under any executor.
//! 8. **Signals** (`src/signal.rs`) — [`signal::ctrl_c`], through a self-pipe and
//!    one `evloop-signal` thread.
//! 9. **The OS** (`src/sys.rs`) — the only `unsafe` in the crate: a few thin
//!    `libc` wrappers (a `timerfd`, `sigaction`, a pipe), each tested.
//!
//! ## Panics in tasks
//!
//! A panic inside a task is caught at its poll: the task's [`JoinHandle`] yields an
//! error with [`JoinError::is_panic`], and the loop and the other tasks go on.
//! This relies on `panic = "unwind"`, Rust's default; with `panic = "abort"` a
//! panicking task ends the process.
//!
//! ## Threads
//!
//! A [`Runtime`] runs on the thread that owns it, and its tasks need not be `Send`.
//! Other threads reach it through a [`Handle`] (which spawns `Send` futures) or by
//! waking a `Waker`.
#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod blocking;
mod context;
mod lock;
mod reactor;
mod sys;
mod waker_slot;

pub mod coming_from;
pub mod io;
pub mod net;
pub mod runtime;
pub mod signal;
pub mod sync;
pub mod task;
pub mod time;
pub mod trace;

pub use runtime::{run_per_core, spawn_blocking, Builder, Handle, Loops, RemoteHandle, Runtime};
pub use task::{spawn, yield_now, JoinError, JoinHandle, JoinSet};

use std::future::Future;

/// Runs `future` to completion on a new runtime with the default options, then
/// drops the runtime; `asyncio.run`.
///
/// # Panics
///
/// If the runtime cannot be created (the OS refused an epoll instance or an
/// eventfd), or if called inside a running loop (see [`Runtime::block_on`]).
///
/// ```
/// assert_eq!(evloop::run(async { 40 + 2 }), 42);
/// ```
#[track_caller]
#[doc(alias = "main")]
#[doc(alias = "block_on")]
#[doc(alias = "run_until_complete")]
pub fn run<F: Future>(future: F) -> F::Output {
    let runtime =
        Runtime::new().unwrap_or_else(|e| panic!("evloop::run could not start a runtime: {e}"));
    runtime.block_on(future)
}
