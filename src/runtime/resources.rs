//! The resources a runtime lends the futures running on it — the reactor, the
//! timers and clock, the blocking pool — and how those futures find them.
//!
//! Floor 2. A future finds them through the record `context` keeps of the runtime
//! this thread drives: `evloop::time::sleep` asks for the timers, a socket for the
//! reactor, `spawn_blocking` for the pool.

use std::io;
use std::rc::Rc;
use std::time::Instant;

use super::Builder;
use crate::blocking::BlockingPool;
use crate::context;
use crate::reactor::Reactor;
use crate::replay::Replay;
use crate::timer::timers::Timers;
use crate::trace::record::{Observers, Recorder};
use crate::trace::watch::Watch;

/// The reactor, timers and blocking pool of one runtime.
#[derive(Debug)]
pub(crate) struct Resources {
    /// Sockets and their waiting tasks.
    pub(crate) reactor: Rc<Reactor>,
    /// Timers and the clock.
    pub(crate) timers: Rc<Timers>,
    /// Threads for `spawn_blocking`.
    pub(crate) pool: BlockingPool,
    /// What watches the loop, if anything does (`trace`): each part above records
    /// its own doings in it.
    pub(crate) observers: Option<Rc<Observers>>,
}

impl Resources {
    /// Fresh resources, as the builder says.
    pub(crate) fn new(builder: &Builder) -> io::Result<Resources> {
        let reactor = Rc::new(Reactor::new()?);
        let timers = Rc::new(Timers::new(builder.virtual_time, builder.seed));
        let observers = observers(builder, &timers, &reactor)?;
        Ok(Resources {
            reactor,
            timers,
            pool: BlockingPool::new(builder.max_blocking_threads, builder.blocking_keep_alive),
            observers,
        })
    }

    /// The recording, if tracing is on.
    pub(crate) fn recorder(&self) -> Option<&Rc<Recorder>> {
        self.observers.as_ref()?.recorder.as_ref()
    }
}

/// The recording, the alarm and the schedule's record, as the builder asks for
/// them, told to the timers and the reactor; `None` if none is on.
fn observers(
    builder: &Builder,
    timers: &Rc<Timers>,
    reactor: &Reactor,
) -> io::Result<Option<Rc<Observers>>> {
    let mut observers = Observers::default();
    if builder.tracing.on {
        let clock = Rc::downgrade(timers);
        let now = move || {
            clock
                .upgrade()
                .map_or_else(Instant::now, |t| t.clock().now())
        };
        let recorder = Rc::new(Recorder::new(
            Box::new(now),
            builder.virtual_time,
            builder.tracing.print_wakes,
        ));
        timers.observe(recorder.clone());
        reactor.observe(recorder.clone());
        observers.recorder = Some(recorder);
    }
    if let Some(threshold) = builder.slow_poll_threshold {
        let sink = builder.slow_poll_sink.clone();
        // On a line of its own: a spinner may have left its frame unended.
        let sink = sink.unwrap_or_else(|| std::sync::Arc::new(|poll| eprintln!("\n{poll}")));
        observers.watch = Some(Watch::start(threshold, sink)?);
    }
    observers.replay = builder.seed.map(|seed| Rc::new(Replay::new(seed)));
    let watched =
        observers.recorder.is_some() || observers.watch.is_some() || observers.replay.is_some();
    Ok(watched.then(|| Rc::new(observers)))
}

/// The resources of the runtime this thread drives, if any.
fn current() -> Option<Rc<Resources>> {
    context::current(|driving| &driving.resources)
}

/// The time on the current runtime's clock, if this thread drives one. (No
/// reference is taken: every `sleep` asks.)
pub(crate) fn current_now() -> Option<Instant> {
    context::with_current(
        |driving| &driving.resources,
        |r: &Resources| r.timers.clock().now(),
    )
}

/// The current runtime's timers, if this thread drives one.
pub(crate) fn current_timers() -> Option<Rc<Timers>> {
    current().map(|r| r.timers.clone())
}

/// The current runtime's blocking pool, if this thread drives one.
pub(crate) fn current_pool() -> Option<BlockingPool> {
    current().map(|r| r.pool.clone())
}

/// The current runtime's recording, if this thread drives one that traces.
pub(crate) fn current_recorder() -> Option<Rc<Recorder>> {
    current()?.recorder().cloned()
}

/// The current runtime's reactor, if this thread drives one.
pub(crate) fn current_reactor() -> Option<Rc<Reactor>> {
    current().map(|r| r.reactor.clone())
}
