//! The blocking pool: threads that run blocking calls (`spawn_blocking`) so the
//! loop never stalls on them — asyncio's `run_in_executor`.
//!
//! Floor 1 (std, and `sync::oneshot` for the results). Threads start lazily, only
//! when no idle thread can take a job, up to `max_threads`; jobs past that wait in a
//! FIFO queue. A thread idle for `keep_alive` exits. Each job's result travels back
//! in a oneshot, whose sender wakes the waiting task — from this thread, so through
//! the runtime's injection queue.
//!
//! If the OS refuses a new thread, the job waits for a thread the pool already has;
//! only a pool with no thread at all gives up, and tells each queued job why.
//!
//! Shutting down (the runtime is dropped) never waits for a running job: idle
//! threads exit at once, queued jobs are dropped, and a job still running finishes
//! on its own, finds nobody waiting for its result, and its thread exits.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::sync::oneshot;

/// The name of the pool's threads; Linux shows at most 15 characters of it.
pub(crate) const THREAD_NAME: &str = "evloop-blocking";

/// How a job ended, as it travels back to the loop.
pub(crate) enum Outcome<R> {
    /// It returned this.
    Returned(R),
    /// It panicked, with this payload.
    Panicked(Box<dyn std::any::Any + Send>),
    /// It never ran, for this reason (the OS refused every thread).
    NeverRan(String),
}

/// A job: told to run (`Ok`), or why it never will (`Err`). It takes itself off
/// the pool's `outstanding` count (the second argument) before it delivers its
/// outcome: the loop that outcome wakes must not find the pool still busy — a
/// virtual clock would then wait for a job that has ended, and nothing would wake it.
type Job = Box<dyn FnOnce(Result<(), String>, &AtomicUsize) + Send>;

/// Starts a pool thread running the given body; the OS may refuse.
type StartThread = fn(Box<dyn FnOnce() + Send>) -> std::io::Result<()>;

/// Starts a named pool thread.
fn start_os_thread(body: Box<dyn FnOnce() + Send>) -> std::io::Result<()> {
    thread::Builder::new()
        .name(THREAD_NAME.into())
        .spawn(body)
        .map(drop)
}

/// The default thread limit: `min(32, cores + 4)`, the default of Python's
/// `ThreadPoolExecutor` (asyncio's default executor). Blocking jobs mostly wait on
/// I/O, so more threads than cores pay off; 32 caps the memory they cost.
pub(crate) fn default_max_threads() -> usize {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    (cores + 4).min(32)
}

/// A handle to the pool; cheap to clone.
#[derive(Clone)]
pub(crate) struct BlockingPool {
    /// Shared with the pool's threads.
    pool: Arc<Pool>,
}

/// What the pool's threads share.
struct Pool {
    /// Queue and thread counts.
    state: Mutex<State>,
    /// Signalled when a job is queued for an idle thread, or at shutdown.
    work: Condvar,
    /// Jobs queued or running, readable without the lock (the virtual clock asks
    /// every turn).
    outstanding: AtomicUsize,
    /// The most threads at once.
    max_threads: usize,
    /// How long a thread waits idle before it exits.
    keep_alive: Duration,
    /// How threads are started (tests make the OS "refuse").
    start_thread: StartThread,
}

/// The pool's mutable state.
#[derive(Default)]
struct State {
    /// Jobs waiting for a thread.
    queue: VecDeque<Job>,
    /// Threads alive.
    threads: usize,
    /// Threads waiting for work and not yet claimed by a `submit`.
    idle: usize,
    /// Idle threads claimed by a `submit`, not yet awake: each takes one.
    wakeups: usize,
    /// Set when the runtime is dropped.
    shutdown: bool,
    /// Which thread numbers are taken: a thread takes the lowest free one for its
    /// life, so a trace shows the pool as rows 0, 1, 2…
    numbers: Vec<bool>,
}

