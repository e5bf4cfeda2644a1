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

/// CPU time this thread has used (`CLOCK_THREAD_CPUTIME_ID`, nanosecond-exact
/// where getrusage counts scheduler ticks): the runtimes here all run their timers
/// on the calling thread.
fn thread_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to one timespec, which clock_gettime fills in.
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) },
        0
    );
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// `n` deadlines spread at random over `n` µs from now (a fixed sequence).
fn dense_deadlines(n: u64) -> Vec<Duration> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n).map(|_| Duration::from_micros(next() % n)).collect()
}

/// Runs `work` once; (wall, CPU) per timer, in ns.
fn per_timer(timers: u64, work: &mut dyn FnMut()) -> (f64, f64) {
    let (start, cpu) = (Instant::now(), thread_cpu());
    work();
    let per = |d: Duration| d.as_nanos() as f64 / timers as f64;
    (per(start.elapsed()), per(thread_cpu() - cpu))
}

/// The median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// How late each of evloop's dense timers woke, in a run of its own: the timed
/// rounds do only what every peer does (spawn a sleep, join it).
fn dense_lateness(ev: &evloop::Runtime, deadlines: &[Duration]) -> Vec<Duration> {
    ev.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = deadlines
            .iter()
            .map(|&d| {
                evloop::spawn(async move {
                    evloop::time::sleep_until(start + d).await;
                    Instant::now() - (start + d)
                })
            })
            .collect();
        let mut late = Vec::with_capacity(handles.len());
        for handle in handles {
            late.push(handle.await.unwrap());
        }
        late
    })
}

/// Dense timers: n tasks sleeping until deadlines spread at random over n µs —
/// CPU time per timer beside wall time, evloop and each peer with timers. The
/// runtimes take turns, round after round, so each round's ratio to evloop is
/// measured under the same load; the medians of 9 rounds are printed, with the
/// range of evloop's CPU ratio to tokio's, and how late evloop's timers woke.
fn dense_timers() {
    const ROUNDS: usize = 9;
    for n in [1_000u64, 10_000, 100_000] {
        let deadlines = dense_deadlines(n);
        let ev = common::evloop();
        let mut evloop = || {
            ev.block_on(async {
                let handles: Vec<_> = deadlines
                    .iter()
                    .map(|&d| evloop::spawn(evloop::time::sleep(d)))
                    .collect();
                for handle in handles {
                    handle.await.unwrap();
                }
            })
        };
        let tk = common::tokio();
        let mut tokio = || {
            tk.block_on(async {
                let handles: Vec<_> = deadlines
                    .iter()
                    .map(|&d| tokio::spawn(tokio::time::sleep(d)))
                    .collect();
                for handle in handles {
                    handle.await.unwrap();
                }
            })
        };
        let ex = common::smol();
        let mut smol = || {
            common::smol_block_on(&ex, async {
                let handles: Vec<_> = deadlines
                    .iter()
                    .map(|&d| ex.spawn(async move { async_io::Timer::after(d).await }))
                    .collect();
                for handle in handles {
                    handle.await;
                }
            })
        };
        let mut mo = common::monoio_with_timers();
        let mut monoio = || {
            mo.block_on(async {
                let handles: Vec<_> = deadlines
                    .iter()
                    .map(|&d| monoio::spawn(monoio::time::sleep(d)))
                    .collect();
                for handle in handles {
                    handle.await;
                }
            })
        };
        let mut peers: [(&str, &mut dyn FnMut()); 4] = [
            ("evloop", &mut evloop),
            ("tokio", &mut tokio),
            ("smol", &mut smol),
            ("monoio", &mut monoio),
        ];
        let rounds: Vec<Vec<(f64, f64)>> = (0..ROUNDS)
            .map(|_| {
                peers
                    .iter_mut()
                    .map(|(_, work)| per_timer(n, *work))
                    .collect()
            })
            .collect();
        for (i, (name, _)) in peers.iter().enumerate() {
            let cpu = median(rounds.iter().map(|r| r[i].1).collect());
            let wall = median(rounds.iter().map(|r| r[i].0).collect());
            println!("dense_timers/{n}/{name}: {cpu:.0} ns CPU, {wall:.0} ns wall per timer (median of {ROUNDS})");
        }
        let mut ratios: Vec<f64> = rounds.iter().map(|r| r[0].1 / r[1].1).collect();
        ratios.sort_by(f64::total_cmp);
        drop(peers);
        let (p50, p99) = median_and_p99(dense_lateness(&ev, &deadlines));
        println!(
            "dense_timers/{n}: evloop ÷ tokio CPU median {:.2} (rounds {:.2}–{:.2}); evloop lateness median {p50:.0} µs, p99 {p99:.0} µs",
            median(ratios.clone()),
            ratios[0],
            ratios[ROUNDS - 1]
        );
    }
}

/// Timers armed per chunk before the task yields: both runtimes count timer polls
/// against a cooperative budget (128 a poll), so a long run of arms yields now and
/// then, outside the timed part.
const ARM_CHUNK: usize = 64;

