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
//! The code is built in **floors**: a module uses only modules on lower floors, so
//! every name you meet while reading one was defined below it (and where a lower
//! floor must reach something higher — a task reaching its executor — it does so
//! through a trait or a type-erased value, never an import). Floor 0 is the OS,
//! what this thread is doing and the recording halves (trace, replay); floor 1 the parts of the loop (tasks, timers,
//! reactor, sync, blocking pool); floor 2 the runtime that owns them; floor 3 what
//! users call (sockets, `io::Async`, processes, time, signals, the trace's drawing). The tour
//! goes top-down, in the order a reader wants the story:
//!
//! 1. **The loop** — the [`runtime`] module page (`src/runtime/mod.rs`) draws one
//!    turn, and [`Runtime::turn`] is those four steps, one line each: fire due
//!    timers (`src/timer/timers.rs`), take in what other threads sent
//!    (`src/task/injector.rs`), run ready tasks (`src/task/executor.rs`), wait for
//!    I/O (`src/reactor.rs`), the wait decided by one pure function, `decide_wait`.
//! 2. **A task, from `Pending` to its next poll** — three files, in this order:
//!    `src/reactor.rs` (step 4 hears that a socket is ready and wakes the wakers
//!    waiting on it), `src/task/cell.rs` (a waker is a pointer to the task's one
//!    allocation; waking it hands the task to its executor) and
//!    `src/task/executor.rs` (the task goes on the run queue — from another thread
//!    through the injector — and step 3 polls it). `src/task/state.rs` holds the
//!    flags that make "queued at most once" true whatever the race.
//! 3. **Spawning and joining** — [`spawn`], [`JoinHandle`], [`JoinSet`]
//!    (`src/task/`), and from other threads [`Handle`] and [`RemoteHandle`]
//!    (`src/runtime/handle.rs`): a remote task is an ordinary task whose output is
//!    forwarded through a oneshot.
//! 4. **Time** — the clock (real or virtual) and the timers, kept in a
//!    hierarchical timing wheel (`src/timer/`, floor 1), and [`time::sleep`],
//!    [`time::timeout`],
//!    [`time::interval`]; `src/runtime/alarm.rs` arms a `timerfd` so timers fire
//!    within microseconds, not `epoll_wait`'s milliseconds.
//! 5. **The blocking pool** (`src/blocking.rs`, `src/runtime/spawn_blocking.rs`) —
//!    the threads behind [`spawn_blocking`], asyncio's `run_in_executor`.
//! 6. **I/O** — [`net`] (TCP, UDP, Unix sockets) and [`io::Async`] for any other
//!    descriptor, all on the reactor; a socket operation that would block waits for
//!    readiness. [`process`] puts child processes there too: their pipes are
//!    descriptors like any other, and an exit is a `pidfd` that becomes readable.
//!    With the feature `hyper`, `evloop::hyper` gives hyper 1.x its executor, timer
//!    and I/O.
//! 7. **Sync** (`src/sync/`) — [`sync::mpsc`], [`sync::oneshot`], [`sync::Event`],
//!    [`sync::Semaphore`], [`sync::Mutex`]: fair wait lists, thread-safe, usable
//!    under any executor.
//! 8. **Seeing the loop** ([`trace`]) — a timeline of every poll and wake, drawn
//!    as an ASCII chart, an SVG picture or a Perfetto trace, a narrated turn
//!    (`EVLOOP_TRACE=turns`), a live slow-poll alarm, a stuck-program report.
//! 9. **Embedding and scaling** — [`Runtime::run_until_stalled`],
//!    [`Runtime::next_wakeup`] and the runtime's descriptor
//!    (`src/runtime/embed.rs`); [`run_per_core`] for one loop per core.
//! 10. **Replaying an interleaving** — `src/task/run_queue.rs` owns the order of a
//!     turn's polls (FIFO, or seeded), `src/replay.rs` the generator and the record
//!     of the schedule, [`check`] the test helpers, [`io::duplex`] the in-memory
//!     stream that replays where a socket cannot.
//! 11. **The floor below** — `src/context.rs` (what this thread drives, the
//!     cooperative budget), `src/sys.rs` and `src/task/cell.rs`, the only `unsafe`
//!     code, each block with a `// SAFETY:` comment (clippy's
//!     `undocumented_unsafe_blocks` checks it).
//!
//! [`coming_from`] maps tokio's and asyncio's names to evloop's.
//!
//! ## Testing concurrency
//!
//! The loop polls ready tasks in FIFO order, so a test that passes once passes for
//! ever, and an ordering bug it hides — a task that assumes another has run, a read
//! and a write straddling an `.await` — waits for production. A seed
//! ([`Builder::seed`], or `EVLOOP_SEED=N` for every runtime in the process) draws
//! the order of each turn's ready tasks, of timers due together and of wakes from
//! other threads from a small generator; a turn still polls the tasks FIFO would,
//! so fairness is unchanged. The recipe, in a `#[test]`:
//!
//! ```
//! use std::cell::Cell;
//! use std::rc::Rc;
//!
//! evloop::check::explore(0..100, || async {
//!     let (tx, rx) = evloop::sync::oneshot::channel();
//!     let got = Rc::new(Cell::new(0));
//!     let reader = evloop::spawn({
//!         let got = got.clone();
//!         async move { got.set(rx.await.unwrap()) }
//!     });
//!     evloop::spawn(async move { tx.send(7).unwrap() });
//!     reader.await.unwrap();
//!     assert_eq!(got.get(), 7);
//! });
//! ```
//!
//! [`check::explore`] runs the body on a fresh virtual-time runtime per seed and, on
//! the first failure, prints `evloop: failed with seed S; replay it alone with
//! EVLOOP_SEED=S cargo test NAME`; with that variable set the same order comes
//! back every time. With virtual time, evloop's timers, channels, sync primitives,
//! `JoinSet`, `yield_now` and [`io::duplex`] streams replay exactly
//! ([`Runtime::schedule_digest`]; [`check::same_schedule`] names the first poll
//! where two runs part). Real sockets and other threads stay nondeterministic:
//! a seed orders what arrived in a turn, not when it arrives. `examples/race.rs`
//! is the lesson.
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
#![warn(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]

mod blocking;
mod context;
mod lock;
mod reactor;
mod replay;
mod room;
mod sys;
mod timer;
mod waker_slot;

pub mod check;
pub mod coming_from;
#[cfg(feature = "hyper")]
pub mod hyper;
pub mod io;
pub mod net;
pub mod process;
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
