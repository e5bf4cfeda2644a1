//! An accept loop that keeps failing with `EMFILE` (out of file descriptors: each
//! `accept().await` is ready at once, with an error) cannot starve the loop: the
//! cooperative budget makes it yield. Its own test binary, because the descriptor
//! limit it lowers belongs to the whole process.

use std::io;
use std::time::Duration;

use evloop::net::TcpListener;
use evloop::Runtime;

/// Sets the soft limit on open descriptors.
fn set_fd_limit(soft: libc::rlim_t) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for getrlimit to fill, then setrlimit to read.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = soft;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

/// The soft limit on open descriptors.
fn fd_limit() -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: as above.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    limit.rlim_cur
}

#[test]
fn an_accept_loop_failing_with_emfile_cannot_starve_a_due_timer() {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(60));
        eprintln!("the loop never came back from the accept loop");
        std::process::exit(1);
    });
    let runtime = Runtime::new().unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    // A connection waits in the backlog, so accept always has something to try.
    let _client = std::net::TcpStream::connect(addr).unwrap();
    let errors = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let counted = errors.clone();
    let accept_loop = runtime.spawn(async move {
        loop {
            match listener.accept().await {
                Err(e) if e.raw_os_error() == Some(libc::EMFILE) => counted.set(counted.get() + 1),
                other => return other.map(drop),
            }
        }
    });
    // From here on no descriptor can be opened: the lowest free number is the limit.
    let lowest_free = std::fs::File::open("/dev/null").map(|file| {
        use std::os::fd::AsRawFd;
        file.as_raw_fd() as libc::rlim_t
    });
    let saved = fd_limit();
    set_fd_limit(lowest_free.unwrap());
    let timer = runtime.spawn(evloop::time::sleep(Duration::ZERO));
    let mut turns = 0;
    while !timer.is_finished() {
        runtime.turn(Some(Duration::ZERO));
        turns += 1;
        assert!(turns < 100, "the timer's task still waits after 100 turns");
    }
    set_fd_limit(saved);
    assert!(turns <= 4, "the timer's task needed {turns} turns");
    assert!(errors.get() > 0, "accept never failed with EMFILE");
    assert!(
        !accept_loop.is_finished(),
        "{:?}",
        io::Error::last_os_error()
    );
}
