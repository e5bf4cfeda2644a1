//! In-memory byte streams: [`duplex`] makes two connected [`DuplexStream`]s.
//!
//! Floor 3, beside `Async`. A pair of bounded byte buffers, one each way, each
//! behind a mutex with the waker of the task waiting to read it and of the one
//! waiting to write it. No descriptor, no reactor, no thread: a read or a write
//! that must wait leaves its waker, and the other end's write or read wakes it.
//! So a test that uses them in place of sockets replays exactly under a seed
//! (`check::explore`), which real sockets cannot.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::context::budgeted;
use crate::lock::lock;
use crate::net::stream::{reads, writes};
use crate::waker_slot::WakerSlot;

/// Two connected in-memory byte streams (tokio's `io::duplex`): what one writes,
/// the other reads. At most `capacity` bytes are in flight each way: a write waits
/// while its direction's buffer is full, until the other end reads. Dropping one
/// end closes both directions: the other reads what is left, then 0 (the end of
/// the stream), and its writes fail with `BrokenPipe`.
///
/// They have `TcpStream`'s methods — `read`, `read_exact`, `read_to_end`, `write`,
/// `write_all`, `shutdown` — and the `futures-io` traits, and work under any
/// runtime or none (they wake through the task's own waker). A deterministic
/// stand-in for a socket in tests.
///
/// # Panics
///
/// If `capacity` is 0: nothing could ever be written.
///
/// ```
/// evloop::run(async {
///     let (mut client, mut server) = evloop::io::duplex(64);
///     let echo = evloop::spawn(async move {
///         let mut buf = [0u8; 5];
///         server.read_exact(&mut buf).await.unwrap();
///         server.write_all(&buf).await.unwrap();
///     });
///     client.write_all(b"hello").await.unwrap();
///     let mut reply = [0u8; 5];
///     client.read_exact(&mut reply).await.unwrap();
///     assert_eq!(&reply, b"hello");
///     echo.await.unwrap();
/// });
/// ```
pub fn duplex(capacity: usize) -> (DuplexStream, DuplexStream) {
    assert!(
        capacity > 0,
        "evloop::io::duplex(0): a stream needs room for at least one byte in flight; \
         use a capacity of 1 or more"
    );
    let (one_way, other_way) = (Pipe::new(capacity), Pipe::new(capacity));
    let first = DuplexStream {
        incoming: one_way.clone(),
        outgoing: other_way.clone(),
    };
    let second = DuplexStream {
        incoming: other_way,
        outgoing: one_way,
    };
    (first, second)
}

/// One end of an in-memory byte stream; see [`duplex`].
pub struct DuplexStream {
    /// What the other end writes and this end reads.
    incoming: Arc<Mutex<Pipe>>,
    /// What this end writes and the other end reads.
    outgoing: Arc<Mutex<Pipe>>,
}

/// One direction: a bounded buffer and the tasks waiting on either side of it.
struct Pipe {
    /// The bytes written and not yet read, oldest first.
    bytes: VecDeque<u8>,
    /// How many bytes may be in flight.
    capacity: usize,
    /// The task waiting for bytes to read.
    reader: WakerSlot,
    /// The task waiting for room to write.
    writer: WakerSlot,
    /// The writing end shut down or was dropped: after the bytes, the end.
    writer_gone: bool,
    /// The reading end shut down or was dropped: writes fail.
    reader_gone: bool,
}

impl Pipe {
    /// An empty direction with room for `capacity` bytes.
    fn new(capacity: usize) -> Arc<Mutex<Pipe>> {
        Arc::new(Mutex::new(Pipe {
            bytes: VecDeque::new(),
            capacity,
            reader: WakerSlot::new(),
            writer: WakerSlot::new(),
            writer_gone: false,
            reader_gone: false,
        }))
    }
}

/// Wakes a waker taken out of a pipe, once its lock is released.
fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl DuplexStream {
    /// Reads what is buffered, up to `buf.len()` bytes, or waits for the other
    /// end to write; 0 at the end of the stream.
    fn poll_read_buf(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        budgeted(cx, |cx| {
            let mut pipe = lock(&self.incoming);
            if pipe.bytes.is_empty() {
                if pipe.writer_gone || buf.is_empty() {
                    return Poll::Ready(Ok(0));
                }
                let old = pipe.reader.register(cx.waker());
                drop(pipe);
                drop(old);
                return Poll::Pending;
            }
            let n = buf.len().min(pipe.bytes.len());
            for (to, from) in buf.iter_mut().zip(pipe.bytes.drain(..n)) {
                *to = from;
            }
            let writer = pipe.writer.take();
            drop(pipe);
            wake(writer); // there is room now
            Poll::Ready(Ok(n))
        })
    }

    /// Writes as much of `buf` as there is room for, or waits for the other end
    /// to read.
    fn poll_write_buf(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        budgeted(cx, |cx| {
            let mut pipe = lock(&self.outgoing);
            if pipe.writer_gone {
                return Poll::Ready(Err(broken("this end was shut down for writing")));
            }
            if pipe.reader_gone {
                return Poll::Ready(Err(broken("the other end was dropped or shut down")));
            }
            let room = pipe.capacity - pipe.bytes.len();
            if buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            if room == 0 {
                let old = pipe.writer.register(cx.waker());
                drop(pipe);
                drop(old);
                return Poll::Pending;
            }
            let n = room.min(buf.len());
            pipe.bytes.extend(&buf[..n]);
            let reader = pipe.reader.take();
            drop(pipe);
            wake(reader); // there are bytes now
            Poll::Ready(Ok(n))
        })
    }

    /// Shuts down reading, writing or both, as `TcpStream::shutdown` does: after
    /// `Write`, the other end reads what was written, then 0; after `Read`, the
    /// other end's writes fail with `BrokenPipe`.
    ///
    /// # Errors
    ///
    /// None: a stream in memory always shuts down (the `Result` matches
    /// `TcpStream`'s).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            let mut pipe = lock(&self.outgoing);
            pipe.writer_gone = true;
            let reader = pipe.reader.take();
            drop(pipe);
            wake(reader);
        }
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            let mut pipe = lock(&self.incoming);
            pipe.reader_gone = true;
            pipe.bytes = VecDeque::new(); // nobody will read them
            let writer = pipe.writer.take();
            drop(pipe);
            wake(writer);
        }
        Ok(())
    }
}

/// A `BrokenPipe` error saying why.
fn broken(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, format!("duplex stream: {why}"))
}

reads!(DuplexStream, stream => stream);
writes!(DuplexStream, stream => stream);

impl Drop for DuplexStream {
    fn drop(&mut self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

impl fmt::Debug for DuplexStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One lock at a time: the other end may be printed at once, elsewhere.
        let unread = lock(&self.incoming).bytes.len();
        let (capacity, unread_by_peer) = {
            let outgoing = lock(&self.outgoing);
            (outgoing.capacity, outgoing.bytes.len())
        };
        f.debug_struct("DuplexStream")
            .field("capacity", &capacity)
            .field("unread", &unread)
            .field("unread_by_peer", &unread_by_peer)
            .finish()
    }
}
