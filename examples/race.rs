//! What it shows: a concurrency bug that FIFO order hides. A loader task reads the
//! greeting and two worker tasks use it; the loader is spawned first, so under
//! FIFO it always runs first, and the workers always find the greeting. Nothing in
//! the code says it must: the bug is the assumption "spawned first, so it has run".
//! What to look for: run plainly, it is always `right`. `--explore 100` runs it
//! under 100 seeded orders and stops at the first `WRONG` one, printing the seed
//! and how to replay it; `--seed N` replays seed N alone (so does `EVLOOP_SEED=N`).
//! Try next: `EVLOOP_TRACE=timeline` with a failing seed and a passing one, to see
//! the order that broke it; then `--fixed`, where the workers wait for the loader's
//! `Event` (asyncio.Event) — a fix no seed breaks: `--fixed --explore 1000`.
//!
//! The README's lesson on replaying an interleaving. tokio and asyncio run ready
//! tasks in FIFO order too, so a test of this program passes there for ever;
//! trio shuffles each batch of ready tasks for exactly this reason.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use evloop::sync::Event;
use evloop::task::Builder as TaskBuilder;

/// What the workers served: a line each.
async fn served(fixed: bool) -> Vec<String> {
    let greeting: Rc<RefCell<Option<&str>>> = Rc::default();
    let loaded = Rc::new(Event::new());
    // The loader "reads the configuration" in its first poll.
    let loader = TaskBuilder::new().name("loader").spawn({
        let (greeting, loaded) = (greeting.clone(), loaded.clone());
        async move {
            *greeting.borrow_mut() = Some("hello");
            loaded.set();
        }
    });
    let workers: Vec<_> = ["worker 1", "worker 2"]
        .into_iter()
        .map(|name| {
            let (greeting, loaded) = (greeting.clone(), loaded.clone());
            TaskBuilder::new().name(name).spawn(async move {
                if fixed {
                    loaded.wait().await; // the fix: wait until it is loaded
                }
                match *greeting.borrow() {
                    Some(greeting) => format!("{name}: {greeting}"),
                    None => format!("{name}: (no greeting yet)"),
                }
            })
        })
        .collect();
    loader.await.unwrap();
    let mut lines = Vec::new();
    for worker in workers {
        lines.push(worker.await.unwrap());
    }
    lines
}

/// Prints what was served, and says whether it went right.
fn report(lines: &[String]) -> bool {
    let right = lines.iter().all(|line| !line.contains("no greeting"));
    for line in lines {
        println!("  {line}");
    }
    println!("{}", if right { "right" } else { "WRONG" });
    right
}

fn main() {
    common::quit_quietly_when_stdout_closes();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => return println!("{}\n\n{}", common::lesson(include_str!("race.rs")), usage()),
        Err(e) => {
            eprintln!("race: {e}\n\n{}", usage());
            std::process::exit(2);
        }
    };
    let right = match args.mode {
        Mode::Once => {
            // `Builder::new` reads EVLOOP_SEED: without it, this is plain FIFO.
            let runtime = evloop::Runtime::new().expect("a runtime");
            match runtime.seed() {
                Some(seed) => println!("seed {seed}:"),
                None => println!("FIFO (no seed):"),
            }
            report(&runtime.block_on(served(args.fixed)))
        }
        Mode::Seed(seed) => {
            let runtime = evloop::Builder::new()
                .seed(seed)
                .build()
                .expect("a runtime");
            println!("seed {seed}:");
            report(&runtime.block_on(served(args.fixed)))
        }
        Mode::Explore(count) => explore(count, args.fixed),
    };
    std::process::exit(if right { 0 } else { 1 });
}

/// Runs the program under seeds `0..count` with `check::explore`, which stops at
/// the first seed that breaks it and prints how to replay that seed.
fn explore(count: u64, fixed: bool) -> bool {
    // The panic's own report would only repeat what `explore` says.
    std::panic::set_hook(Box::new(|_| {}));
    let tried = std::cell::Cell::new(0u64);
    let explored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        evloop::check::explore(0..count, || {
            tried.set(tried.get() + 1);
            async move {
                let lines = served(fixed).await;
                assert!(
                    !lines.iter().any(|l| l.contains("no greeting")),
                    "{lines:?}"
                );
            }
        });
    }));
    let seeds = match tried.get() {
        1 => "1 seed".to_string(),
        n => format!("{n} seeds"),
    };
    match explored {
        Ok(()) => {
            println!("explored {seeds}: every order was right");
            true
        }
        Err(_) => {
            println!("explored {seeds}: the last one went WRONG");
            false
        }
    }
}

/// How to run it this time.
enum Mode {
    /// Once, FIFO unless `EVLOOP_SEED` says otherwise.
    Once,
    /// Once, under this seed.
    Seed(u64),
    /// Under seeds 0 to N − 1, until one breaks it.
    Explore(u64),
}

/// The parsed command line.
struct Args {
    /// How to run it.
    mode: Mode,
    /// Whether the workers wait for the loader (the fix).
    fixed: bool,
}

/// `Ok(None)` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        mode: Mode::Once,
        fixed: false,
    };
    let number = |flag: &str, value: Option<String>| -> Result<u64, String> {
        let value = value.ok_or(format!("{flag} needs a number"))?;
        value
            .parse()
            .map_err(|_| format!("{flag} {value:?}: give a whole number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--fixed" => parsed.fixed = true,
            "--seed" => parsed.mode = Mode::Seed(number("--seed", args.next())?),
            "--explore" => parsed.mode = Mode::Explore(number("--explore", args.next())?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(parsed))
}

/// The `--help` text.
fn usage() -> &'static str {
    "usage: race [--seed N | --explore N] [--fixed]

  (no option)   run once, FIFO (or as EVLOOP_SEED says)
  --seed N      run once under seed N
  --explore N   run under seeds 0..N until one goes wrong (EVLOOP_SEED=S: only S)
  --fixed       the workers wait for the loader's Event: right under every seed

exit status: 0 right, 1 wrong"
}
