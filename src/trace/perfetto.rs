//! The timeline as a Chrome Trace Event file, for Perfetto (ui.perfetto.dev) and
//! `chrome://tracing`: [`Timeline::write_trace_json`].
//!
//! Floor 3, beside the ASCII chart. One process, "evloop", with these tracks (a
//! "thread" each, as the format calls them): the loop's waits in the reactor, the
//! timers that fired, one per blocking thread, then one per task (and one for
//! `block_on`'s future), named by its name or spawn site. A poll is a complete
//! event ("X") on its task's track; a wake is a flow arrow ("s" → "f") from what
//! caused it — a timer, a socket, another task's poll, another thread, the pool —
//! to the poll it led to.

use std::collections::HashMap;
use std::io::{self, Write};
use std::time::Instant;

use super::{Cause, Event, Timeline};
use crate::context::MAIN;

/// The track of the loop's waits in the reactor (and the sockets it heard of).
const LOOP: u64 = 1;
/// The track of timers firing.
const TIMERS: u64 = 2;
/// The track of wakes from other threads that were not pool jobs.
const THREADS: u64 = 3;
/// Blocking thread `n`'s track is `POOL + n`.
const POOL: u64 = 10;
/// The first task track.
const TASKS: u64 = 1000;

/// How long the little slices that anchor a flow's start last, in µs: a timer
/// firing, a socket heard of, a wake from another thread.
const MARK: f64 = 0.5;

impl Timeline {
    /// Writes the timeline as Chrome Trace Event JSON: drag the file into
    /// ui.perfetto.dev (or `chrome://tracing`) to see every poll as a slice on its
    /// task's track, the loop's waits, the timers and blocking jobs, and an arrow
    /// from each wake's cause to the poll it led to. `EVLOOP_TRACE=perfetto:PATH`
    /// writes it when the runtime is dropped.
    ///
    /// ```
    /// let rt = evloop::Builder::new().trace(true).virtual_time(true).build().unwrap();
    /// rt.block_on(evloop::time::sleep(std::time::Duration::from_millis(5)));
    /// let mut json = Vec::new();
    /// rt.timeline().write_trace_json(&mut json).unwrap();
    /// assert!(String::from_utf8(json).unwrap().contains("\"traceEvents\""));
    /// ```
    ///
    /// # Errors
    ///
    /// What `out` says when written to.
    pub fn write_trace_json(&self, out: &mut impl Write) -> io::Result<()> {
        let mut json = TraceJson::new(self);
        json.tracks();
        json.events();
        out.write_all(b"{\"traceEvents\":[\n")?;
        out.write_all(json.lines.join(",\n").as_bytes())?;
        out.write_all(b"\n],\"displayTimeUnit\":\"ms\"}\n")
    }
}

/// The JSON being built: one line per trace event.
struct TraceJson<'a> {
    /// What is drawn.
    timeline: &'a Timeline,
    /// When the first event happened: time 0.
    origin: Instant,
    /// Each task's track, by task id.
    task_tracks: HashMap<u64, u64>,
    /// The events, as JSON objects.
    lines: Vec<String>,
    /// The next flow's id.
    next_flow: u64,
}

impl<'a> TraceJson<'a> {
    /// Nothing written yet; tracks numbered for every task in the timeline.
    fn new(timeline: &'a Timeline) -> TraceJson<'a> {
        let origin = timeline
            .span()
            .map_or_else(Instant::now, |(start, _)| start);
        let mut task_tracks = HashMap::new();
        for task in timeline.events.iter().filter_map(Event::task) {
            let next = TASKS + task_tracks.len() as u64;
            task_tracks.entry(task).or_insert(next);
        }
        TraceJson {
            timeline,
            origin,
            task_tracks,
            lines: Vec::new(),
            next_flow: 1,
        }
    }

    /// Microseconds since the origin, with fractions.
    fn us(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.origin).as_secs_f64() * 1e6
    }

    /// The name metadata of the process and every track.
    fn tracks(&mut self) {
        let mut named: Vec<(u64, String)> = vec![
            (LOOP, "the loop: waiting for I/O".to_string()),
            (TIMERS, "timers".to_string()),
            (THREADS, "other threads".to_string()),
        ];
        let mut threads: Vec<usize> = self
            .timeline
            .events
            .iter()
            .filter_map(|event| match event {
                Event::Job { thread, .. } => Some(*thread),
                _ => None,
            })
            .collect();
        threads.sort_unstable();
        threads.dedup();
        for thread in threads {
            named.push((
                POOL + thread as u64,
                format!("blocking thread {}", thread + 1),
            ));
        }
        let mut tasks: Vec<(u64, u64)> = self.task_tracks.iter().map(|(&t, &k)| (k, t)).collect();
        tasks.sort_unstable();
        for (track, task) in tasks {
            named.push((track, self.timeline.label(task)));
        }
        self.lines.push(
            r#"{"name":"process_name","ph":"M","pid":1,"tid":0,"args":{"name":"evloop"}}"#
                .to_string(),
        );
        for (track, name) in named {
            self.lines.push(format!(
                r#"{{"name":"thread_name","ph":"M","pid":1,"tid":{track},"args":{{"name":{}}}}}"#,
                quoted(&name)
            ));
            self.lines.push(format!(
                r#"{{"name":"thread_sort_index","ph":"M","pid":1,"tid":{track},"args":{{"sort_index":{track}}}}}"#
            ));
        }
    }

