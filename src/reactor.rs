//! The reactor: one `mio::Poll`, and which wakers wait on which socket. Step 4 of
//! the loop.
//!
//! Floor 1 (it knows `mio`, and hands out nothing but `std::task::Waker`s).
//!
//! Every I/O object (a socket, the timer's `timerfd`, any descriptor through
//! `io::Async`) is an [`IoSource`]: registered once for both directions, and
//! **edge-triggered** — the OS reports a direction when it *becomes* ready, not
//! while it stays ready. So the reactor remembers, per source and direction,
//! whether it may be ready: yes at first and after each event; no once an
//! operation said `WouldBlock` (or a read came back short: the socket is drained).
//! The rule for an I/O future: if the source may be ready, try the operation; if it
//! says `WouldBlock`, or the source is known not ready, register the waker for
//! that direction and return `Pending` — no syscall for nothing. Because events are
//! handled only in step 4, never while a task runs, nothing can slip in between the
//! `WouldBlock` and the registration.
//!
//! Other threads interrupt the wait through a `mio::Waker` (an eventfd on Linux),
//! wrapped as a std `Waker` by [`Reactor::unparker`].
//!
//! Every operation on a source counts against the task's cooperative budget
//! (`context`): a socket that is always ready (an accept failing with `EMFILE`,
//! say) cannot keep one task running for ever.

use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Registry, Token};
use slab::Slab;

use crate::context;
use crate::trace::record::{Cause, Recorder};

/// The token of the `mio::Waker`; sources use their slab keys, which never get here.
const UNPARK: Token = Token(usize::MAX);

/// How many readiness events one wait can bring back.
const EVENTS_PER_WAIT: usize = 1024;

/// Which way a task waits on a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Waiting for data to read (or a connection to accept).
    Read,
    /// Waiting for room to write (or a connection to complete).
    Write,
}

impl Direction {
    /// This direction's bit in [`Waiters::ready`]: it may be ready.
    fn bit(self) -> u8 {
        match self {
            Direction::Read => 1,
            Direction::Write => 2,
        }
    }

    /// This direction's closed bit in [`Waiters::ready`]: the peer closed it (or
    /// the socket failed). It stays set: a short read must not hide an end of
    /// stream that arrived with the data, in the same event.
    fn closed_bit(self) -> u8 {
        self.bit() << 2
    }
}

/// What the reactor knows of one source: whether it may be ready, and who waits.
struct Waiters {
    /// The source's descriptor, to name it as a wake's cause.
    fd: RawFd,
    /// The directions it may be ready in ([`Direction::bit`]): set at first and by
    /// each event, cleared by a `WouldBlock`; and those closed for good
    /// ([`Direction::closed_bit`]).
    ready: u8,
    /// Woken when the source becomes readable.
    readers: Vec<Waker>,
    /// Woken when the source becomes writable.
    writers: Vec<Waker>,
}

/// One runtime's I/O driver.
pub(crate) struct Reactor {
    /// The OS's readiness queue (epoll on Linux).
    poll: RefCell<mio::Poll>,
    /// Registers and deregisters sources without borrowing `poll`.
    registry: mio::Registry,
    /// Space for the events one wait returns.
    events: RefCell<Events>,
    /// Who waits on each registered source; the slab key is the source's token.
    sources: RefCell<Slab<Waiters>>,
    /// Scratch space for `wait`: wakers collected under the borrow, woken after it,
    /// each with the descriptor that woke it.
    to_wake: RefCell<Vec<(Waker, RawFd)>>,
    /// How many registered sources are sockets (or other descriptors of the
    /// user's), as opposed to the runtime's own timerfd.
    sockets: Cell<usize>,
    /// Interrupts `wait` from another thread.
    unpark: Arc<Unparker>,
    /// The recording, if tracing is on: the wakes `wait` makes are I/O's.
    recorder: OnceCell<Rc<Recorder>>,
}

