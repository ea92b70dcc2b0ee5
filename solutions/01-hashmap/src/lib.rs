//! # little-kv, step 01: a hash map behind HTTP
//!
//! This step builds the whole store in its simplest form: a `HashMap` that many
//! threads share through a read-write lock, and an HTTP API in front of it.
//! Every later step keeps the API and the [`Storage`] trait and changes what
//! sits behind them.
//!
//! - [`store`] holds the data: the [`Storage`] trait from Part 1 of the series
//!   and [`Store`], its hash-map implementation.
//! - [`http`] turns requests into calls on the store, and errors into status
//!   codes.
//! - `serve.rs` accepts the connections that [`http`] serves: a deadline
//!   for each request head, and fewer open than the file limit allows.
//! - `main.rs` parses the flags and serves until SIGTERM or SIGINT.
//!
//! Invariants (the tests in `tests/` check them):
//! - a `get` sees the latest `set` or `delete` of its key that returned;
//! - `delete` and `clear` succeed whether or not the key exists;
//! - nothing survives a restart (the data lives only in this process).
//!
//! Read alongside chapter 1 of the book, "A hash map behind HTTP".

// Every public item says what it is: a learner reads them in the docs.
#![warn(missing_docs)]

mod error;
pub mod http;
mod serve;
pub mod store;

pub use error::{Error, Result};
pub use store::{Storage, Store};
