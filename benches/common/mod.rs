//! What every bench file shares: the two runtimes, built as the README states,
//! and a criterion configuration short enough for a 2-core machine.

#![allow(dead_code)] // each bench file uses part of this

use std::time::Duration;

use criterion::Criterion;

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

/// 20 samples, 2 s each after a short warm-up: ratios are stable at this size.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}
