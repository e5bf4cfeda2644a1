//! The timeline as a picture: [`Timeline::write_svg`], a self-contained SVG.
//!
//! Floor 3, beside the ASCII chart and the Perfetto export. A row per task (and
//! `block_on`'s future), a row for the loop's waits in the reactor, a row per
//! blocking thread; a coloured bar per poll (or, when there are more polls than
//! pixels, per column of the chart with any poll in it, shaded by how busy it was),
//! a time axis with units, and an arrow for each wake from task to task or from a
//! timer, where there are few enough to read.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use super::{Cause, Event, Millis, Timeline};

/// The picture's width, and where its chart starts and ends.
const WIDTH: f64 = 990.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 945.0;
/// A row's height, and the bar's within it.
const ROW: f64 = 22.0;
const BAR: f64 = 14.0;
/// Above the first row: the title.
const TOP: f64 = 34.0;
/// Past this many polls in all, polls are drawn by column, not one by one.
const MAX_BARS: usize = 4000;
/// Columns a bucketed row is drawn in.
const COLUMNS: usize = 380;
/// Past this many wakes, no arrows: they would hide the bars.
const MAX_ARROWS: usize = 120;

/// What a row shows.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Row {
    /// A task's polls (`block_on`'s future is task 0).
    Task(u64),
    /// The loop's waits in the reactor.
    Loop,
    /// Blocking thread `n`'s jobs.
    Thread(usize),
}

impl Timeline {
    /// Writes the timeline as an SVG picture, readable in any browser with no
    /// script: a row per task with a bar per poll, the loop's waits, blocking jobs,
    /// a time axis and the wakes as arrows. `EVLOOP_TRACE=svg:PATH` writes it when
    /// the runtime is dropped. Long runs are drawn by column, as the ASCII chart
    /// is, so the file stays small (under 2 MB at a million polls).
    ///
    /// ```
    /// let rt = evloop::Builder::new().trace(true).virtual_time(true).build().unwrap();
    /// rt.block_on(evloop::time::sleep(std::time::Duration::from_millis(5)));
    /// let mut svg = Vec::new();
    /// rt.timeline().write_svg(&mut svg).unwrap();
    /// assert!(String::from_utf8(svg).unwrap().starts_with("<svg"));
    /// ```
    ///
    /// # Errors
    ///
    /// What `out` says when written to.
    pub fn write_svg(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(self.svg().as_bytes())
    }

