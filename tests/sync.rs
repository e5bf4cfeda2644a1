//! Sync: channels, oneshot, Event, Semaphore and Mutex.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use evloop::sync::{mpsc, oneshot, Event, Mutex, Semaphore};

/// Values each producer sends: fewer under Miri, which runs code ~1,000 times slower.
const VALUES: u64 = if cfg!(miri) { 100 } else { 10_000 };

#[test]
fn four_threads_blocking_send_forty_thousand_values_none_lost_none_twice() {
    let (tx, mut rx) = mpsc::channel(16);
    let producers: Vec<_> = (0..4u64)
        .map(|thread| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..VALUES {
                    tx.blocking_send(thread * 1_000_000 + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let received = evloop::run(async move {
        let mut seen = HashSet::new();
        while let Some(value) = rx.recv().await {
            assert!(seen.insert(value), "{value} delivered twice");
        }
        seen
    });
    for producer in producers {
        producer.join().unwrap();
    }
    assert_eq!(received.len() as u64, 4 * VALUES);
}

#[test]
fn bounded_send_waits_for_room() {
    evloop::run(async {
        let (tx, mut rx) = mpsc::channel(2);
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        let third = evloop::spawn(async move {
            tx.send(3).await.unwrap();
            "sent"
        });
        for _ in 0..5 {
            evloop::yield_now().await;
        }
        assert!(!third.is_finished(), "a full channel makes send wait");
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(third.await.unwrap(), "sent");
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.recv().await, None);
    });
}

#[test]
fn recv_gives_the_queued_values_then_none_after_the_senders_drop() {
    evloop::run(async {
        let (tx, mut rx) = mpsc::unbounded();
        let tx2 = tx.clone();
        tx.send("a").await.unwrap();
        tx2.send("b").await.unwrap();
        drop(tx);
        drop(tx2);
        assert_eq!(rx.recv().await, Some("a"));
        assert_eq!(rx.recv().await, Some("b"));
        assert_eq!(rx.recv().await, None);
    });
}

#[test]
fn send_to_a_dropped_receiver_gives_the_value_back() {
    evloop::run(async {
        let (tx, rx) = mpsc::channel(4);
        drop(rx);
        let err = tx.send(String::from("kept")).await.unwrap_err();
        assert_eq!(err.0, "kept");
        assert!(tx.is_closed());
        assert_eq!(
            tx.blocking_send_from_thread("again".to_string()),
            Err("again".to_string())
        );
    });
}

/// `blocking_send` may not run on the loop's thread; these helpers hop threads.
trait FromThread<T> {
    fn blocking_send_from_thread(&self, value: T) -> Result<(), T>;
}

impl<T: Send + 'static> FromThread<T> for mpsc::Sender<T> {
    fn blocking_send_from_thread(&self, value: T) -> Result<(), T> {
        let tx = self.clone();
        std::thread::spawn(move || tx.blocking_send(value).map_err(|e| e.0))
            .join()
            .unwrap()
    }
}

#[test]
fn a_dropped_send_future_passes_its_wake_on() {
    evloop::run(async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(0).await.unwrap();
        let tx = Arc::new(tx);
        // Two senders wait for room; the first is cancelled right after being woken.
        let first = {
            let tx = tx.clone();
            evloop::spawn(async move { tx.send(1).await })
        };
        let second = {
            let tx = tx.clone();
            evloop::spawn(async move { tx.send(2).await })
        };
        evloop::yield_now().await;
        assert_eq!(rx.recv().await, Some(0)); // wakes `first`
        first.abort(); // …which is dropped without sending
        assert!(first.await.unwrap_err().is_cancelled());
        second.await.unwrap().unwrap();
        assert_eq!(rx.recv().await, Some(2));
    });
}

#[test]
fn blocking_recv_on_the_loop_thread_panics_with_a_clear_message() {
    let result = std::panic::catch_unwind(|| {
        evloop::run(async {
            let (_tx, mut rx) = mpsc::channel::<()>(1);
            rx.blocking_recv();
        })
    });
    let payload = result.unwrap_err();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("would block the loop and deadlock"),
        "{message}"
    );
}

#[test]
fn a_dropped_oneshot_sender_gives_recv_error() {
    evloop::run(async {
        let (tx, rx) = oneshot::channel::<u8>();
        drop(tx);
        let err = rx.await.unwrap_err();
        assert!(err.to_string().contains("dropped without sending"));
    });
}

#[test]
fn oneshot_send_to_a_dropped_receiver_gives_the_value_back() {
    let (tx, rx) = oneshot::channel();
    drop(rx);
    assert_eq!(tx.send(5), Err(5));
}

#[test]
fn oneshot_blocking_recv_works_off_the_loop() {
    let (tx, rx) = oneshot::channel();
    let receiver = std::thread::spawn(move || rx.blocking_recv());
    evloop::run(async move { tx.send("hi").unwrap() });
    assert_eq!(receiver.join().unwrap(), Ok("hi"));
}

#[test]
fn event_set_wakes_a_hundred_waiters() {
    evloop::run(async {
        let event = Arc::new(Event::new());
        let woken = Arc::new(AtomicUsize::new(0));
        let waiters: Vec<_> = (0..100)
            .map(|_| {
                let event = event.clone();
                let woken = woken.clone();
                evloop::spawn(async move {
                    event.wait().await;
                    woken.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for _ in 0..3 {
            evloop::yield_now().await;
        }
        assert_eq!(woken.load(Ordering::SeqCst), 0);
        assert!(!event.is_set());
        event.set();
        for waiter in waiters {
            waiter.await.unwrap();
        }
        assert_eq!(woken.load(Ordering::SeqCst), 100);
        event.clear();
        assert!(!event.is_set());
    });
}

#[test]
fn event_wakes_a_blocked_thread_too() {
    let event = Arc::new(Event::new());
    let waiter = {
        let event = event.clone();
        std::thread::spawn(move || event.blocking_wait())
    };
    evloop::run(async move { event.set() });
    waiter.join().unwrap();
}

#[test]
fn a_semaphore_of_three_never_lets_four_in() {
    evloop::run(async {
        let gate = Arc::new(Semaphore::new(3));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (gate, inside, most) = (gate.clone(), inside.clone(), most.clone());
                evloop::spawn(async move {
                    let _permit = gate.acquire().await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    evloop::yield_now().await;
                    evloop::yield_now().await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 3);
        assert_eq!(gate.available_permits(), 3);
    });
}

#[test]
fn mutex_serialises_tasks_that_hold_it_across_awaits() {
    evloop::run(async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let log = log.clone();
                evloop::spawn(async move {
                    let mut guard = log.lock().await;
                    guard.push(format!("{i} in"));
                    evloop::yield_now().await;
                    guard.push(format!("{i} out"));
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let log = log.lock().await;
        for pair in log.chunks(2) {
            assert_eq!(pair[0].replace(" in", ""), pair[1].replace(" out", ""));
        }
    });
}
