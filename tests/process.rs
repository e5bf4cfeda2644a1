//! Child processes, their exits learned from pidfds (where the kernel has them).
//! The same tests with SIGCHLD: `tests/process_sigchld.rs`; the counts of zombies
//! and descriptors: `tests/process_counts.rs`.

#[path = "common/processes.rs"]
mod processes;

use processes::*;

#[test]
fn stdout_and_stderr_8_mib_each() {
    stdout_and_stderr_are_read_together();
}

#[test]
fn exit_codes_and_signals() {
    exit_codes_and_signals_are_reported();
}

#[test]
fn stdin_written_then_closed() {
    stdin_is_written_then_closed();
}

#[test]
fn kill_a_child_that_ignores_sigterm() {
    kill_ends_a_child_that_ignores_sigterm();
}

#[test]
fn dropped_children_are_reaped() {
    a_dropped_child_is_reaped();
}

#[test]
fn loop_ticks_while_50_children_run() {
    the_loop_ticks_while_children_run();
}

#[test]
fn missing_program_is_named() {
    a_missing_program_is_named();
}

#[test]
fn std_children_not_stolen() {
    std_children_are_not_stolen();
}

#[test]
fn exits_are_watched_through_a_pidfd() {
    within(30, "pidfd", || async {
        let mut child = evloop::process::Command::new("sleep")
            .arg("0.2")
            .spawn()
            .unwrap();
        // Other tests' children may hold pidfds too: at least ours is there.
        let kernel_has_pidfds = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|release| {
                let mut parts = release.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
                (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (5, 3)
            })
            .unwrap_or(false);
        if kernel_has_pidfds {
            assert!(open_pidfds() >= 1, "a running child is watched by a pidfd");
        }
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
#[should_panic(expected = "outside a runtime")]
fn spawn_outside_a_runtime_says_so() {
    let _ = evloop::process::Command::new("true").spawn();
}