impl Reactor {
    /// A reactor with no sources.
    pub(crate) fn new() -> io::Result<Reactor> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let unpark = Arc::new(Unparker {
            waker: mio::Waker::new(poll.registry(), UNPARK)?,
            unread: AtomicBool::new(false),
        });
        Ok(Reactor {
            poll: RefCell::new(poll),
            registry,
            events: RefCell::new(Events::with_capacity(EVENTS_PER_WAIT)),
            sources: RefCell::new(Slab::new()),
            to_wake: RefCell::new(Vec::new()),
            sockets: Cell::new(0),
            unpark,
            recorder: OnceCell::new(),
        })
    }

    /// Tracing is on: say so to the recording at each wake.
    pub(crate) fn observe(&self, recorder: Rc<Recorder>) {
        let _ = self.recorder.set(recorder);
    }

    /// A `Waker` that interrupts [`Reactor::wait`] from any thread.
    pub(crate) fn unparker(&self) -> Waker {
        Waker::from(self.unpark.clone())
    }

    /// Whether a look at the reactor could find anything: a socket is registered,
    /// or an unpark has not been read yet. When neither holds, a zero-timeout wait
    /// is a syscall for nothing, and step 4 skips it.
    pub(crate) fn may_have_events(&self) -> bool {
        self.sockets.get() > 0 || self.unpark.unread.load(Ordering::Acquire)
    }

    /// Step 4: waits up to `timeout` (`None`: until something happens) for I/O
    /// readiness or an unpark, and wakes the tasks waiting on what became ready.
    /// Returns how many events arrived (an unpark counts).
    ///
    /// # Panics
    ///
    /// If `epoll_wait` fails for a reason other than a signal: the reactor can no
    /// longer work.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> usize {
        let mut events = self.events.borrow_mut();
        // Every unpark written before this wait is read by it.
        self.unpark.unread.store(false, Ordering::Release);
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Ok(()) => {}
            // A signal interrupted the wait: that counts as something happening.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return 1,
            Err(e) => panic!("evloop: the reactor failed to wait for I/O: {e}"),
        }
        let mut to_wake = self.to_wake.take();
        let mut count = 0;
        {
            let mut sources = self.sources.borrow_mut();
            for event in events.iter() {
                count += 1;
                let Some(waiters) = sources.get_mut(event.token().0) else {
                    continue; // the unpark token, or a source dropped meanwhile
                };
                let fd = waiters.fd;
                for (direction, ready, closed) in [
                    (Direction::Read, event.is_readable(), event.is_read_closed()),
                    (
                        Direction::Write,
                        event.is_writable(),
                        event.is_write_closed(),
                    ),
                ] {
                    let closed = closed || event.is_error();
                    if !(ready || closed) {
                        continue;
                    }
                    waiters.ready |= direction.bit();
                    if closed {
                        waiters.ready |= direction.closed_bit();
                    }
                    let list = match direction {
                        Direction::Read => &mut waiters.readers,
                        Direction::Write => &mut waiters.writers,
                    };
                    to_wake.extend(list.drain(..).map(|waker| (waker, fd)));
                }
            }
        }
        drop(events);
        // Wake with no borrow held: a waker may be foreign code.
        match self.recorder.get() {
            None => to_wake.drain(..).for_each(|(waker, _)| waker.wake()),
            Some(recorder) => {
                for (waker, fd) in to_wake.drain(..) {
                    recorder.because(Cause::Io(fd), || waker.wake());
                }
            }
        }
        *self.to_wake.borrow_mut() = to_wake;
        count
    }

    /// Registers `source` for both directions; returns its token. A user's source
    /// counts for [`may_have_events`](Reactor::may_have_events); the runtime's own
    /// does not.
    fn register<S>(&self, source: &mut S, owner: Owner) -> io::Result<Token>
    where
        S: mio::event::Source + AsRawFd,
    {
        let waiters = Waiters {
            fd: source.as_raw_fd(),
            ready: Direction::Read.bit() | Direction::Write.bit(),
            readers: Vec::new(),
            writers: Vec::new(),
        };
        let token = Token(self.sources.borrow_mut().insert(waiters));
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self.registry.register(source, token, interest) {
            self.sources.borrow_mut().remove(token.0);
            return Err(e);
        }
        self.sockets
            .set(self.sockets.get() + usize::from(owner == Owner::User));
        Ok(token)
    }

    /// Deregisters `source` and forgets its waiters.
    fn deregister(&self, source: &mut impl mio::event::Source, token: Token, owner: Owner) {
        // Deregistering can only fail if the fd is already closed; nothing to undo.
        let _ = self.registry.deregister(source);
        let mut sources = self.sources.borrow_mut();
        let waiters = sources.try_remove(token.0);
        crate::room::give_back_slab(&mut sources); // the last of a crowd closed
        drop(sources);
        self.sockets
            .set(self.sockets.get() - usize::from(owner == Owner::User));
        drop(waiters);
    }

    /// Whether `token` may be ready in `direction`.
    fn may_be_ready(&self, token: Token, direction: Direction) -> bool {
        let mask = direction.bit() | direction.closed_bit();
        self.sources.borrow()[token.0].ready & mask != 0
    }

    /// `token` is known not to be ready in `direction` until its next event.
    fn clear_ready(&self, token: Token, direction: Direction) {
        self.sources.borrow_mut()[token.0].ready &= !direction.bit();
    }

    /// Makes `waker` wait for `token` to become ready in `direction`.
    fn wait_for(&self, token: Token, direction: Direction, waker: &Waker) {
        let mut sources = self.sources.borrow_mut();
        let waiters = &mut sources[token.0];
        let list = match direction {
            Direction::Read => &mut waiters.readers,
            Direction::Write => &mut waiters.writers,
        };
        if !list.iter().any(|w| w.will_wake(waker)) {
            list.push(waker.clone());
        }
    }

    /// How many registered sources are sockets or other descriptors of the user's.
    pub(crate) fn socket_count(&self) -> usize {
        self.sockets.get()
    }

    /// How many sources are registered (the unpark waker not counted).
    pub(crate) fn source_count(&self) -> usize {
        self.sources.borrow().len()
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("sources", &self.source_count())
            .finish()
    }
}

