//! What it shows: CPU-bound work speeds up with threads (Rust has no GIL), but not
//! on the event loop, which is one thread.
//! What to look for: the `total` line, and the `cpu` line under it: how many cores
//! the work really got. `threads` and `pool` fall as `--workers` rises up to your
//! core count; `loop` stays at the one-worker time. On a busy machine the other
//! programs take their share: fewer cores busy, less speed-up.
//! Try next: `--workers 1`, then 2, then your core count, in each mode; then
//! `--mode processes`, which does what `procs.py` did: the same job queue with
//! real processes (copies of this program, started with `--worker`).
//!
//! Lesson 5 of the README's six, after the notes' `procs.py` (Fluent Python): 20
//! large numbers, workers that take them from a job queue and put verdicts on a
//! result queue, each stopped by a poison pill (`0`). In CPython threads gave no
//! speed-up — the GIL lets one run at a time — so the notes used processes.

mod common;

use std::time::{Duration, Instant};

use evloop::sync::mpsc;

/// The numbers `procs.py` checks.
const NUMBERS: [u64; 20] = [
    2,
    142702110479723,
    299593572317531,
    3333333333333301,
    3333333333333333,
    3333335652092209,
    4444444444444423,
    4444444444444444,
    4444444488888889,
    5555553133149889,
    5555555555555503,
    5555555555555555,
    6666666666666666,
    6666666666666719,
    6666667141414921,
    7777777536340681,
    7777777777777753,
    7777777777777777,
    9999999999999917,
    9999999999999999,
];

/// The poison pill: a worker that takes it stops.
const POISON: u64 = 0;

/// One answer: the number, whether it is prime, and how long the check took.
type Verdict = (u64, bool, Duration);

fn main() {
    common::quit_quietly_when_stdout_closes();
    if std::env::args().nth(1).as_deref() == Some("--worker") {
        return worker();
    }
    let (mode, workers) = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            return println!(
                "{}\n\n{}",
                common::lesson(include_str!("primes.rs")),
                usage()
            )
        }
        Err(message) => {
            eprintln!("primes: {message}\n\n{}", usage());
            std::process::exit(2);
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let who = match (mode.as_str(), workers) {
        ("loop", _) => "on the event loop: one thread, whatever --workers says".to_string(),
        (_, 1) => "with 1 worker".to_string(),
        (_, n) => format!("with {n} workers"),
    };
    println!(
        "Checking {} numbers {who} ({cores} cores available):",
        NUMBERS.len()
    );
    let (start, cpu_before) = (Instant::now(), cpu_time());
    let print = |(n, prime, took): Verdict| {
        println!(
            "{n:>20}  {} {:.6}s",
            if prime { 'P' } else { ' ' },
            took.as_secs_f64()
        );
    };
    match mode.as_str() {
        "threads" => with_threads(workers, print),
        "pool" => evloop::run(with_pool(workers, print)),
        "loop" => evloop::run(on_the_loop(print)),
        "processes" => evloop::run(with_processes(workers, print)),
        _ => unreachable!("parse_args accepts only known modes"),
    }
    let wall = start.elapsed().as_secs_f64();
    println!("total: {wall:.2} s");
    if let (Some(before), Some(after)) = (cpu_before, cpu_time()) {
        let cpu = after - before;
        println!(
            "cpu: {cpu:.2} s, {:.1} cores busy on average of {cores} available",
            cpu / wall.max(1e-9)
        );
    }
}

/// CPU time this process has used so far (all its threads and the children it
/// reaped, user and system), in
/// seconds, from `/proc/self/stat` (Linux); `None` where there is none. Beside the
/// wall time it says how many cores the work really got: on a busy machine, fewer
/// than the workers asked for.
fn cpu_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces, so split after its ')'):
    // state is field 3, utime and stime are fields 14 and 15, in clock ticks.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // cutime and cstime (16 and 17) add the children reaped so far: the workers of
    // `--mode processes`.
    let mut ticks = 0.0;
    for field in 11..=14 {
        ticks += fields.get(field)?.parse::<f64>().ok()?;
    }
    Some(ticks / 100.0) // USER_HZ: 100 on every Linux the kernel ABI allows
}

/// Whether `n` is prime, by trial division with 6k ± 1.
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

/// Checks `n` and times the check.
fn check(n: u64) -> Verdict {
    let start = Instant::now();
    let prime = is_prime(n);
    (n, prime, start.elapsed())
}

/// `--mode threads`: `procs.py` with threads. A job queue, a result queue, and
/// `workers` threads that each stop at a poison pill.
fn with_threads(workers: usize, mut print: impl FnMut(Verdict)) {
    let (jobs_tx, jobs_rx) = std::sync::mpsc::channel::<u64>();
    let jobs_rx = std::sync::Arc::new(std::sync::Mutex::new(jobs_rx));
    let (results_tx, mut results_rx) = mpsc::unbounded::<Verdict>();
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            let (jobs, results) = (jobs_rx.clone(), results_tx.clone());
            std::thread::spawn(move || loop {
                let n = jobs.lock().expect("the job queue").recv().expect("a job");
                if n == POISON {
                    break;
                }
                results.blocking_send(check(n)).expect("the result queue");
            })
        })
        .collect();
    drop(results_tx);
    for n in NUMBERS {
        jobs_tx.send(n).expect("the job queue");
    }
    for _ in 0..workers {
        jobs_tx.send(POISON).expect("the job queue"); // one pill per worker
    }
    while let Some(verdict) = results_rx.blocking_recv() {
        print(verdict);
    }
    for thread in threads {
        thread.join().expect("a worker panicked");
    }
}

