//! Task-local values: [`task_local!`](crate::task_local) and [`LocalKey`] — a value
//! a task's code can read anywhere below it, without passing it down every call
//! (a request id for every log line): tokio's `task_local!`, Python's
//! `contextvars`.
//!
//! Floor 1. A value lives in a [`LocalKey::scope`] future, not in the task: each
//! time the scoped future is polled, the value is moved into a thread-local slot
//! for the poll and back out after it. So it is seen across the future's `.await`s
//! and by nothing else — another task's polls find the slot empty (or holding its
//! own value), and a task spawned from inside the scope does not inherit it unless
//! it is scoped again. Unused, it costs nothing; used, two swaps of a thread-local
//! cell per poll of the scoped future, and one allocation per `scope` (the future
//! is boxed, to be polled without `unsafe` pin projection).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Declares task-local values: `static NAME: T;`, one or more. Each is a
/// [`LocalKey`]: set it for a future with [`scope`](LocalKey::scope), read it
/// inside with [`with`](LocalKey::with) or [`get`](LocalKey::get).
///
/// ```
/// evloop::task_local! {
///     static REQUEST_ID: u64;
/// }
///
/// fn log(what: &str) -> String {
///     format!("[request {}] {what}", REQUEST_ID.get())
/// }
///
/// evloop::run(async {
///     let line = REQUEST_ID
///         .scope(42, async {
///             evloop::yield_now().await; // still set after an .await
///             log("served")
///         })
///         .await;
///     assert_eq!(line, "[request 42] served");
///     assert!(REQUEST_ID.try_with(|_| ()).is_err(), "not set outside its scope");
/// });
/// ```
#[macro_export]
macro_rules! task_local {
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static SLOT: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task::LocalKey::new(&SLOT, ::std::stringify!($name))
        };
        $crate::task_local!($($rest)*);
    };
    () => {};
}

/// A task-local value's key, made by [`task_local!`](crate::task_local).
pub struct LocalKey<T: 'static> {
    /// This thread's slot for the value while a scoped future is polled.
    slot: &'static std::thread::LocalKey<RefCell<Option<T>>>,
    /// The name it was declared with, for the panic outside a scope.
    name: &'static str,
}

/// A task-local value was read outside any scope that set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessError {
    /// The key's name.
    name: &'static str,
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "task-local {} read outside its scope: set it with {}.scope(value, future) \
             and read it inside that future (a spawned task does not inherit it)",
            self.name, self.name
        )
    }
}

impl std::error::Error for AccessError {}

impl<T: 'static> LocalKey<T> {
    /// The key over `slot`; [`task_local!`](crate::task_local) calls it.
    #[doc(hidden)]
    pub const fn new(
        slot: &'static std::thread::LocalKey<RefCell<Option<T>>>,
        name: &'static str,
    ) -> LocalKey<T> {
        LocalKey { slot, name }
    }

    /// Runs `future` with this key set to `value`: inside it (across its
    /// `.await`s, and scopes nested in it that set the key again), `with` and
    /// `get` see `value`.
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> Scope<T, F> {
        Scope {
            key: self,
            value: Some(value),
            future: Box::pin(future),
        }
    }

    /// Runs `f` on the value this key has in the scope around the caller.
    ///
    /// # Panics
    ///
    /// Outside any scope that set it, with a message saying so; use
    /// [`try_with`](LocalKey::try_with) to find out instead.
    #[track_caller]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        self.try_with(f).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs `f` on the value, or says it is not set here.
    ///
    /// # Errors
    ///
    /// [`AccessError`] outside any scope that set it.
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        self.slot.with(|slot| match slot.borrow().as_ref() {
            Some(value) => Ok(f(value)),
            None => Err(AccessError { name: self.name }),
        })
    }

    /// A copy of the value.
    ///
    /// # Panics
    ///
    /// Outside any scope that set it, as [`with`](LocalKey::with).
    #[track_caller]
    pub fn get(&'static self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey")
            .field("name", &self.name)
            .finish()
    }
}

/// The future [`LocalKey::scope`] returns: `future`, with the key set while it
/// is polled.
#[must_use = "futures do nothing unless you .await them"]
pub struct Scope<T: 'static, F> {
    /// The key it sets.
    key: &'static LocalKey<T>,
    /// The value, between polls (in the thread-local slot during one).
    value: Option<T>,
    /// The future it runs.
    future: Pin<Box<F>>,
}

// Nothing in a scope is pinned in place: the future is boxed, the value moves.
impl<T: 'static, F> Unpin for Scope<T, F> {}

impl<T: 'static, F: Future> Future for Scope<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut(); // Unpin: the future is boxed
        /// Puts the value back into the scope after the poll, also when it panics;
        /// and whatever an outer scope had into the slot.
        struct Restore<'a, T: 'static> {
            key: &'static LocalKey<T>,
            value: &'a mut Option<T>,
            outer: Option<T>,
        }
        impl<T> Drop for Restore<'_, T> {
            fn drop(&mut self) {
                let outer = self.outer.take();
                *self.value = self.key.slot.with(|slot| slot.replace(outer));
            }
        }
        let outer = this.key.slot.with(|slot| slot.replace(this.value.take()));
        let _restore = Restore {
            key: this.key,
            value: &mut this.value,
            outer,
        };
        this.future.as_mut().poll(cx)
    }
}

impl<T: 'static, F> fmt::Debug for Scope<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("key", &self.key.name)
            .finish()
    }
}
