//! The one error type of this crate.
//!
//! Each variant says what failed and names the thing it failed on. This file
//! knows nothing about HTTP: `http.rs` decides which status code each variant
//! becomes.
//!
//! The store reads and writes files, and three variants name the file they
//! failed on: `Io` (an operation on a file failed: which one, and the path),
//! `Corrupt` (a file breaks its format: the path and the line) and
//! `UnexpectedFile` (a `.sst` or `.wal` file whose name is not a number, so
//! its age is unknown). `Corrupt` names a damaged table (`sstable.rs`), a
//! damaged manifest (`manifest.rs`) and a write-ahead log damaged anywhere
//! but in a torn last batch (`replay.rs`).
//!
//! `ShakerFailed`: flushes and merges happen on the tree shaker's thread, so
//! the error of a failed one cannot reach the request that caused it.
//! Instead the shaker stops, and every later write is refused with the
//! reason, since the store could not keep it.
//!
//! `LogFailed`: once the write-ahead log could not be written or synced, no
//! write can be made durable, so every later write is refused with the
//! reason, as after a failed flush; a read that could see one of the refused
//! writes is refused too (`ReadAfterLogFailed`). And `panic_message` gives
//! the text of a caught panic: the tree shaker and the log syncer each turn
//! their own panic into such a refusal, so that no waiting thread waits
//! forever.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request named the empty key (the path was exactly `/kv/`).
    #[error("key cannot be empty")]
    EmptyKey,

    /// A PUT carried an empty body.
    #[error("value cannot be empty")]
    EmptyValue,

    /// A GET named a key that the store does not hold.
    #[error("key not found")]
    KeyNotFound,

    /// The key (after percent-decoding) or the value is not UTF-8.
    #[error("{what} is not valid UTF-8")]
    NotUtf8 {
        /// `"key"` or `"value"`.
        what: &'static str,
    },

    /// A file operation failed.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// What we tried to do to the file, e.g. `"write"`.
        action: &'static str,
        /// The file (or directory) it concerns.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// A table or the manifest breaks its format (see `sstable.rs` and
    /// `manifest.rs`).
    #[error("{}:{line}: {reason}", .path.display())]
    Corrupt {
        /// The file (or directory) it concerns.
        path: PathBuf,
        /// The line that broke the format, counted from 1.
        line: usize,
        /// Why, in one line.
        reason: String,
    },

    /// A table's bytes are not what the manifest names it with: its size
    /// or its CRC-32 differs, so it was damaged after it was written.
    #[error(
        "{}: the table is damaged: it has {found}, but the manifest names it with {expected}",
        .path.display()
    )]
    Damaged {
        /// The file (or directory) it concerns.
        path: PathBuf,
        /// What the file holds now.
        found: crate::checksum::Checksum,
        /// What the manifest says it held when it was written.
        expected: crate::checksum::Checksum,
    },

    /// The tree shaker could not write or merge a table (or stopped by a
    /// bug), so writes are refused: the store could not keep them.
    #[error("writes are refused since the tree shaker failed: {reason}")]
    ShakerFailed {
        /// Why, in one line.
        reason: String,
    },

    /// The write-ahead log could not be written or synced, so writes are
    /// refused: the store could not keep them.
    #[error("writes are refused since the write-ahead log failed: {reason}")]
    LogFailed {
        /// Why, in one line.
        reason: String,
    },

    /// A read found what may be a write that was refused when the log
    /// failed: it must not show it (see `logged.rs`).
    #[error(
        "reads are refused since the write-ahead log failed (the memtable may hold writes that were refused): {reason}"
    )]
    ReadAfterLogFailed {
        /// Why, in one line.
        reason: String,
    },

    /// The working directory holds a `.sst` or `.wal` file whose name is
    /// not a number, so we cannot tell how old it is.
    #[error(
        "{}: the name of a table or a log must be digits followed by `.sst` or `.wal`",
        .path.display()
    )]
    UnexpectedFile {
        /// The file (or directory) it concerns.
        path: PathBuf,
    },

    /// Another process holds the lock of the data directory (see
    /// `files::lock_directory`): another server is using it.
    #[error(
        "another server is using {}: a data directory serves one server at a time (stop the other one first)",
        .directory.display()
    )]
    Locked {
        /// The data directory.
        directory: PathBuf,
    },

    /// The server could not open its listening socket.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address the server tried to listen on.
        addr: SocketAddr,
        /// What the operating system said.
        source: io::Error,
    },

    /// The server could not set up its runtime or its signal handlers.
    #[error("cannot start the server ({what}): {source}")]
    Start {
        /// What was being set up, e.g. `"SIGTERM handler"`.
        what: &'static str,
        /// What the operating system said.
        source: io::Error,
    },
}

/// The `Result` of this crate: `Ok(T)` or one of our [`Error`]s.
pub type Result<T> = std::result::Result<T, Error>;

/// The text a panic carried (what `panic!` or `todo!` was given), for the
/// answer or the error that a caught panic becomes.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "an unknown panic".into())
}