/// `--mode pool`: each check through `spawn_blocking`, at most `workers` at once
/// (the pool's size); the loop gathers the results as they come.
async fn with_pool(workers: usize, mut print: impl FnMut(Verdict)) {
    let gate = std::rc::Rc::new(evloop::sync::Semaphore::new(workers));
    let mut checks = evloop::JoinSet::new();
    for n in NUMBERS {
        let gate = gate.clone();
        checks.spawn(async move {
            let _turn = gate.acquire().await;
            evloop::spawn_blocking(move || check(n)).await
        });
    }
    while let Some(done) = checks.join_next().await {
        print(
            done.expect("a check task failed")
                .expect("a check panicked"),
        );
    }
}

/// `--mode processes`: `procs.py` itself. `workers` copies of this program, each
/// started with `--worker`; the loop hands each a number over its stdin whenever
/// it has answered the last one (the job queue), reads its verdict from its
/// stdout, and ends it with the poison pill. Each worker costs a process start-up
/// and its own memory, which threads share; Python paid that to get past the GIL.
async fn with_processes(workers: usize, mut print: impl FnMut(Verdict)) {
    use evloop::process::Command;
    use std::cell::RefCell;
    use std::process::Stdio;
    use std::rc::Rc;

    let program = std::env::current_exe().expect("this program's path");
    let jobs = Rc::new(RefCell::new(NUMBERS.into_iter()));
    let (results_tx, mut results_rx) = mpsc::unbounded::<Verdict>();
    let mut running = evloop::JoinSet::new();
    for _ in 0..workers {
        let mut child = Command::new(&program)
            .arg("--worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("could not start a worker process");
        let (jobs, results) = (jobs.clone(), results_tx.clone());
        running.spawn(async move {
            let mut stdin = child.stdin.take().expect("piped");
            let mut stdout = child.stdout.take().expect("piped");
            let mut line = Vec::new();
            loop {
                let n = jobs.borrow_mut().next().unwrap_or(POISON);
                stdin.write_all(format!("{n}\n").as_bytes()).await?;
                if n == POISON {
                    break;
                }
                let verdict = read_line(&mut stdout, &mut line).await?;
                let _ = results.send(parse_verdict(&verdict)).await;
            }
            child.wait().await
        });
    }
    drop(results_tx);
    while let Some(verdict) = results_rx.recv().await {
        print(verdict);
    }
    while let Some(done) = running.join_next().await {
        let status = done
            .expect("a worker's task failed")
            .expect("talking to a worker");
        assert!(status.success(), "a worker process failed: {status}");
    }
}

/// Reads one line from `stdout` (without its newline); `pending` keeps what came
/// after it for the next call.
async fn read_line(
    stdout: &mut evloop::process::ChildStdout,
    pending: &mut Vec<u8>,
) -> std::io::Result<String> {
    let mut chunk = [0u8; 256];
    loop {
        if let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).take(end).collect();
            return Ok(String::from_utf8_lossy(&line).into_owned());
        }
        match stdout.read(&mut chunk).await? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => pending.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A worker's answer, `"n prime nanoseconds"`, as a verdict.
fn parse_verdict(line: &str) -> Verdict {
    let mut fields = line
        .split(' ')
        .map(|f| f.parse::<u64>().expect("a worker's answer"));
    let (n, prime, nanos) = (fields.next(), fields.next(), fields.next());
    match (n, prime, nanos) {
        (Some(n), Some(prime), Some(nanos)) => (n, prime == 1, Duration::from_nanos(nanos)),
        _ => panic!("a worker answered {line:?}"),
    }
}

/// `primes --worker`: a worker process. Checks each number read from stdin and
/// writes its verdict to stdout, until the poison pill.
fn worker() {
    use std::io::{BufRead, Write};
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let n: u64 = line.expect("stdin").trim().parse().expect("a number");
        if n == POISON {
            return;
        }
        let (n, prime, took) = check(n);
        writeln!(out, "{n} {} {}", u8::from(prime), took.as_nanos()).expect("stdout");
        out.flush().expect("stdout");
    }
}

/// `--mode loop`: every check as a task on the event loop. They run one after
/// another, however many "workers" there are: the loop is one thread.
async fn on_the_loop(mut print: impl FnMut(Verdict)) {
    let mut checks = evloop::JoinSet::new();
    for n in NUMBERS {
        checks.spawn(async move { check(n) });
    }
    while let Some(done) = checks.join_next().await {
        print(done.expect("a check panicked"));
    }
}

/// `Ok(None)` for `--help`; else the mode and the number of workers.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<(String, usize)>, String> {
    let mut mode = String::from("threads");
    let mut workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--mode" => mode = args.next().ok_or("--mode needs a value")?,
            "--workers" => {
                let value = args.next().ok_or("--workers needs a value")?;
                workers = match value.parse() {
                    Ok(n) if n > 0 => n,
                    _ => {
                        return Err(format!(
                            "--workers {value:?}: give a whole number of 1 or more"
                        ))
                    }
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !["threads", "pool", "loop", "processes"].contains(&mode.as_str()) {
        return Err(format!("unknown mode {mode:?}"));
    }
    Ok(Some((mode, workers)))
}

/// The `--help` text.
fn usage() -> &'static str {
    "usage: primes [--mode threads|pool|loop|processes] [--workers N]

Checks 20 large numbers for primality, like the notes' procs.py, and prints one
line per number (`P` marks a prime) and the total time.

modes:
  threads  N std::threads, a job queue, a result queue, poison pills (default)
  pool     each check through spawn_blocking, N at a time
  loop     each check as a task on the event loop: one at a time, whatever N
  processes  N worker processes (this program, --worker), fed over their stdin

--workers N  how many workers (default: the number of cores)"
}
