//! The timing wheel: where the timers wait, O(1) to arm and to cancel.
//!
//! Floor 1 (std only). A deadline is a count of nanoseconds after the timers were
//! made. The wheel keeps its own position, `elapsed` (where the loop's clock was
//! when step 1 last looked), and files each timer by how far ahead of it the
//! deadline lies:
//!
//! ```text
//!             64 slots a level; a slot of level L is 64^L level-0 slots wide
//! level 6  [..............................................]   slot 52 days,  range 9 years
//!   ...
//! level 2  [..............................................]   slot 268 ms,  range 17 s
//! level 1  [..............................................]   slot 4.2 ms,  range 268 ms
//! level 0  [..............................................]   slot 65.5 µs, range 4.2 ms
//!           ^ elapsed's slot at each level
//! current  the timers of elapsed's own level-0 slot (and any already due)
//! overflow deadlines more than 9 years ahead, kept exactly
//! ```
//!
//! A deadline goes in the level of the highest bit where it differs from
//! `elapsed` (six bits a level, above the 16 bits of a level-0 slot), in the slot
//! its bits at that level name. Each level has a 64-bit occupancy word, so "the
//! next non-empty slot" is one `trailing_zeros`. When `elapsed` reaches a slot of
//! level L, its timers are filed again, lower down (a cascade): a timer moves at
//! most once a level. Each slot is a doubly linked list threaded through one
//! `Vec` of entries by index. A cancel only marks its entry cancelled (it drops
//! the waker): the entry is freed when a cascade or a firing meets it, or by a
//! sweep once too many wait — so cancelling writes to nothing but the entry,
//! where unlinking would write to both its neighbours. A key holds the timer's
//! sequence number, which tells a stale key from a live one, so the wheel stays
//! safe Rust.
//!
//! ```text
//! arm     entry ← free list (or a new one); pushed at the head of its slot's list
//! cancel  entry.waker = None                   (cancelled, still in its list)
//! cascade armed entries filed lower down; cancelled ones freed
//! sweep   when cancelled > 2 × armed + 1,024: every list built again from the
//!         entries, read in address order; cancelled ones freed
//! ```
//!
//! **Precision is not the slot's.** Every entry keeps its exact deadline; a slot
//! only says where to look. The earliest deadline — what the loop's alarm is armed
//! for — is the least armed deadline of the first list that holds one (the
//! current slot, else the next slot), kept in a cache that an insert lowers and
//! only a removal of that very entry, or a cascade, clears. So the `timerfd`
//! rings at the exact deadline, not at a slot boundary, and a timer never fires
//! early: step 1 fires only the entries whose deadline has passed.

use std::cell::Cell;
use std::task::Waker;

/// Bits of a level-0 slot: 2^16 ns = 65.5 µs.
const SLOT_BITS: u32 = 16;
/// Bits of a level's slot number: 64 slots.
const LEVEL_BITS: u32 = 6;
/// Levels: 6 bits each above the slot's 16, up to 2^58 ns (9.1 years) ahead.
const LEVELS: usize = 7;
/// Cancelled entries may wait in their lists until they outnumber twice the
/// armed ones by this many; then a sweep frees them all. (Under Miri a few, so
/// that its short tests sweep too.)
const SWEEP_SLACK: usize = if cfg!(miri) { 16 } else { 1024 };
/// No entry: the end of a list.
const NIL: u32 = u32::MAX;

/// Which list an entry is in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Place {
    /// A slot of a level.
    Slot { level: u8, slot: u8 },
    /// The current level-0 slot (due soon, or already).
    Current,
    /// More than the levels' range ahead.
    Overflow,
    /// Not in use: on the free list.
    Free,
}

/// One timer.
#[derive(Debug)]
struct Entry {
    /// Its deadline, in nanoseconds after the timers' origin.
    at: u64,
    /// The order it was set in: timers with equal deadlines fire in that order.
    seq: u64,
    /// What to wake: `None` once cancelled (it stays in its list until a
    /// cascade, a firing or a sweep frees it) or free.
    waker: Option<Waker>,
    /// The neighbours in its list (or, while free, the next free entry).
    prev: u32,
    next: u32,
    /// Which list it is in.
    place: Place,
}

