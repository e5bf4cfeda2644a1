//! The run queue: the tasks ready to be polled, and the order step 3 polls them in.
//!
//! Floor 1, owned by the executor. One type owns the order and the rules of a
//! turn, so that they hold whatever the order is:
//!
//! 1. a turn polls at most `event_interval` tasks (`max_polls`);
//! 2. a turn polls each task at most once: a task polled in it already (it yielded,
//!    or was woken again after its poll) waits for the next turn, and so does every
//!    task queued behind it;
//! 3. a task woken during the turn by another task runs in the same turn if the
//!    turn has polls left and no task polled already stands before it.
//!
//! Together these pick the tasks a turn polls — the first ones in the queue, up to
//! the first that was polled this turn already, at most `max_polls` of them. The
//! order only decides in which order those are polled:
//!
//! - **FIFO** (no seed): oldest wake first, as asyncio and tokio do.
//! - **Seeded**: in batches, as trio does. A batch is the tasks at the front of
//!   the queue that FIFO would poll next in this turn, taken off it; each poll
//!   takes a task drawn (from the seed) out of what is left of the batch — a
//!   Fisher–Yates shuffle, one step a poll; tasks woken meanwhile queue behind
//!   and make the next batch, if the turn has polls left. The turn polls the
//!   same tasks as FIFO would, only in another order, so no task waits more
//!   turns under a seed than it would without: a task with `p` tasks ahead of it
//!   in the queue is polled within `p / event_interval + 1` turns, seeded or not.

use std::collections::VecDeque;

use super::Task;
use crate::replay::{Rng, Stream};

/// The ready tasks of one runtime, and the order a turn polls them in.
pub(crate) struct RunQueue {
    /// Ready tasks, oldest wake first.
    tasks: VecDeque<Task>,
    /// The turn now running, counted modulo 2¹⁶ (a task remembers the last turn it
    /// was polled in: one idle for exactly 65,536 turns waits one turn more, once).
    turn: u16,
    /// FIFO, or seeded.
    order: Order,
}

/// The order a turn polls its tasks in.
enum Order {
    /// Oldest wake first.
    Fifo,
    /// In batches, each drawn in a seeded order.
    Seeded {
        /// Draws the next pick.
        rng: Rng,
        /// Draws the order of step 2's remote wakes: a stream of its own, so that
        /// how many came never shifts the picks.
        remote: Rng,
        /// What is left of the batch, taken off the front of the queue; its
        /// last [`AHEAD`] tasks are drawn already, the last one polls next.
        batch: Vec<Task>,
    },
}

impl RunQueue {
    /// An empty queue: FIFO, or seeded by `seed`.
    pub(crate) fn new(seed: Option<u64>) -> RunQueue {
        let order = match seed {
            None => Order::Fifo,
            Some(seed) => Order::Seeded {
                rng: Rng::new(seed, Stream::RunQueue),
                remote: Rng::new(seed, Stream::Remote),
                batch: Vec::new(),
            },
        };
        RunQueue {
            tasks: VecDeque::new(),
            turn: 0,
            order,
        }
    }

    /// Queues a ready task (its flags say it was not queued).
    #[inline(always)] // measured: out of line, a spawn costs 23 instructions more
    pub(crate) fn push(&mut self, task: Task) {
        self.tasks.push_back(task);
    }

    /// Whether no task is ready.
    pub(crate) fn is_empty(&self) -> bool {
        match &self.order {
            Order::Seeded { batch, .. } => self.tasks.is_empty() && batch.is_empty(),
            Order::Fifo => self.tasks.is_empty(),
        }
    }

    /// Step 3 begins a new turn.
    pub(crate) fn begin_turn(&mut self) {
        self.turn = self.turn.wrapping_add(1);
        if let Order::Seeded { batch, .. } = &mut self.order {
            // What a turn cut short left of its batch goes back to the front.
            for task in batch.drain(..) {
                self.tasks.push_front(task);
            }
        }
    }

