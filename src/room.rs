//! Giving back the memory a burst grew: a queue that held a million entries once
//! should not hold a million entries' room for ever.
//!
//! Floor 0 (std and `slab`). A collection drained back to empty whose capacity is
//! past [`ROOM_KEPT`] shrinks to a tenth of it. Each caller checks where a burst
//! is over — the executor when the loop is about to sleep, a channel when its queue
//! runs dry — so the steady path pays one comparison of the capacity, and a loop
//! that bursts again and again does not regrow the room each time.

use std::collections::VecDeque;

use slab::Slab;

/// Collections that a burst grew past this many entries give the memory back once
/// they are empty again (down to a tenth of it), instead of holding their peak.
pub(crate) const ROOM_KEPT: usize = 4096;

/// Shrinks `queue` if a burst grew it and it is empty now.
#[inline]
pub(crate) fn give_back_deque<T>(queue: &mut VecDeque<T>) {
    if queue.capacity() > ROOM_KEPT && queue.is_empty() {
        shrink_deque(queue);
    }
}

/// Shrinks `vec` if a burst grew it and it is empty now.
#[inline]
pub(crate) fn give_back_vec<T>(vec: &mut Vec<T>) {
    if vec.capacity() > ROOM_KEPT && vec.is_empty() {
        shrink_vec(vec);
    }
}

/// Shrinks `slab` if a burst grew it and it is empty now (no key is live, so
/// none is invalidated).
#[inline]
pub(crate) fn give_back_slab<T>(slab: &mut Slab<T>) {
    if slab.capacity() > ROOM_KEPT && slab.is_empty() {
        shrink_slab(slab);
    }
}

// The shrinking itself, out of line: the callers' steady path is one comparison.

#[cold]
#[inline(never)]
fn shrink_deque<T>(queue: &mut VecDeque<T>) {
    queue.shrink_to(ROOM_KEPT / 10);
}

#[cold]
#[inline(never)]
fn shrink_vec<T>(vec: &mut Vec<T>) {
    vec.shrink_to(ROOM_KEPT / 10);
}

#[cold]
#[inline(never)]
fn shrink_slab<T>(slab: &mut Slab<T>) {
    *slab = Slab::with_capacity(ROOM_KEPT / 10);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emptied_burst_gives_its_room_back_and_a_small_queue_keeps_it() {
        let mut queue: VecDeque<u64> = (0..2 * ROOM_KEPT as u64).collect();
        give_back_deque(&mut queue);
        assert!(queue.capacity() >= 2 * ROOM_KEPT, "not empty yet: kept");
        queue.clear();
        give_back_deque(&mut queue);
        assert!(queue.capacity() <= ROOM_KEPT, "{}", queue.capacity());
        let mut small: Vec<u64> = Vec::with_capacity(100);
        give_back_vec(&mut small);
        assert_eq!(small.capacity(), 100);
        let mut slab: Slab<u64> = Slab::with_capacity(2 * ROOM_KEPT);
        give_back_slab(&mut slab);
        assert!(slab.capacity() <= ROOM_KEPT);
    }
}
