//! A fixed-count harness for instruction counts: runs one of evloop's task
//! workloads a given number of times, FIFO, seeded or traced, and nothing else — so that
//! `valgrind --tool=callgrind` counts the same work on every run (criterion's
//! iteration counts vary with wall time).
//!
//! ```text
//! cargo bench --bench fixed_count --no-run
//! valgrind --tool=callgrind target/release/deps/fixed_count-* yield_many 20 [seed]
//! ```

mod common;

use common::tasks::{
    ping_pong_evloop, request_reply_evloop, spawn_and_join_evloop, yield_many_evloop, TASKS,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: fixed_count spawn_many_local|yield_many|ping_pong|request_reply ITERATIONS [SEED | trace]";
    let (Some(workload), Some(iterations)) = (args.first(), args.get(1)) else {
        // `cargo bench` runs every bench binary with `--bench`: nothing to count.
        return eprintln!("{usage}");
    };
    let iterations: usize = iterations.parse().expect(usage);
    let builder = evloop::Builder::new();
    let builder = match args.get(2).map(String::as_str) {
        Some("trace") => builder.trace(true),
        Some(seed) => builder.seed(seed.parse().expect(usage)),
        None => builder,
    };
    let rt = builder.build().unwrap();
    for _ in 0..iterations {
        match workload.as_str() {
            "spawn_many_local" => rt.block_on(spawn_and_join_evloop(TASKS)),
            "yield_many" => rt.block_on(yield_many_evloop()),
            "ping_pong" => rt.block_on(ping_pong_evloop()),
            "request_reply" => rt.block_on(request_reply_evloop(1_000)),
            _ => panic!("{usage}"),
        }
    }
}
