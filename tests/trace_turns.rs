//! `EVLOOP_TRACE=turns`: a line per turn, its steps in order; idle turns folded.
//! Run through a child process: the variable would narrate every test here.

use std::time::Duration;

/// The child's program: a task that sleeps three times, then 1,000 idle turns.
fn program() {
    let rt = evloop::Builder::new().virtual_time(true).build().unwrap();
    rt.block_on(async {
        let napper = evloop::task::Builder::new().name("napper").spawn(async {
            for _ in 0..3 {
                evloop::time::sleep(Duration::from_millis(100)).await;
            }
        });
        napper.await.unwrap();
    });
    rt.turn(Some(Duration::ZERO)); // tells block_on's last poll
    for _ in 0..1000 {
        rt.turn(Some(Duration::ZERO));
    }
}

#[test]
fn each_turn_is_told_in_one_line_and_idle_turns_fold() {
    if std::env::var("EVLOOP_TURNS_CHILD").is_ok() {
        return program();
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "each_turn_is_told_in_one_line_and_idle_turns_fold",
            "--exact",
            "--nocapture",
        ])
        .env("EVLOOP_TURNS_CHILD", "1")
        .env("EVLOOP_TRACE", "turns")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let turns: Vec<&str> = stderr.lines().filter(|l| l.starts_with("turn")).collect();
    let timer_turns: Vec<_> = turns
        .iter()
        .filter(|l| l.contains("timers fired 1 (napper)"))
        .collect();
    assert_eq!(timer_turns.len(), 3, "{stderr}");
    for line in &timer_turns {
        assert!(
            line.contains("polled napper (pending") || line.contains("polled napper (ready"),
            "{line}"
        );
        let steps = ["timers fired", "remote wakes", "polled", "reactor:"];
        let at: Vec<usize> = steps.iter().map(|s| line.find(s).unwrap()).collect();
        assert!(
            at.windows(2).all(|w| w[0] < w[1]),
            "steps out of order: {line}"
        );
    }
    let idle: Vec<_> = turns.iter().filter(|l| l.contains("idle ×")).collect();
    assert_eq!(idle.len(), 1, "one folded line: {stderr}");
    assert!(idle[0].contains("idle ×1000"), "{}", idle[0]);
}
