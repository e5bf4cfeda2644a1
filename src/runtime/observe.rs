//! Seeing the loop from the runtime: the main future's polls and the reactor's
//! waits in the recording, the stuck-program report, and the public views —
//! [`Runtime::timeline`] and [`Runtime::tasks`].
//!
//! Floor 2. The recording itself is `trace::record` (floor 0); the drawing is
//! `trace` (floor 3), which this module hands what the runtime knows.

use std::collections::HashMap;
use std::panic::Location;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use super::Runtime;
use crate::context::MAIN;
use crate::replay::Polled;
use crate::task::{Awaits, TaskState as Where};
use crate::trace::record::{Event, WaitWhy};
use crate::trace::{TaskInfo, TaskState, Timeline};

impl Runtime {
    /// What the loop did, as recorded while tracing is on
    /// ([`Builder::trace`](crate::Builder::trace) or `EVLOOP_TRACE`): the events,
    /// and an ASCII chart as its `Display`. Empty, saying how to turn it on, if
    /// tracing is off.
    ///
    /// ```
    /// let rt = evloop::Builder::new().trace(true).virtual_time(true).build().unwrap();
    /// rt.block_on(async {
    ///     evloop::task::Builder::new().name("nap").spawn(async {
    ///         evloop::time::sleep(std::time::Duration::from_millis(5)).await;
    ///     }).await.unwrap();
    /// });
    /// let chart = rt.timeline().to_string();
    /// assert!(chart.contains("nap"), "{chart}");
    /// ```
    pub fn timeline(&self) -> Timeline {
        Timeline::new(self.resources.recorder().map(|r| &**r), self.seed())
    }

    /// The tasks alive now: id, name, spawn site, where each is (running, ready,
    /// waiting), how often it was polled and — while tracing is on — for how long
    /// in the events still recorded. A `TaskInfo`'s `Display` is a table row under
    /// [`TaskInfo::HEADER`].
    ///
    /// ```
    /// let rt = evloop::Runtime::new().unwrap();
    /// let _idle = rt.spawn(std::future::pending::<()>());
    /// rt.block_on(evloop::yield_now());
    /// let tasks = rt.tasks();
    /// assert_eq!(tasks.len(), 1);
    /// println!("{}\n{}", evloop::trace::TaskInfo::HEADER, tasks[0]);
    /// ```
    pub fn tasks(&self) -> Vec<TaskInfo> {
        let mut polled: HashMap<u64, Duration> = HashMap::new();
        if let Some(recorder) = self.resources.recorder() {
            for event in recorder.events() {
                if let Event::Polled { task, start, end } = event {
                    *polled.entry(task).or_default() += end - start;
                }
            }
        }
        let tracing = self.resources.recorder().is_some();
        let tasks = self.executor.snapshot().into_iter().map(|task| TaskInfo {
            id: task.id,
            name: task.name,
            spawned_at: task.location,
            state: match task.state {
                Where::Running => TaskState::Running,
                Where::Ready => TaskState::Ready,
                Where::Waiting { held: true } => TaskState::Waiting,
                Where::Waiting { held: false } => TaskState::Unwakeable,
            },
            polls: task.polls,
            time_polled: tracing.then(|| polled.get(&task.id).copied().unwrap_or_default()),
        });
        tasks.collect()
    }

    /// Polls `block_on`'s future (called at `location`) through `poll`, under the
    /// observers' eyes if any watch: it is "task 0" to the recording and the alarm.
    pub(super) fn poll_main<R>(
        &self,
        location: &'static Location<'static>,
        poll: impl FnOnce() -> Poll<R>,
    ) -> Poll<R> {
        match &self.resources.observers {
            None => poll(),
            Some(observers) => {
                let name = || Some("block_on's future".to_string());
                let polled = observers.poll(MAIN, name, location, poll);
                if let Some(replay) = &observers.replay {
                    let result = match polled {
                        Poll::Pending => Polled::Pending,
                        Poll::Ready(_) => Polled::Ready,
                    };
                    replay.polled(0, location, result);
                }
                polled
            }
        }
    }

    /// Waits in the reactor up to `timeout`, recording the wait when tracing is on
    /// and it was one (a zero timeout is a look, not a wait), with what bounded it:
    /// the alarm for the next timer (`ring_at`) or the caller's `limit`. Returns the
    /// events.
    pub(super) fn reactor_wait(
        &self,
        timeout: Option<Duration>,
        ring_at: Option<Instant>,
        limit: Option<Duration>,
    ) -> usize {
        let reactor = &self.resources.reactor;
        match self.resources.recorder() {
            Some(recorder) if timeout != Some(Duration::ZERO) => {
                let start = recorder.now();
                let until_timer = ring_at.map(|at| at.saturating_duration_since(start));
                let (chosen, why) = match (until_timer, limit) {
                    (Some(timer), Some(limit)) if limit < timer => (Some(limit), WaitWhy::MaxWait),
                    (Some(timer), _) => (Some(timer), WaitWhy::NextTimer),
                    (None, Some(limit)) => (Some(limit), WaitWhy::MaxWait),
                    (None, None) => (None, WaitWhy::NothingReady),
                };
                let events = reactor.wait(timeout);
                let end = recorder.now();
                recorder.record(Event::Slept {
                    start,
                    end,
                    events,
                    timeout: chosen,
                    why,
                });
                events
            }
            _ => reactor.wait(timeout),
        }
    }

