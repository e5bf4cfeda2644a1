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
//! - **Seeded**: each poll takes one task at random from that window. The window
//!   holds exactly the tasks FIFO would poll in the rest of this turn, so no task
//!   waits more turns under a seed than it would without: a task with `p` tasks
//!   ahead of it in the queue is polled within `p / event_interval + 1` turns,
//!   seeded or not.

use std::collections::VecDeque;

use super::Task;
use crate::replay::{Rng, Stream};

/// The ready tasks of one runtime, and the state of the turn polling them.
pub(crate) struct RunQueue {
    /// Ready tasks, oldest wake first.
    tasks: VecDeque<Task>,
    /// The turn now running, counted modulo 2¹⁶ (a task remembers the last turn it
    /// was polled in: one idle for exactly 65,536 turns waits one turn more, once).
    turn: u16,
    /// Polls the turn may still make.
    polls_left: usize,
    /// FIFO, or seeded.
    order: Order,
}

/// The order a turn polls its tasks in.
enum Order {
    /// Oldest wake first.
    Fifo,
    /// At random within the turn's window.
    Seeded {
        /// Draws the next pick.
        rng: Rng,
        /// Draws the order of step 2's remote wakes: a stream of its own, so that
        /// how many came never shifts the picks.
        remote: Rng,
        /// How many tasks at the front are known not to have been polled this turn.
        fresh: usize,
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
                fresh: 0,
            },
        };
        RunQueue {
            tasks: VecDeque::new(),
            turn: 0,
            polls_left: 0,
            order,
        }
    }

    /// Queues a ready task (its flags say it was not queued).
    pub(crate) fn push(&mut self, task: Task) {
        self.tasks.push_back(task);
    }

    /// Whether no task is ready.
    pub(crate) fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Step 3 begins: the turn may poll `max_polls` tasks.
    pub(crate) fn begin_turn(&mut self, max_polls: usize) {
        self.turn = self.turn.wrapping_add(1);
        self.polls_left = max_polls;
        if let Order::Seeded { fresh, .. } = &mut self.order {
            *fresh = 0;
        }
    }

    /// The next task this turn polls, or `None` when the turn is over.
    pub(crate) fn next(&mut self) -> Option<Task> {
        if self.polls_left == 0 {
            return None;
        }
        let task = match &mut self.order {
            Order::Fifo => {
                let task = self.tasks.pop_front()?;
                if task.meta.turn.replace(self.turn) == self.turn {
                    // Polled this turn already (it yielded, say): first next turn.
                    self.tasks.push_front(task);
                    return None;
                }
                task
            }
            Order::Seeded { rng, fresh, .. } => {
                let window = self.polls_left.min(self.tasks.len());
                // Grow the known-fresh front, stopping at a task polled this turn.
                while *fresh < window && self.tasks[*fresh].meta.turn.get() != self.turn {
                    *fresh += 1;
                }
                let window = window.min(*fresh);
                if window == 0 {
                    return None;
                }
                self.tasks.swap(0, rng.below(window));
                *fresh -= 1;
                let task = self.tasks.pop_front()?;
                task.meta.turn.set(self.turn);
                task
            }
        };
        self.polls_left -= 1;
        Some(task)
    }

    /// Shuffles `items` if the order is seeded (step 2's remote wakes use it).
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        if let Order::Seeded { remote, .. } = &mut self.order {
            remote.shuffle(items);
        }
    }

    /// Gives back the memory a burst grew, once the queue is empty again.
    pub(crate) fn give_back_room(&mut self, kept: usize) {
        if self.tasks.is_empty() && self.tasks.capacity() > kept {
            self.tasks.shrink_to(kept / 10);
        }
    }

    /// Takes every queued task out (the runtime is dropped).
    pub(crate) fn take_all(&mut self) -> VecDeque<Task> {
        std::mem::take(&mut self.tasks)
    }
}
