//! Seeing the loop: the recording, wake causes, the slow-poll alarm, the stuck
//! report and the task list. Everything that orders events uses virtual time or
//! channels; nothing sleeps and hopes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use evloop::sync::{oneshot, Event};
use evloop::trace::{Cause, Event as Traced, SlowPoll, TaskState, Timeline, CAPACITY, MAIN};
use evloop::{task, time, yield_now, Builder, Runtime};

/// The line of this file that `needle` starts on.
fn spawn_line(needle: &str) -> usize {
    let source = include_str!("trace.rs");
    let at = source.find(needle).unwrap();
    source[..at].lines().count() // the lines before it, and its own, started
}

/// A traced runtime on a virtual clock.
fn traced() -> Runtime {
    Builder::new()
        .virtual_time(true)
        .trace(true)
        .build()
        .unwrap()
}

/// The id of the task a timeline labels `label`.
fn id_of(timeline: &Timeline, label: &str) -> u64 {
    let mut ids = timeline.events().iter().filter_map(Traced::task);
    ids.find(|&id| timeline.label(id) == label)
        .unwrap_or_else(|| panic!("no task labelled {label} in\n{timeline}"))
}

/// The causes of the recorded wakes of task `id`.
fn causes(timeline: &Timeline, id: u64) -> Vec<Cause> {
    let wakes = timeline.events().iter().filter_map(|event| match *event {
        Traced::Woken { task, cause, .. } if task == id => Some(cause),
        _ => None,
    });
    wakes.collect()
}

#[test]
fn two_named_tasks_are_recorded_in_the_order_they_ran_and_drawn_as_named_rows() {
    let rt = traced();
    rt.block_on(async {
        let alpha = task::Builder::new().name("alpha").spawn(async {
            yield_now().await;
            time::sleep(Duration::from_millis(30)).await;
        });
        let beta = task::Builder::new().name("beta").spawn(async {
            yield_now().await;
            time::sleep(Duration::from_millis(60)).await;
        });
        alpha.await.unwrap();
        beta.await.unwrap();
    });
    let timeline = rt.timeline();
    let (alpha, beta) = (id_of(&timeline, "alpha"), id_of(&timeline, "beta"));
    let polls: Vec<u64> = timeline
        .events()
        .iter()
        .filter_map(|event| match *event {
            Traced::Polled { task, .. } if task != MAIN => Some(task),
            _ => None,
        })
        .collect();
    // Spawned in this order; each yields once, then sleeps: alpha's timer is first.
    assert_eq!(polls, [alpha, beta, alpha, beta, alpha, beta], "{timeline}");
    let chart = timeline.to_string();
    let row = |label: &str| {
        chart
            .lines()
            .find(|line| line.trim_start().starts_with(label))
    };
    let alpha_row = row("alpha |").unwrap_or_else(|| panic!("no alpha row:\n{chart}"));
    let beta_row = row("beta |").unwrap_or_else(|| panic!("no beta row:\n{chart}"));
    // A poll is drawn ':' (a sliver of its column) to '#' (all of it); under
    // virtual time a poll takes no time, so a sliver.
    let polled = |c: char| ":-+*#".contains(c);
    assert!(
        alpha_row.contains(polled) && beta_row.contains(polled),
        "{chart}"
    );
    // Alpha ends at 30 ms of 60: its last poll lies in the chart's first 60 %.
    let last_mark = |row: &str| row.rfind(polled).unwrap() - row.find('|').unwrap();
    assert!(last_mark(alpha_row) < 60, "{chart}");
    assert!(last_mark(beta_row) > 90, "{chart}");
    assert!(chart.contains("100 columns"), "{chart}");
}

