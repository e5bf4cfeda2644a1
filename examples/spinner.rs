//! What it shows: a spinner keeps turning while slow work runs — as long as the
//! slow work lets the event loop run. The loop is one thread: a task that computes
//! without ever yielding freezes every other task.
//! What to look for: the last line, `frames: N in S s`. About ten frames a second
//! means the spinner turned; one or two in total (`--mode blocked`) means it froze.
//! Try next: run every mode, then `--mode nap` with a smaller `--number` to see
//! what yielding costs the slow work; `EVLOOP_TRACE=timeline` draws what the loop
//! did, `EVLOOP_DEBUG=1` names the poll that froze it.
//!
//! Lesson 1 of the README's six. It re-enacts the spinner of the Python study notes
//! evloop grew from: a `|/-\` spinner beside a 3-second `sleep`, once with a
//! thread, once with asyncio — and then a CPU-bound `is_prime` called straight in
//! a coroutine, which froze the spinner until it returned. The notes check
//! 5,000,111,000,222,021, which keeps Python busy for seconds but Rust for under
//! 0.1 s; the CPU-bound modes here check 6,000,000,000,000,000,023 instead (a
//! prime; about 2 s in a release build), and `--number N` changes it. Rust has no
//! GIL, so `--mode thread` really runs in parallel; the event loop is still one
//! thread, which is the lesson.

mod common;

use std::cell::Cell;
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use evloop::sync::Event;
use evloop::time::{interval, sleep};

/// The spinner's frames, one per 100 ms.
const FRAMES: [char; 4] = ['|', '/', '-', '\\'];

/// Time between frames.
const FRAME: Duration = Duration::from_millis(100);

/// The prime the CPU-bound modes check unless `--number` says otherwise.
const DEFAULT_NUMBER: u64 = 6_000_000_000_000_000_023;

/// How many divisors `is_prime_napping` tries between naps.
const DIVISORS_PER_NAP: u64 = 200_000;

/// What to run, from the command line.
struct Options {
    /// One of the modes in `usage`.
    mode: String,
    /// The number the CPU-bound modes check.
    number: u64,
}

fn main() {
    common::quit_quietly_when_stdout_closes();
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            return println!(
                "{}\n\n{}",
                common::lesson(include_str!("spinner.rs")),
                usage()
            )
        }
        Err(message) => {
            eprintln!("spinner: {message}\n\n{}", usage());
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    let (answer, frames) = match options.mode.as_str() {
        "async" => evloop::run(supervise(Work::Sleep)),
        "blocked" => evloop::run(supervise(Work::Blocked(options.number))),
        "offload" => evloop::run(supervise(Work::Offload(options.number))),
        "nap" => evloop::run(supervise(Work::Nap(options.number))),
        "thread" => spin_in_thread(),
        "process" => spin_in_process(),
        "child" => return spin_until_stdin_closes(),
        _ => unreachable!("parse_args accepts only known modes"),
    };
    clear_line();
    println!("Answer: {answer}");
    println!("frames: {frames} in {:.2} s", start.elapsed().as_secs_f64());
}

/// The slow work of the modes that run on the event loop.
#[derive(Clone, Copy)]
enum Work {
    /// `sleep(3 s)`: waits the way async code waits.
    Sleep,
    /// `is_prime(n)` called straight inside the task: the loop freezes.
    Blocked(u64),
    /// `is_prime(n)` on the blocking pool, awaited.
    Offload(u64),
    /// `is_prime(n)` that naps (`yield_now`) every so often.
    Nap(u64),
}

/// Starts the spinner task, does the slow work, stops the spinner (the notes'
/// `supervisor`). Returns the answer and the frames drawn.
async fn supervise(work: Work) -> (u64, usize) {
    let frames = Rc::new(Cell::new(0));
    let spinner = evloop::task::Builder::new()
        .name("spinner")
        .spawn(spin(frames.clone()));
    while frames.get() == 0 {
        evloop::yield_now().await; // let the spinner draw its first frame
    }
    let answer = slow_work(work).await;
    spinner.abort();
    let _ = spinner.await; // cancelled: wait until it has stopped drawing
    (answer, frames.get())
}

/// Draws a frame every 100 ms until it is aborted.
async fn spin(frames: Rc<Cell<usize>>) {
    let mut ticks = interval(FRAME);
    for frame in FRAMES.iter().cycle() {
        ticks.tick().await;
        draw(*frame);
        frames.set(frames.get() + 1);
    }
}

/// Does the slow work and returns the answer, 42.
async fn slow_work(work: Work) -> u64 {
    let prime = match work {
        Work::Sleep => {
            sleep(Duration::from_secs(3)).await;
            return 42;
        }
        Work::Blocked(n) => (n, is_prime(n)),
        Work::Offload(n) => (
            n,
            evloop::spawn_blocking(move || is_prime(n)).await.unwrap(),
        ),
        Work::Nap(n) => (n, is_prime_napping(n).await),
    };
    clear_line();
    println!("{} is prime: {}", prime.0, prime.1);
    42
}

/// Whether `n` is prime, by trial division with 6k ± 1 (CPU-bound, never yields).
fn is_prime(n: u64) -> bool {
    if n < 4 {
        return n >= 2;
    }
    if n % 2 == 0 || n % 3 == 0 {
        return false;
    }
    let mut d = 5;
    while d <= n / d {
        if n % d == 0 || n % (d + 2) == 0 {
            return false;
        }
        d += 6;
    }
    true
}

