//! Replaying an interleaving: a seed gives one order, the same every time; other
//! seeds give others; fairness stays FIFO's; `check` finds and replays a bug.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use evloop::sync::{mpsc, Mutex, Semaphore};
use evloop::{Builder, JoinSet, Runtime};

/// A runtime on a virtual clock, seeded or FIFO.
fn runtime(seed: Option<u64>) -> Runtime {
    let builder = Builder::new().virtual_time(true);
    match seed {
        Some(seed) => builder.seed(seed),
        None => builder,
    }
    .build()
    .unwrap()
}

/// 50 tasks mixing timers with equal deadlines, a bounded channel, `JoinSet`,
/// `yield_now`, a `Semaphore` and a duplex stream written by several tasks; each
/// notes its number in `order` when it gets through.
async fn fifty_tasks(order: Rc<RefCell<Vec<u32>>>) {
    let permits = Rc::new(Semaphore::new(3));
    let (tx, mut rx) = mpsc::channel::<u32>(4);
    let (writer, mut reader) = evloop::io::duplex(8);
    let writer = Rc::new(Mutex::new(writer));
    let mut set = JoinSet::new();
    for i in 0..50u32 {
        let (order, permits, tx, writer) =
            (order.clone(), permits.clone(), tx.clone(), writer.clone());
        set.spawn(async move {
            match i % 5 {
                0 => evloop::time::sleep(Duration::from_millis(10)).await,
                1 => tx.send(i).await.unwrap(),
                2 => {
                    for _ in 0..=i % 3 {
                        evloop::yield_now().await;
                    }
                }
                3 => {
                    let _permit = permits.acquire().await;
                    evloop::yield_now().await;
                }
                _ => writer.lock().await.write_all(&[i as u8; 5]).await.unwrap(),
            }
            order.borrow_mut().push(i);
        });
    }
    drop(tx);
    let receiver = evloop::spawn(async move { while rx.recv().await.is_some() {} });
    let bytes = evloop::spawn(async move {
        let mut all = Vec::new();
        reader.read_to_end(&mut all).await.unwrap();
        all.len()
    });
    for done in set.join_all().await {
        done.unwrap();
    }
    drop(writer); // the last one: the reader sees the end
    receiver.await.unwrap();
    assert_eq!(bytes.await.unwrap(), 10 * 5);
}

/// The order the fifty tasks got through in, and the schedule's digest.
fn run_fifty(seed: Option<u64>) -> (Vec<u32>, u64) {
    let order = Rc::new(RefCell::new(Vec::new()));
    let rt = runtime(seed);
    rt.block_on(fifty_tasks(order.clone()));
    let digest = rt.schedule_digest();
    let order = order.borrow().clone();
    (order, digest)
}

#[test]
fn a_seed_replays_the_same_schedule_and_other_seeds_give_other_orders() {
    let (fifo, fifo_digest) = run_fifty(None);
    assert_eq!(fifo.len(), 50);
    assert_eq!(fifo_digest, 0, "no digest is kept without a seed");
    let mut orders = HashSet::new();
    let mut digests = HashSet::new();
    for seed in 0..100 {
        let (order, digest) = run_fifty(Some(seed));
        let (again, digest_again) = run_fifty(Some(seed));
        assert_eq!(order, again, "seed {seed} replayed another order");
        assert_eq!(
            digest, digest_again,
            "seed {seed} replayed another schedule"
        );
        assert_ne!(order, fifo, "seed {seed} gave FIFO's order");
        if seed < 20 {
            orders.insert(order);
        }
        digests.insert(digest);
    }
    assert!(orders.len() >= 5, "20 seeds gave {} orders", orders.len());
    assert_eq!(digests.len(), 100, "every seed's schedule differs");
    assert_ne!(run_fifty(Some(0)).0, run_fifty(Some(1)).0);
}

#[test]
fn no_task_waits_longer_under_a_seed_than_fifo_allows() {
    // 150 tasks that yield for ever, turns of 61 polls. A task with p tasks ahead
    // of it is polled within p / 61 + 1 turns, seeded or not: with at most 149
    // ahead, every task is polled at least once in any 3 turns in a row.
    const TASKS: usize = 150;
    let gaps = |seed: Option<u64>| {
        let rt = Builder::new().event_interval(61);
        let rt = match seed {
            Some(seed) => rt.seed(seed),
            None => rt,
        };
        let rt = rt.build().unwrap();
        let turn = Rc::new(Cell::new(0u32));
        let last: Rc<Vec<Cell<u32>>> = Rc::new((0..TASKS).map(|_| Cell::new(0)).collect());
        let widest = Rc::new(Cell::new(0u32));
        for i in 0..TASKS {
            let (turn, last, widest) = (turn.clone(), last.clone(), widest.clone());
            rt.spawn(async move {
                loop {
                    let now = turn.get();
                    widest.set(widest.get().max(now - last[i].get()));
                    last[i].set(now);
                    evloop::yield_now().await;
                }
            });
        }
        for n in 1..=40 {
            turn.set(n);
            assert_eq!(rt.turn(Some(Duration::ZERO)), 61, "a full turn");
        }
        widest.get()
    };
    assert_eq!(gaps(None), 3);
    for seed in 0..20 {
        assert!(
            gaps(Some(seed)) <= 3,
            "seed {seed}: a task waited {} turns",
            gaps(Some(seed))
        );
    }
}

