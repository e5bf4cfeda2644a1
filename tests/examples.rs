//! The lessons' examples: each is run as the binary cargo built for `cargo test`,
//! and its printed observation checked with generous margins.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output};

/// A prime that keeps the CPU-bound spinner modes busy for about a second here.
const SPINNER_PRIME: &str = "999999999999999989";

/// The built example `name` (`target/<profile>/examples/<name>`).
fn example(name: &str) -> Command {
    let mut path: PathBuf = std::env::current_exe().expect("the test binary's path");
    path.pop(); // deps/
    path.pop(); // <profile>/
    path.push("examples");
    path.push(name);
    assert!(
        path.exists(),
        "{} is missing: cargo builds examples for cargo test",
        path.display()
    );
    Command::new(path)
}

/// Runs a command and returns its stdout, with `\r`-drawn frames split into lines.
fn run(command: &mut Command) -> (Output, String) {
    let output = command.output().expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout).replace('\r', "\n");
    (output, stdout)
}

/// The value after `prefix` on the line that starts with it, as f64.
fn number_after(text: &str, prefix: &str) -> f64 {
    let line = text
        .lines()
        .find_map(|line| line.trim().strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{text}"));
    let value: String = line
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    value
        .parse()
        .unwrap_or_else(|_| panic!("no number after {prefix:?} in {line:?}"))
}

/// `frames: N in S s` → (N, S).
fn frames(stdout: &str) -> (f64, f64) {
    let last = stdout.lines().last().expect("output");
    let parts: Vec<&str> = last.split_whitespace().collect();
    assert_eq!(parts[0], "frames:", "the last line is {last:?}");
    (parts[1].parse().unwrap(), parts[3].parse().unwrap())
}

#[test]
fn a_blocked_spinner_freezes_and_an_offloaded_one_turns() {
    let (out, blocked) =
        run(example("spinner").args(["--mode", "blocked", "--number", SPINNER_PRIME]));
    assert!(out.status.success());
    assert!(blocked.contains("Answer: 42"), "{blocked}");
    let (drawn, seconds) = frames(&blocked);
    assert!(
        drawn <= 2.0,
        "a blocked loop drew {drawn} frames in {seconds} s"
    );

    let (_, offload) =
        run(example("spinner").args(["--mode", "offload", "--number", SPINNER_PRIME]));
    let (drawn, seconds) = frames(&offload);
    assert!(
        drawn >= 8.0 * seconds - 1.0,
        "offload drew {drawn} frames in {seconds} s"
    );

    let (_, nap) = run(example("spinner").args(["--mode", "nap", "--number", SPINNER_PRIME]));
    let (drawn, seconds) = frames(&nap);
    assert!(
        drawn >= 8.0 * seconds - 1.0,
        "nap drew {drawn} frames in {seconds} s"
    );
}

#[test]
fn blocking_calls_on_the_pool_overlap_and_let_the_ticker_tick() {
    let (out, stdout) = run(&mut example("blocking_io"));
    assert!(out.status.success(), "{stdout}");
    let sequential = number_after(&stdout, "sequential:");
    let pool = number_after(&stdout, "pool:");
    assert!(
        pool <= 0.5 * sequential,
        "pool {pool} s vs sequential {sequential} s"
    );
    let ticks = |prefix: &str| {
        let line = stdout.lines().find(|l| l.starts_with(prefix)).unwrap();
        number_after(line.split(',').nth(1).unwrap(), "ticks:")
    };
    assert!(ticks("pool") > ticks("sequential"), "{stdout}");
}

#[test]
fn concurrent_fetches_take_the_longest_delay_not_the_sum() {
    let total = |mode: &str| {
        let (out, stdout) = run(example("fetch").args(["--mode", mode]));
        assert!(out.status.success(), "{mode}: {stdout}");
        assert_eq!(
            stdout.lines().filter(|l| l.contains(" bytes ")).count(),
            5,
            "{stdout}"
        );
        number_after(&stdout, "total:")
    };
    let (sequential, concurrent) = (total("sequential"), total("concurrent"));
    assert!(
        concurrent <= 0.6 * sequential,
        "{concurrent} vs {sequential}"
    );
    let (blocking, executor) = (total("blocking"), total("executor"));
    assert!(executor <= 0.6 * blocking, "{executor} vs {blocking}");
}

#[test]
fn fetch_reports_a_refused_url_and_completes_the_others() {
    // A one-shot HTTP server on a thread, and a port nobody listens on.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let good = format!("http://{}/hello", server.local_addr().unwrap());
    let refused = {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", closed.local_addr().unwrap())
    };
    let answering = std::thread::spawn(move || {
        let (mut stream, _) = server.accept().unwrap();
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request).unwrap();
        stream
            .write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            )
            .unwrap();
    });
    let (out, stdout) = run(example("fetch").args(["--mode", "concurrent", &good, &refused]));
    answering.join().unwrap();
    assert!(
        !out.status.success(),
        "a failed URL makes the exit status non-zero"
    );
    assert!(stdout.contains(&format!("{good}  5 bytes")), "{stdout}");
    let refused_line = stdout
        .lines()
        .find(|l| l.starts_with(&refused))
        .expect("a line for it");
    assert!(
        refused_line.contains("error:") && refused_line.contains("refused"),
        "{refused_line}"
    );
    assert!(
        stdout.lines().last().unwrap().starts_with("total: "),
        "{stdout}"
    );
}

