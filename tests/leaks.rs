//! Nothing leaks: after a warm-up round (which grows the slab, the run queue and
//! the spare wakers to size), more rounds of the same work leave the number of
//! live bytes where it was.
//!
//! One test in this binary, so that no other test allocates while it counts.

use std::time::Duration;

use evloop::sync::{mpsc, oneshot};
use evloop::task::JoinSet;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::live;

/// One round: 1,000 pairs of tasks trading oneshots, a channel round trip per
/// pair, a JoinSet of sleepers, and an aborted task.
async fn round() {
    let (tx, mut rx) = mpsc::channel::<u32>(16);
    let server = evloop::spawn(async move {
        let mut sum = 0;
        while let Some(n) = rx.recv().await {
            sum += n;
        }
        sum
    });
    let pairs: Vec<_> = (0..1_000)
        .map(|_| {
            let tx = tx.clone();
            evloop::spawn(async move {
                let (ping_tx, ping_rx) = oneshot::channel();
                let (pong_tx, pong_rx) = oneshot::channel();
                evloop::spawn(async move {
                    ping_rx.await.unwrap();
                    pong_tx.send(1).unwrap();
                });
                ping_tx.send(()).unwrap();
                tx.send(pong_rx.await.unwrap()).await.unwrap();
            })
        })
        .collect();
    drop(tx);
    for pair in pairs {
        pair.await.unwrap();
    }
    assert_eq!(server.await.unwrap(), 1_000);

    let mut set = JoinSet::new();
    for ms in 0..100 {
        set.spawn(evloop::time::sleep(Duration::from_millis(ms % 10)));
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
    let stuck = evloop::spawn(std::future::pending::<()>());
    evloop::yield_now().await;
    stuck.abort();
    assert!(stuck.await.unwrap_err().is_cancelled());
}

#[test]
fn rounds_of_tasks_channels_and_timers_leave_no_memory_behind() {
    let rt = evloop::Builder::new().virtual_time(true).build().unwrap();
    rt.block_on(round()); // warm-up: buffers grow to size
    let after_one = live();
    for _ in 0..3 {
        rt.block_on(round());
    }
    let grown = live() - after_one;
    // A leak of one small object per task would be over 2,000 × 3 × 16 bytes.
    assert!(
        grown < 4_096,
        "three more rounds left {grown} more bytes allocated"
    );
}
