//! Wake storms: eight threads wake a thousand tasks over and over while the loop
//! aborts a pseudo-random half of them — by `JoinHandle::abort`, by
//! `JoinSet::abort_all`, or by dropping a `JoinSet`. Nothing may panic, every
//! aborted task must end cancelled, every other one must finish, and no task may
//! ever sit in the run queue twice (the executor asserts that in debug builds,
//! which `cargo test` uses).

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use evloop::task::JoinSet;

/// Tasks per round.
const TASKS: usize = if cfg!(miri) { 8 } else { 1_000 };
/// Rounds: `ROUNDS * TASKS / 2` abort races in all (100,000 outside Miri).
const ROUNDS: usize = if cfg!(miri) { 2 } else { 400 };
/// Threads waking tasks.
const WAKERS: usize = if cfg!(miri) { 2 } else { 8 };

/// A small seeded generator (xorshift64), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What the tasks of one round share with the waking threads.
struct Round {
    /// Each task's latest waker, when it is not in a hot slot.
    wakers: Vec<Mutex<Option<Waker>>>,
    /// One slot per thread, watched without pause: a waker left here is woken
    /// within moments of the poll that left it, while the loop is still putting
    /// that task away — the window a waker pool once got wrong.
    hot: Vec<Mutex<Option<Waker>>>,
    /// Set when the tasks that were not aborted may finish.
    finish: AtomicBool,
}

impl Round {
    fn new() -> Arc<Round> {
        Arc::new(Round {
            wakers: (0..TASKS).map(|_| Mutex::new(None)).collect(),
            hot: (0..WAKERS).map(|_| Mutex::new(None)).collect(),
            finish: AtomicBool::new(false),
        })
    }
}

/// Task `i` of `round`: waits, handing out its waker each poll, until `finish`.
async fn waiter(round: Arc<Round>, i: usize) -> usize {
    poll_fn(|cx| {
        if round.finish.load(Ordering::Acquire) {
            return Poll::Ready(i);
        }
        let waker = Some(cx.waker().clone());
        let mut hot = round.hot[i % WAKERS].lock().unwrap();
        if hot.is_none() {
            *hot = waker;
        } else {
            drop(hot);
            *round.wakers[i].lock().unwrap() = waker;
        }
        Poll::Pending
    })
    .await
}

/// Threads that wake random tasks of the current round until told to stop.
fn start_wakers(
    current: &Arc<Mutex<Arc<Round>>>,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<usize>> {
    (0..WAKERS)
        .map(|seed| {
            let (current, stop) = (current.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (seed as u64 + 1));
                let mut wakes = 0;
                while !stop.load(Ordering::Relaxed) {
                    let round = current.lock().unwrap().clone();
                    for _ in 0..64 {
                        // Taken, not cloned: nobody else holds the waker then.
                        let hot = round.hot[seed].lock().unwrap().take();
                        let waker =
                            hot.or_else(|| round.wakers[rng.below(TASKS)].lock().unwrap().take());
                        if let Some(waker) = waker {
                            waker.wake();
                            wakes += 1;
                        }
                    }
                }
                wakes
            })
        })
        .collect()
}

/// How the loop aborts a round's chosen half.
#[derive(Clone, Copy, Debug)]
enum How {
    Abort,
    AbortAll,
    DropSet,
}

#[test]
fn aborts_racing_wakes_from_eight_threads_never_break_the_loop() {
    let runtime = evloop::Runtime::new().unwrap();
    let current = Arc::new(Mutex::new(Round::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let threads = start_wakers(&current, &stop);
    let aborted_total = Arc::new(AtomicUsize::new(0));
    let mut rng = Rng(42);
    for round_no in 0..ROUNDS {
        let round = Round::new();
        *current.lock().unwrap() = round.clone();
        let how = [How::Abort, How::Abort, How::AbortAll, How::DropSet][round_no % 4];
        let doomed: Vec<bool> = (0..TASKS).map(|_| rng.below(2) == 0).collect();
        let yields = rng.below(8);
        let aborted = runtime.block_on(run_round(round, how, doomed, yields));
        aborted_total.fetch_add(aborted, Ordering::Relaxed);
    }
    stop.store(true, Ordering::Relaxed);
    let wakes: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let aborted = aborted_total.load(Ordering::Relaxed);
    assert!(aborted >= ROUNDS * TASKS / 3, "only {aborted} aborts");
    assert!(wakes > 0, "the threads never woke anything");
}

/// One round: spawns the tasks, lets the threads wake them for a few turns,
/// aborts the doomed ones, then finishes the rest. Returns how many were aborted.
async fn run_round(round: Arc<Round>, how: How, doomed: Vec<bool>, yields: usize) -> usize {
    let mut kept = Vec::new();
    let mut handles = Vec::new();
    let mut set = JoinSet::new();
    for (i, &doomed) in doomed.iter().enumerate() {
        let task = waiter(round.clone(), i);
        match (how, doomed) {
            (How::Abort, _) | (_, false) => handles.push((doomed, evloop::spawn(task))),
            (How::AbortAll | How::DropSet, true) => set.spawn(task),
        }
    }
    for _ in 0..yields {
        evloop::yield_now().await;
    }
    let in_set = set.len();
    match how {
        How::Abort => {
            // In waves, a turn apart: each abort lands while the threads' wakes
            // keep tasks moving between idle, the injection queue and the run queue.
            let mut doomed = handles.iter().filter(|(doomed, _)| *doomed).peekable();
            while doomed.peek().is_some() {
                for (_, handle) in doomed.by_ref().take(TASKS / 16 + 1) {
                    handle.abort();
                }
                evloop::yield_now().await;
            }
        }
        How::AbortAll => set.abort_all(),
        How::DropSet => drop(std::mem::take(&mut set)),
    }
    evloop::yield_now().await; // the last aborts race the next wakes
    round.finish.store(true, Ordering::Release);
    // A kept task whose waker a thread took is woken by that thread; the others
    // are woken here.
    for (i, slot) in round.wakers.iter().enumerate() {
        if !doomed[i] {
            if let Some(waker) = slot.lock().unwrap().take() {
                waker.wake();
            }
        }
    }
    let mut aborted = 0;
    for (doomed, handle) in handles {
        let result = handle.await;
        if doomed {
            assert!(
                result.unwrap_err().is_cancelled(),
                "an aborted task finished"
            );
            aborted += 1;
        } else {
            kept.push(result.expect("a task that was not aborted finished"));
        }
    }
    while let Some(result) = set.join_next().await {
        assert!(
            result.unwrap_err().is_cancelled(),
            "an aborted set task finished"
        );
        aborted += 1;
    }
    if matches!(how, How::DropSet) {
        aborted += doomed.iter().filter(|d| **d).count();
    }
    assert_eq!(kept.len() + aborted, TASKS, "{how:?}: {in_set} in the set");
    aborted
}
