//! A queue of waiting tasks, shared by the primitives in `sync`.
//!
//! Each waiting future keeps a key into the list. `wake_one` wakes the longest
//! waiter and marks it *notified*; if that future is then dropped before it used
//! what it was woken for, it must pass the wake on (`remove` says so), or the
//! next waiter would sleep forever — the "lost wake-up" of cancelled waiters.
//!
//! Removing a waiter is O(1): its key stays in the FIFO until `wake_one` meets it
//! and skips it.

use std::collections::VecDeque;
use std::task::Waker;

use slab::Slab;

/// One waiting future.
#[derive(Debug)]
struct Waiter {
    /// Whom to wake.
    waker: Waker,
    /// Woken already, not yet removed.
    notified: bool,
}

/// Waiting futures, in the order they started waiting.
#[derive(Debug, Default)]
pub(crate) struct WaitList {
    /// The waiters, by key.
    waiters: Slab<Waiter>,
    /// Keys in FIFO order; may hold keys already removed (skipped when met).
    order: VecDeque<usize>,
}

impl WaitList {
    /// Puts the future with `key` (`None` if it never waited) at the back of the
    /// list, or refreshes its waker if it is waiting already.
    pub(crate) fn wait(&mut self, key: &mut Option<usize>, waker: &Waker) {
        if let Some(waiter) = key.and_then(|k| self.waiters.get_mut(k)) {
            if !waiter.waker.will_wake(waker) {
                waiter.waker = waker.clone();
            }
            if waiter.notified {
                // Woken, but what it waited for was gone again: back in line.
                waiter.notified = false;
                self.order.push_back(key.unwrap_or_default());
            }
            return;
        }
        let new = self.waiters.insert(Waiter {
            waker: waker.clone(),
            notified: false,
        });
        self.order.push_back(new);
        *key = Some(new);
    }

    /// Takes the future with `key` off the list. Returns true if it had been
    /// notified: a future dropped without using its wake must then `wake_one`.
    pub(crate) fn remove(&mut self, key: &mut Option<usize>) -> bool {
        match key.take() {
            Some(k) => self.waiters.try_remove(k).is_some_and(|w| w.notified),
            None => false,
        }
    }

    /// Notifies the longest waiter; returns its waker, to wake once the lock is released.
    pub(crate) fn wake_one(&mut self) -> Option<Waker> {
        while let Some(k) = self.order.pop_front() {
            if let Some(waiter) = self.waiters.get_mut(k) {
                if !waiter.notified {
                    waiter.notified = true;
                    return Some(waiter.waker.clone());
                }
            }
        }
        None
    }

    /// Notifies every waiter; returns their wakers.
    pub(crate) fn wake_all(&mut self) -> Vec<Waker> {
        self.order.clear();
        self.waiters
            .iter_mut()
            .filter(|(_, w)| !w.notified)
            .map(|(_, w)| {
                w.notified = true;
                w.waker.clone()
            })
            .collect()
    }

    /// Whether anyone waits (and has not been notified).
    #[cfg(test)]
    pub(crate) fn has_waiters(&self) -> bool {
        self.waiters.iter().any(|(_, w)| !w.notified)
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

    #[test]
    fn wake_one_goes_in_fifo_order_and_skips_removed_waiters() {
        let mut list = WaitList::default();
        let waker = noop_waker();
        let (mut a, mut b, mut c) = (None, None, None);
        list.wait(&mut a, &waker);
        list.wait(&mut b, &waker);
        list.wait(&mut c, &waker);
        assert!(!list.remove(&mut a), "a was never notified");
        assert!(list.wake_one().is_some()); // b
        assert!(
            list.remove(&mut b),
            "b was notified: its wake must be passed on"
        );
        assert!(list.wake_one().is_some()); // c
        assert!(list.wake_one().is_none());
        assert!(!list.has_waiters());
    }

    #[test]
    fn a_notified_waiter_that_waits_again_goes_to_the_back() {
        let mut list = WaitList::default();
        let waker = noop_waker();
        let (mut a, mut b) = (None, None);
        list.wait(&mut a, &waker);
        list.wait(&mut b, &waker);
        list.wake_one(); // a
        list.wait(&mut a, &waker); // a found nothing; waits again
        list.wake_one(); // b
        assert!(list.remove(&mut b));
        list.wake_one(); // a again
        assert!(list.remove(&mut a));
    }
}
