//! 200 children at once, then counts: no zombie left, no descriptor leaked. A
//! binary of its own with one test, so that no other test's children or
//! descriptors are counted.

#[path = "common/processes.rs"]
mod processes;

use std::process::Stdio;

use evloop::process::Command;
use processes::within;

/// This process's children that still exist, and how many of them are zombies.
fn children() -> (usize, usize) {
    let me = std::process::id().to_string();
    let (mut alive, mut zombies) = (0, 0);
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let mut fields = stat[close + 1..].split_whitespace();
        let (state, ppid) = (fields.next(), fields.next());
        if ppid == Some(me.as_str()) {
            alive += 1;
            zombies += usize::from(state == Some("Z"));
        }
    }
    (alive, zombies)
}

/// How many descriptors this process has open.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn two_hundred_children_leave_no_zombie_and_no_descriptor() {
    let fds_before = open_fds();
    within(120, "200 children", || async {
        let mut spawned = Vec::new();
        for i in 0..200 {
            let child = Command::new("sh")
                .args(["-c", &format!("read line; exit $(({i} % 5))")])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            spawned.push(child);
        }
        assert_eq!(children().0, 200, "all 200 run at once");
        // Each ends when its stdin closes; `wait` closes it first. All are awaited
        // together, as 200 tasks.
        let mut set = evloop::JoinSet::new();
        for (i, mut child) in spawned.into_iter().enumerate() {
            set.spawn(async move { (i, child.wait().await.unwrap().code()) });
        }
        let mut ended = 0;
        while let Some(done) = set.join_next().await {
            let (i, code) = done.unwrap();
            assert_eq!(code, Some((i % 5) as i32));
            ended += 1;
        }
        assert_eq!(ended, 200);
        // Dropped unawaited, 20 more: the reaper takes them.
        let pids: Vec<u32> = (0..20)
            .map(|_| {
                let child = Command::new("sh")
                    .args(["-c", "read line"])
                    .stdin(Stdio::piped())
                    .spawn()
                    .unwrap();
                child.id()
            })
            .collect();
        for pid in pids {
            processes::until_reaped(pid).await;
        }
    });
    assert_eq!(children(), (0, 0), "no child left, zombie or not");
    // The runtime is gone: its epoll and eventfd with it. The reaper thread keeps
    // nothing open; the signal pipe it started stays (two descriptors, by design).
    let leaked = open_fds().saturating_sub(fds_before);
    assert!(
        leaked <= 2,
        "{leaked} descriptors more than before 200 children (the signal pipe is 2)"
    );
}