/// Wakes the reactor from another thread.
struct Unparker {
    /// mio's waker: an eventfd the reactor's epoll watches.
    waker: mio::Waker,
    /// Set when the eventfd was written and no wait has read it since.
    unread: AtomicBool,
}

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.unread.store(true, Ordering::Release);
        // Fails only if the eventfd counter is saturated: the reactor is awake then.
        let _ = self.waker.wake();
    }
}

/// Whose a registered source is: the user's sockets and descriptors count as
/// something the loop may hear from (and keep a program from being "stuck"); the
/// runtime's own (the alarm's `timerfd`) do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    /// A socket, pipe or other descriptor of the user's.
    User,
    /// One of the runtime's own descriptors.
    Runtime,
}

/// An I/O object registered with a reactor; deregistered when dropped.
pub(crate) struct IoSource<S: mio::event::Source + AsRawFd> {
    /// The mio object (socket, `Fd`, …); taken out only by `into_inner`.
    io: Option<S>,
    /// Its place in the reactor.
    registration: Registration,
}

/// A source's token in a reactor, and what it asks of it.
struct Registration {
    /// Its token in the reactor.
    token: Token,
    /// The reactor it is registered with.
    reactor: Rc<Reactor>,
    /// Whose it is: the user's (a socket, a pipe) or the runtime's own.
    owner: Owner,
}

impl<S: mio::event::Source + AsRawFd> IoSource<S> {
    /// Registers `io`, a socket or another descriptor of the user's, with `reactor`.
    pub(crate) fn new(io: S, reactor: Rc<Reactor>) -> io::Result<IoSource<S>> {
        IoSource::register(io, reactor, Owner::User)
    }

    /// Registers `io`, one of the runtime's own descriptors (the alarm's timerfd).
    #[cfg_attr(miri, allow(dead_code))] // Miri has no timerfd
    pub(crate) fn internal(io: S, reactor: Rc<Reactor>) -> io::Result<IoSource<S>> {
        IoSource::register(io, reactor, Owner::Runtime)
    }

    fn register(mut io: S, reactor: Rc<Reactor>, owner: Owner) -> io::Result<IoSource<S>> {
        let token = reactor.register(&mut io, owner)?;
        let registration = Registration {
            token,
            reactor,
            owner,
        };
        Ok(IoSource {
            io: Some(io),
            registration,
        })
    }

