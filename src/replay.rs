//! Replaying an interleaving: the seeded generator that shuffles the loop's order,
//! and the record of the schedule it produced.
//!
//! Floor 0 (std only), so that the run queue (`task`), the timers (`time`) and the
//! runtime can all draw from it. Without a seed none of this exists: the run queue
//! is plain FIFO and nothing is recorded.
//!
//! With a seed ([`Builder::seed`](crate::Builder::seed) or `EVLOOP_SEED`), three
//! orders are drawn from generators made from it: the order step 3 polls the
//! tasks ready in one turn, the order of timers that fall due together (step 1),
//! and the order of wakes other threads handed in (step 2). Each has its own
//! stream, so drawing more from one never shifts another. [`Replay`] keeps a running
//! hash of every poll and wake — `Runtime::schedule_digest` — and, for
//! `check::same_schedule`, the polls themselves.

use std::cell::{Cell, RefCell};
use std::panic::Location;

/// splitmix64's step: a well-mixed 64-bit value from any input, so that seed 0 and
/// neighbouring seeds start generators as different as any two seeds.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Which of a seed's independent streams a generator draws from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    /// The order of ready tasks in step 3.
    RunQueue = 1,
    /// The order of timers due together in step 1.
    Timers = 2,
    /// The order of remote wakes in step 2.
    Remote = 3,
}

/// A small pseudo-random generator (xorshift64*): fast, 8 bytes, and more than
/// random enough to shuffle a turn's tasks.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    /// The generator's state; never zero.
    state: u64,
}

impl Rng {
    /// The generator for `stream` of `seed`.
    pub(crate) fn new(seed: u64, stream: Stream) -> Rng {
        let state = mix(mix(seed) ^ stream as u64);
        Rng {
            state: if state == 0 { 1 } else { state },
        }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0), by Lemire's multiply-and-shift: no division.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Shuffles `items` (Fisher–Yates).
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// How a poll ended, as the schedule records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Polled {
    /// It returned `Pending`.
    Pending,
    /// It returned `Pending`, woken during the poll (it yielded): it runs again.
    WokeItself,
    /// It returned `Ready`.
    Ready,
    /// It panicked.
    Panicked,
    /// It had been aborted: its future was dropped, not polled.
    Aborted,
}

/// One poll, as `check::same_schedule` compares two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// The turn it happened in, counted from 1 (0: `block_on`'s future between
    /// turns).
    pub(crate) turn: u64,
    /// The task's spawn number in its runtime (1 for the first task; 0 is
    /// `block_on`'s future).
    pub(crate) spawn: u32,
    /// Where the task was spawned.
    pub(crate) location: &'static Location<'static>,
    /// How the poll ended.
    pub(crate) result: Polled,
}

/// The schedule a seeded runtime ran: a digest of its polls and wakes and — when
/// asked — every poll. Tasks are named by spawn number: a seeded runtime's task ids
/// come from a range of its own (`task::Ids`), whose low half is that number.
#[derive(Debug)]
pub(crate) struct Replay {
    /// The seed this runtime's orders are drawn from.
    pub(crate) seed: u64,
    /// The running hash of every poll and wake so far.
    digest: Cell<u64>,
    /// Turns whose step 3 began so far.
    turn: Cell<u64>,
    /// Whether `check::same_schedule` asked for every poll; `steps` holds them.
    keeping: Cell<bool>,
    steps: RefCell<Vec<Step>>,
}

impl Replay {
    /// A schedule about to start, for `seed`.
    pub(crate) fn new(seed: u64) -> Replay {
        Replay {
            seed,
            digest: Cell::new(mix(seed)),
            turn: Cell::new(0),
            keeping: Cell::new(false),
            steps: RefCell::new(Vec::new()),
        }
    }

    /// The running hash of every poll and wake so far.
    pub(crate) fn digest(&self) -> u64 {
        self.digest.get()
    }

    /// Keeps every poll from now on, for [`Replay::steps`].
    pub(crate) fn keep_steps(&self) {
        self.keeping.set(true);
    }

    /// The polls kept since [`Replay::keep_steps`].
    pub(crate) fn steps(&self) -> Vec<Step> {
        self.steps.borrow().clone()
    }

    /// Step 3 of a new turn begins.
    pub(crate) fn next_turn(&self) {
        self.turn.set(self.turn.get() + 1);
    }

    /// Task `spawn` (its spawn number) was just spawned.
    pub(crate) fn spawned(&self, spawn: u32) {
        self.add(1, spawn, 0);
    }

    /// Task `spawn` (0: `block_on`'s future) was woken onto the run queue.
    #[inline]
    pub(crate) fn woken(&self, spawn: u32) {
        self.add(2, spawn, 0);
    }

    /// Task `spawn` (0: `block_on`'s future), spawned at `location`, was polled.
    #[inline]
    pub(crate) fn polled(&self, spawn: u32, location: &'static Location<'static>, result: Polled) {
        self.add(3, spawn, result as u64);
        if self.keeping.get() {
            self.keep(spawn, location, result);
        }
    }

    /// Keeps one poll for [`Replay::steps`]: out of line, so that a poll only
    /// digested stays a handful of instructions.
    #[cold]
    #[inline(never)]
    fn keep(&self, spawn: u32, location: &'static Location<'static>, result: Polled) {
        let turn = if spawn == 0 { 0 } else { self.turn.get() };
        let step = Step {
            turn,
            spawn,
            location,
            result,
        };
        self.steps.borrow_mut().push(step);
    }

    /// Folds one event into the digest.
    /// (FxHash's step: a rotate, a xor and a multiply. The digest compares two
    /// runs of one program, it need not resist an adversary.)
    #[inline]
    fn add(&self, kind: u64, spawn: u32, detail: u64) {
        let event = kind << 56 | detail << 40 | u64::from(spawn);
        let digest =
            (self.digest.get().rotate_left(5) ^ event).wrapping_mul(0x51_7C_C1_B7_27_22_0A_95);
        self.digest.set(digest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_seeds_draw_unrelated_orders() {
        let draw = |seed| {
            let mut rng = Rng::new(seed, Stream::RunQueue);
            let mut items: Vec<u32> = (0..20).collect();
            rng.shuffle(&mut items);
            items
        };
        assert_ne!(draw(0), draw(1));
        assert_ne!(draw(0), (0..20).collect::<Vec<_>>());
        assert_eq!(draw(7), draw(7));
    }

    #[test]
    fn below_stays_in_range_and_reaches_every_value() {
        let mut rng = Rng::new(3, Stream::Timers);
        let mut seen = [0u32; 5];
        for _ in 0..1000 {
            seen[rng.below(5)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 150), "{seen:?}");
    }

    #[test]
    fn the_digest_tells_orders_apart() {
        let two = |first, second| {
            let replay = Replay::new(1);
            replay.spawned(1);
            replay.spawned(2);
            replay.polled(first, Location::caller(), Polled::Ready);
            replay.polled(second, Location::caller(), Polled::Ready);
            replay.digest()
        };
        assert_ne!(two(1, 2), two(2, 1));
        assert_eq!(two(1, 2), two(1, 2));
    }
}
