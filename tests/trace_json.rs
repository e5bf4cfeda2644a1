//! The trace as Chrome Trace Event JSON (Perfetto): tracks named, a slice per
//! poll, the loop's waits, and one flow per wake from its cause to its poll.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

/// Two named tasks under virtual time: `sleeper` sleeps twice (timer wakes) and
/// then wakes `waiter` through a channel (a task-to-task wake).
fn two_tasks() -> (evloop::Runtime, Value) {
    let rt = evloop::Builder::new()
        .trace(true)
        .virtual_time(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, mut rx) = evloop::sync::mpsc::channel::<u32>(1);
        let waiter = evloop::task::Builder::new()
            .name("waiter")
            .spawn(async move { rx.recv().await });
        let sleeper = evloop::task::Builder::new()
            .name("sleeper")
            .spawn(async move {
                for _ in 0..2 {
                    evloop::time::sleep(Duration::from_millis(10)).await;
                }
                tx.send(7).await.unwrap();
            });
        sleeper.await.unwrap();
        assert_eq!(waiter.await.unwrap(), Some(7));
    });
    let mut json = Vec::new();
    rt.timeline().write_trace_json(&mut json).unwrap();
    let parsed = serde_json::from_slice(&json).expect("the trace is valid JSON");
    (rt, parsed)
}

#[test]
fn the_trace_names_its_tracks_and_has_a_slice_per_poll_in_order() {
    let (rt, trace) = two_tasks();
    let events = trace["traceEvents"].as_array().unwrap();
    let names: HashMap<i64, &str> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_i64().unwrap(),
                e["args"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    let track = |name: &str| {
        *names
            .iter()
            .find(|(_, n)| **n == name)
            .unwrap_or_else(|| panic!("no track named {name}: {names:?}"))
            .0
    };
    let (sleeper, waiter) = (track("sleeper"), track("waiter"));
    let polls = |tid: i64| -> Vec<f64> {
        let slices = events.iter().filter(|e| e["ph"] == "X" && e["tid"] == tid);
        slices.map(|e| e["ts"].as_f64().unwrap()).collect()
    };
    let recorded = |name: &str| {
        rt.timeline()
            .events()
            .iter()
            .filter(|e| matches!(e, evloop::trace::Event::Polled { task, .. } if rt.timeline().label(*task) == name))
            .count()
    };
    let sleeper_polls = polls(sleeper);
    assert_eq!(sleeper_polls.len(), recorded("sleeper"));
    assert_eq!(sleeper_polls.len(), 3, "a first poll, one per timer");
    assert!(sleeper_polls.windows(2).all(|w| w[0] <= w[1]), "in order");
    assert_eq!(
        polls(waiter).len(),
        2,
        "a first poll and the one the message led to"
    );
    let last = events
        .iter()
        .rfind(|e| e["ph"] == "X" && e["tid"] == sleeper)
        .unwrap();
    assert_eq!(last["args"]["result"], "ready");
    let loop_track = track("the loop: waiting for I/O");
    let waits: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["ph"] == "X" && e["tid"] == loop_track && e["name"] == "waiting in the reactor"
        })
        .collect();
    assert!(
        waits.len() >= 2,
        "the virtual clock's two jumps are the loop's waits"
    );
    for wait in &waits[..2] {
        assert_eq!(wait["args"]["why"], "the next timer", "{wait}");
        assert_eq!(
            wait["args"]["timeout_us"].as_f64(),
            Some(10_000.0),
            "{wait}"
        );
    }
}

