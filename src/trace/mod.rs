//! Seeing the loop: a timeline of every task, what woke it, how long the loop
//! waited; a table of the live tasks; a live alarm for a poll that holds the loop.
//!
//! Turn it on with [`Builder::trace(true)`](crate::Builder::trace) or
//! `EVLOOP_TRACE` in the environment, a comma-separated list of: `timeline` (the
//! ASCII chart, printed to stderr when the runtime is dropped), `svg:PATH` (the
//! same as a picture, [`Timeline::write_svg`]), `perfetto:PATH` (a Chrome Trace
//! Event file: drag it into ui.perfetto.dev or `chrome://tracing`,
//! [`Timeline::write_trace_json`]), `turns` (a line per turn of the loop, its four
//! steps in order) and `wakes` (each wake as it happens). The alarm: [`Builder::slow_poll_threshold`](crate::Builder::slow_poll_threshold),
//! or `EVLOOP_DEBUG=1` for asyncio's 100 ms.
//!
//! Two halves, on two floors. The *recording* (`record.rs`, `watch.rs`) is floor 0,
//! so that the executor, the timers and the reactor each note what they did
//! without importing what lies above them. The *drawing* — this file — is floor 3:
//! it reads a recording and draws it.
//!
//! What it costs, measured on a 2-core Linux VM: off, one branch per poll, nothing
//! measurable (instruction counts within 1 % of the code before tracing). On, one
//! clock read per poll (a poll starts where the one before it in the turn ended; a
//! wake takes the time of the poll or batch that makes it) and a 32-byte entry per
//! event — about 60 ns per poll-and-wake pair, `yield_many` 3.4× its untraced time —
//! in a ring of the last [`CAPACITY`] events (3 MB): a third of a second of a busy
//! echo server at 140,000 requests a second (about two events a request). The alarm adds a lock taken
//! twice per poll (about 35 ns) and one thread, which looks once per threshold.
//!
//! The stuck-program report needs no switch: when `block_on`'s future is pending
//! and nothing could ever wake anything — no task ready, no timer, socket,
//! blocking job or [`Handle`](crate::Handle), and no waker held outside the
//! runtime's own tasks — the loop says so on stderr, once, with what each task
//! waits for. A waker kept by a channel looks exactly like one kept by another
//! thread, so a program waiting on a channel whose sender is gone is not reported.
//! Separately, a task that returns `Pending` while nobody holds its waker is
//! reported at once, naming its spawn site (asyncio's "Task was destroyed but it
//! is pending!", found earlier).

use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

mod perfetto;
pub(crate) mod record;
mod ring;
mod svg;
pub(crate) mod watch;

pub use crate::context::MAIN;
pub use record::{Cause, Event, WaitWhy};
pub use ring::CAPACITY;
pub use watch::SlowPoll;

/// Columns of a timeline chart, its rows' labels aside.
const COLUMNS: usize = 100;

/// What a runtime recorded, from [`Runtime::timeline`](crate::Runtime::timeline):
/// its events, oldest first, and its chart (`Display`).
///
/// The chart has one row per task, labelled with its name or else its spawn site;
/// time flows right, on a scale chosen to fit 100 columns (the header states it).
/// `#` while the task is polled, `.` while it is ready but waits for the loop, a
/// blank while it waits on something else; a row for the loop's waits in the
/// reactor (`~`) and one per blocking thread (`=` while a job of the loop's runs).
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The events, oldest first.
    events: Vec<Event>,
    /// Each task's label.
    labels: HashMap<u64, String>,
    /// Whether tracing was on.
    recording: bool,
    /// The seed the loop's order was drawn from, if it had one.
    seed: Option<u64>,
}

impl Timeline {
    /// The timeline of a recording.
    pub(crate) fn new(recorder: Option<&record::Recorder>, seed: Option<u64>) -> Timeline {
        let Some(recorder) = recorder else {
            return Timeline {
                events: Vec::new(),
                labels: HashMap::new(),
                recording: false,
                seed,
            };
        };
        let events = recorder.events();
        let mut labels = HashMap::new();
        for task in events.iter().filter_map(Event::task) {
            labels.entry(task).or_insert_with(|| recorder.label(task));
        }
        Timeline {
            events,
            labels,
            recording: true,
            seed,
        }
    }

    /// The seed the loop's order was drawn from, if it had one: the same seed
    /// replays the same timeline (see [`Builder::seed`](crate::Builder::seed)).
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// The events, oldest first.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// A task's label: its name, or else its spawn site (`file:line`).
    pub fn label(&self, task: u64) -> String {
        self.labels
            .get(&task)
            .cloned()
            .unwrap_or_else(|| format!("task {task}"))
    }

    /// How long task `task` was polled, in the events recorded.
    pub fn time_polled(&self, task: u64) -> Duration {
        let polls = self.events.iter().filter_map(|event| match *event {
            Event::Polled {
                task: t,
                start,
                end,
            } if t == task => Some(end - start),
            _ => None,
        });
        polls.sum()
    }