    /// The mio object.
    pub(crate) fn get_ref(&self) -> &S {
        self.io
            .as_ref()
            .expect("an IoSource holds its object until into_inner")
    }

    /// Deregisters the object and hands it back.
    pub(crate) fn into_inner(mut self) -> S {
        let mut io = self
            .io
            .take()
            .expect("an IoSource holds its object until into_inner");
        self.registration.deregister(&mut io);
        io
    }

    /// Runs the non-blocking `op` if the source may be ready, within the task's
    /// budget. If it says `WouldBlock` (or the source is known not ready), the task
    /// waits for `direction` to become ready and this returns `Pending`;
    /// `Interrupted` is retried; any other result is returned.
    pub(crate) fn poll_io<R>(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.get_ref();
        self.registration.poll_op(direction, cx, || op(io))
    }

    /// [`poll_io`](IoSource::poll_io) for an operation that needs `&mut S`.
    pub(crate) fn poll_io_mut<R>(
        &mut self,
        direction: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&mut S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self
            .io
            .as_mut()
            .expect("an IoSource holds its object until into_inner");
        self.registration.poll_op(direction, cx, || op(io))
    }

    /// Ready once the source may be ready in `direction` (at once, unless an
    /// operation said `WouldBlock` since its last event), within the task's budget.
    pub(crate) fn poll_ready(&self, direction: Direction, cx: &mut Context<'_>) -> Poll<()> {
        let Registration { token, reactor, .. } = &self.registration;
        context::budgeted(cx, |cx| {
            if reactor.may_be_ready(*token, direction) {
                return Poll::Ready(());
            }
            reactor.wait_for(*token, direction, cx.waker());
            Poll::Pending
        })
    }

    /// Whether an event said the source is ready in `direction` since the last
    /// call (or since it was registered: it starts out "may be ready"); clears it.
    #[cfg_attr(miri, allow(dead_code))] // only the alarm's timerfd asks
    pub(crate) fn take_ready(&self, direction: Direction) -> bool {
        let Registration { token, reactor, .. } = &self.registration;
        let ready = reactor.may_be_ready(*token, direction);
        reactor.clear_ready(*token, direction);
        ready
    }

    /// The source is known not to be ready in `direction` until its next event: a
    /// read came back short, say, so the socket is drained.
    pub(crate) fn clear_ready(&self, direction: Direction) {
        let Registration { token, reactor, .. } = &self.registration;
        reactor.clear_ready(*token, direction);
    }
}

impl Registration {
    /// `poll_io`'s loop, for any operation on the source.
    fn poll_op<R>(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let Registration { token, reactor, .. } = self;
        context::budgeted(cx, |cx| loop {
            if !reactor.may_be_ready(*token, direction) {
                reactor.wait_for(*token, direction, cx.waker());
                return Poll::Pending;
            }
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    reactor.clear_ready(*token, direction);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        })
    }

    /// Takes `io` off the reactor.
    fn deregister(&self, io: &mut impl mio::event::Source) {
        self.reactor.deregister(io, self.token, self.owner);
    }
}

impl<S: mio::event::Source + AsRawFd> Drop for IoSource<S> {
    fn drop(&mut self) {
        if let Some(io) = &mut self.io {
            self.registration.deregister(io);
        }
    }
}

impl<S: mio::event::Source + AsRawFd + fmt::Debug> fmt::Debug for IoSource<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoSource")
            .field("io", &self.io)
            .field("token", &self.registration.token.0)
            .finish()
    }
}

/// Any descriptor as a mio source (the alarm's timerfd, `io::Async`'s objects):
/// registered by its fd, which it keeps open while registered.
#[derive(Debug)]
pub(crate) struct Fd<T: AsFd>(pub(crate) T);

impl<T: AsFd> AsRawFd for Fd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl<T: AsFd> mio::event::Source for Fd<T> {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.as_raw_fd()).deregister(registry)
    }
}

impl AsFd for Reactor {
    /// The epoll instance's descriptor (a duplicate of it): readable whenever a
    /// wait would return at once.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.registry.as_fd()
    }
}
