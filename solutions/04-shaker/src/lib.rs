//! # little-kv, step 04: the tree shaker, a background thread that flushes
//!
//! A write that fills the memtable would otherwise write it to disk while
//! every other request waits. This step hands the disk work to a background
//! thread, the tree shaker. A full memtable is frozen (moved to a queue) and a
//! fresh one takes the writes at once; the shaker writes frozen memtables to
//! SSTables, oldest first, and swaps each table in for its memtable in one
//! step. Writers wait only if the queue is full, which bounds the memory.
//!
//! - [`store`] holds the data: the [`Storage`] trait and [`Store`], an
//!   active memtable, a queue of frozen memtables, and tables on disk.
//! - [`Options`] are the store's knobs; this step adds how many frozen
//!   memtables may wait for the shaker.
//! - `shared.rs` is what the store and the tree shaker share: the state
//!   behind the store's lock (the only code that takes it), the rules for
//!   a write to go ahead, and the freeze.
//! - `mailbox.rs` is how the shaker and the threads that wait for it
//!   signal each other.
//! - `state.rs` is what the store's lock protects, the memtables and the
//!   list of tables, and the only code that changes it: a freeze, and a
//!   flushed table put in its memtable's place.
//! - `shaker.rs` is the tree shaker: its thread and its loop.
//! - `memtable.rs` is the sorted map, its tombstones and its size in bytes.
//! - [`sstable`] writes and reads one table file; its documentation, with
//!   that of `line.rs`, is the format's specification. `files.rs` names the
//!   files and writes a file whole or not at all.
//! - `entries.rs` reads a table's lines in order.
//! - [`http`] turns requests into calls on the store, and errors into status
//!   codes; a failed flush answers 500.
//! - `serve.rs` accepts the connections that [`http`] serves: a deadline
//!   for each request head, and fewer open than the file limit allows.
//! - `main.rs` parses the flags, serves until SIGTERM or SIGINT, then flushes.
//!
//! New in this step: `shaker.rs`, `shared.rs` and `mailbox.rs`.
//!
//! Invariants (the tests in `tests/` check them):
//! - a `get` sees the latest `set` or `delete` of its key that returned;
//! - newer beats older, and a tombstone hides every older value of its key;
//! - no read misses a key while its memtable is being flushed;
//! - [`Store::scan`] lists the live keys in ascending order;
//! - after a flush or a graceful stop, reopening the directory gives back the
//!   same data; a table is on disk whole or not at all.
//!
//! Read alongside chapter 4 of the book, "The tree shaker".

// Every public item says what it is: a learner reads them in the docs.
#![warn(missing_docs)]

mod entries;
mod error;
mod files;
pub mod http;
mod line;
mod mailbox;
mod memtable;
mod options;
mod serve;
mod shaker;
mod shared;
pub mod sstable;
mod state;
pub mod store;

/// The on-disk formats, for a tool that reads a data directory without
/// opening a store (`cargo inspect`, in `inspect/`). Each format keeps its
/// one definition in its own module; this only lends a reader the parts it
/// needs, so that the inspector cannot drift from the store.
pub mod format {
    pub use crate::files::{
        TABLE_EXTENSION, file_number, is_table, is_temporary, table_path, temporary_path,
    };
    pub use crate::line::{encode_line, escape, parse_line, unescape};
}

pub use error::{Error, Result};
pub use memtable::Entry;
pub use options::Options;
pub use store::{Storage, Store};