/// Names one armed timer: its entry, and its `seq` — which no other timer of
/// the wheel ever has, so a key whose entry was freed (and perhaps reused, even
/// after the wheel gave its room back) names nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WheelKey {
    index: u32,
    seq: u64,
}

/// The timing wheel; see the module's doc.
#[derive(Debug)]
pub(crate) struct Wheel {
    /// Every entry, live or free.
    entries: Vec<Entry>,
    /// The first free entry.
    free: u32,
    /// The first entry of each slot's list.
    slots: [[u32; 64]; LEVELS],
    /// One bit per non-empty slot, per level.
    occupied: [u64; LEVELS],
    /// The current slot's list, and the overflow's.
    current: u32,
    overflow: u32,
    /// Where the wheel is: nanoseconds after the origin.
    elapsed: u64,
    /// How many timers are armed.
    len: usize,
    /// How many cancelled entries still wait in their lists.
    cancelled: usize,
    /// The next `seq`.
    next_seq: u64,
    /// The earliest deadline, if known (`None`: to be found again).
    earliest: Cell<Option<Option<u64>>>,
}

impl Wheel {
    /// An empty wheel at time 0.
    pub(crate) fn new() -> Wheel {
        Wheel {
            entries: Vec::new(),
            free: NIL,
            slots: [[NIL; 64]; LEVELS],
            occupied: [0; LEVELS],
            current: NIL,
            overflow: NIL,
            elapsed: 0,
            len: 0,
            cancelled: 0,
            next_seq: 0,
            earliest: Cell::new(Some(None)),
        }
    }

