//! Time: timeouts, sleeps, timers firing, and how late a timer fires.
//!
//! `timer_lateness` is not a criterion measurement: it prints the median and p99
//! of (wake time − deadline) for 1 ms sleeps on an idle loop, for both runtimes.

use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};

mod common;

/// Operations per iteration.
const OPS: usize = 1_000;

fn timeout_ready(c: &mut Criterion) {
    let mut group = c.benchmark_group("timeout_ready");
    let rt = common::evloop();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                for i in 0..OPS {
                    let value = evloop::time::timeout(Duration::from_secs(1), async { i });
                    assert_eq!(value.await, Ok(i));
                }
            })
        })
    });
    let rt = common::tokio();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                for i in 0..OPS {
                    let value = tokio::time::timeout(Duration::from_secs(1), async { i });
                    assert_eq!(value.await, Ok(i));
                }
            })
        })
    });
}

fn sleep_create_drop(c: &mut Criterion) {
    let mut group = c.benchmark_group("sleep_create_drop");
    let rt = common::evloop();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..OPS {
                    drop(std::hint::black_box(evloop::time::sleep(
                        Duration::from_secs(1),
                    )));
                }
            })
        })
    });
    let rt = common::tokio();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..OPS {
                    drop(std::hint::black_box(tokio::time::sleep(
                        Duration::from_secs(1),
                    )));
                }
            })
        })
    });
}

fn timers_fire(c: &mut Criterion) {
    const TASKS: u64 = 10_000;
    let mut group = c.benchmark_group("timers_fire");
    let rt = common::evloop();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..TASKS)
                    .map(|i| evloop::spawn(evloop::time::sleep(Duration::from_micros(i % 1000))))
                    .collect();
                for handle in handles {
                    handle.await.unwrap();
                }
            })
        })
    });
    let rt = common::tokio();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..TASKS)
                    .map(|i| tokio::spawn(tokio::time::sleep(Duration::from_micros(i % 1000))))
                    .collect();
                for handle in handles {
                    handle.await.unwrap();
                }
            })
        })
    });
}

/// Median and 99th percentile of `samples`, in microseconds.
fn median_and_p99(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

/// How late 1 ms sleeps wake on an idle loop: (wake time − deadline).
fn timer_lateness() {
    const SAMPLES: usize = 500;
    let rt = common::evloop();
    let evloop = rt.block_on(async {
        let mut late = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let deadline = Instant::now() + Duration::from_millis(1);
            evloop::time::sleep_until(deadline).await;
            late.push(Instant::now() - deadline);
        }
        late
    });
    let rt = common::tokio();
    let tokio = rt.block_on(async {
        let mut late = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let deadline = Instant::now() + Duration::from_millis(1);
            tokio::time::sleep_until(deadline.into()).await;
            late.push(Instant::now() - deadline);
        }
        late
    });
    for (name, samples) in [("evloop", evloop), ("tokio", tokio)] {
        let (median, p99) = median_and_p99(samples);
        println!("timer_lateness/{name}: median {median:.1} µs, p99 {p99:.1} µs ({SAMPLES} sleeps of 1 ms)");
    }
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = timeout_ready, sleep_create_drop, timers_fire
}

fn main() {
    timer_lateness();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
