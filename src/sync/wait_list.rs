//! The line that waiting tasks and threads stand in: shared by `Semaphore` (and so
//! `Mutex`), the senders of a bounded `mpsc` channel, and `Event`.
//!
//! Floor 1. Three promises, each tested in `tests/sync_fairness.rs`:
//!
//! - **First come, first served.** Waiters are served in the order they started
//!   waiting, whoever they are (tasks and blocked threads stand in one line).
//! - **Hand-off.** What is released — a permit, room in a channel — is *given* to
//!   the first in line ([`WaitList::grant_first`]); it is never put back for anyone
//!   to grab. So the task that released a lock cannot take it straight back while
//!   another waits, and a newcomer cannot jump the line.
//! - **A cancelled waiter leaves nothing behind.** Its place is removed in O(1)
//!   (a doubly linked list threaded through a slab), and if it had already been
//!   granted what it waited for, the grant goes on to the next in line
//!   ([`WaitList::leave`] says so).

use std::task::{Poll, Waker};

use slab::Slab;

/// One waiter: its waker, its neighbours in line, and whether it was granted.
#[derive(Debug)]
struct Waiter {
    /// Whom to wake.
    waker: Waker,
    /// Out of the line, granted what it waited for; it takes it when next polled.
    granted: bool,
    /// The waiter before it in line (`None`: the first).
    prev: Option<usize>,
    /// The waiter after it in line (`None`: the last).
    next: Option<usize>,
}

/// Waiters, first come first served. A waiter is known by the key `wait` gave it.
#[derive(Debug, Default)]
pub(crate) struct WaitList {
    /// Every waiter, in line or granted.
    waiters: Slab<Waiter>,
    /// The first and the last in line.
    ends: Option<(usize, usize)>,
}

impl WaitList {
    /// Whether nobody stands in line (granted waiters do not count).
    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_none()
    }

    /// Puts a new waiter at the back of the line; returns its key.
    fn wait(&mut self, waker: &Waker) -> usize {
        let prev = self.ends.map(|(_, last)| last);
        let key = self.waiters.insert(Waiter {
            waker: waker.clone(),
            granted: false,
            prev,
            next: None,
        });
        self.ends = Some(match self.ends {
            Some((first, last)) => {
                self.waiters[last].next = Some(key);
                (first, key)
            }
            None => (key, key),
        });
        key
    }

    /// One poll of a waiter whose place in line is `place` (`None` before its first
    /// poll). `Ready` once it was granted what it waits for — or, on its first poll
    /// with nobody in line, if `take_now` finds it free and takes it. Otherwise the
    /// waiter stands (or stays) in line with its newest waker, and the waker that
    /// replaced is returned, to drop once the caller's lock is released.
    pub(crate) fn poll_place(
        &mut self,
        place: &mut Option<usize>,
        waker: &Waker,
        take_now: impl FnOnce() -> bool,
    ) -> (Poll<()>, Option<Waker>) {
        let Some(key) = *place else {
            if self.is_empty() && take_now() {
                return (Poll::Ready(()), None);
            }
            *place = Some(self.wait(waker));
            return (Poll::Pending, None);
        };
        let waiter = &mut self.waiters[key];
        if waiter.granted {
            self.waiters.remove(key);
            crate::room::give_back_slab(&mut self.waiters); // a crowd was served
            *place = None;
            return (Poll::Ready(()), None);
        }
        if waiter.waker.will_wake(waker) {
            return (Poll::Pending, None);
        }
        (
            Poll::Pending,
            Some(std::mem::replace(&mut waiter.waker, waker.clone())),
        )
    }

    /// A waiter whose future is dropped: gives up its place, if it has one. Returns
    /// whether it had been granted what it waited for: the caller must pass it on.
    pub(crate) fn leave_place(&mut self, place: Option<usize>) -> bool {
        place.is_some_and(|key| self.leave(key))
    }

    /// Takes waiter `key` off the list; whether it had been granted.
    fn leave(&mut self, key: usize) -> bool {
        let waiter = self.waiters.remove(key);
        if !waiter.granted {
            self.unlink(&waiter);
        }
        crate::room::give_back_slab(&mut self.waiters); // a crowd has left
        waiter.granted
    }

    /// Grants the first in line what it waited for: takes it out of the line and
    /// returns its waker, to wake once the caller's lock is released.
    pub(crate) fn grant_first(&mut self) -> Option<Waker> {
        let (first, _) = self.ends?;
        let waiter = &mut self.waiters[first];
        waiter.granted = true;
        let waker = waiter.waker.clone();
        let (prev, next) = (waiter.prev.take(), waiter.next.take());
        self.unlink_between(prev, next);
        Some(waker)
    }

    /// Grants everyone in line; returns their wakers.
    pub(crate) fn grant_all(&mut self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        while let Some(waker) = self.grant_first() {
            wakers.push(waker);
        }
        wakers
    }

    /// Takes a waiter still in line out of it.
    fn unlink(&mut self, waiter: &Waiter) {
        self.unlink_between(waiter.prev, waiter.next);
    }

    /// Joins `prev` and `next`, the neighbours of a waiter leaving the line.
    fn unlink_between(&mut self, prev: Option<usize>, next: Option<usize>) {
        if let Some(prev) = prev {
            self.waiters[prev].next = next;
        }
        if let Some(next) = next {
            self.waiters[next].prev = prev;
        }
        self.ends = match (self.ends, prev, next) {
            (_, None, None) => None,
            (Some((_, last)), None, Some(next)) => Some((next, last)),
            (Some((first, _)), Some(prev), None) => Some((first, prev)),
            (ends, _, _) => ends,
        };
    }
}

