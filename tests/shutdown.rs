//! A graceful shutdown: `CancellationToken`, `JoinSet::shutdown`; and task-local
//! values. (Dropped child tokens' memory: `tests/token_memory.rs`.)

use std::time::Duration;

use evloop::io::duplex;
use evloop::sync::CancellationToken;
use evloop::JoinSet;

/// A runtime on a virtual clock.
fn runtime() -> evloop::Runtime {
    evloop::Builder::new().virtual_time(true).build().unwrap()
}

#[test]
fn ten_requests_in_flight_seven_finish_within_the_grace_and_three_are_cut() {
    runtime().block_on(async {
        let stop = CancellationToken::new();
        let mut requests = JoinSet::new();
        let mut clients = Vec::new();
        for i in 0..10u64 {
            let (mut client, mut server) = duplex(64);
            // Requests 0–6 take 1–7 s to answer; 7–9 take a minute.
            let work = if i < 7 {
                Duration::from_secs(i + 1)
            } else {
                Duration::from_secs(60)
            };
            let stopping = stop.child_token();
            requests.spawn(async move {
                let mut request = [0u8; 1];
                server.read_exact(&mut request).await.unwrap();
                evloop::time::sleep(work).await; // a request in flight ignores the stop
                server.write_all(&request).await.unwrap();
                assert!(stopping.is_cancelled(), "the stop came while it worked");
            });
            client.write_all(&[i as u8]).await.unwrap();
            clients.push(client);
        }
        evloop::yield_now().await; // every request was read
        stop.cancel();
        let grace = evloop::time::sleep(Duration::from_secs(10));
        let ended = requests.shutdown(grace).await;
        let cut = ended
            .iter()
            .filter(|e| matches!(e, Err(e) if e.is_cancelled()))
            .count();
        let finished = ended.iter().filter(|e| e.is_ok()).count();
        assert_eq!((finished, cut), (7, 3));
        assert!(requests.is_empty());
        let mut answers = 0;
        for client in &mut clients {
            let mut answer = [0u8; 1];
            if client.read(&mut answer).await.unwrap() == 1 {
                answers += 1;
            }
        }
        assert_eq!(answers, 7, "the cut requests' streams ended unanswered");
    });
}

#[test]
fn a_token_cancelled_before_anyone_waits_resolves_at_once_and_passes_to_children() {
    runtime().block_on(async {
        let parent = CancellationToken::new();
        let child = parent.child_token();
        let grandchild = child.child_token();
        let lone = CancellationToken::new();
        parent.cancel();
        assert!(child.is_cancelled() && grandchild.is_cancelled() && !lone.is_cancelled());
        let start = evloop::time::now();
        grandchild.cancelled().await;
        parent.child_token().cancelled().await; // born cancelled
        assert_eq!(evloop::time::now(), start, "no wait at all");
        // A child cancelled alone leaves its parent be.
        let other = lone.child_token();
        other.cancel();
        assert!(!lone.is_cancelled());
    });
}

evloop::task_local! {
    static REQUEST: u32;
    static DEPTH: usize;
}

#[test]
fn two_tasks_see_their_own_values_across_their_awaits() {
    runtime().block_on(async {
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let tasks: Vec<_> = [1u32, 2]
            .into_iter()
            .map(|id| {
                let seen = seen.clone();
                evloop::spawn(REQUEST.scope(id, async move {
                    for _ in 0..3 {
                        seen.borrow_mut().push((id, REQUEST.get()));
                        evloop::yield_now().await; // the other task runs between
                    }
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let seen = seen.borrow();
        assert_eq!(seen.len(), 6);
        assert!(seen.iter().all(|(id, value)| id == value), "{seen:?}");
        assert_eq!(seen[..2], [(1, 1), (2, 2)], "they interleaved");
    });
}

#[test]
fn scopes_nest_and_a_spawned_task_does_not_inherit() {
    runtime().block_on(async {
        DEPTH
            .scope(1, async {
                assert_eq!(DEPTH.get(), 1);
                DEPTH.scope(2, async { assert_eq!(DEPTH.get(), 2) }).await;
                assert_eq!(DEPTH.get(), 1, "the outer value is back");
                let inside = evloop::spawn(async { DEPTH.try_with(|d| *d) })
                    .await
                    .unwrap();
                assert!(inside.is_err(), "a spawned task is not in the scope");
            })
            .await;
    });
}

#[test]
fn reading_outside_a_scope_says_how_to_set_it() {
    let error = REQUEST.try_with(|_| ()).unwrap_err();
    assert!(
        error.to_string().contains("REQUEST read outside its scope"),
        "{error}"
    );
    let panic = std::panic::catch_unwind(|| REQUEST.get()).unwrap_err();
    let said = panic.downcast_ref::<String>().unwrap();
    assert!(said.contains("REQUEST.scope(value, future)"), "{said}");
}
