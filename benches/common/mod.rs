//! What every bench file shares: the runtimes, built as the README states, and a
//! criterion configuration short enough for a 2-core machine.
//!
//! The peers: tokio's current-thread runtime; smol (`async-executor`'s
//! `LocalExecutor`, driven by `async-io`'s `block_on`, its reactor); monoio on its
//! epoll driver (`LegacyDriver`: io_uring is not what evloop races); and the
//! `futures` crate's `LocalPool`, an executor with no reactor at all.

#![allow(dead_code)] // each bench file uses part of this

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use criterion::Criterion;

pub mod tasks;

/// evloop with its defaults (`event_interval` 61, `min(32, cores + 4)` blocking threads).
pub fn evloop() -> evloop::Runtime {
    evloop::Runtime::new().unwrap()
}

/// tokio's current-thread runtime with every driver on.
pub fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// smol: a `LocalExecutor`; run it with [`smol_block_on`].
pub fn smol() -> async_executor::LocalExecutor<'static> {
    async_executor::LocalExecutor::new()
}

/// Runs `future` on `executor`, driving async-io's reactor meanwhile.
pub fn smol_block_on<T>(
    executor: &async_executor::LocalExecutor<'static>,
    future: impl Future<Output = T>,
) -> T {
    async_io::block_on(executor.run(future))
}

/// monoio on its epoll driver.
pub fn monoio() -> monoio::Runtime<monoio::LegacyDriver> {
    monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
        .build()
        .unwrap()
}

/// monoio on its epoll driver, with timers.
pub fn monoio_with_timers() -> monoio::Runtime<monoio::time::TimeDriver<monoio::LegacyDriver>> {
    monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
        .enable_timer()
        .build()
        .unwrap()
}

/// The `futures` crate's single-threaded pool.
pub fn local_pool() -> futures_executor::LocalPool {
    futures_executor::LocalPool::new()
}

/// Yields once: for the peers without a `yield_now` of their own (monoio,
/// `LocalPool`). The same shape as evloop's.
pub struct YieldNow(bool);

/// A future that returns `Pending` once, waking itself.
pub fn yield_now() -> YieldNow {
    YieldNow(false)
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// 20 samples, 2 s each after a short warm-up: ratios are stable at this size.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}