    /// The span the events cover.
    fn span(&self) -> Option<(Instant, Instant)> {
        let mut times = self.events.iter().flat_map(|event| match *event {
            Event::Polled { start, end, .. }
            | Event::Slept { start, end, .. }
            | Event::Job { start, end, .. } => [start, end],
            Event::Woken { at, .. } | Event::Ended { at, .. } => [at, at],
        });
        let first = times.next()?;
        Some(times.fold((first, first), |(lo, hi), t| (lo.min(t), hi.max(t))))
    }

    /// The rows of the chart: a label, and its 100 cells. Past [`MAX_ROWS`] tasks,
    /// the busiest keep their rows and the rest share one.
    fn rows(&self, start: Instant, column: Duration) -> Vec<(String, [u8; COLUMNS])> {
        let width = column.as_nanos().max(1);
        let cell = |t: Instant| {
            let at = t.saturating_duration_since(start).as_nanos() / width;
            (at as usize).min(COLUMNS - 1)
        };
        let mark = |row: &mut [u8; COLUMNS], from: Instant, to: Instant, mark: u8| {
            for c in row.iter_mut().take(cell(to) + 1).skip(cell(from)) {
                if *c == b' ' {
                    *c = mark;
                }
            }
        };
        // The share of each column a task spent being polled.
        let busy = |shares: &mut [f64; COLUMNS], from: Instant, to: Instant| {
            let (a, b) = (
                from.saturating_duration_since(start),
                to.saturating_duration_since(start),
            );
            let (a, b) = (a.as_nanos(), b.as_nanos().max(a.as_nanos() + 1));
            let (first, last) = (cell(from), cell(to));
            for (c, share) in shares.iter_mut().enumerate().take(last + 1).skip(first) {
                let (lo, hi) = (c as u128 * width, (c as u128 + 1) * width);
                let overlap = b.min(hi).saturating_sub(a.max(lo));
                *share += overlap as f64 / width as f64;
            }
            // A poll shows even when it took no time (virtual time, the last column).
            shares[cell(from)] = shares[cell(from)].max(f64::MIN_POSITIVE);
        };
        let mut order: Vec<u64> = Vec::new();
        let mut tasks: HashMap<u64, TaskRow> = HashMap::new();
        let mut loop_row = [b' '; COLUMNS];
        let mut threads: Vec<[u8; COLUMNS]> = Vec::new();
        for event in &self.events {
            if let Some(task) = event.task() {
                tasks.entry(task).or_insert_with(|| {
                    order.push(task);
                    TaskRow::default()
                });
            }
            match *event {
                Event::Woken { task, at, .. } => tasks.get_mut(&task).unwrap().ready = Some(at),
                Event::Polled {
                    task,
                    start: s,
                    end,
                } => {
                    let row = tasks.get_mut(&task).unwrap();
                    if let Some(ready) = row.ready.take() {
                        mark(&mut row.cells, ready, s, b'.');
                    }
                    busy(&mut row.shares, s, end);
                    row.polled += end - s;
                }
                Event::Ended { .. } => {}
                Event::Slept { start: s, end, .. } => mark(&mut loop_row, s, end, b'~'),
                Event::Job {
                    thread,
                    start: s,
                    end,
                } => {
                    if threads.len() <= thread {
                        threads.resize(thread + 1, [b' '; COLUMNS]);
                    }
                    mark(&mut threads[thread], s, end, b'=');
                }
            }
        }
        // Tasks spawned at one site share a label: their ids tell them apart.
        let mut sharing: HashMap<String, usize> = HashMap::new();
        for &task in &order {
            *sharing.entry(self.label(task)).or_default() += 1;
        }
        let label = |task: u64| match self.label(task) {
            label if sharing[&label] > 1 => format!("{label} #{task}"),
            label => label,
        };
        // Too many rows to read: the busiest keep theirs, in order, the rest fold.
        let mut folded = Vec::new();
        if order.len() > MAX_ROWS {
            let mut by_time = order.clone();
            by_time.sort_by_key(|task| std::cmp::Reverse(tasks[task].polled));
            folded = by_time.split_off(MAX_ROWS - 1);
            order.retain(|task| !folded.contains(task));
        }
        let mut rows: Vec<_> = order
            .iter()
            .map(|&task| (label(task), tasks[&task].drawn()))
            .collect();
        if !folded.is_empty() {
            let mut all = TaskRow::default();
            for task in &folded {
                let row = &tasks[task];
                for c in 0..COLUMNS {
                    all.shares[c] = all.shares[c].max(row.shares[c]);
                    if all.cells[c] == b' ' {
                        all.cells[c] = row.cells[c];
                    }
                }
            }
            rows.push((format!("{} more tasks", folded.len()), all.drawn()));
        }
        rows.push(("the loop, waiting for I/O".to_string(), loop_row));
        for (i, row) in threads.into_iter().enumerate() {
            rows.push((format!("blocking thread {}", i + 1), row));
        }
        rows
    }
}

