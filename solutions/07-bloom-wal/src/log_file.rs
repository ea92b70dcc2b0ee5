//! Making a log file: its header line, then zeros up to the length the
//! header gives, synced, with its name made durable (see [`create_file`]).
//! The store makes one at its start (`Wal::create`) and at each rotation
//! (`rotation.rs`).
//!
//! Read alongside chapter 7.2 of the book, "The write-ahead log and group
//! commit".

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::log_record::LogHeader;
use crate::{Error, Result};

/// Creates the log file at `path`: its `header` line (see `log_record.rs`),
/// then zeros up to the length the header gives (a sparse file), synced, and its
/// directory synced so that its name is durable. Returns the file and the
/// header's length, where the first batch goes.
///
/// Why the length up front: appending to a file changes its size, and then
/// every `fdatasync` must write the inode as well as the data. Within the
/// preallocated length the size does not change, and most syncs write the
/// data alone; not all, because the first write into each block of a
/// sparse file allocates the block, metadata its sync must persist too
/// (RocksDB's wiki, "WAL Performance": even `fallocate` does not avoid it,
/// only reusing an old log's blocks does). What that gained is in the
/// book's appendix, "Logs made full-size". Replay reads up to the last
/// byte that is not zero (`log_record::written_length`): a record ends with
/// a newline, never with a zero. The header gives the length, so that a
/// start can tell a log that was cut from one that was never written to.
pub(crate) fn create_file(path: &Path, header: &LogHeader) -> Result<(File, u64)> {
    let io_error = |action, source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let preallocated = header.made;
    let header = header.line();
    let made = (|| {
        let mut file = File::create(path).map_err(|source| io_error("create", source))?;
        file.write_all(header.as_bytes())
            .map_err(|source| io_error("write", source))?;
        let length = preallocated.max(header.len() as u64);
        file.set_len(length)
            .map_err(|source| io_error("preallocate", source))?;
        file.sync_all().map_err(|source| io_error("sync", source))?;
        crate::files::sync_directory(path.parent().unwrap_or(Path::new(".")))?;
        Ok(file)
    })();
    match made {
        Ok(file) => Ok((file, header.len() as u64)),
        Err(error) => {
            // Best effort: the file is unused, and nothing names it.
            let _ = std::fs::remove_file(path);
            Err(error)
        }
    }
}
