//! # little-kv, step 05: compaction merges SSTables in the background
//!
//! Every flush adds a table, and without merging none would ever go away:
//! disk use would only grow, and a read that misses would look in more and
//! more files. So the tree shaker also merges tables: when there are enough
//! of them, it streams a few of them, side by side in key order, into one
//! table that keeps only the newest entry of each key, and drops tombstones
//! once no older table is left for them to hide anything in. A manifest
//! lists the live tables, so that the merged table replaces its inputs in
//! one atomic step, even across a crash.
//!
//! - [`store`] holds the data: the [`Storage`] trait and [`Store`], the
//!   memtables, the tables and the manifest.
//! - [`Options`] are the store's knobs; this step adds the number of
//!   tables at which the shaker merges.
//! - `compaction.rs` picks the tables to merge, merges them and installs
//!   the result.
//! - `manifest.rs` reads and writes the list of live tables;
//!   `checksum.rs` is the size and CRC-32 it names each table with.
//! - `recovery.rs` brings the directory back to the manifest's tables at
//!   open, removing what an interrupted flush or merge left.
//! - `shared.rs` is what the store and the tree shaker share: the state
//!   behind the store's lock (the only code that takes it), the rules for
//!   a write to go ahead, and the freeze.
//! - `mailbox.rs` is how the shaker and the threads that wait for it
//!   signal each other.
//! - `state.rs` is what the store's lock protects and the only code that
//!   changes it, a merge's two moves and `clear` among the changes.
//! - `shaker.rs` is the tree shaker: it flushes, then merges.
//! - `memtable.rs` is the sorted map.
//! - [`sstable`] writes and reads one table file; its documentation, with
//!   that of `line.rs`, is the format's specification. A table is written
//!   one entry at a time, so a merged table may be bigger than memory.
//! - `entries.rs` reads a table's lines in order, for scans and merges.
//! - `files.rs` names the files and writes a file whole or not at all, in
//!   one call for the manifest.
//! - [`http`] turns requests into calls on the store.
//! - `serve.rs` accepts the connections that [`http`] serves: a deadline
//!   for each request head, and fewer open than the file limit allows.
//! - `main.rs` parses the flags, serves until SIGTERM or SIGINT, then flushes.
//!
//! New in this step: `compaction.rs`, `manifest.rs`, `checksum.rs` and
//! `recovery.rs`.
//!
//! Invariants (the tests in `tests/` check them):
//! - a `get` sees the latest `set` or `delete` of its key that returned;
//! - newer beats older, and a tombstone hides every older value of its key,
//!   until a merge that includes the oldest table drops it;
//! - no read misses a key while it is being flushed or merged;
//! - a crash of the process at any step of a flush or a merge (a test tries
//!   each one) loses nothing that was in a table and brings back
//!   nothing that was deleted;
//! - after a flush or a graceful stop, reopening the directory gives back the
//!   same data.
//!
//! Read alongside chapter 5 of the book, "Compaction".

// Every public item says what it is: a learner reads them in the docs.
#![warn(missing_docs)]

mod checksum;
mod compaction;
mod entries;
mod error;
mod file_set;
mod files;
pub mod http;
mod line;
mod mailbox;
mod manifest;
mod memtable;
mod options;
mod recovery;
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
    pub use crate::manifest::{FILE_NAME as MANIFEST, read as read_manifest};
}

pub use error::{Error, Result};
pub use memtable::Entry;
pub use options::Options;
pub use store::{Storage, Store};