    /// How many timers are armed.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Arms a timer for `at` that wakes `waker`. O(1).
    pub(crate) fn insert(&mut self, at: u64, waker: Waker) -> WheelKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let index = match self.free {
            NIL => {
                self.entries.push(Entry {
                    at,
                    seq,
                    waker: Some(waker),
                    prev: NIL,
                    next: NIL,
                    place: Place::Free,
                });
                (self.entries.len() - 1) as u32
            }
            free => {
                self.free = self.entries[free as usize].next;
                let entry = &mut self.entries[free as usize];
                (entry.at, entry.seq, entry.waker) = (at, seq, Some(waker));
                free
            }
        };
        self.file(index);
        self.len += 1;
        if let Some(Some(earliest)) = self.earliest.get() {
            if at < earliest {
                self.earliest.set(Some(Some(at)));
            }
        } else if self.earliest.get() == Some(None) {
            self.earliest.set(Some(Some(at)));
        }
        WheelKey { index, seq }
    }

    /// The live entry `key` names, if it is still armed.
    fn live(&self, key: WheelKey) -> Option<&Entry> {
        let entry = self.entries.get(key.index as usize)?;
        (entry.seq == key.seq && entry.waker.is_some()).then_some(entry)
    }

    /// Whether the timer `key` names is still armed (`None` if not); if so, it
    /// wakes `waker` from now on, and the waker it replaced is returned, to be
    /// dropped by the caller with no borrow held (`Some(None)`: the old one already
    /// woke the same task).
    pub(crate) fn still_armed(&mut self, key: WheelKey, waker: &Waker) -> Option<Option<Waker>> {
        self.live(key)?;
        let current = self.entries[key.index as usize]
            .waker
            .as_mut()
            .expect("a live entry has a waker");
        if current.will_wake(waker) {
            return Some(None);
        }
        Some(Some(std::mem::replace(current, waker.clone())))
    }

    /// Disarms the timer `key` names, if it is still armed, and returns its waker.
    /// O(1), amortized: the entry stays in its list, cancelled, to be freed when
    /// its slot is reached — or by a sweep, once the cancelled outnumber twice
    /// the armed by [`SWEEP_SLACK`]; a sweep reads the entries in address order
    /// and costs less than two entries' worth per cancel. (Unlinking at once
    /// writes to both neighbours in the list: among many timers, two cache
    /// misses per cancel.) So cancelled entries never hold more than twice the
    /// memory of the armed ones, plus `SWEEP_SLACK` entries.
    pub(crate) fn remove(&mut self, key: WheelKey) -> Option<Waker> {
        self.live(key)?;
        let entry = &mut self.entries[key.index as usize];
        let waker = entry.waker.take();
        if self.earliest.get() == Some(Some(entry.at)) {
            self.earliest.set(None); // it may have been the earliest: look again
        }
        self.len -= 1;
        self.cancelled += 1;
        if self.len == 0 {
            self.start_afresh();
        } else if self.cancelled > 2 * self.len + SWEEP_SLACK {
            self.sweep();
        }
        waker
    }

    /// The earliest deadline armed, exactly: the least of the first list that
    /// holds an armed timer (a first list holding only cancelled ones is freed
    /// on the way: each entry once).
    pub(crate) fn earliest(&mut self) -> Option<u64> {
        if let Some(known) = self.earliest.get() {
            return known;
        }
        let earliest = loop {
            let first = match self.current {
                NIL => self
                    .next_slot()
                    .map_or(self.overflow, |(level, slot, _)| self.slots[level][slot]),
                current => current,
            };
            if first == NIL {
                break None;
            }
            match self
                .armed(first)
                .map(|index| self.entries[index as usize].at)
                .min()
            {
                Some(at) => break Some(at),
                None => self.free_cancelled_list(first),
            }
        };
        self.earliest.set(Some(earliest));
        earliest
    }

    /// The latest deadline no later than `until` among the timers of the current
    /// slot (where the earliest is, once it is near): what one alarm can serve.
    pub(crate) fn latest_soon(&self, until: u64) -> Option<u64> {
        self.armed(self.current)
            .map(|index| self.entries[index as usize].at)
            .filter(|&at| at <= until)
            .max()
    }

    /// Moves the wheel to `now` and takes out every timer due by then, as
    /// `(deadline, seq, waker)`, onto `due` (in no particular order).
    pub(crate) fn advance(&mut self, now: u64, due: &mut Vec<(u64, u64, Waker)>) {
        // Cascade every slot that starts by `now`, nearest first.
        while let Some((level, slot, start)) = self.next_slot() {
            if start > now {
                break;
            }
            self.elapsed = start;
            let index = self.slots[level][slot];
            self.slots[level][slot] = NIL;
            self.occupied[level] &= !(1 << slot);
            self.refile_all(index);
            self.earliest.set(None);
        }
        let moved_epoch = (now >> (SLOT_BITS + LEVEL_BITS * LEVELS as u32))
            != (self.elapsed >> (SLOT_BITS + LEVEL_BITS * LEVELS as u32));
        self.elapsed = self.elapsed.max(now);
        if moved_epoch && self.overflow != NIL {
            // Deadlines that were past the levels' range may be within it now.
            let first = std::mem::replace(&mut self.overflow, NIL);
            self.refile_all(first);
            self.earliest.set(None);
        }
        // Fire what is due in the current slot.
        let mut index = self.current;
        while index != NIL {
            let entry = &self.entries[index as usize];
            let next = entry.next;
            if entry.waker.is_none() {
                self.unlink(index);
                self.free_cancelled(index);
            } else if entry.at <= now {
                let (at, seq) = (entry.at, entry.seq);
                self.unlink(index);
                due.push((at, seq, self.release(index)));
                self.earliest.set(None);
            }
            index = next;
        }
        if self.len == 0 {
            self.start_afresh();
        }
    }

    /// Files again every entry of the list that starts at `first` (taken out of
    /// its place), freeing the cancelled ones.
    fn refile_all(&mut self, first: u32) {
        let mut index = first;
        while index != NIL {
            let next = self.entries[index as usize].next;
            match self.entries[index as usize].waker {
                Some(_) => self.file(index),
                None => self.free_cancelled(index),
            }
            index = next;
        }
    }

    /// Frees every cancelled entry: the lists are built again from the entries,
    /// read in address order (walking the lists would be a cache miss a step).
    fn sweep(&mut self) {
        self.empty_lists();
        for index in 0..self.entries.len() as u32 {
            let entry = &self.entries[index as usize];
            match (entry.place, &entry.waker) {
                (Place::Free, _) => {}
                (_, Some(_)) => self.file(index),
                (_, None) => self.free_cancelled(index),
            }
        }
        debug_assert_eq!(self.cancelled, 0);
    }

    /// Frees the list that starts at `first`, all of whose entries are cancelled.
    fn free_cancelled_list(&mut self, first: u32) {
        let mut index = first;
        while index != NIL {
            let next = self.entries[index as usize].next;
            self.unlink(index);
            self.free_cancelled(index);
            index = next;
        }
    }

    /// Empties every list (their entries stay as they are).
    fn empty_lists(&mut self) {
        for level in 0..LEVELS {
            let mut occupied = self.occupied[level];
            while occupied != 0 {
                self.slots[level][occupied.trailing_zeros() as usize] = NIL;
                occupied &= occupied - 1;
            }
        }
        (self.occupied, self.current, self.overflow) = ([0; LEVELS], NIL, NIL);
    }

    /// The first non-empty slot after `elapsed`'s, lowest level first, with the
    /// time it starts. (A lower level's slots all start before a higher level's
    /// next slot: they share its bits above their level.)
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        (0..LEVELS).find_map(|level| {
            let shift = SLOT_BITS + LEVEL_BITS * level as u32;
            let position = (self.elapsed >> shift) & 63;
            let ahead = match position {
                63 => 0,
                p => self.occupied[level] & (u64::MAX << (p + 1)),
            };
            (ahead != 0).then(|| {
                let slot = ahead.trailing_zeros() as u64;
                let above = shift + LEVEL_BITS;
                let base = if above >= 64 {
                    0
                } else {
                    self.elapsed >> above << above
                };
                (level, slot as usize, base | (slot << shift))
            })
        })
    }

    /// Puts entry `index` in the list its deadline belongs to, seen from `elapsed`.
    fn file(&mut self, index: u32) {
        let at = self.entries[index as usize].at;
        let place = if at >> SLOT_BITS <= self.elapsed >> SLOT_BITS {
            Place::Current
        } else {
            let differ = (self.elapsed ^ at) >> SLOT_BITS;
            let level = (63 - differ.leading_zeros()) / LEVEL_BITS;
            if level as usize >= LEVELS {
                Place::Overflow
            } else {
                let slot = (at >> (SLOT_BITS + LEVEL_BITS * level)) & 63;
                Place::Slot {
                    level: level as u8,
                    slot: slot as u8,
                }
            }
        };
        let head = match place {
            Place::Slot { level, slot } => {
                self.occupied[level as usize] |= 1 << slot;
                &mut self.slots[level as usize][slot as usize]
            }
            Place::Current => &mut self.current,
            Place::Overflow => &mut self.overflow,
            Place::Free => unreachable!("filed in a list"),
        };
        let old_head = std::mem::replace(head, index);
        if old_head != NIL {
            self.entries[old_head as usize].prev = index;
        }
        let entry = &mut self.entries[index as usize];
        (entry.prev, entry.next, entry.place) = (NIL, old_head, place);
    }

    /// Takes entry `index` out of its list.
    fn unlink(&mut self, index: u32) {
        let Entry {
            prev, next, place, ..
        } = self.entries[index as usize];
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        if prev != NIL {
            self.entries[prev as usize].next = next;
            return;
        }
        match place {
            Place::Slot { level, slot } => {
                self.slots[level as usize][slot as usize] = next;
                if next == NIL {
                    self.occupied[level as usize] &= !(1 << slot);
                }
            }
            Place::Current => self.current = next,
            Place::Overflow => self.overflow = next,
            Place::Free => unreachable!("only a live entry is unlinked"),
        }
    }

    /// Frees unlinked entry `index`, armed until now, and returns its waker.
    fn release(&mut self, index: u32) -> Waker {
        self.len -= 1;
        self.free_entry(index);
        let entry = &mut self.entries[index as usize];
        entry.waker.take().expect("an armed entry has a waker")
    }

    /// Frees unlinked entry `index`, cancelled before.
    fn free_cancelled(&mut self, index: u32) {
        self.cancelled -= 1;
        self.free_entry(index);
    }

    /// Puts unlinked entry `index` on the free list.
    fn free_entry(&mut self, index: u32) {
        let entry = &mut self.entries[index as usize];
        entry.place = Place::Free;
        entry.next = self.free;
        self.free = index;
    }

    /// The armed entries of the list that starts at `first`.
    fn armed(&self, first: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors((first != NIL).then_some(first), |&index| {
            let next = self.entries[index as usize].next;
            (next != NIL).then_some(next)
        })
        .filter(|&index| self.entries[index as usize].waker.is_some())
    }

    /// Once no timer is armed, forgets every entry, keeping their room: the
    /// next timers fill it from the start, in address order, instead of in the
    /// order the last ones were freed (at 10⁶ timers, arming in freed order takes
    /// 4× as long: each arm a cache miss).
    /// (Cancelled entries may still be in lists: they go too.)
    fn start_afresh(&mut self) {
        self.empty_lists();
        self.entries.clear();
        (self.free, self.cancelled) = (NIL, 0);
        self.earliest.set(Some(None));
    }

    /// Gives back the memory a burst of timers grew, once the entries in use fit
    /// in a tenth of [`ROOM_KEPT`](crate::room::ROOM_KEPT) (the loop calls it when
    /// it is about to sleep: a burst is over). Shrinking moves no entry: every key
    /// still names its own.
    pub(crate) fn give_back_room(&mut self) {
        let small = crate::room::ROOM_KEPT / 10;
        if self.entries.capacity() > crate::room::ROOM_KEPT && self.entries.len() <= small {
            self.entries.shrink_to(small);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A small generator for the model test (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Advances `wheel` to `now`; returns what fired, in firing order.
    fn fire(wheel: &mut Wheel, now: u64) -> Vec<(u64, u64)> {
        let mut due = Vec::new();
        wheel.advance(now, &mut due);
        let mut fired: Vec<(u64, u64)> = due.into_iter().map(|(at, seq, _)| (at, seq)).collect();
        fired.sort_unstable();
        fired
    }

    /// Runs `ops` random arms, cancels and advances against a `BTreeMap` model:
    /// every timer fires once, at the first advance at or past its deadline, in
    /// deadline order, never early, none lost.
    fn against_the_model(ops: usize, seed: u64, spread: u64) {
        against_the_model_with(ops, seed, spread, (5, 7));
    }

    /// [`against_the_model`] with the mix of operations `(arms, cancels)`: of
    /// ten, `arms` are arms, `cancels - arms` cancels, the rest advances. Also
    /// checks that cancelled entries stay within their bound; returns the most
    /// that waited at once.
    fn against_the_model_with(ops: usize, seed: u64, spread: u64, mix: (u64, u64)) -> usize {
        let mut most_cancelled = 0;
        let mut rng = Rng(seed | 1);
        let mut wheel = Wheel::new();
        let mut model: BTreeMap<(u64, u64), WheelKey> = BTreeMap::new();
        let mut keys: Vec<(u64, u64, WheelKey)> = Vec::new();
        let mut now = 0u64;
        let waker = futures_task::noop_waker();
        for _ in 0..ops {
            match rng.below(10) {
                op if op < mix.0 => {
                    let at = match rng.below(20) {
                        0 => now.saturating_sub(rng.below(1000)), // in the past
                        1 => {
                            now.saturating_add(1 << (SLOT_BITS + LEVEL_BITS * rng.below(7) as u32))
                        } // a boundary
                        _ => now.saturating_add(rng.below(spread)),
                    };
                    let seq = wheel.next_seq;
                    let key = wheel.insert(at, waker.clone());
                    model.insert((at, seq), key);
                    keys.push((at, seq, key));
                }
                op if op < mix.1 && !keys.is_empty() => {
                    let (at, seq, key) = keys.swap_remove(rng.below(keys.len() as u64) as usize);
                    let armed = model.remove(&(at, seq)).is_some();
                    assert_eq!(wheel.remove(key).is_some(), armed, "cancel of {at}");
                }
                _ => {
                    now = now.saturating_add(rng.below(spread / 8 + 1));
                    let fired = fire(&mut wheel, now);
                    let expected: Vec<(u64, u64)> =
                        model.range(..=(now, u64::MAX)).map(|(k, _)| *k).collect();
                    assert_eq!(fired, expected, "what fires by {now}");
                    for key in &expected {
                        model.remove(key);
                    }
                }
            }
            assert_eq!(wheel.len(), model.len());
            assert!(
                wheel.cancelled <= 2 * wheel.len + SWEEP_SLACK,
                "cancelled pile up"
            );
            most_cancelled = most_cancelled.max(wheel.cancelled);
            let earliest = model.keys().next().map(|(at, _)| *at);
            assert_eq!(wheel.earliest(), earliest, "the earliest deadline");
        }
        most_cancelled
    }

    #[test]
    fn mostly_cancels_match_the_model() {
        // Four cancels to five arms, few advances: cancelled entries wait in
        // their lists, to be freed by cascades, by the search for the earliest
        // deadline, or by a sweep.
        let ops = if cfg!(miri) { 1_500 } else { 300_000 };
        let most = against_the_model_with(ops, 17, 10_000_000_000, (5, 9));
        assert!(
            most > SWEEP_SLACK.min(ops / 4),
            "no cancelled entry waited long: {most}"
        );
    }

    #[test]
    fn a_sweep_frees_the_cancelled_and_keeps_the_armed() {
        let mut wheel = Wheel::new();
        let waker = futures_task::noop_waker();
        let mut rng = Rng(5);
        // Far off (a level-2 slot), so that no cascade frees them on the way.
        let (timers, cancels) = if cfg!(miri) {
            (200, 166)
        } else {
            (3_000, 2_500)
        };
        let mut keys: Vec<(u64, WheelKey)> = (0..timers)
            .map(|i| {
                let at = 1_000_000_000 + rng.below(1_000) * 1_000 + i % 1_000;
                (at, wheel.insert(at, waker.clone()))
            })
            .collect();
        for _ in 0..cancels {
            let (_, key) = keys.swap_remove(rng.below(keys.len() as u64) as usize);
            assert!(wheel.remove(key).is_some());
            assert!(
                wheel.cancelled <= 2 * wheel.len + SWEEP_SLACK,
                "cancelled pile up"
            );
        }
        assert!(wheel.cancelled < cancels - SWEEP_SLACK, "a sweep ran");
        let mut expected: Vec<u64> = keys.iter().map(|&(at, _)| at).collect();
        expected.sort_unstable();
        let fired: Vec<u64> = fire(&mut wheel, 2_000_000_000)
            .iter()
            .map(|&(at, _)| at)
            .collect();
        assert_eq!(fired, expected, "exactly the armed ones fire");
    }

    #[test]
    fn a_first_slot_of_cancelled_timers_is_passed_over() {
        let mut wheel = Wheel::new();
        let waker = futures_task::noop_waker();
        let near: Vec<_> = (0..10)
            .map(|i| wheel.insert(1_000_000 + i, waker.clone()))
            .collect();
        wheel.insert(50_000_000, waker.clone());
        assert_eq!(wheel.earliest(), Some(1_000_000));
        for key in near {
            wheel.remove(key);
        }
        assert_eq!(wheel.earliest(), Some(50_000_000));
        assert_eq!(fire(&mut wheel, 49_999_999), vec![]);
        assert_eq!(fire(&mut wheel, 50_000_000).len(), 1);
    }

    #[test]
    fn a_million_random_operations_match_the_model() {
        let ops = if cfg!(miri) { 2_000 } else { 1_000_000 };
        against_the_model(ops, 7, 10_000_000_000); // deadlines over 10 s
    }

    #[test]
    fn deadlines_spread_over_every_level_match_the_model() {
        let ops = if cfg!(miri) { 2_000 } else { 200_000 };
        against_the_model(ops, 11, 1 << 60); // up to 36 years: every level, the overflow
        against_the_model(ops, 13, 1 << 20); // dense: a millisecond
    }

    #[test]
    fn level_boundaries_cascade_down_to_their_exact_deadline() {
        let waker = futures_task::noop_waker();
        for level in 0..=LEVELS as u32 {
            let mut wheel = Wheel::new();
            let at = 1u64 << (SLOT_BITS + LEVEL_BITS * level);
            for at in [at - 1, at, at + 1] {
                wheel.insert(at, waker.clone());
            }
            assert_eq!(wheel.earliest(), Some(at - 1));
            assert_eq!(fire(&mut wheel, at - 2), []);
            assert_eq!(
                fire(&mut wheel, at - 1).len(),
                1,
                "level {level}: only the first"
            );
            assert_eq!(wheel.earliest(), Some(at));
            assert_eq!(fire(&mut wheel, at).len(), 1);
            assert_eq!(fire(&mut wheel, u64::MAX).len(), 1);
            assert_eq!(wheel.len(), 0);
        }
    }

    #[test]
    fn the_furthest_deadline_waits_in_the_overflow_and_fires_at_its_time() {
        let mut wheel = Wheel::new();
        let key = wheel.insert(u64::MAX - 1, futures_task::noop_waker());
        assert_eq!(wheel.earliest(), Some(u64::MAX - 1));
        assert_eq!(fire(&mut wheel, u64::MAX - 2), []);
        assert!(wheel
            .still_armed(key, &futures_task::noop_waker())
            .is_some());
        assert_eq!(fire(&mut wheel, u64::MAX - 1).len(), 1);
        assert!(wheel
            .still_armed(key, &futures_task::noop_waker())
            .is_none());
    }

    #[test]
    fn a_stale_key_touches_nothing() {
        let mut wheel = Wheel::new();
        let waker = futures_task::noop_waker();
        let old = wheel.insert(10, waker.clone());
        assert!(wheel.remove(old).is_some());
        let new = wheel.insert(20, waker.clone()); // the same entry, reused
        assert!(wheel.remove(old).is_none(), "an old key is stale");
        assert!(wheel.still_armed(new, &waker).is_some());
        assert_eq!(wheel.len(), 1);
    }

    #[test]
    fn a_key_stays_stale_after_the_wheel_gives_its_room_back() {
        // A timer fires, but its `Sleep` is not polled yet; then a burst ends
        // and the wheel gives its room back; a new timer takes the first entry.
        let mut wheel = Wheel::new();
        let waker = futures_task::noop_waker();
        let fired = wheel.insert(10, waker.clone());
        // (Clearing an emptied wheel reuses the entries too: a small burst shows
        // it under Miri.)
        let burst = if cfg!(miri) {
            8
        } else {
            2 * crate::room::ROOM_KEPT as u64
        };
        let burst: Vec<_> = (0..burst)
            .map(|i| wheel.insert(1_000_000 + i, waker.clone()))
            .collect();
        let mut due = Vec::new();
        wheel.advance(10, &mut due);
        assert_eq!(due.len(), 1);
        for key in burst {
            assert!(wheel.remove(key).is_some());
        }
        wheel.give_back_room();
        let new = wheel.insert(20, waker.clone());
        assert!(
            wheel.still_armed(fired, &waker).is_none(),
            "the fired key is stale"
        );
        assert!(wheel.remove(fired).is_none(), "a stale key removes nothing");
        assert!(wheel.remove(new).is_some());
    }
}