impl State {
    /// Takes the lowest free thread number.
    fn take_number(&mut self) -> usize {
        let free = self.numbers.iter().position(|taken| !taken);
        let number = free.unwrap_or(self.numbers.len());
        if number == self.numbers.len() {
            self.numbers.push(false);
        }
        self.numbers[number] = true;
        number
    }
}

impl BlockingPool {
    /// An empty pool (no thread starts until the first job).
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> BlockingPool {
        BlockingPool::with_starter(max_threads, keep_alive, start_os_thread)
    }

    /// An empty pool whose threads `start_thread` starts.
    fn with_starter(
        max_threads: usize,
        keep_alive: Duration,
        start_thread: StartThread,
    ) -> BlockingPool {
        BlockingPool {
            pool: Arc::new(Pool {
                state: Mutex::new(State::default()),
                work: Condvar::new(),
                outstanding: AtomicUsize::new(0),
                max_threads,
                keep_alive,
                start_thread,
            }),
        }
    }

    /// Runs `f` on a pool thread; how it ended arrives on the receiver, with the
    /// number of the thread that ran it. If the pool shuts down first, the receiver
    /// gets `RecvError`.
    pub(crate) fn spawn<F, R>(&self, f: F) -> oneshot::Receiver<(Outcome<R>, Option<usize>)>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.submit(Box::new(
            move |go: Result<(), String>, outstanding: &AtomicUsize| {
                // A panicking job is caught here: its thread lives on.
                let outcome = match go.map(|()| panic::catch_unwind(AssertUnwindSafe(f))) {
                    Ok(Ok(value)) => Outcome::Returned(value),
                    Ok(Err(panic)) => Outcome::Panicked(panic),
                    Err(why) => Outcome::NeverRan(why),
                };
                outstanding.fetch_sub(1, Ordering::SeqCst);
                // Nobody waiting (the handle was aborted, the runtime dropped): the
                // outcome comes back and is dropped here, on this thread, and its
                // destructor may panic. Caught, as the loop catches a panicking
                // destructor: the panic hook has reported it, the thread lives on.
                let thread = crate::context::pool_thread();
                let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(tx.send((outcome, thread)))));
            },
        ));
        rx
    }

    /// Queues a job and makes sure a thread will take it.
    fn submit(&self, job: Job) {
        let mut state = self.pool.lock();
        if state.shutdown {
            return; // dropping the job tells its receiver
        }
        state.queue.push_back(job);
        self.pool.outstanding.fetch_add(1, Ordering::SeqCst);
        if state.idle > 0 {
            state.idle -= 1;
            state.wakeups += 1;
            drop(state);
            self.pool.work.notify_one();
        } else if state.threads < self.pool.max_threads {
            state.threads += 1;
            drop(state);
            self.start_thread();
        }
    }

    /// Starts one more thread (already counted in `threads`).
    fn start_thread(&self) {
        let pool = self.pool.clone();
        if let Err(e) = (self.pool.start_thread)(Box::new(move || pool.work())) {
            self.thread_refused(e);
        }
    }

    /// The OS refused a thread: the queued jobs wait for the threads there are, or,
    /// if there are none, are told they will never run.
    fn thread_refused(&self, error: std::io::Error) {
        let mut state = self.pool.lock();
        state.threads -= 1;
        if state.threads > 0 {
            return;
        }
        let refused: Vec<Job> = state.queue.drain(..).collect();
        drop(state);
        let why = format!("the OS refused to start a blocking thread: {error}");
        for job in refused {
            job(Err(why.clone()), &self.pool.outstanding);
        }
    }

    /// Whether any job is queued or running.
    pub(crate) fn is_busy(&self) -> bool {
        self.pool.outstanding.load(Ordering::SeqCst) > 0
    }

    /// Stops the pool: drops queued jobs and lets idle threads exit at once.
    /// Running jobs finish on their own; their threads exit after.
    pub(crate) fn shutdown(&self) {
        let mut state = self.pool.lock();
        state.shutdown = true;
        let dropped: Vec<Job> = state.queue.drain(..).collect();
        self.pool
            .outstanding
            .fetch_sub(dropped.len(), Ordering::SeqCst);
        drop(state);
        self.pool.work.notify_all();
        // Each holds a user's closure, whose destructor may panic: one at a time.
        for job in dropped {
            let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(job)));
        }
    }
}