#[test]
fn each_wake_is_recorded_with_its_cause() {
    let rt = traced();
    let (from_thread, thread_rx) = oneshot::channel::<()>();
    // The pool's job waits for this, so its task is waiting before the result
    // arrives (a job that ended first would be taken on the task's first poll).
    let (job_go, job_gate) = mpsc::channel::<()>();
    rt.block_on(async {
        // A timer.
        let timer = task::Builder::new().name("timer").spawn(async {
            time::sleep(Duration::from_secs(1)).await;
        });
        // Another task: "setter" sets the event "waiter" waits on.
        let event = std::rc::Rc::new(Event::new());
        let waited = event.clone();
        let waiter = task::Builder::new().name("waiter").spawn(async move {
            waited.wait().await;
        });
        let setter = task::Builder::new().name("setter").spawn(async move {
            yield_now().await;
            event.set();
        });
        // A socket.
        let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = task::Builder::new().name("acceptor").spawn(async move {
            listener.accept().await.unwrap();
        });
        // Another thread.
        let threaded = task::Builder::new().name("threaded").spawn(async move {
            thread_rx.await.unwrap();
        });
        // The blocking pool (its result wakes the job's task, whose end wakes
        // "pooled"), and an abort.
        let pooled = task::Builder::new().name("pooled").spawn(async move {
            let job = move || job_gate.recv().map(|()| 7);
            evloop::spawn_blocking(job).await.unwrap().unwrap();
        });
        let doomed = task::Builder::new()
            .name("doomed")
            .spawn(std::future::pending::<()>());
        yield_now().await; // every task has run once, "pooled" has spawned its job
        yield_now().await; // and the job's task, queued before us, waits for it
        job_go.send(()).unwrap();
        let _client = evloop::net::TcpStream::connect(addr).await.unwrap();
        thread::spawn(move || from_thread.send(()).unwrap());
        doomed.abort();
        for handle in [timer, waiter, setter, acceptor, threaded, pooled] {
            handle.await.unwrap();
        }
        assert!(doomed.await.unwrap_err().is_cancelled());
    });
    let timeline = rt.timeline();
    let last = |label: &str| *causes(&timeline, id_of(&timeline, label)).last().unwrap();
    assert_eq!(last("timer"), Cause::Timer, "{timeline:?}");
    assert_eq!(last("waiter"), Cause::Task(id_of(&timeline, "setter")));
    assert!(
        matches!(last("acceptor"), Cause::Io(fd) if fd > 2),
        "{:?}",
        last("acceptor")
    );
    assert_eq!(last("threaded"), Cause::Thread);
    let job = spawn_line("evloop::spawn_blocking(job)");
    let job = id_of(&timeline, &format!("tests/trace.rs:{job}"));
    assert_eq!(causes(&timeline, job), [Cause::Spawn, Cause::Pool]);
    assert_eq!(last("pooled"), Cause::Task(job));
    assert_eq!(last("doomed"), Cause::Abort);
    assert_eq!(
        causes(&timeline, id_of(&timeline, "setter")),
        [Cause::Spawn, Cause::Itself]
    );
    let chart = timeline.to_string();
    assert!(chart.contains("blocking thread 1"), "{chart}");
}

/// A runtime whose slow-poll reports arrive on the returned channel.
fn alarmed(threshold: Duration) -> (Runtime, mpsc::Receiver<SlowPoll>) {
    let (reports, received) = mpsc::channel();
    let rt = Builder::new()
        .slow_poll_threshold(threshold)
        .on_slow_poll(move |poll| {
            let _ = reports.send(poll.clone());
        })
        .build()
        .unwrap();
    (rt, received)
}

#[test]
fn a_poll_that_holds_the_loop_is_reported_once_while_it_runs_then_with_its_total() {
    let (rt, reports) = alarmed(Duration::from_millis(20));
    let (release, held) = mpsc::channel::<()>();
    // The task is let go only once the live report arrived: no timing involved.
    let watcher = thread::spawn(move || {
        let live = reports.recv().unwrap();
        release.send(()).unwrap();
        (live, reports)
    });
    let line = line!() + 2;
    rt.block_on(async move {
        let blocker = task::Builder::new().name("blocker").spawn(async move {
            held.recv().unwrap(); // a std channel: blocks the loop's thread
        });
        blocker.await.unwrap();
    });
    let (live, reports) = watcher.join().unwrap();
    drop(rt); // stops the watchdog
    assert!(!live.returned);
    assert_eq!(live.name.as_deref(), Some("blocker"));
    assert!(live.spawned_at.file().ends_with("trace.rs"));
    assert_eq!(live.spawned_at.line(), line);
    let text = live.to_string();
    assert!(
        text.contains("blocker") && text.contains(&format!("trace.rs:{line}")),
        "{text}"
    );
    assert!(
        text.contains("spawn_blocking") && text.contains("yield_now"),
        "{text}"
    );
    let rest: Vec<SlowPoll> = reports.iter().collect();
    assert_eq!(rest.len(), 1, "one more report, with the total: {rest:?}");
    assert!(rest[0].returned && rest[0].task == live.task && rest[0].elapsed >= live.elapsed);
}

#[test]
fn a_task_that_yields_under_the_threshold_is_never_reported() {
    let (rt, reports) = alarmed(Duration::from_secs(1));
    rt.block_on(async {
        let yielder = evloop::spawn(async {
            for _ in 0..20 {
                yield_now().await;
            }
        });
        yielder.await.unwrap();
    });
    drop(rt);
    let reports: Vec<SlowPoll> = reports.iter().collect();
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn tasks_lists_a_waiting_task_as_waiting_and_a_finished_one_not_at_all() {
    let rt = traced();
    let (_keep, rx) = oneshot::channel::<()>();
    rt.block_on(async move {
        let waiter = task::Builder::new().name("waiter").spawn(async move {
            let _ = rx.await;
        });
        let done = task::Builder::new().name("done").spawn(async {});
        done.await.unwrap();
        drop(waiter); // detached: it keeps waiting
    });
    let tasks = rt.tasks();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let task = &tasks[0];
    assert_eq!(task.name.as_deref(), Some("waiter"));
    assert_eq!(task.state, TaskState::Waiting);
    assert_eq!(task.polls, 1);
    assert!(task.time_polled.is_some()); // tracing is on
    let row = task.to_string();
    assert!(row.contains("waiter") && row.contains("trace.rs") && row.contains("waiting"));
}

#[test]
fn a_million_polls_keep_the_recording_within_its_bound() {
    let rt = Builder::new().trace(true).build().unwrap();
    rt.block_on(async {
        let spinner = evloop::spawn(async {
            for _ in 0..1_000_000 {
                yield_now().await;
            }
        });
        spinner.await.unwrap();
    });
    let timeline = rt.timeline();
    assert_eq!(timeline.events().len(), CAPACITY);
    // The newest events are kept: the task's end is the last one about it.
    let ended = timeline
        .events()
        .iter()
        .rev()
        .find(|e| e.task().is_some_and(|t| t != MAIN));
    assert!(matches!(ended, Some(Traced::Ended { .. })), "{ended:?}");
}

/// The environment variable that makes this binary the stuck program.
const STUCK_CHILD: &str = "EVLOOP_TEST_STUCK_CHILD";

/// Not a test of its own (so it is ignored): the stuck program the next test runs
/// as a child. It never ends.
#[test]
#[ignore = "the stuck program that the stuck-report test runs as a child"]
fn stuck_program() {
    assert!(
        std::env::var_os(STUCK_CHILD).is_some(),
        "run by the stuck-report test only"
    );
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let forgotten = task::Builder::new()
            .name("forgotten")
            .spawn(std::future::pending::<()>());
        let _unnamed = evloop::spawn(std::future::pending::<()>());
        forgotten.await.unwrap();
    });
}

