//! The child-process tests of `tests/process.rs` again, with exits learned from
//! SIGCHLD (`EVLOOP_CHILD_WAIT=signal`, the fallback of kernels without pidfds).

#[path = "common/processes.rs"]
mod processes;

use processes::*;

/// Switches this test binary to SIGCHLD before its first child (the variable is
/// read once, at the first spawn).
fn sigchld() {
    static SET: std::sync::Once = std::sync::Once::new();
    SET.call_once(|| std::env::set_var("EVLOOP_CHILD_WAIT", "signal"));
}

#[test]
fn stdout_and_stderr_8_mib_each() {
    sigchld();
    stdout_and_stderr_are_read_together();
}

#[test]
fn exit_codes_and_signals() {
    sigchld();
    exit_codes_and_signals_are_reported();
}

#[test]
fn kill_a_child_that_ignores_sigterm() {
    sigchld();
    kill_ends_a_child_that_ignores_sigterm();
}

#[test]
fn dropped_children_are_reaped() {
    sigchld();
    a_dropped_child_is_reaped();
}

#[test]
fn loop_ticks_while_50_children_run() {
    sigchld();
    the_loop_ticks_while_children_run();
}

#[test]
fn std_children_not_stolen() {
    sigchld();
    std_children_are_not_stolen();
}

#[test]
fn no_pidfd_is_opened() {
    sigchld();
    within(30, "no pidfd", || async {
        let mut child = evloop::process::Command::new("sleep")
            .arg("0.2")
            .spawn()
            .unwrap();
        assert_eq!(open_pidfds(), 0, "EVLOOP_CHILD_WAIT=signal: SIGCHLD only");
        assert!(child.wait().await.unwrap().success());
    });
}