impl Pool {
    /// Locks the state; jobs run outside the lock, so it is never poisoned mid-update.
    fn lock(&self) -> MutexGuard<'_, State> {
        crate::lock::lock(&self.state)
    }

    /// A pool thread's life: take jobs until idle for `keep_alive`, or shutdown.
    fn work(&self) {
        let mut state = self.lock();
        let number = state.take_number();
        crate::context::mark_pool_thread(number);
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                // A job catches its own panics; this is the last guard, so that
                // nothing a job does can end the thread behind the pool's count.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| job(Ok(()), &self.outstanding)));
                state = self.lock();
                continue;
            }
            if state.shutdown {
                break;
            }
            let (next, claimed) = self.wait_idle(state);
            state = next;
            if !claimed {
                break;
            }
        }
        state.threads -= 1;
        state.numbers[number] = false;
    }

    /// Waits idle until a `submit` claims this thread (true), or until
    /// `keep_alive` passes or the pool shuts down (false).
    fn wait_idle<'a>(&'a self, mut state: MutexGuard<'a, State>) -> (MutexGuard<'a, State>, bool) {
        state.idle += 1;
        let deadline = Instant::now() + self.keep_alive;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if state.wakeups > 0 {
                state.wakeups -= 1; // `submit` already took us off `idle`
                return (state, true);
            }
            if state.shutdown || left.is_zero() {
                state.idle -= 1;
                return (state, false);
            }
            state = self
                .work
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.pool.lock();
        f.debug_struct("BlockingPool")
            .field("threads", &state.threads)
            .field("idle", &state.idle)
            .field("queued", &state.queue.len())
            .field("max_threads", &self.pool.max_threads)
            .field("keep_alive", &self.pool.keep_alive)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// An OS that refuses every thread.
    fn refuse(_body: Box<dyn FnOnce() + Send>) -> std::io::Result<()> {
        Err(std::io::Error::other("no threads today"))
    }

    #[test]
    fn a_pool_the_os_gives_no_thread_cancels_the_job_and_says_why() {
        let pool = BlockingPool::with_starter(4, Duration::from_secs(10), refuse);
        let outcome = pool.spawn(|| 1).blocking_recv();
        let Ok((Outcome::NeverRan(why), None)) = outcome else {
            panic!("the job should be reported as never run");
        };
        assert!(
            why.contains("the OS refused to start a blocking thread"),
            "{why}"
        );
        assert!(why.contains("no threads today"), "{why}");
        assert!(!pool.is_busy());
    }

    /// Whether the OS already granted its one thread (for `grant_one`).
    static GRANTED: AtomicBool = AtomicBool::new(false);

    /// An OS that grants the first thread and refuses all others.
    fn grant_one(body: Box<dyn FnOnce() + Send>) -> std::io::Result<()> {
        if GRANTED.swap(true, Ordering::SeqCst) {
            return Err(std::io::Error::other("one is all you get"));
        }
        thread::Builder::new().spawn(body).map(drop)
    }

    #[test]
    fn a_refused_thread_leaves_the_job_waiting_for_the_pools_existing_thread() {
        let pool = BlockingPool::with_starter(4, Duration::from_secs(10), grant_one);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let first = pool.spawn(move || hold.recv().unwrap()); // occupies the one thread
        let second = pool.spawn(|| "ran on the existing thread"); // its thread is refused
        release.send(()).unwrap();
        assert!(matches!(
            first.blocking_recv(),
            Ok((Outcome::Returned(()), Some(0)))
        ));
        let second = second.blocking_recv();
        assert!(matches!(
            second,
            Ok((Outcome::Returned("ran on the existing thread"), Some(0)))
        ));
        pool.shutdown();
    }
}
