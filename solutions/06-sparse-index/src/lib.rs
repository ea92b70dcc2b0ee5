//! # little-kv, step 06: a sparse index per SSTable, so that a read seeks instead of scanning
//!
//! Without an index, looking a key up in a table means reading the table
//! from its first line. So every table has a sparse index beside it: the
//! first key and the byte offset of every block of about 4 KiB. The index
//! lives in memory; a lookup binary-searches it for the one block that can
//! hold the key and reads that block alone. The table files hold no index:
//! they are the same sorted lines as chapter 3's.
//!
//! - [`store`] holds the data: the [`Storage`] trait and [`Store`], the
//!   memtables, the tables and the manifest.
//! - [`Options`] are the store's knobs.
//! - `index.rs` is the sparse index: its format, how the writer cuts blocks,
//!   and how a lookup finds its block.
//! - `sidecar.rs` writes and loads a file beside a table (here the index)
//!   under a check line that ties it to its table and covers it with a
//!   checksum; one that does not check out is rebuilt.
//! - [`sstable`] is the table file's format and its writer; a written
//!   table gets its index.
//! - `table_reader.rs` opens a table, checked, with its index (rebuilt when
//!   it must be), and looks a key up in one block.
//! - `entries.rs` reads a table's lines in order, and says where each line
//!   starts, for the index.
//! - `compaction.rs`, `manifest.rs` and `shaker.rs` merge, list and flush
//!   tables; removing a table removes its index too. `checksum.rs` is the
//!   size and CRC-32 the manifest names each table with.
//! - `shared.rs` is what the store and the tree shaker share: the state
//!   behind the store's lock (the only code that takes it), the rules for
//!   a write to go ahead, and the freeze.
//! - `mailbox.rs` is how the shaker and the threads that wait for it
//!   signal each other.
//! - `state.rs` is what the store's lock protects and the only code that
//!   changes it.
//! - `recovery.rs` brings the directory back to the manifest's tables at
//!   open, and removes the index files of tables that are gone.
//! - `line.rs` writes and parses the escaped lines (of the index too), and
//!   finds and compares a line's key without unescaping it, for the lookup;
//!   `files.rs` names the files, the index too, and writes a file whole or
//!   not at all.
//! - `memtable.rs` is the sorted map.
//! - [`http`] turns requests into calls on the store.
//! - `serve.rs` accepts the connections that [`http`] serves: a deadline
//!   for each request head, and fewer open than the file limit allows.
//! - `main.rs` parses the flags, serves until SIGTERM or SIGINT, then flushes.
//!
//! New in this step: `index.rs`, `sidecar.rs` and `table_reader.rs`.
//!
//! Invariants (the tests in `tests/` check them):
//! - a `get` sees the latest `set` or `delete` of its key that returned;
//! - newer beats older, and a tombstone hides every older value of its key,
//!   until a merge that includes the oldest table drops it;
//! - a lookup reads at most one block (4 KiB plus one line) of each table it
//!   asks, and memory grows with the indexes, not with the data;
//! - a missing or damaged index is rebuilt from its table, never trusted;
//! - a crash of the process at any step of a flush or a merge loses nothing
//!   that was in a table.
//!
//! Read alongside chapter 6 of the book, "A sparse index".

// Every public item says what it is: a learner reads them in the docs.
#![warn(missing_docs)]

mod checksum;
mod compaction;
mod entries;
mod error;
mod file_set;
mod files;
pub mod http;
mod index;
mod line;
mod mailbox;
mod manifest;
mod memtable;
mod options;
mod recovery;
mod serve;
mod shaker;
mod shared;
mod sidecar;
pub mod sstable;
mod state;
pub mod store;
mod table_reader;

/// The on-disk formats, for a tool that reads a data directory without
/// opening a store (`cargo inspect`, in `inspect/`). Each format keeps its
/// one definition in its own module; this only lends a reader the parts it
/// needs, so that the inspector cannot drift from the store.
pub mod format {
    pub use crate::files::{
        INDEX_EXTENSION, TABLE_EXTENSION, file_number, index_path, is_sidecar, is_table,
        is_temporary, table_path, temporary_path,
    };
    pub use crate::index::{BLOCK_BYTES, Block, BlockStart, Index};
    pub use crate::line::{
        compare_escaped, encode_line, escape, escaped_key, parse_line, unescape,
    };
    pub use crate::manifest::{FILE_NAME as MANIFEST, read as read_manifest};
    pub use crate::sidecar::checked_body;
}

pub use error::{Error, Result};
pub use memtable::Entry;
pub use options::Options;
pub use store::{Storage, Store};
