//! The runtime's list of live tasks: dropping a runtime drops every future it
//! still holds, exactly once, and `Runtime::tasks` lists exactly the live ones.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use evloop::Runtime;

/// Counts its drops.
struct Dropped(Arc<AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_runtime_dropped_with_100_000_live_tasks_drops_each_future_once() {
    let tasks = if cfg!(miri) { 100 } else { 100_000 };
    let drops = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::new().unwrap();
    let event = Arc::new(evloop::sync::Event::new());
    for _ in 0..tasks {
        let (guard, event) = (Dropped(drops.clone()), event.clone());
        // One turn polls the first event_interval of them; the rest never run.
        drop(rt.spawn(async move {
            let _guard = guard;
            event.wait().await;
        }));
    }
    rt.turn(Some(std::time::Duration::ZERO));
    assert_eq!(rt.tasks().len(), tasks, "all alive, waiting");
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(rt);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        tasks,
        "each future dropped once"
    );
}

#[test]
fn tasks_lists_exactly_the_live_ones_after_random_completions_and_aborts() {
    let rt = Runtime::new().unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut random = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut live = BTreeSet::new();
    let mut handles = Vec::new();
    let mut senders = Vec::new();
    // Under Miri, fewer of each (it runs this some thousand times slower).
    let (rounds, spawns, completions, aborts) = if cfg!(miri) {
        (4, 20, 6, 4)
    } else {
        (20, 100, 30, 20)
    };
    for round in 0..rounds {
        let spawned = rt.block_on(async {
            (0..spawns)
                .map(|i| {
                    let name = format!("t{round}-{i}");
                    let (tx, rx) = evloop::sync::oneshot::channel::<()>();
                    let handle = evloop::task::Builder::new().name(&name).spawn(async move {
                        let _ = rx.await;
                    });
                    (name, handle, tx)
                })
                .collect::<Vec<_>>()
        });
        for (name, handle, tx) in spawned {
            live.insert(name.clone());
            handles.push((name.clone(), handle));
            senders.push((name, Some(tx)));
        }
        // Some end by completing, some are aborted; the rest stay.
        for _ in 0..completions {
            let k = random(senders.len() as u64) as usize;
            if let Some(tx) = senders[k].1.take() {
                let _ = tx.send(());
                live.remove(&senders[k].0);
            }
        }
        for _ in 0..aborts {
            let k = random(handles.len() as u64) as usize;
            handles[k].1.abort();
            live.remove(&handles[k].0);
        }
        rt.run_until_stalled();
        let listed: BTreeSet<String> = rt.tasks().into_iter().filter_map(|t| t.name).collect();
        assert_eq!(listed, live, "round {round}");
    }
}