    /// The next task this turn polls, when it may poll `polls_left` more (at
    /// least 1); `None` when the turn is over.
    #[inline(always)] // measured: out of line, a yield costs 17 instructions more
    pub(crate) fn next(&mut self, polls_left: usize) -> Option<Task> {
        if let Order::Seeded { .. } = self.order {
            return self.next_seeded(polls_left);
        }
        let task = self.tasks.pop_front()?;
        if task.meta.turn.replace(self.turn) == self.turn {
            // Polled this turn already (it yielded, say): first next turn.
            self.tasks.push_front(task);
            return None;
        }
        Some(task)
    }

    /// [`RunQueue::next`], seeded: the front of the queue in batches, each task
    /// drawn from what is left of its batch (Fisher–Yates, one step a poll).
    #[inline]
    fn next_seeded(&mut self, polls_left: usize) -> Option<Task> {
        let Order::Seeded { rng, batch, .. } = &mut self.order else {
            return None; // called for a seeded queue only
        };
        if batch.is_empty() {
            take_batch(&mut self.tasks, batch, self.turn, polls_left);
            let len = batch.len();
            for ahead in 1..=AHEAD.min(len) {
                draw_into(rng, batch, len - ahead, self.turn);
            }
        }
        let task = batch.pop()?; // drawn already
        if let Some(pos) = batch.len().checked_sub(AHEAD) {
            draw_into(rng, batch, pos, self.turn);
        }
        Some(task)
    }

    /// Shuffles `items` if the order is seeded (step 2's remote wakes use it).
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        if let Order::Seeded { remote, .. } = &mut self.order {
            remote.shuffle(items);
        }
    }

    /// Gives back the memory a burst grew, once the queue is empty again.
    pub(crate) fn give_back_room(&mut self) {
        crate::room::give_back_deque(&mut self.tasks);
    }

    /// Takes every queued task out (the runtime is dropped).
    pub(crate) fn take_all(&mut self) -> VecDeque<Task> {
        if let Order::Seeded { batch, .. } = &mut self.order {
            self.tasks.extend(batch.drain(..));
        }
        std::mem::take(&mut self.tasks)
    }
}

/// Moves a new batch off the front of `tasks` into `batch`: the tasks there not
/// polled in `turn` yet, as many as the turn may still poll. Out of line, so
/// that the FIFO loop stays as small as it was before seeds existed.
#[cold]
#[inline(never)]
fn take_batch(tasks: &mut VecDeque<Task>, batch: &mut Vec<Task>, turn: u16, polls_left: usize) {
    // The window: the first `polls_left` tasks, in the ring's two slices.
    let (front, back) = tasks.as_slices();
    let front = &front[..front.len().min(polls_left)];
    let back = &back[..back.len().min(polls_left - front.len())];
    let polled_already = |task: &Task| task.meta.turn.get() == turn;
    let fresh = match front.iter().position(polled_already) {
        Some(fresh) => fresh,
        None => front.len() + back.iter().position(polled_already).unwrap_or(back.len()),
    };
    // A `Range` mapped is `TrustedLen`: `extend` reserves once and writes with
    // its length in a register (a `push` a task stored it and read it back).
    let taken = |_| tasks.pop_front().expect("counted above");
    batch.extend((0..fresh).map(taken));
}

/// How many polls ahead a batch's tasks are drawn: marking a task drawn is a
/// write to its cell, so by the time it is polled its cell is in the cache.
/// (Measured on `yield_many`: seeded, it takes 1.43× FIFO's time with each
/// task drawn as it polls, 1.33× with tasks drawn two ahead.)
const AHEAD: usize = 2;

/// Draws the task that polls after those drawn already — out of `batch[..=pos]`,
/// the part not drawn yet — and swaps it to `pos`, marked as polled in `turn`.
#[inline]
fn draw_into(rng: &mut Rng, batch: &mut [Task], pos: usize, turn: u16) {
    batch.swap(rng.below(pos + 1), pos);
    batch[pos].meta.turn.set(turn);
}
