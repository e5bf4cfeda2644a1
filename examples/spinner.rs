//! What it shows: a spinner keeps turning while slow work runs — as long as the
//! slow work lets the event loop run.
//! What to look for: the `frames: N in S s` line — about ten frames per second.
//! Try next: `--help` lists the other modes (coming in the examples issue).
//!
//! Lesson 1 of LESSONS.md. In `async` mode the slow work is `sleep(3 s)` in the
//! main task, and the spinner is a second task; the loop switches between them
//! whenever one of them waits.

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant};

use evloop::time::{interval, sleep};

/// The spinner's frames, one per 100 ms.
const FRAMES: [char; 4] = ['|', '/', '-', '\\'];

fn main() {
    let mode = match parse_args(std::env::args().skip(1)) {
        Ok(mode) => mode,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let Some(mode) = mode else {
        println!("{}", usage());
        return;
    };
    let start = Instant::now();
    let (answer, frames) = match mode.as_str() {
        "async" => evloop::run(supervisor()),
        _ => unreachable!("parse_args accepts only known modes"),
    };
    clear_line();
    println!("Answer: {answer}");
    println!("frames: {frames} in {:.2} s", start.elapsed().as_secs_f64());
}

/// Starts the spinner task, does the slow work, stops the spinner.
async fn supervisor() -> (u64, usize) {
    let frames = Rc::new(Cell::new(0));
    let spinner = evloop::spawn(spin("thinking!", frames.clone()));
    let answer = slow_work().await;
    spinner.abort();
    let _ = spinner.await; // cancelled: wait until it has stopped drawing
    (answer, frames.get())
}

/// Draws a frame every 100 ms, forever (until aborted).
async fn spin(message: &str, frames: Rc<Cell<usize>>) {
    let mut ticks = interval(Duration::from_millis(100));
    for frame in FRAMES.iter().cycle() {
        ticks.tick().await;
        print!("\r{frame} {message}");
        let _ = std::io::stdout().flush();
        frames.set(frames.get() + 1);
    }
}

/// Pretends to compute for three seconds, waiting the way async code waits.
async fn slow_work() -> u64 {
    sleep(Duration::from_secs(3)).await;
    42
}

/// Erases the spinner's line.
fn clear_line() {
    print!("\r{}\r", " ".repeat(40));
    let _ = std::io::stdout().flush();
}

/// `Ok(None)` for `--help`; `Ok(Some(mode))` to run.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<String>, String> {
    let mut mode = String::from("async");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--mode" => {
                mode = args
                    .next()
                    .ok_or("--mode needs a value, like --mode async")?;
            }
            other => return Err(format!("unknown argument {other:?}\n\n{}", usage())),
        }
    }
    if mode != "async" {
        return Err(format!("unknown mode {mode:?}\n\n{}", usage()));
    }
    Ok(Some(mode))
}

/// The `--help` text.
fn usage() -> String {
    "usage: spinner [--mode async]\n\
     \n\
     A spinner turns while slow work runs; prints `Answer: 42` and `frames: N in S s`.\n\
     \n\
     modes:\n  async   the slow work is sleep(3 s) in the main task; the spinner is a task (default)"
        .to_string()
}