/// `is_prime` as an async fn that hands the loop a turn (`yield_now`, asyncio's
/// `sleep(0)`) every `DIVISORS_PER_NAP` divisors: the power nap.
async fn is_prime_napping(n: u64) -> bool {
    if n < 4 {
        return n >= 2;
    }
    if n % 2 == 0 || n % 3 == 0 {
        return false;
    }
    let mut d = 5;
    let mut since_nap = 0;
    while d <= n / d {
        if n % d == 0 || n % (d + 2) == 0 {
            return false;
        }
        d += 6;
        since_nap += 1;
        if since_nap == DIVISORS_PER_NAP {
            since_nap = 0;
            evloop::yield_now().await;
        }
    }
    true
}

/// `--mode thread`: the spinner on a `std::thread`, stopped through an `Event`;
/// the slow work (a 3 s blocking sleep) on the main thread.
fn spin_in_thread() -> (u64, usize) {
    let done = Arc::new(Event::new());
    let frames = Arc::new(AtomicUsize::new(0));
    let spinner = {
        let (done, frames) = (done.clone(), frames.clone());
        std::thread::spawn(move || {
            for frame in FRAMES.iter().cycle() {
                draw(*frame);
                frames.fetch_add(1, Ordering::Relaxed);
                // `threading.Event.wait(.1)`: a frame's pause, or the signal to stop.
                if done.blocking_wait_timeout(FRAME) {
                    break;
                }
            }
        })
    };
    std::thread::sleep(Duration::from_secs(3));
    done.set();
    spinner.join().expect("the spinner thread panicked");
    (42, frames.load(Ordering::Relaxed))
}

/// `--mode process`: the spinner in a child process (this program again, in
/// `child` mode), stopped by closing its stdin; the slow work in this one.
fn spin_in_process() -> (u64, usize) {
    let program = std::env::current_exe().expect("the path of this program");
    let mut child = Command::new(program)
        .args(["--mode", "child"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("could not start the spinner process");
    println!("spinner process: PID {}", child.id());
    std::thread::sleep(Duration::from_secs(3));
    drop(child.stdin.take()); // the child sees end-of-file and stops
    let report = child.wait_with_output().expect("the spinner process");
    let frames = String::from_utf8_lossy(&report.stderr)
        .lines()
        .find_map(|line| line.strip_prefix("frames=")?.parse().ok())
        .unwrap_or(0);
    (42, frames)
}

/// The child of `--mode process`: spins until stdin closes, then reports its
/// frame count on stderr.
fn spin_until_stdin_closes() {
    let done = Arc::new(Event::new());
    {
        let done = done.clone();
        std::thread::spawn(move || {
            let _ = std::io::stdin().lock().lines().count(); // until end-of-file
            done.set();
        });
    }
    let mut frames = 0;
    for frame in FRAMES.iter().cycle() {
        draw(*frame);
        frames += 1;
        if done.blocking_wait_timeout(FRAME) {
            break;
        }
    }
    eprintln!("frames={frames}");
}

/// Draws one frame over the last.
fn draw(frame: char) {
    print!("\r{frame} thinking!");
    let _ = std::io::stdout().flush();
}

/// Erases the spinner's line: `\r`, blanks, `\r`.
fn clear_line() {
    print!("\r{}\r", " ".repeat(20));
    let _ = std::io::stdout().flush();
}

/// `Ok(None)` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        mode: "async".into(),
        number: DEFAULT_NUMBER,
    };
    let mut number_given = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--mode" => options.mode = args.next().ok_or("--mode needs a value")?,
            "--number" => {
                number_given = true;
                let value = args.next().ok_or("--number needs a value")?;
                options.number = value
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("--number {value:?} is not a whole number"))?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let known = [
        "async", "thread", "process", "blocked", "offload", "nap", "child",
    ];
    if !known.contains(&options.mode.as_str()) {
        return Err(format!("unknown mode {:?}", options.mode));
    }
    let cpu_bound = ["blocked", "offload", "nap"].contains(&options.mode.as_str());
    if number_given && !cpu_bound {
        return Err(format!(
            "--number is for the CPU-bound modes (blocked, offload, nap); --mode {} sleeps 3 s",
            options.mode
        ));
    }
    Ok(Some(options))
}

/// The `--help` text.
fn usage() -> String {
    format!(
        "usage: spinner [--mode MODE] [--number N]

A spinner turns while slow work runs; prints `Answer: 42`, then
`frames: N in S s`: the frames drawn while the work ran.

modes:
  async     slow work: sleep(3 s) in the main task; the spinner is a task (default)
  thread    the spinner on a std::thread, the slow work (a 3 s sleep) on main
  process   the spinner in a child process, the slow work in this one
  blocked   is_prime(N) called straight in a task: the spinner FREEZES
  offload   is_prime(N) through spawn_blocking: the spinner turns
  nap       is_prime(N) that calls yield_now() every {DIVISORS_PER_NAP} divisors: it turns

--number N  the number the CPU-bound modes check (default {DEFAULT_NUMBER}, a prime)"
    )
}
