//! [`CancellationToken`]: one signal to stop, that a tree of tasks can wait for.
//!
//! Floor 1, built on [`Event`]: a token is an event that is set once and never
//! cleared, plus the tokens made from it with [`CancellationToken::child_token`],
//! which it cancels too. tokio-util's type of the same name, for a graceful
//! shutdown: a server hands a child token to each connection, and cancelling the
//! parent tells every one of them at once.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use super::{Event, Wait};
use crate::lock::lock;

/// A signal to stop, shared by clones, passed on to child tokens.
///
/// Cloning shares the token (cancelling a clone cancels them all); dropping one
/// cancels nothing. Thread-safe, and usable under any executor.
///
/// ```
/// use evloop::sync::CancellationToken;
///
/// evloop::run(async {
///     let shutdown = CancellationToken::new();
///     let worker = evloop::spawn({
///         let stop = shutdown.child_token();
///         async move {
///             stop.cancelled().await; // the work would race this in a select!
///             "stopped"
///         }
///     });
///     shutdown.cancel();
///     assert_eq!(worker.await.unwrap(), "stopped");
/// });
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    /// The token's state, shared by its clones.
    node: Arc<Node>,
}

/// One token and its clones.
struct Node {
    /// Set once, when the token is cancelled.
    cancelled: Event,
    /// The child tokens, held weakly: a dropped child leaves only a dead entry,
    /// swept when the list next grows.
    children: Mutex<Vec<Weak<Node>>>,
}

impl CancellationToken {
    /// A token not cancelled yet.
    pub fn new() -> CancellationToken {
        CancellationToken {
            node: Arc::new(Node {
                cancelled: Event::new(),
                children: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Cancels the token, its clones and every child token (and theirs): every
    /// `cancelled()` waiting on them returns. Cancelling twice does nothing more.
    pub fn cancel(&self) {
        self.node.cancel();
    }

    /// Whether the token was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.node.cancelled.is_set()
    }

    /// Waits until the token is cancelled; at once if it was already.
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled {
            wait: self.node.cancelled.wait(),
        }
    }

    /// A new token that this one cancels when it is cancelled (and that can be
    /// cancelled alone, without touching this one). A child of a cancelled token
    /// is born cancelled.
    pub fn child_token(&self) -> CancellationToken {
        let child = CancellationToken::new();
        let mut children = lock(&self.node.children);
        if children.len() == children.capacity() {
            // About to grow: sweep the children dropped since, so that a
            // long-lived parent of many short-lived children stays small.
            children.retain(|child| child.strong_count() > 0);
        }
        children.push(Arc::downgrade(&child.node));
        drop(children);
        if self.is_cancelled() {
            child.cancel(); // raced with cancel(), or born late: cancelled too
        }
        child
    }
}

impl Node {
    /// Sets the event, then cancels the children (outside the lock).
    fn cancel(&self) {
        self.cancelled.set();
        let children = std::mem::take(&mut *lock(&self.children));
        for child in children.iter().filter_map(Weak::upgrade) {
            child.cancel();
        }
    }
}

impl Default for CancellationToken {
    fn default() -> CancellationToken {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The future [`CancellationToken::cancelled`] returns. Cancel safe: dropping it
/// loses nothing.
#[must_use = "futures do nothing unless you .await them"]
#[derive(Debug)]
pub struct Cancelled<'a> {
    /// The wait on the token's event.
    wait: Wait<'a>,
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.wait).poll(cx)
    }
}