/// Arming and cancelling one timer among `n` live ones (deadlines uniform over
/// 10 s, from 1 s on; cancelled in random order), in ns per timer: evloop's wheel beside
/// tokio's. Each sleep is boxed before the clock starts; arming is its first
/// poll, cancelling is dropping it (the box's free included, for both).
fn timer_ops() {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};
    const ROUNDS: usize = 5;
    for n in [64usize, 4_096, 65_536, 1_000_000] {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let offsets: Vec<Duration> = (0..n)
            // 1 s at least: none falls due while the others are being armed.
            .map(|_| Duration::from_nanos(1_000_000_000 + random() % 10_000_000_000))
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, (random() % (i as u64 + 1)) as usize);
        }
        /// Arms every sleep (a first poll each), then drops them in `order`;
        /// returns the two times per timer in ns.
        async fn arm_and_cancel<S: Future>(
            mut sleeps: Vec<Pin<Box<S>>>,
            order: &[usize],
            yield_now: impl Fn() -> Pin<Box<dyn Future<Output = ()>>>,
        ) -> (f64, f64) {
            let n = sleeps.len();
            let mut cx = Context::from_waker(Waker::noop());
            let mut arming = Duration::ZERO;
            for chunk in sleeps.chunks_mut(ARM_CHUNK) {
                let start = Instant::now();
                for sleep in chunk {
                    assert!(matches!(sleep.as_mut().poll(&mut cx), Poll::Pending));
                }
                arming += start.elapsed();
                yield_now().await;
            }
            let mut sleeps: Vec<Option<Pin<Box<S>>>> = sleeps.into_iter().map(Some).collect();
            let start = Instant::now();
            for &i in order {
                drop(sleeps[i].take());
            }
            let cancelling = start.elapsed();
            (
                arming.as_nanos() as f64 / n as f64,
                cancelling.as_nanos() as f64 / n as f64,
            )
        }
        let ev = common::evloop();
        let tk = common::tokio();
        let mut results: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..ROUNDS {
            results[0].push(ev.block_on(async {
                let now = evloop::time::now();
                let sleeps = offsets
                    .iter()
                    .map(|&d| Box::pin(evloop::time::sleep_until(now + d)))
                    .collect();
                arm_and_cancel(sleeps, &order, || Box::pin(evloop::yield_now())).await
            }));
            results[1].push(tk.block_on(async {
                let now = tokio::time::Instant::now();
                let sleeps = offsets
                    .iter()
                    .map(|&d| Box::pin(tokio::time::sleep_until(now + d)))
                    .collect();
                arm_and_cancel(sleeps, &order, || Box::pin(tokio::task::yield_now())).await
            }));
        }
        let arm: Vec<f64> = results
            .iter()
            .map(|r| median(r.iter().map(|x| x.0).collect()))
            .collect();
        let cancel: Vec<f64> = results
            .iter()
            .map(|r| median(r.iter().map(|x| x.1).collect()))
            .collect();
        println!(
            "timer_ops/{n}: arm evloop {:.1} ns, tokio {:.1} ns ({:.2}×); cancel evloop {:.1} ns, tokio {:.1} ns ({:.2}×) (medians of {ROUNDS})",
            arm[0], arm[1], arm[0] / arm[1], cancel[0], cancel[1], cancel[0] / cancel[1]
        );
    }
}

/// The "read timeout" workload: 10⁵ tasks, each putting a 1 s timeout around a
/// future that is ready already (a read that finds its bytes waiting), ten rounds
/// each, on evloop and tokio; the time per round, medians of 5.
fn read_timeouts() {
    const TASKS: usize = 100_000;
    const ROUNDS_EACH: usize = 10;
    let ev = common::evloop();
    let tk = common::tokio();
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..5 {
        let start = Instant::now();
        ev.block_on(async {
            let handles: Vec<_> = (0..TASKS)
                .map(|i| {
                    evloop::spawn(async move {
                        for _ in 0..ROUNDS_EACH {
                            let read = evloop::time::timeout(Duration::from_secs(1), async { i });
                            assert_eq!(read.await, Ok(i));
                        }
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
        });
        times[0].push(start.elapsed().as_secs_f64() * 1e3);
        let start = Instant::now();
        tk.block_on(async {
            let handles: Vec<_> = (0..TASKS)
                .map(|i| {
                    tokio::spawn(async move {
                        for _ in 0..ROUNDS_EACH {
                            let read = tokio::time::timeout(Duration::from_secs(1), async { i });
                            assert_eq!(read.await.unwrap(), i);
                        }
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
        });
        times[1].push(start.elapsed().as_secs_f64() * 1e3);
    }
    let (ev, tk) = (median(times[0].clone()), median(times[1].clone()));
    println!(
        "read_timeouts/{TASKS} tasks × {ROUNDS_EACH}: evloop {ev:.1} ms, tokio {tk:.1} ms ({:.2}×, medians of 5)",
        ev / tk
    );
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = timeout_ready, sleep_create_drop, timers_fire
}

fn main() {
    if std::env::args().any(|arg| arg == "timer_ops") {
        timer_ops(); // `cargo bench --bench time -- timer_ops`: only these two
        return read_timeouts();
    }
    timer_ops();
    read_timeouts();
    timer_lateness();
    dense_timers();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
