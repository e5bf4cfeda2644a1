//! A narrated turn, for learners: `EVLOOP_TRACE=turns` prints one line per turn of
//! the loop, its four steps in order.
//!
//! Floor 2. Each turn, after step 4, the narrator reads what the recording got
//! since the last turn — the timers' wakes, the remote wakes, the polls, the
//! reactor's wait — and says it in one line:
//!
//! ```text
//! turn 42: timers fired 1 (spinner) · remote wakes 0 · polled spinner (pending, 3 µs) · reactor: waited 99.8 ms for the next timer
//! ```
//!
//! Idle turns in a row — no timer, no remote wake, no poll — fold into one line
//! with their count, so a long run stays readable.

use std::cell::Cell;
use std::time::Duration;

use super::{Runtime, Wait};
use crate::trace::record::Recorder;
use crate::trace::{Cause, Event, Millis};

/// Polls named one by one in a line; past that, "and N more".
const NAMED: usize = 6;

/// What the narrator remembers between turns.
#[derive(Debug, Default)]
pub(super) struct Narrator {
    /// Turns narrated so far.
    turns: Cell<u64>,
    /// How many events the recording had when the last turn was told.
    mark: Cell<u64>,
    /// Idle turns not told yet: the first one's number, how many, and the time
    /// they waited in all.
    idle: Cell<Option<(u64, u64, Duration)>>,
}

impl Runtime {
    /// After step 4: tells the turn that just ended, if `EVLOOP_TRACE=turns`.
    pub(super) fn narrate(&self, wait: Wait) {
        if let (Some(narrator), Some(recorder)) = (&self.narrator, self.resources.recorder()) {
            narrator.tell(recorder, wait);
        }
    }
}

impl Narrator {
    /// Tells one turn: its line, or one more idle turn to fold.
    fn tell(&self, recorder: &Recorder, wait: Wait) {
        let turn = self.turns.get() + 1;
        self.turns.set(turn);
        let events = recorder.events_since(self.mark.get());
        self.mark.set(recorder.recorded());
        let label = |task| recorder.label(task);
        let (mut timers, mut remote, mut polls, mut waited) = (Vec::new(), 0, Vec::new(), None);
        for (i, event) in events.iter().enumerate() {
            match *event {
                Event::Woken {
                    task,
                    cause: Cause::Timer,
                    ..
                } => timers.push(label(task)),
                Event::Woken {
                    cause: Cause::Thread | Cause::Pool,
                    ..
                } => remote += 1,
                Event::Polled { task, start, end } => {
                    let ended = events[i + 1..]
                        .iter()
                        .any(|e| matches!(e, Event::Ended { task: t, .. } if *t == task));
                    let result = if ended { "ready" } else { "pending" };
                    let took = Millis(end - start);
                    polls.push(format!("{} ({result}, {took})", label(task)));
                }
                Event::Slept { start, end, .. } => waited = Some(end - start),
                _ => {}
            }
        }
        if timers.is_empty() && remote == 0 && polls.is_empty() {
            let (first, count, total) = self.idle.get().unwrap_or((turn, 0, Duration::ZERO));
            self.idle
                .set(Some((first, count + 1, total + waited.unwrap_or_default())));
            return;
        }
        self.flush();
        let timers = match timers.len() {
            0 => "timers fired 0".to_string(),
            n => format!("timers fired {n} ({})", named(&timers)),
        };
        let polled = match polls.len() {
            0 => "polled nothing".to_string(),
            _ => format!("polled {}", named(&polls)),
        };
        let reactor = reactor(wait, waited);
        eprintln!("turn {turn}: {timers} · remote wakes {remote} · {polled} · reactor: {reactor}");
    }

    /// Tells the idle turns not told yet, as one line.
    pub(super) fn flush(&self) {
        if let Some((first, count, total)) = self.idle.take() {
            let turns = match count {
                1 => format!("turn {first}"),
                _ => format!("turns {first}–{}", first + count - 1),
            };
            eprintln!(
                "{turns}: idle ×{count} · reactor: waited {} in all",
                Millis(total)
            );
        }
    }
}

/// The first few of `items`, joined; "and N more" for the rest.
fn named(items: &[String]) -> String {
    let mut said = items[..items.len().min(NAMED)].join(", ");
    if items.len() > NAMED {
        said.push_str(&format!(" and {} more", items.len() - NAMED));
    }
    said
}

/// What step 4 did, in words.
fn reactor(wait: Wait, waited: Option<Duration>) -> String {
    let waited = Millis(waited.unwrap_or_default());
    match wait {
        Wait::Skip => "skipped (work is ready, and no I/O can be)".to_string(),
        Wait::Poll => "looked for I/O without waiting (work is ready)".to_string(),
        Wait::JumpTo(_) => {
            format!("nothing else to do: the virtual clock jumped {waited} to the next timer")
        }
        Wait::Sleep {
            deadline: Some(_),
            limit: None,
        } => format!("waited {waited} for the next timer"),
        Wait::Sleep { limit: Some(_), .. } => {
            format!("waited {waited} (the caller's max_wait, or sooner)")
        }
        Wait::Sleep {
            deadline: None,
            limit: None,
        } => format!("waited {waited} for I/O or a wake: nothing else pending"),
    }
}
