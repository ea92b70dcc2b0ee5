//! # little-kv, step 07: bloom filters and a write-ahead log
//!
//! Two last layers. A bloom filter beside each table answers "certainly not
//! here" for most keys a table does not hold, so a read of a missing key
//! skips almost every table without reading it. And a write-ahead log makes
//! every write durable before it is acknowledged: each PUT, DELETE and clear
//! is appended to a log, one thread syncs the log for all the writers that
//! arrived meanwhile (group commit), and at start the logs are replayed, so
//! not even `kill -9` loses an acknowledged write.
//!
//! - [`store`] holds the data: the [`Storage`] trait and [`Store`], the
//!   memtables with their logs, the tables and the manifest.
//! - [`Options`] are the store's knobs.
//! - `bloom.rs` is the bloom filter: sizing, hashing, its file format.
//! - `wal.rs` is the write-ahead log and its file: appending, a batch's
//!   end, rotating; `group_commit.rs` is who syncs the pending records (the
//!   log syncer, or a writer that waits alone) and how writers wait for it;
//!   `log_record.rs` is its records' format; `replay.rs` reads a log back
//!   at start; `log_chain.rs` is which logs a start must replay, and the
//!   check that none is missing or cut.
//! - `logged.rs` is the write path through the log: append and apply under
//!   one lock, acknowledge after the sync, and the [`Ticket`]s of async
//!   writes.
//! - `shared.rs` is what the store and the tree shaker share: the state
//!   behind the store's lock (the only code that takes it), the rules for
//!   a write to go ahead, and the freeze.
//! - `mailbox.rs` is how the shaker and the threads that wait for it
//!   signal each other.
//! - `state.rs` is what the store's lock protects and the only code that
//!   changes it; each frozen memtable keeps its log beside it.
//! - [`sstable`] is the table file's format and its writer; a written
//!   table gets its index and filter.
//! - `table_reader.rs` opens a table, checked, with its index and filter
//!   (rebuilt when they must be), and looks a key up in one block.
//! - `entries.rs` reads a table's lines in order.
//! - `sidecar.rs` reads a file beside a table (the `.idx` or the `.bloom`),
//!   or says to rebuild it from the table.
//! - `index.rs` is the sparse index, loaded and rebuilt together with its
//!   filter; `compaction.rs` merges tables and removes its inputs with their
//!   sidecars; `manifest.rs` lists the live tables, with the sizes and
//!   CRC-32s of `checksum.rs`, and names the oldest log still needed;
//!   `shaker.rs` flushes and merges, and removes a memtable's log once its
//!   table is listed; `memtable.rs` is the sorted map.
//! - `recovery.rs` brings the directory back to the manifest's tables at
//!   open, and replays the logs into a table.
//! - `line.rs` writes and parses the escaped lines (also of the index and
//!   the log); `files.rs` names the files (`000007.sst`, `000003.wal`, …)
//!   and writes a file whole or not at all.
//! - [`http`] turns requests into calls on the store; a failed log answers 500.
//! - `serve.rs` accepts the connections that [`http`] serves: a deadline
//!   for each request head, and fewer open than the file limit allows.
//! - `main.rs` parses the flags, serves until SIGTERM or SIGINT, then flushes.
//!
//! New in this step: `bloom.rs`, `wal.rs`, `group_commit.rs`,
//! `log_record.rs`, `replay.rs`, `log_chain.rs` and `logged.rs`.
//!
//! Invariants (the tests in `tests/` check them):
//! - a write is acknowledged only once its log record is on disk, and a
//!   restart after any crash holds every acknowledged write and nothing
//!   acknowledged as deleted;
//! - a bloom filter never says "not here" for a key its table holds;
//! - newer beats older, and a tombstone hides every older value of its key;
//! - a lookup reads at most one block of each table its filter lets through.
//!
//! Read alongside chapter 7 of the book, "Bloom filters and a write-ahead log".

// Every public item says what it is: a learner reads them in the docs.
#![warn(missing_docs)]

mod bloom;
mod checksum;
mod compaction;
mod entries;
mod error;
mod file_set;
mod files;
mod group_commit;
pub mod http;
mod index;
mod line;
mod log_chain;
mod log_file;
mod log_record;
mod logged;
mod mailbox;
mod manifest;
mod memtable;
mod options;
mod recovery;
mod replay;
mod rotation;
mod serve;
mod shaker;
mod shared;
mod sidecar;
pub mod sstable;
mod state;
pub mod store;
mod table_reader;
mod wal;

/// The on-disk formats, for a tool that reads a data directory without
/// opening a store (`cargo inspect`, in `inspect/`). Each format keeps its
/// one definition in its own module; this only lends a reader the parts it
/// needs, so that the inspector cannot drift from the store.
pub mod format {
    pub use crate::bloom::{BloomFilter, FALSE_POSITIVE_RATE, hash as bloom_hash};
    pub use crate::checksum::{Checksum, Summer};
    pub use crate::files::{
        FILTER_EXTENSION, INDEX_EXTENSION, LOCK_FILE_NAME as LOCK, LOG_EXTENSION, TABLE_EXTENSION,
        file_number, filter_path, index_path, is_log, is_sidecar, is_table, is_temporary, log_path,
        table_path, temporary_path,
    };
    pub use crate::index::{BLOCK_BYTES, Block, BlockStart, Index};
    pub use crate::line::{
        compare_escaped, encode_line, escape, escaped_key, parse_line, unescape,
    };
    pub use crate::log_record::{
        HEADER_MOST, LogHeader, Op, batch_header, decode, encode, holds_no_batch,
        parse_batch_header, written_length,
    };
    pub use crate::manifest::{FILE_NAME as MANIFEST, LiveTable, Manifest, read as read_manifest};
    pub use crate::replay::End;
    pub use crate::sidecar::checked_body;
}

pub use error::{Error, Result};
pub use logged::Ticket;
pub use memtable::Entry;
pub use options::Options;
pub use store::{Storage, Store};
