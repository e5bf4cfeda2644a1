//! The blocking pool's threads come and go. In a test binary of its own: it counts
//! the process's `evloop-blocking` threads, which other tests would add to.

use std::time::{Duration, Instant};

use evloop::{spawn_blocking, Builder};

/// Threads of this process whose name starts with `evloop-blocking`.
fn blocking_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("evloop-blocking"))
        .count()
}

/// Waits (up to `limit`) until `blocking_threads()` is `expected`; returns it.
fn settle_to(expected: usize, limit: Duration) -> usize {
    let start = Instant::now();
    loop {
        let now = blocking_threads();
        if now == expected || start.elapsed() > limit {
            return now;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn idle_threads_exit_after_keep_alive_and_at_once_when_the_runtime_drops() {
    // Keep-alive: 50 ms.
    let runtime = Builder::new()
        .max_blocking_threads(4)
        .blocking_keep_alive(Duration::from_millis(50))
        .build()
        .unwrap();
    runtime.block_on(async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let jobs: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                spawn_blocking(move || {
                    let _ = rx.lock().unwrap().recv();
                })
            })
            .collect();
        // Every job holds a thread until released: all four exist now.
        assert_eq!(settle_to(4, Duration::from_secs(5)), 4);
        for _ in 0..4 {
            tx.send(()).unwrap();
        }
        for job in jobs {
            job.await.unwrap();
        }
    });
    assert_eq!(
        settle_to(0, Duration::from_secs(5)),
        0,
        "idle threads outlived keep_alive"
    );
    drop(runtime);

    // Dropping the runtime: idle threads go at once, not after the 10 s default.
    let runtime = Builder::new().max_blocking_threads(2).build().unwrap();
    runtime.block_on(async {
        let a = spawn_blocking(|| std::thread::sleep(Duration::from_millis(20)));
        let b = spawn_blocking(|| std::thread::sleep(Duration::from_millis(20)));
        a.await.unwrap();
        b.await.unwrap();
    });
    assert_eq!(blocking_threads(), 2, "the idle threads wait for more work");
    let dropped = Instant::now();
    drop(runtime);
    assert_eq!(settle_to(0, Duration::from_secs(5)), 0);
    assert!(
        dropped.elapsed() < Duration::from_secs(2),
        "threads lingered after the drop"
    );
}