/// Past this many rows of tasks, the least busy fold into one.
const MAX_ROWS: usize = 20;

/// A task's row while the chart is drawn.
struct TaskRow {
    /// '.' where it was ready and waited for the loop.
    cells: [u8; COLUMNS],
    /// The share of each column it spent being polled.
    shares: [f64; COLUMNS],
    /// When it last became ready, if it has not been polled since.
    ready: Option<Instant>,
    /// How long it was polled in all.
    polled: Duration,
}

impl Default for TaskRow {
    fn default() -> TaskRow {
        TaskRow {
            cells: [b' '; COLUMNS],
            shares: [0.0; COLUMNS],
            ready: None,
            polled: Duration::ZERO,
        }
    }
}

impl TaskRow {
    /// The row's characters: polls shaded by their share of the column, over the
    /// '.' of waiting to be polled.
    fn drawn(&self) -> [u8; COLUMNS] {
        let mut cells = self.cells;
        for (cell, &share) in cells.iter_mut().zip(&self.shares) {
            if share > 0.0 {
                *cell = SHADES[((share * SHADES.len() as f64) as usize).min(SHADES.len() - 1)];
            }
        }
        cells
    }
}

/// How busy a column was, from a sliver of it to all of it.
const SHADES: &[u8] = b":-+*#";

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.recording {
            return writeln!(
                f,
                "evloop timeline: nothing recorded (turn tracing on with \
                 Builder::trace(true) or EVLOOP_TRACE=timeline)"
            );
        }
        let Some((start, end)) = self.span() else {
            return writeln!(f, "evloop timeline: no events yet");
        };
        let span = end - start;
        let column = (span / COLUMNS as u32).max(Duration::from_nanos(1));
        let seeded = match self.seed {
            Some(seed) => format!(" (seed {seed})"),
            None => String::new(),
        };
        writeln!(
            f,
            "evloop timeline{seeded}: {} in {COLUMNS} columns of {} each — polled ':' a \
             little of the column to '#' all of it, '.' ready and waiting for the loop, '~' the \
             loop waiting for I/O, '=' a blocking job",
            Millis(span),
            Millis(column)
        )?;
        let rows = self.rows(start, column);
        let width = rows
            .iter()
            .map(|(label, _)| label.len())
            .max()
            .unwrap_or(0)
            .min(40);
        for (label, cells) in rows {
            let label: String = label.chars().take(width).collect();
            let cells = String::from_utf8_lossy(&cells);
            writeln!(f, "{label:>width$} |{cells}|")?;
        }
        Ok(())
    }
}

/// A duration, shown in the unit that reads best.
pub(crate) struct Millis(pub(crate) Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_secs_f64() * 1e3;
        if ms >= 1000.0 {
            write!(f, "{:.2} s", ms / 1e3)
        } else if ms >= 1.0 {
            write!(f, "{ms:.1} ms")
        } else {
            write!(f, "{:.0} µs", ms * 1e3)
        }
    }
}

/// Where a live task is, as [`Runtime::tasks`](crate::Runtime::tasks) sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Being polled right now (the caller is, or calls from, this task).
    Running,
    /// In the run queue: it runs when the loop comes to it.
    Ready,
    /// Waiting for a wake; something holds its waker (a timer, a socket, a
    /// channel, another thread).
    Waiting,
    /// Waiting, and nothing holds its waker: it can never be woken.
    Unwakeable,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Running => "running",
            TaskState::Ready => "ready",
            TaskState::Waiting => "waiting",
            TaskState::Unwakeable => "waiting; nobody holds its waker",
        })
    }
}

/// A live task, from [`Runtime::tasks`](crate::Runtime::tasks). Its `Display` is
/// a row of the table under [`TaskInfo::HEADER`].
#[derive(Debug, Clone)]
pub struct TaskInfo {
    /// The task's id.
    pub id: u64,
    /// Its name, if it was given one.
    pub name: Option<String>,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// Where it is now.
    pub state: TaskState,
    /// How many times it was polled.
    pub polls: u32,
    /// How long it was polled in all — known only while tracing is on.
    pub time_polled: Option<Duration>,
}

impl TaskInfo {
    /// The header of the table that `TaskInfo`'s rows make.
    pub const HEADER: &'static str =
        "    id  name              spawned at                          polls  polled     state";
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let site = format!("{}:{}", self.spawned_at.file(), self.spawned_at.line());
        let name = self.name.as_deref().unwrap_or("-");
        let polled = match self.time_polled {
            Some(time) => Millis(time).to_string(),
            None => "-".to_string(),
        };
        write!(
            f,
            "{:>6}  {name:<16}  {site:<34}  {:>5}  {polled:<9}  {}",
            self.id, self.polls, self.state
        )
    }
}