#[test]
fn a_program_that_can_never_progress_says_so_naming_each_task_and_its_spawn_site() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "stuck_program", "--ignored", "--nocapture"])
        .env(STUCK_CHILD, "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    // If the report never comes, the child is stopped after a minute: the reading
    // below then ends and the assertions say what was missing, instead of a hang.
    let child = std::sync::Arc::new(std::sync::Mutex::new(child));
    let (read_all, reading) = mpsc::channel::<()>();
    let watchdog = {
        let child = child.clone();
        thread::spawn(move || {
            let waited = reading.recv_timeout(Duration::from_secs(60));
            if waited == Err(mpsc::RecvTimeoutError::Timeout) {
                let _ = child.lock().unwrap().kill();
            }
        })
    };
    let mut lines = BufReader::new(stderr).lines();
    let mut report = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("this program is stuck") {
            report.push(line);
            break;
        }
    }
    for line in lines.by_ref() {
        let line = line.unwrap();
        if !line.starts_with("  ") {
            break;
        }
        report.push(line);
        if report.len() == 4 {
            break; // the header, two tasks and block_on's future
        }
    }
    drop(read_all);
    watchdog.join().unwrap();
    let mut child = child.lock().unwrap();
    let _ = child.kill(); // it never ends by itself
    child.wait().unwrap();
    let report = report.join("\n");
    let named = spawn_line(".spawn(std::future::pending::<()>());\n        let _unnamed");
    let unnamed = spawn_line("let _unnamed = evloop::spawn");
    assert!(report.contains("this program is stuck"), "{report}");
    assert!(
        report.contains(&format!("'forgotten' (spawned at tests/trace.rs:{named})")),
        "{report}"
    );
    assert!(
        report.contains(&format!("(spawned at tests/trace.rs:{unnamed})")),
        "{report}"
    );
    assert!(
        report.contains("block_on's future: waits for task"),
        "{report}"
    );
    assert!(report.contains("nothing can wake it"), "{report}");
}

#[test]
fn a_crowd_of_tasks_folds_into_one_row_past_twenty() {
    let rt = evloop::Builder::new()
        .trace(true)
        .virtual_time(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut set = evloop::JoinSet::new();
        for i in 0..30u64 {
            set.spawn(async move { evloop::time::sleep(Duration::from_millis(i)).await });
        }
        set.join_all().await;
    });
    let chart = rt.timeline().to_string();
    let rows = chart.lines().filter(|l| l.contains(" |")).count();
    // 19 tasks, "12 more tasks" (11 of the set and block_on's future), the loop.
    assert_eq!(rows, 21, "{chart}");
    assert!(chart.contains("12 more tasks |"), "{chart}");
}

#[test]
fn a_cell_is_shaded_by_how_much_of_it_was_spent_polling() {
    let rt = evloop::Builder::new().trace(true).build().unwrap();
    rt.block_on(async {
        evloop::task::Builder::new()
            .name("busy")
            .spawn(async {
                let start = std::time::Instant::now();
                while start.elapsed() < Duration::from_millis(30) {} // holds the loop
                evloop::time::sleep(Duration::from_millis(30)).await;
            })
            .await
            .unwrap();
    });
    let chart = rt.timeline().to_string();
    let busy = chart
        .lines()
        .find(|l| l.trim_start().starts_with("busy |"))
        .unwrap();
    let cells = &busy[busy.find('|').unwrap() + 1..busy.rfind('|').unwrap()];
    // The first half is one long poll: solid (but for the first column, which
    // also holds the spawn before the poll began: on a loaded machine a good part
    // of it). The second is a short one: a sliver.
    assert!(cells[1..40].chars().all(|c| c == '#'), "{chart}");
    assert!(
        cells[60..].contains(':') && !cells[60..].contains('#'),
        "{chart}"
    );
}