/// The lesson's bug (`examples/race.rs`): workers that assume the loader spawned
/// before them has run.
async fn loader_and_workers() -> bool {
    let greeting: Rc<Cell<Option<&str>>> = Rc::default();
    let loader = evloop::spawn({
        let greeting = greeting.clone();
        async move { greeting.set(Some("hello")) }
    });
    let worker = evloop::spawn({
        let greeting = greeting.clone();
        async move { greeting.get().is_some() }
    });
    loader.await.unwrap();
    worker.await.unwrap()
}

#[test]
fn explore_finds_the_order_fifo_hides() {
    assert!(
        runtime(None).block_on(loader_and_workers()),
        "FIFO never fails"
    );
    let tried = Cell::new(0);
    let explored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        evloop::check::explore(0..200, || {
            tried.set(tried.get() + 1);
            async { assert!(loader_and_workers().await, "the worker ran first") }
        });
    }));
    assert!(explored.is_err(), "200 seeds and none broke it");
    let failing = tried.get() - 1;
    // The failing seed fails again, every time.
    for _ in 0..20 {
        let rt = runtime(Some(failing));
        assert!(!rt.block_on(loader_and_workers()), "seed {failing}");
    }
}

#[test]
fn same_schedule_names_the_poll_where_two_runs_part() {
    evloop::check::same_schedule(5, || fifty_tasks(Rc::default()));
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let parted = std::panic::catch_unwind(|| {
        evloop::check::same_schedule(5, || async {
            // The second run takes another path: one more task, one more yield.
            let second = RUNS.fetch_add(1, Ordering::Relaxed) % 2 == 1;
            let first = evloop::spawn(evloop::yield_now());
            if second {
                evloop::spawn(evloop::yield_now()).await.unwrap();
            }
            first.await.unwrap();
        });
    });
    let panic = parted.expect_err("the runs differ");
    let said = panic.downcast_ref::<String>().expect("a message");
    assert!(said.contains("seed 5 differ at poll"), "{said}");
    assert!(
        said.contains("task #2 spawned at tests/replay.rs"),
        "{said}"
    );
    assert!(said.contains("turn "), "{said}");
}

#[test]
fn a_bad_evloop_seed_is_named_when_the_runtime_is_built() {
    // Checked through a child: the variable would seed every test in this binary.
    if let Ok(value) = std::env::var("EVLOOP_SEED_CHILD") {
        std::env::set_var("EVLOOP_SEED", value);
        let error = Builder::new().build().unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        assert!(
            error.to_string().contains("EVLOOP_SEED=\"twelve\""),
            "{error}"
        );
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "a_bad_evloop_seed_is_named_when_the_runtime_is_built",
            "--exact",
        ])
        .env("EVLOOP_SEED_CHILD", "twelve")
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn each_loop_of_a_seeded_run_per_core_gets_its_own_seed() {
    let loops = Builder::new()
        .seed(11)
        .run_per_core(3, |_| async {})
        .unwrap();
    let seeds: HashSet<_> = (0..3).map(|i| loops.seed(i).unwrap()).collect();
    assert_eq!(seeds.len(), 3);
    loops.join();
    let again = Builder::new()
        .seed(11)
        .run_per_core(1, |_| async {})
        .unwrap();
    assert!(
        seeds.contains(&again.seed(0).unwrap()),
        "loop 0's seed is the same each time"
    );
    again.join();
}

#[test]
fn a_timeline_names_the_seed_that_replays_it() {
    let rt = Builder::new()
        .seed(17)
        .trace(true)
        .virtual_time(true)
        .build()
        .unwrap();
    rt.block_on(async { evloop::spawn(evloop::yield_now()).await.unwrap() });
    let timeline = rt.timeline();
    assert_eq!(timeline.seed(), Some(17));
    assert!(timeline.to_string().contains("(seed 17)"), "{timeline}");
    assert_eq!(runtime(None).timeline().seed(), None);
}
