//! A long-lived token whose children come and go holds no memory for the dead.
//!
//! One test in this binary, so that no other test allocates while it counts.

use evloop::sync::CancellationToken;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

#[test]
fn a_hundred_thousand_dropped_child_tokens_leave_nothing_behind() {
    let parent = CancellationToken::new();
    for _ in 0..1000 {
        drop(parent.child_token());
    }
    let before = counting_alloc::live();
    for _ in 0..100_000 {
        drop(parent.child_token());
    }
    let grown = counting_alloc::live() - before;
    println!("100,000 dropped child tokens: {grown} bytes held");
    assert!(
        grown < 4 << 10,
        "100,000 dropped children hold {grown} bytes"
    );
}