    /// Moves a virtual clock to `deadline`: the loop's wait, recorded as one when
    /// tracing is on (it is what a real clock would have slept).
    pub(super) fn jump_clock(&self, deadline: std::time::Instant) {
        let clock = self.resources.timers.clock();
        if let Some(recorder) = self.resources.recorder() {
            let start = clock.now();
            recorder.record(Event::Slept {
                start,
                end: deadline.max(start),
                events: 0,
                timeout: Some(deadline.saturating_duration_since(start)),
                why: WaitWhy::NextTimer,
            });
        }
        clock.advance_to(deadline);
    }

    /// Before the loop waits with no timeout: if `block_on`'s future is pending and
    /// nothing can ever wake anything — no ready task, timer, socket, blocking job,
    /// `Handle`, and no waker held outside the runtime's own tasks — says so on
    /// stderr, once, with what each task waits for. (A waker kept by a channel looks
    /// exactly like one kept by another thread, so a program waiting on a channel
    /// is not reported.)
    pub(super) fn report_if_stuck(&self) {
        if self.stuck_reported.get() {
            return;
        }
        // The runtime holds one reference to the main waker, `block_on` one more.
        let Some(main_held) = Arc::strong_count(&self.main).checked_sub(2) else {
            return; // not inside block_on: an embedder's turn may be waiting on purpose
        };
        let resources = &self.resources;
        if resources.timers.len() > 0
            || resources.reactor.socket_count() > 0
            || resources.pool.is_busy()
            || self.executor.injector().has_handles()
        {
            return;
        }
        let main = Waker::from(self.main.clone());
        let Some(stuck) = self.executor.stuck(&main, main_held) else {
            return;
        };
        self.stuck_reported.set(true);
        eprintln!("{}", self.stuck_report(&stuck));
    }

    /// The text of the stuck report.
    fn stuck_report(&self, stuck: &[(u64, Awaits)]) -> String {
        let mut report = String::from(
            "evloop: this program is stuck. block_on's future is pending and nothing can \
             wake anything: no task is ready, no timer, socket, blocking job or Handle \
             exists, and no waker is held outside the runtime's tasks. It will wait for \
             ever. What each waits for:",
        );
        let tasks: HashMap<u64, TaskInfo> = self.tasks().into_iter().map(|t| (t.id, t)).collect();
        let name = |id: u64| match tasks.get(&id) {
            Some(task) => {
                let site = format!("{}:{}", task.spawned_at.file(), task.spawned_at.line());
                match &task.name {
                    Some(name) => format!("task {id} '{name}' (spawned at {site})"),
                    None => format!("task {id} (spawned at {site})"),
                }
            }
            None => "block_on's future".to_string(),
        };
        for &(id, awaits) in stuck {
            let what = match awaits {
                Awaits::Task(other) => format!("waits for {} to end", name(other)),
                Awaits::Nothing => {
                    "waits on a future that kept no waker: nothing can wake it".to_string()
                }
            };
            report.push_str(&format!("\n  {}: {what}", name(id)));
        }
        report
    }

    /// When the runtime drops: stops the alarm's watchdog, and prints the chart if
    /// `EVLOOP_TRACE=timeline` asked for it.
    pub(super) fn stop_observing(&self) {
        let Some(observers) = &self.resources.observers else {
            return;
        };
        if let Some(watch) = &observers.watch {
            watch.stop();
        }
        if self.print_timeline {
            eprint!("\n{}", self.timeline()); // on a line of its own
        }
        if let Some(narrator) = &self.narrator {
            narrator.flush();
        }
        let [perfetto, svg] = &self.pictures;
        if let Some(path) = perfetto {
            let timeline = self.timeline();
            let what = "trace (open it in ui.perfetto.dev)";
            write_picture(path, what, |out| timeline.write_trace_json(out));
        }
        if let Some(path) = svg {
            let timeline = self.timeline();
            write_picture(path, "picture", |out| timeline.write_svg(out));
        }
    }
}

/// Writes a picture of the loop to `path` with `write`, and says so on stderr.
fn write_picture(
    path: &std::path::Path,
    what: &str,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) {
    let written = std::fs::File::create(path).and_then(|file| {
        let mut out = std::io::BufWriter::new(file);
        write(&mut out)?;
        std::io::Write::flush(&mut out)
    });
    match written {
        Ok(()) => eprintln!("evloop: {what} written to {}", path.display()),
        Err(e) => eprintln!(
            "evloop: could not write the {what} to {}: {e}",
            path.display()
        ),
    }
}