/// Wakes each of `wakers`: call it after the lock that guarded the list is released.
pub(crate) fn wake(wakers: impl IntoIterator<Item = Waker>) {
    for waker in wakers {
        waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_task::noop_waker;

    /// Grants in turn until the line is empty; returns the order the waiters with
    /// `keys` were served in.
    fn served(list: &mut WaitList, keys: &[usize]) -> Vec<usize> {
        let waker = noop_waker();
        let mut waiting = keys.to_vec();
        let mut order = Vec::new();
        while list.grant_first().is_some() {
            let at = waiting
                .iter()
                .position(|&k| list.poll_place(&mut Some(k), &waker, || false).0.is_ready())
                .expect("the granted waiter sees it");
            order.push(waiting.remove(at));
        }
        order
    }

    #[test]
    fn waiters_are_served_in_order_and_a_leaver_loses_its_place_to_nobody() {
        let mut list = WaitList::default();
        let waker = noop_waker();
        let a = list.wait(&waker);
        let b = list.wait(&waker);
        let c = list.wait(&waker);
        assert!(!list.leave(b), "b was never granted");
        let d = list.wait(&waker); // may reuse b's slot: it still goes last
        assert_eq!(d, b, "the slab reuses the slot");
        assert_eq!(served(&mut list, &[a, c, d]), [a, c, d]);
        assert!(list.is_empty());
        assert!(list.waiters.is_empty(), "nothing left behind");
    }

    #[test]
    fn a_granted_waiter_that_leaves_says_so_and_the_line_goes_on() {
        let mut list = WaitList::default();
        let waker = noop_waker();
        let (a, b) = (list.wait(&waker), list.wait(&waker));
        list.grant_first();
        assert!(list.leave(a), "a was granted: the caller passes it on");
        assert_eq!(served(&mut list, &[b]), [b]);
        assert!(list.waiters.is_empty());
    }

    #[test]
    fn the_last_and_the_middle_can_leave_too() {
        let mut list = WaitList::default();
        let waker = noop_waker();
        let keys: Vec<usize> = (0..5).map(|_| list.wait(&waker)).collect();
        list.leave(keys[4]);
        list.leave(keys[2]);
        list.leave(keys[0]);
        assert_eq!(served(&mut list, &[keys[3], keys[1]]), [keys[1], keys[3]]);
    }
}
