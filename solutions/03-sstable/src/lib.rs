//! # little-kv, step 03: the memtable flushed to plain-text SSTables
//!
//! This step gives the store a disk. When the memtable grows past
//! `--memtable-bytes`, it is written out as an SSTable: a sorted, plain-text
//! file that is never changed afterwards. Reads ask the memtable first, then
//! the tables from newest to oldest. At start the store loads the tables it
//! finds in its working directory, and a graceful stop flushes the memtable,
//! so the data survives a restart.
//!
//! - [`store`] holds the data: the [`Storage`] trait and [`Store`], a
//!   memtable in front of tables on disk.
//! - [`Options`] are the store's knobs, with the server's defaults; there
//!   is one, the size at which the memtable is flushed.
//! - `memtable.rs` is the sorted map, its tombstones and its size in bytes.
//! - [`sstable`] writes and reads one table file; its documentation, with
//!   that of `line.rs`, is the format's specification.
//! - `entries.rs` reads a table's lines in order, each checked against the
//!   format, through the file the table keeps open.
//! - `line.rs` writes one key and its entry as one escaped line, and parses
//!   it back.
//! - `files.rs` names the files (`000007.sst`) and writes a file whole or
//!   not at all: a temporary name, a sync, a rename, and a sync of the
//!   directory.
//! - `state.rs` is what the store's lock protects, the memtable and the
//!   list of tables, and the only code that changes them.
//! - [`http`] turns requests into calls on the store, and errors into status
//!   codes; store calls run on threads meant for blocking work.
//! - `serve.rs` accepts the connections that [`http`] serves: a deadline
//!   for each request head, and fewer open than the file limit allows.
//! - `main.rs` parses the flags, serves until SIGTERM or SIGINT, then flushes.
//!
//! New in this step: `sstable.rs`, `entries.rs`, `line.rs`, `files.rs`,
//! `state.rs` and `options.rs`.
//!
//! Invariants (the tests in `tests/` check them):
//! - a `get` sees the latest `set` or `delete` of its key that returned;
//! - newer beats older, and a tombstone hides every older value of its key;
//! - [`Store::scan`] lists the live keys in ascending order;
//! - after a flush or a graceful stop, reopening the directory gives back the
//!   same data; a table is on disk whole or not at all.
//!
//! Read alongside chapter 3 of the book, "SSTables".

// Every public item says what it is: a learner reads them in the docs.
#![warn(missing_docs)]

mod entries;
mod error;
mod files;
pub mod http;
mod line;
mod memtable;
mod options;
mod serve;
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