    /// A slice on `track` from `start` lasting `dur` µs.
    fn slice(&mut self, track: u64, name: &str, start: f64, dur: f64, args: &str) {
        self.lines.push(format!(
            r#"{{"name":{},"ph":"X","pid":1,"tid":{track},"ts":{start:.3},"dur":{dur:.3},"args":{{{args}}}}}"#,
            quoted(name)
        ));
    }

    /// Every poll, wait, job and timer as a slice, and every wake as a flow.
    fn events(&mut self) {
        let timeline = self.timeline;
        let events = &timeline.events;
        for (i, event) in events.iter().enumerate() {
            match *event {
                Event::Polled { task, start, end } => {
                    let ended = events[i + 1..]
                        .iter()
                        .take_while(|e| {
                            e.task() != Some(task) || !matches!(e, Event::Polled { .. })
                        })
                        .find_map(|e| match *e {
                            Event::Ended {
                                task: t, panicked, ..
                            } if t == task => Some(panicked),
                            _ => None,
                        });
                    let result = match ended {
                        Some(true) => "panicked",
                        Some(false) => "ready",
                        None => "pending",
                    };
                    let (name, ts) = (self.timeline.label(task), self.us(start));
                    let track = self.task_tracks[&task];
                    let dur = self.us(end) - ts;
                    self.slice(track, &name, ts, dur, &format!(r#""result":"{result}""#));
                }
                Event::Slept {
                    start,
                    end,
                    events,
                    timeout,
                    why,
                } => {
                    let (ts, dur) = (self.us(start), self.us(end) - self.us(start));
                    let timeout = match timeout {
                        Some(t) => format!("{:.3}", t.as_secs_f64() * 1e6),
                        None => "null".to_string(),
                    };
                    let args = format!(r#""events":{events},"timeout_us":{timeout},"why":"{why}""#);
                    self.slice(LOOP, "waiting in the reactor", ts, dur, &args);
                }
                Event::Job { thread, start, end } => {
                    let (ts, dur) = (self.us(start), self.us(end) - self.us(start));
                    self.slice(POOL + thread as u64, "blocking job", ts, dur, "");
                }
                Event::Woken { task, at, cause } => self.wake(i, task, at, cause),
                Event::Ended { .. } => {}
            }
        }
    }

    /// A wake of `task` at `at`: a flow from its cause to the poll it led to (the
    /// task's next poll), anchored on the cause's track.
    fn wake(&mut self, index: usize, task: u64, at: Instant, cause: Cause) {
        let timeline = self.timeline;
        let events = &timeline.events;
        let Some(poll_start) = events[index + 1..].iter().find_map(|e| match *e {
            Event::Polled { task: t, start, .. } if t == task => Some(start),
            _ => None,
        }) else {
            return; // the poll it led to is not in the recording (yet)
        };
        let ts = self.us(at);
        let from = match cause {
            Cause::Timer => {
                let name = format!("timer fired: {}", self.timeline.label(task));
                self.slice(TIMERS, &name, ts, MARK, "");
                TIMERS
            }
            Cause::Io(fd) => {
                self.slice(LOOP, &format!("fd {fd} ready"), ts, MARK, "");
                LOOP
            }
            Cause::Pool => match self.job_at(at) {
                Some(thread) => POOL + thread as u64,
                None => {
                    self.slice(THREADS, "a pool job's result", ts, MARK, "");
                    THREADS
                }
            },
            Cause::Thread => {
                self.slice(THREADS, "woken from another thread", ts, MARK, "");
                THREADS
            }
            Cause::Task(waker) => self.task_tracks.get(&waker).copied().unwrap_or(THREADS),
            Cause::Main => self.task_tracks.get(&MAIN).copied().unwrap_or(THREADS),
            Cause::Itself => self.task_tracks[&task],
            Cause::Spawn | Cause::Abort => return, // no arrow: the start, or the end
        };
        let to = self.task_tracks[&task];
        let id = self.next_flow;
        self.next_flow += 1;
        let end = self.us(poll_start).max(ts);
        let name = quoted(&format!("woken by {cause}"));
        self.lines.push(format!(
            r#"{{"name":{name},"cat":"wake","ph":"s","id":{id},"pid":1,"tid":{from},"ts":{ts:.3}}}"#
        ));
        self.lines.push(format!(
            r#"{{"name":{name},"cat":"wake","ph":"f","bp":"e","id":{id},"pid":1,"tid":{to},"ts":{end:.3}}}"#
        ));
    }

    /// The blocking thread whose job was running at `at`, if one was.
    fn job_at(&self, at: Instant) -> Option<usize> {
        self.timeline.events.iter().find_map(|e| match *e {
            Event::Job { thread, start, end } if start <= at && at <= end => Some(thread),
            _ => None,
        })
    }
}

/// `text` as a JSON string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