    /// The SVG text.
    fn svg(&self) -> String {
        let (start, end) = self.span().unwrap_or((Instant::now(), Instant::now()));
        let span = (end - start).max(Duration::from_nanos(1));
        let rows = self.svg_rows();
        let height = TOP + ROW * rows.len() as f64 + 40.0;
        let x = |t: Instant| {
            let at = t.saturating_duration_since(start).as_secs_f64() / span.as_secs_f64();
            LEFT + at * (RIGHT - LEFT)
        };
        let index: HashMap<Row, usize> = rows.iter().enumerate().map(|(i, r)| (*r, i)).collect();
        let y = |row: Row| TOP + ROW * index[&row] as f64;
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
        );
        svg.push_str(
            "<defs><marker id=\"head\" markerWidth=\"6\" markerHeight=\"6\" refX=\"5\" refY=\"3\" orient=\"auto\"><path d=\"M0,0 L6,3 L0,6 z\" fill=\"#555\"/></marker></defs>\n",
        );
        let _ = writeln!(
            svg,
            r##"<rect width="{WIDTH}" height="{height}" fill="#fff"/>"##
        );
        let title = match self.seed {
            Some(seed) => format!("evloop timeline (seed {seed}): {}", Millis(span)),
            None => format!("evloop timeline: {}", Millis(span)),
        };
        let _ = writeln!(
            svg,
            r#"<text x="10" y="20" font-weight="bold">{}</text>"#,
            escape(&title)
        );
        for (i, row) in rows.iter().enumerate() {
            let label = match *row {
                Row::Task(task) => self.label(task),
                Row::Loop => "the loop, waiting for I/O".to_string(),
                Row::Thread(n) => format!("blocking thread {}", n + 1),
            };
            let label: String = label.chars().take(28).collect();
            let row_y = TOP + ROW * i as f64;
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><line x1="{LEFT}" y1="{:.1}" x2="{RIGHT}" y2="{:.1}" stroke="#eee"/>"##,
                LEFT - 8.0,
                row_y + BAR,
                escape(&label),
                row_y + ROW - 2.0,
                row_y + ROW - 2.0
            );
        }
        self.svg_bars(&mut svg, &x, &y, start, span);
        self.svg_arrows(&mut svg, &x, &y);
        svg_axis(&mut svg, TOP + ROW * rows.len() as f64 + 4.0, span);
        svg.push_str("</svg>\n");
        svg
    }

    /// The rows, in the order of the ASCII chart: tasks as they first appear, then
    /// the loop, then the blocking threads.
    fn svg_rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        let mut threads = Vec::new();
        for event in &self.events {
            match *event {
                Event::Polled { task, .. } if !rows.contains(&Row::Task(task)) => {
                    rows.push(Row::Task(task));
                }
                Event::Job { thread, .. } if !threads.contains(&Row::Thread(thread)) => {
                    threads.push(Row::Thread(thread));
                }
                _ => {}
            }
        }
        rows.push(Row::Loop);
        threads.sort_by_key(|row| match row {
            Row::Thread(n) => *n,
            _ => 0,
        });
        rows.extend(threads);
        rows
    }

    /// A bar per poll, wait and job — or, past `MAX_BARS`, per busy column.
    fn svg_bars(
        &self,
        svg: &mut String,
        x: &dyn Fn(Instant) -> f64,
        y: &dyn Fn(Row) -> f64,
        start: Instant,
        span: Duration,
    ) {
        let spans = self.events.iter().filter_map(|event| match *event {
            Event::Polled { task, start, end } => Some((Row::Task(task), start, end)),
            Event::Slept { start, end, .. } => Some((Row::Loop, start, end)),
            Event::Job { thread, start, end } => Some((Row::Thread(thread), start, end)),
            _ => None,
        });
        let spans: Vec<_> = spans.collect();
        let colour = |row: Row| match row {
            Row::Task(0) => "#7a5195",
            Row::Task(_) => "#2f7ebc",
            Row::Loop => "#c9c9c9",
            Row::Thread(_) => "#e07b39",
        };
        if spans.len() <= MAX_BARS {
            for (row, from, to) in spans {
                let width = (x(to) - x(from)).max(1.0);
                let _ = writeln!(
                    svg,
                    r#"<rect x="{:.1}" y="{:.1}" width="{width:.1}" height="{BAR}" fill="{}"/>"#,
                    x(from),
                    y(row),
                    colour(row)
                );
            }
            return;
        }
        // Too many to draw one by one: the busy share of each column, per row.
        let column = span.as_secs_f64() / COLUMNS as f64;
        let mut busy: HashMap<Row, Vec<f64>> = HashMap::new();
        for (row, from, to) in spans {
            let cells = busy.entry(row).or_insert_with(|| vec![0.0; COLUMNS]);
            let (a, b) = (secs(start, from), secs(start, to));
            let (first, last) = ((a / column) as usize, (b / column) as usize);
            for (cell, share) in cells
                .iter_mut()
                .enumerate()
                .take(last.min(COLUMNS - 1) + 1)
                .skip(first)
            {
                let (lo, hi) = (cell as f64 * column, (cell + 1) as f64 * column);
                *share += (b.min(hi) - a.max(lo)).max(0.0) / column;
            }
        }
        let width = (RIGHT - LEFT) / COLUMNS as f64;
        for (row, cells) in busy {
            for (cell, share) in cells.iter().enumerate().filter(|(_, s)| **s > 0.0) {
                let _ = writeln!(
                    svg,
                    r#"<rect x="{:.1}" y="{:.1}" width="{width:.2}" height="{BAR}" fill="{}" fill-opacity="{:.2}"/>"#,
                    LEFT + cell as f64 * width,
                    y(row),
                    colour(row),
                    share.clamp(0.15, 1.0)
                );
            }
        }
    }

    /// An arrow per wake from a task or a timer to the woken task, if few enough.
    fn svg_arrows(&self, svg: &mut String, x: &dyn Fn(Instant) -> f64, y: &dyn Fn(Row) -> f64) {
        let wakes: Vec<_> = self
            .events
            .iter()
            .filter_map(|event| match *event {
                Event::Woken { task, at, cause } => match cause {
                    Cause::Task(from) => Some((Some(Row::Task(from)), task, at)),
                    Cause::Main => Some((Some(Row::Task(0)), task, at)),
                    Cause::Timer | Cause::Io(_) => Some((None, task, at)),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        if wakes.len() > MAX_ARROWS {
            return;
        }
        let rows: Vec<Row> = self.svg_rows();
        for (from, task, at) in wakes {
            if !rows.contains(&Row::Task(task)) || from.is_some_and(|f| !rows.contains(&f)) {
                continue;
            }
            let to_y = y(Row::Task(task)) + BAR / 2.0;
            let from_y = match from {
                Some(row) => y(row) + BAR / 2.0,
                None => y(Row::Loop) + BAR / 2.0, // timers and sockets: the loop woke it
            };
            let at_x = x(at);
            let _ = writeln!(
                svg,
                r##"<line x1="{at_x:.1}" y1="{from_y:.1}" x2="{:.1}" y2="{:.1}" stroke="#555" stroke-width="1" marker-end="url(#head)"/>"##,
                at_x + 4.0,
                if to_y > from_y {
                    to_y - 4.0
                } else {
                    to_y + 4.0
                }
            );
        }
    }
}

/// Seconds from `start` to `t`.
fn secs(start: Instant, t: Instant) -> f64 {
    t.saturating_duration_since(start).as_secs_f64()
}

/// The time axis under the rows, at `y`: a line and ten labelled ticks.
fn svg_axis(svg: &mut String, y: f64, span: Duration) {
    let _ = writeln!(
        svg,
        r##"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}" stroke="#333"/>"##
    );
    for tick in 0..=10 {
        let x = LEFT + (RIGHT - LEFT) * f64::from(tick) / 10.0;
        let at = span.mul_f64(f64::from(tick) / 10.0);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{y:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="10">{}</text>"##,
            y + 4.0,
            y + 16.0,
            escape(&Millis(at).to_string())
        );
    }
}

/// `text` with XML's special characters escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
