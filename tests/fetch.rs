//! The fetch example's own tests (its URL and HTTP parsing, against small local
//! servers): the example is compiled here as a module, with its `tests` inside.
//! (An example marked `test = true` would not be built as the binary the other
//! example tests run.)

#[allow(dead_code)]
#[path = "../examples/fetch.rs"]
mod fetch;
