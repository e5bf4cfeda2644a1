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
use crate::time::timers::Timers;

/// The reactor, timers and blocking pool of one runtime.
#[derive(Debug)]
pub(crate) struct Resources {
    /// Sockets and their waiting tasks.
    pub(crate) reactor: Rc<Reactor>,
    /// Timers and the clock.
    pub(crate) timers: Rc<Timers>,
    /// Threads for `spawn_blocking`.
    pub(crate) pool: BlockingPool,
}

impl Resources {
    /// Fresh resources, as the builder says.
    pub(crate) fn new(builder: &Builder) -> io::Result<Resources> {
        Ok(Resources {
            reactor: Rc::new(Reactor::new()?),
            timers: Rc::new(Timers::new(builder.virtual_time)),
            pool: BlockingPool::new(builder.max_blocking_threads, builder.blocking_keep_alive),
        })
    }
}

/// The resources of the runtime this thread drives, if any.
fn current() -> Option<Rc<Resources>> {
    context::current(|driving| &driving.resources)
}

/// The time on the current runtime's clock, if this thread drives one.
pub(crate) fn current_now() -> Option<Instant> {
    current().map(|r| r.timers.clock().now())
}

/// The current runtime's timers, if this thread drives one.
pub(crate) fn current_timers() -> Option<Rc<Timers>> {
    current().map(|r| r.timers.clone())
}

/// The current runtime's blocking pool, if this thread drives one.
pub(crate) fn current_pool() -> Option<BlockingPool> {
    current().map(|r| r.pool.clone())
}

/// The current runtime's reactor, if this thread drives one.
pub(crate) fn current_reactor() -> Option<Rc<Reactor>> {
    current().map(|r| r.reactor.clone())
}
