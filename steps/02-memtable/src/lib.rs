//! # little-kv, step 02: a sorted memtable with tombstones
//!
//! In this step the store is a memtable: a map kept sorted by key, in which
//! a delete is recorded as a tombstone instead of removing the key. Nothing
//! touches the disk yet; the memtable is the one piece of the LSM tree that
//! chapter 3 writes out as a sorted file.
//!
//! - [`store`] holds the data: the [`Storage`] trait and [`Store`], a
//!   memtable behind a read-write lock.
//! - `memtable.rs` is the sorted map, its tombstones and its size in bytes.
//! - [`http`] turns requests into calls on the store, and errors into status
//!   codes.
//! - `serve.rs` accepts the connections that [`http`] serves: a deadline
//!   for each request head, and fewer open than the file limit allows.
//! - `main.rs` parses the flags and serves until SIGTERM or SIGINT.
//!
//! New in this step: `memtable.rs`.
//!
//! Invariants (the tests in `tests/` check them):
//! - a `get` sees the latest `set` or `delete` of its key that returned;
//! - a deleted key is held as a tombstone, and a tombstone reads as absent;
//! - [`Store::scan`] lists the live keys in ascending order;
//! - nothing survives a restart (the data lives only in this process).
//!
//! Read alongside chapter 2 of the book, "The memtable".

// Every public item says what it is: a learner reads them in the docs.
#![warn(missing_docs)]

mod error;
pub mod http;
mod memtable;
mod serve;
pub mod store;

pub use error::{Error, Result};
pub use store::{Storage, Store};
