//! What every example shares: one line of setup, kept out of the lessons' way.

/// Makes a closed stdout end the program quietly. Rust ignores `SIGPIPE`, so when
/// the reader of a pipe goes away (`cargo run --example primes | head -1`), the
/// next `println!` panics with "failed printing to stdout: Broken pipe"; a
/// command-line tool should just stop, as `cat` does.
pub fn quit_quietly_when_stdout_closes() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |panic| {
        let message = panic
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        report(panic);
    }));
}

/// For an example that takes no options: `--help` prints its lesson and `usage`
/// and ends the program; any other argument is an error, said with the lesson.
#[allow(dead_code)] // the examples that take options parse their own
pub fn no_options(name: &str, source: &str, usage: &str) {
    let Some(arg) = std::env::args().nth(1) else {
        return;
    };
    let lesson = lesson(source);
    if arg != "-h" && arg != "--help" {
        eprintln!("{name}: unknown argument {arg:?} (it takes none)\n\n{lesson}");
        std::process::exit(2);
    }
    println!("{lesson}\n\nusage: {usage}");
    std::process::exit(0);
}

/// The lesson an example teaches — the `//!` lines its source opens with — for
/// its `--help`, so the text lives in one place: `lesson(include_str!("spinner.rs"))`.
pub fn lesson(source: &str) -> String {
    let lines = source.lines().map_while(|line| line.strip_prefix("//!"));
    let lines: Vec<&str> = lines
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect();
    lines.join("\n")
}
