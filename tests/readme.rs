//! The README's pictures and charts are made by evloop's own code, by one command:
//!
//! ```text
//! cargo test --release --test readme -- --ignored
//! ```
//!
//! It runs the lessons' examples with `EVLOOP_TRACE=timeline,svg:docs/….svg`,
//! writes the SVGs into `docs/`, and puts each ASCII chart into the README between
//! its `<!-- chart: NAME -->` and `<!-- end chart -->` lines, so that neither can
//! drift from the code. The test that is not ignored checks what that command
//! made: every picture the README shows exists and is an SVG, and every chart
//! block is there.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Each chart: its name in the README and `docs/`, the example, its arguments.
const CHARTS: [(&str, &str, &[&str]); 4] = [
    (
        "spinner-blocked",
        "spinner",
        &["--mode", "blocked", "--number", PRIME],
    ),
    (
        "spinner-nap",
        "spinner",
        &["--mode", "nap", "--number", PRIME],
    ),
    ("fetch-sequential", "fetch", &["--mode", "sequential"]),
    ("fetch-concurrent", "fetch", &["--mode", "concurrent"]),
];

/// A prime the spinner checks in well under a second.
const PRIME: &str = "1000000000000000003";

/// The repository's root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built example `name`.
fn example(name: &str) -> Command {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    path.pop();
    path.push("examples");
    path.push(name);
    assert!(
        path.exists(),
        "{} is missing: cargo test builds the examples",
        path.display()
    );
    Command::new(path)
}

/// The chart an example printed to stderr (from its "evloop timeline" line on).
fn chart(stderr: &str) -> String {
    let start = stderr
        .find("evloop timeline")
        .unwrap_or_else(|| panic!("no chart in:\n{stderr}"));
    let chart: Vec<&str> = stderr[start..]
        .lines()
        .take_while(|line| line.starts_with("evloop timeline") || line.contains(" |"))
        .collect();
    chart.join("\n")
}

/// `readme` with the block after `<!-- chart: name -->` replaced by `chart`.
fn with_chart(readme: &str, name: &str, chart: &str) -> String {
    let open = format!("<!-- chart: {name} -->\n");
    let start = readme
        .find(&open)
        .unwrap_or_else(|| panic!("no {open:?} in the README"))
        + open.len();
    let end = start
        + readme[start..]
            .find("<!-- end chart -->")
            .expect("an end marker");
    format!(
        "{}```text\n{chart}\n```\n{}",
        &readme[..start],
        &readme[end..]
    )
}

#[test]
#[ignore = "regenerates docs/ and the README's charts: cargo test --release --test readme -- --ignored"]
fn regenerate_the_readme_pictures() {
    let readme_path = root().join("README.md");
    let mut readme = std::fs::read_to_string(&readme_path).unwrap();
    std::fs::create_dir_all(root().join("docs")).unwrap();
    for (name, program, args) in CHARTS {
        let svg = root().join("docs").join(format!("{name}.svg"));
        let out = example(program)
            .args(args)
            .env("EVLOOP_TRACE", format!("timeline,svg:{}", svg.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{program} {args:?} failed");
        readme = with_chart(&readme, name, &chart(&String::from_utf8_lossy(&out.stderr)));
    }
    // A few turns of the napping spinner, around a frame's timer.
    let out = example("spinner")
        .args(["--mode", "nap", "--number", PRIME])
        .env("EVLOOP_TRACE", "turns")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("turn")).collect();
    let frames: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains("timers fired 1 (spinner)"))
        .collect();
    let at = *frames.get(1).expect("two frames' timers");
    readme = with_chart(&readme, "turns", &lines[at - 1..=at + 1].join("\n"));
    std::fs::write(&readme_path, readme).unwrap();
}

#[test]
fn the_readme_shows_the_pictures_and_charts_that_command_makes() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for (name, _, _) in CHARTS {
        let svg: &Path = &root().join("docs").join(format!("{name}.svg"));
        let picture = std::fs::read_to_string(svg).unwrap_or_else(|_| {
            panic!(
                "{} is missing: run the command in tests/readme.rs",
                svg.display()
            )
        });
        assert!(picture.starts_with("<svg") && picture.trim_end().ends_with("</svg>"));
        assert!(
            readme.contains(&format!("docs/{name}.svg")),
            "the README does not show {name}"
        );
        let open = format!("<!-- chart: {name} -->\n```text\nevloop timeline");
        assert!(readme.contains(&open), "no chart block for {name}");
    }
    assert!(
        readme.contains("<!-- chart: turns -->\n```text\nturn "),
        "no turns block"
    );
}
