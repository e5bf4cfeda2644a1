//! The clock and the timers' storage: floor 1 (std only), below the runtime that
//! owns them. The public face of time — `sleep`, `timeout`, `interval` — is
//! `crate::time`, on floor 3.
//!
//! - `clock`: the runtime's clock, real or virtual.
//! - `timers`: the registered timers, fired by step 1 of the loop, and the
//!   earliest deadline step 4 sleeps until.
//! - `wheel`: where `timers` keeps them, a hierarchical timing wheel (drawn there).

pub(crate) mod clock;
pub(crate) mod timers;
mod wheel;