#[test]
fn primes_prints_twenty_results_with_the_primes_marked() {
    const PRIMES: [u64; 9] = [
        2,
        142702110479723,
        299593572317531,
        3333333333333301,
        4444444444444423,
        5555555555555503,
        6666666666666719,
        7777777777777753,
        9999999999999917,
    ];
    for mode in ["threads", "pool", "loop", "processes"] {
        let (out, stdout) = run(example("primes").args(["--mode", mode, "--workers", "2"]));
        assert!(out.status.success(), "{stdout}");
        let first = stdout.lines().next().unwrap();
        let expected = match mode {
            "loop" => "Checking 20 numbers on the event loop: one thread",
            _ => "Checking 20 numbers with 2 workers (",
        };
        assert!(first.starts_with(expected), "{first:?}");
        assert!(first.ends_with("cores available):"), "{first:?}");
        let results: Vec<&str> = stdout
            .lines()
            .filter(|l| l.ends_with('s') && !l.starts_with("total"))
            .collect();
        assert_eq!(results.len(), 20, "{stdout}");
        for line in results {
            assert_eq!(
                &line[20..22],
                "  ",
                "the number is right-aligned in 20 columns: {line:?}"
            );
            let n: u64 = line[..20].trim().parse().unwrap();
            let marked = &line[22..23] == "P";
            assert_eq!(marked, PRIMES.contains(&n), "{line:?}");
        }
        assert!(stdout.lines().any(|l| l.starts_with("total: ")), "{stdout}");
        let cpu = stdout.lines().last().unwrap();
        assert!(
            cpu.starts_with("cpu: ") && cpu.contains("cores busy"),
            "{cpu:?}"
        );
    }
}

#[test]
fn echo_answers_its_clients() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = example("echo")
        .args(["server", "--addr", &addr])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for "serving on …", so the client does not race the bind.
    let mut first = [0u8; 7];
    server
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    assert_eq!(&first, b"serving");
    let (out, stdout) = run(example("echo").args([
        "client",
        "--addr",
        &addr,
        "--connections",
        "4",
        "--seconds",
        "0.5",
    ]));
    server.kill().unwrap();
    let _ = server.wait();
    assert!(out.status.success(), "{stdout}");
    assert!(number_after(&stdout, "requests/s:") > 0.0, "{stdout}");
}

#[test]
fn embed_drives_evloop_from_a_poll_loop_until_stdin_ends() {
    let mut child = example("embed")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the example runs");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"one\ntwo\n").unwrap();
    drop(stdin); // the end of stdin ends the example
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    for line in [
        "host: read \"one\"",
        "evloop: echoed \"one\"",
        "evloop: echoed \"two\"",
    ] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }
    assert!(stdout.contains("host: 2 lines echoed"), "{stdout}");
    // Piped input arrives at once: the demo still waits once on evloop's descriptor.
    let woke = stdout
        .split("for stdin, ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u32>().ok());
    assert!(woke.is_some_and(|n| n >= 1), "{stdout}");
}

