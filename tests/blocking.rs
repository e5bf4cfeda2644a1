//! The blocking pool: spawn_blocking.

use std::time::{Duration, Instant};

use evloop::{spawn_blocking, Builder, Runtime};

/// Runs `jobs` blocking jobs of `each` on a pool of `threads`; returns the wall time.
fn run_jobs(threads: usize, jobs: usize, each: Duration) -> Duration {
    let runtime = Builder::new()
        .max_blocking_threads(threads)
        .build()
        .unwrap();
    runtime.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..jobs)
            .map(|_| spawn_blocking(move || std::thread::sleep(each)))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        start.elapsed()
    })
}

#[test]
fn eight_jobs_run_side_by_side_on_eight_threads_and_in_turn_on_one() {
    let each = Duration::from_millis(100);
    let wide = run_jobs(8, 8, each);
    let narrow = run_jobs(1, 8, each);
    assert!(wide < Duration::from_millis(400), "8 threads took {wide:?}");
    assert!(
        narrow >= Duration::from_millis(700),
        "1 thread took {narrow:?}"
    );
}

#[test]
fn a_panicking_job_gives_a_panic_error_and_the_pool_runs_on() {
    let runtime = Builder::new().max_blocking_threads(1).build().unwrap();
    runtime.block_on(async {
        let err = spawn_blocking(|| panic!("job failed on purpose"))
            .await
            .unwrap_err();
        assert!(err.is_panic());
        assert!(err.to_string().contains("job failed on purpose"), "{err}");
        assert_eq!(spawn_blocking(|| 7).await.unwrap(), 7);
    });
}

#[test]
fn the_loop_keeps_running_while_a_job_blocks() {
    evloop::run(async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let job = spawn_blocking(move || rx.recv().unwrap());
        // The loop still runs tasks while the job's thread is blocked.
        let ticks = evloop::spawn(async {
            for _ in 0..10 {
                evloop::yield_now().await;
            }
            10
        });
        assert_eq!(ticks.await.unwrap(), 10);
        tx.send(()).unwrap();
        job.await.unwrap();
    });
}

#[test]
fn dropping_the_runtime_does_not_wait_for_a_running_job() {
    let runtime = Runtime::new().unwrap();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    // The handle leaves the runtime on purpose: it is awaited after the drop.
    #[allow(clippy::async_yields_async)]
    let job = runtime.block_on(async move {
        spawn_blocking(move || {
            started_tx.send(()).unwrap();
            let _ = release_rx.recv(); // blocks until the test says so
        })
    });
    started_rx.recv().unwrap();
    let start = Instant::now();
    drop(runtime);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "drop waited for the job"
    );
    // The job is still blocked; its handle resolves as cancelled.
    let other = Runtime::new().unwrap();
    assert!(other.block_on(job).unwrap_err().is_cancelled());
    release_tx.send(()).unwrap(); // the job ends; its result is dropped quietly
}

#[test]
fn zero_blocking_threads_is_a_clear_error() {
    let err = Builder::new().max_blocking_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_blocking_threads"), "{err}");
}

#[test]
#[should_panic(expected = "evloop::spawn_blocking called outside a runtime")]
fn spawn_blocking_outside_a_runtime_panics_clearly() {
    drop(spawn_blocking(|| ()));
}

#[test]
fn under_virtual_time_the_clock_waits_for_a_running_job() {
    let runtime = Builder::new().virtual_time(true).build().unwrap();
    runtime.block_on(async {
        let start = evloop::time::now();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let job = spawn_blocking(move || rx.recv().unwrap());
        let timer = evloop::spawn(evloop::time::sleep(Duration::from_secs(60)));
        // While the job runs, the clock must not jump past the timer.
        for _ in 0..5 {
            evloop::yield_now().await;
        }
        assert!(
            !timer.is_finished(),
            "the clock jumped while a job was running"
        );
        tx.send(()).unwrap();
        job.await.unwrap();
        timer.await.unwrap();
        assert_eq!(evloop::time::now() - start, Duration::from_secs(60));
    });
}

/// The race a busy machine found: a job's result woke the loop before the pool
/// counted the job as ended, so a virtual clock saw a job still running, waited
/// for I/O with no timeout — and nothing was left to wake it. Each round ends a
/// job and then needs the clock to jump; the rounds run on a thread of their own,
/// so a hang is a failure with a message, not a stuck test.
#[test]
fn a_virtual_clock_jumps_right_after_a_job_ends() {
    const ROUNDS: usize = if cfg!(miri) { 10 } else { 2_000 };
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = Builder::new().virtual_time(true).build().unwrap();
        runtime.block_on(async {
            for _ in 0..ROUNDS {
                spawn_blocking(|| ()).await.unwrap();
                evloop::time::sleep(Duration::from_secs(1)).await;
            }
        });
        done_tx.send(()).unwrap();
    });
    done.recv_timeout(Duration::from_secs(60))
        .expect("the loop hung after a job ended: the clock never jumped");
}