#[test]
fn a_poll_that_panics_is_marked_panicked_and_a_bounded_turn_says_max_wait() {
    let rt = evloop::Builder::new().trace(true).build().unwrap();
    let task = rt.spawn(async {
        evloop::yield_now().await;
        panic!("on purpose");
    });
    while !task.is_finished() {
        rt.turn(Some(Duration::ZERO));
    }
    // Nothing ready, no timer: this turn waits the 2 ms it was given.
    rt.turn(Some(Duration::from_millis(2)));
    let mut json = Vec::new();
    rt.timeline().write_trace_json(&mut json).unwrap();
    let trace: Value = serde_json::from_slice(&json).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let results: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["args"]["result"].is_string())
        .map(|e| e["args"]["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["pending", "panicked"]);
    let wait = events
        .iter()
        .rfind(|e| e["name"] == "waiting in the reactor")
        .expect("the bounded turn's wait");
    assert_eq!(wait["args"]["why"], "turn's max_wait", "{wait}");
    assert_eq!(wait["args"]["timeout_us"].as_f64(), Some(2000.0), "{wait}");
}

#[test]
fn every_wake_is_a_flow_from_its_cause_to_the_poll_it_led_to() {
    let (_rt, trace) = two_tasks();
    let events = trace["traceEvents"].as_array().unwrap();
    let names: HashMap<i64, String> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_i64().unwrap(),
                e["args"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut starts: HashMap<i64, (i64, f64)> = HashMap::new();
    let mut flows = Vec::new();
    for e in events {
        let (tid, ts) = (
            e["tid"].as_i64().unwrap_or(0),
            e["ts"].as_f64().unwrap_or(0.0),
        );
        match e["ph"].as_str() {
            Some("s") => {
                starts.insert(e["id"].as_i64().unwrap(), (tid, ts));
            }
            Some("f") => {
                let (from, start) = starts[&e["id"].as_i64().unwrap()];
                assert!(ts >= start, "a flow ends before it starts: {e}");
                flows.push((names[&from].clone(), names[&tid].clone()));
            }
            _ => {}
        }
    }
    assert_eq!(starts.len(), flows.len(), "every flow has both ends");
    let timer_to_sleeper = flows
        .iter()
        .filter(|f| *f == &("timers".into(), "sleeper".into()));
    assert_eq!(timer_to_sleeper.count(), 2, "two timer wakes: {flows:?}");
    assert!(
        flows.contains(&("sleeper".to_string(), "waiter".to_string())),
        "the message's wake, task to task: {flows:?}"
    );
}

#[test]
fn a_long_run_writes_the_events_the_ring_holds() {
    let rt = evloop::Builder::new().trace(true).build().unwrap();
    rt.block_on(async {
        for _ in 0..200_000 {
            evloop::yield_now().await;
        }
    });
    let mut json = Vec::new();
    rt.timeline().write_trace_json(&mut json).unwrap();
    let trace: Value = serde_json::from_slice(&json).unwrap();
    let slices = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X")
        .count();
    assert!(slices <= evloop::trace::CAPACITY, "{slices} slices");
    assert!(slices > evloop::trace::CAPACITY / 4, "{slices} slices");
}

#[test]
fn evloop_trace_perfetto_writes_the_file_when_the_runtime_drops() {
    // Through a child: the variable would trace every test in this binary.
    let path = std::env::temp_dir().join(format!("evloop-trace-{}.json", std::process::id()));
    if std::env::var("EVLOOP_TRACE_CHILD").is_ok() {
        let rt = evloop::Runtime::new().unwrap();
        rt.block_on(rt.spawn(evloop::yield_now())).unwrap();
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "evloop_trace_perfetto_writes_the_file_when_the_runtime_drops",
            "--exact",
        ])
        .env("EVLOOP_TRACE_CHILD", "1")
        .env(
            "EVLOOP_TRACE",
            format!("timeline,perfetto:{}", path.display()),
        )
        .status()
        .unwrap();
    assert!(status.success());
    let trace: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(trace["traceEvents"].as_array().unwrap().len() > 3);

    let bad = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "evloop_trace_perfetto_writes_the_file_when_the_runtime_drops",
            "--exact",
        ])
        .env("EVLOOP_TRACE_CHILD", "1")
        .env("EVLOOP_TRACE", "timelines")
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&bad.stdout).to_string() + &String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && said.contains("timelines") && said.contains("is not a trace"),
        "{said}"
    );
}