#[test]
fn every_example_explains_its_lesson_with_help_even_after_a_subcommand() {
    let cases: [&[&str]; 8] = [
        &["spinner", "--help"],
        &["race", "--help"],
        &["fetch", "--help"],
        &["primes", "--help"],
        &["blocking_io", "--help"],
        &["embed", "--help"],
        &["echo", "server", "--help"],
        &["echo", "client", "--help"],
    ];
    for case in cases {
        let (out, stdout) = run(example(case[0]).args(&case[1..]));
        assert!(
            out.status.success(),
            "{case:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("What it shows:"), "{case:?}: {stdout}");
        assert!(
            stdout.contains("What to look for:") && stdout.contains("Try next:"),
            "{case:?}"
        );
        // The lesson stands alone: no path out of the repository, no notes file
        // a clone does not have (the README is the only document it may name).
        let other_documents = stdout.replace("README.md", "").contains(".md");
        assert!(!stdout.contains("../") && !other_documents, "{case:?}");
    }
}

#[test]
fn an_option_that_would_be_ignored_is_an_error() {
    let (out, _) = run(example("spinner").args(["--mode", "async", "--number", "7"]));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--number is for the CPU-bound modes"),
        "{stderr}"
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_example_quietly() {
    let mut child = example("primes")
        .args(["--mode", "threads"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 8];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take()); // as `| head -c 8` does
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_race_is_right_under_fifo_and_a_seed_that_breaks_it_breaks_it_every_time() {
    let (plain, stdout) = run(example("race").env_remove("EVLOOP_SEED"));
    assert!(
        plain.status.success(),
        "FIFO order is always right:\n{stdout}"
    );
    assert!(stdout.contains("right"), "{stdout}");

    let (explored, stdout) = run(example("race")
        .args(["--explore", "200"])
        .env_remove("EVLOOP_SEED"));
    assert!(
        !explored.status.success(),
        "200 seeds and none broke it:\n{stdout}"
    );
    let stderr = String::from_utf8_lossy(&explored.stderr);
    let line = stderr
        .lines()
        .find(|line| line.starts_with("evloop: failed with seed "))
        .unwrap_or_else(|| panic!("no replay line in:\n{stderr}"));
    let seed = line
        .split("EVLOOP_SEED=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no EVLOOP_SEED=N in {line:?}"));
    assert!(
        line.contains(&format!("failed with seed {seed};")),
        "{line}"
    );

    // With EVLOOP_SEED set, --explore runs that seed alone.
    let (alone, stdout) = run(example("race")
        .args(["--explore", "200"])
        .env("EVLOOP_SEED", seed));
    assert!(stdout.contains("explored 1 seed:"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&alone.stderr).contains(line),
        "{stdout}"
    );
    for _ in 0..20 {
        let (replayed, stdout) = run(example("race").env("EVLOOP_SEED", seed));
        assert_eq!(
            replayed.status.code(),
            Some(1),
            "seed {seed} went right:\n{stdout}"
        );
        assert!(stdout.contains("WRONG"), "{stdout}");
    }
    let (fixed, stdout) = run(example("race")
        .args(["--fixed", "--explore", "500"])
        .env_remove("EVLOOP_SEED"));
    assert!(fixed.status.success(), "a seed broke the fix:\n{stdout}");
}

#[test]
fn the_echo_server_shuts_down_gracefully_on_ctrl_c() {
    use std::io::BufRead;
    let mut server = example("echo")
        .args(["server", "--addr", "127.0.0.1:0", "--grace", "0.3"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("serving on ")
        .expect("serving on ADDR")
        .to_string();
    // Two connections: one answered and closed, one left open.
    let mut open = std::net::TcpStream::connect(&addr).unwrap();
    open.write_all(b"hi\n").unwrap();
    let mut echo = [0u8; 3];
    open.read_exact(&mut echo).unwrap(); // it is being served
    drop(std::net::TcpStream::connect(&addr).unwrap());
    // SAFETY: signalling our own child process, by its id.
    assert_eq!(unsafe { libc::kill(server.id() as i32, libc::SIGINT) }, 0);
    let said: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = server.wait().unwrap();
    assert!(status.success(), "{said:?}");
    let said = said.join("\n");
    assert!(said.contains("stopped accepting; "), "{said}");
    assert!(
        said.contains("finished, 1 cut"),
        "the open connection is cut: {said}"
    );
    let mut rest = Vec::new();
    assert_eq!(
        open.read_to_end(&mut rest).unwrap_or(0),
        0,
        "its stream ended"
    );
}
