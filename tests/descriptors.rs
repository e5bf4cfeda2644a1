//! Dropping a runtime closes every descriptor it opened at once — the epoll
//! instance, the eventfd other threads wake it through, the timerfd — even while a
//! blocking job it started still runs. Its own binary: it counts the process's
//! open descriptors.

use std::sync::mpsc;

/// How many descriptors the process has open.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn a_dropped_runtime_leaves_no_descriptor_open_while_its_blocking_job_runs() {
    let before = open_descriptors();
    let (release, hold) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let runtime = evloop::Runtime::new().unwrap();
    runtime.block_on(async {
        let job = evloop::spawn_blocking(move || {
            started_tx.send(()).unwrap();
            hold.recv().unwrap(); // still running when the runtime is dropped
        });
        drop(job);
        evloop::time::sleep(std::time::Duration::from_millis(1)).await; // arms the timerfd
    });
    started.recv().unwrap();
    assert!(
        open_descriptors() > before,
        "the runtime holds descriptors while alive"
    );
    drop(runtime);
    assert_eq!(
        open_descriptors(),
        before,
        "descriptors left open after the drop"
    );
    release.send(()).unwrap(); // the job ends, then its thread
}
