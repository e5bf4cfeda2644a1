//! The runtime's clock: real, or virtual for tests.
//!
//! Floor 1 (std only). The real clock is `Instant::now()`. The virtual clock
//! (`Builder::virtual_time(true)`) starts at the real time the runtime was built
//! and then moves only when the loop jumps it to the next timer's deadline —
//! which it does when there is nothing else to do (see `runtime`'s step 4). A test
//! that sleeps for an hour under virtual time finishes at once.

use std::cell::Cell;
use std::time::Instant;

/// Where the runtime reads the time.
#[derive(Debug)]
pub(crate) enum Clock {
    /// `Instant::now()`.
    Real,
    /// The time the loop last jumped to.
    Virtual(Cell<Instant>),
}

impl Clock {
    /// A real clock, or a virtual one starting now.
    pub(crate) fn new(virtual_time: bool) -> Clock {
        if virtual_time {
            Clock::Virtual(Cell::new(Instant::now()))
        } else {
            Clock::Real
        }
    }

    /// The current time on this clock.
    pub(crate) fn now(&self) -> Instant {
        match self {
            Clock::Real => Instant::now(),
            Clock::Virtual(now) => now.get(),
        }
    }

    /// Whether this is a virtual clock.
    pub(crate) fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual(_))
    }

    /// Moves a virtual clock forward to `to` (never backward). A real clock
    /// ignores this: real time moves by itself.
    pub(crate) fn advance_to(&self, to: Instant) {
        if let Clock::Virtual(now) = self {
            if to > now.get() {
                now.set(to);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn virtual_clock_moves_only_forward_and_only_when_told() {
        let clock = Clock::new(true);
        let start = clock.now();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(clock.now(), start);
        clock.advance_to(start + Duration::from_secs(3600));
        assert_eq!(clock.now(), start + Duration::from_secs(3600));
        clock.advance_to(start);
        assert_eq!(clock.now(), start + Duration::from_secs(3600));
    }

    #[test]
    fn real_clock_follows_instant_now() {
        let clock = Clock::new(false);
        let before = Instant::now();
        assert!(clock.now() >= before);
        assert!(!clock.is_virtual());
    }
}
