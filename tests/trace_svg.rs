//! The trace as an SVG picture: well-formed, a bar per poll, the tasks' names, and
//! small even for a million polls.

use std::time::Duration;

/// Checks that `svg` is well-formed XML as far as its tags go — every element
/// closed in order, attribute quotes balanced — and returns its start tags.
fn tags(svg: &str) -> Vec<String> {
    let mut open: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = svg;
    while let Some(at) = rest.find('<') {
        let end = rest[at..].find('>').expect("an unclosed tag") + at;
        let tag = &rest[at + 1..end];
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                open.pop().as_deref(),
                Some(name),
                "</{name}> closes the wrong element"
            );
        } else {
            let name = tag
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_string();
            if !tag.ends_with('/') {
                open.push(name.clone());
            }
            seen.push(name);
        }
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    seen
}

#[test]
fn a_short_program_draws_a_bar_per_poll_and_names_its_tasks() {
    let rt = evloop::Builder::new()
        .trace(true)
        .virtual_time(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let a = evloop::task::Builder::new().name("alpha").spawn(async {
            for _ in 0..3 {
                evloop::time::sleep(Duration::from_millis(5)).await;
            }
        });
        let b = evloop::task::Builder::new()
            .name("beta")
            .spawn(evloop::yield_now());
        a.await.unwrap();
        b.await.unwrap();
    });
    let timeline = rt.timeline();
    let mut svg = Vec::new();
    timeline.write_svg(&mut svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    let tags = tags(&svg);
    let spans = timeline
        .events()
        .iter()
        .filter(|e| {
            matches!(
                e,
                evloop::trace::Event::Polled { .. }
                    | evloop::trace::Event::Slept { .. }
                    | evloop::trace::Event::Job { .. }
            )
        })
        .count();
    // One background rect, then one per poll, wait and job.
    assert_eq!(
        tags.iter().filter(|t| *t == "rect").count(),
        spans + 1,
        "{svg}"
    );
    assert!(
        svg.contains(">alpha</text>") && svg.contains(">beta</text>"),
        "{svg}"
    );
    assert!(svg.contains(" ms</text>"), "a time axis with units: {svg}");
}

#[test]
fn a_million_polls_make_a_picture_under_two_megabytes() {
    let rt = evloop::Builder::new().trace(true).build().unwrap();
    rt.block_on(async {
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                evloop::spawn(async {
                    for _ in 0..100_000 {
                        evloop::yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let mut svg = Vec::new();
    rt.timeline().write_svg(&mut svg).unwrap();
    assert!(svg.len() < 2 << 20, "{} bytes", svg.len());
    tags(std::str::from_utf8(&svg).unwrap());
}
