//! A table's checksum: its size and the CRC-32 of its bytes, which the
//! manifest records beside the table's name (see `manifest.rs`).
//!
//! The idea: a table is plain text, so damage that still parses (a letter
//! of a value changed, a line lost at a line boundary) would be served as
//! if it were data. Tables never change once written, so the writer sums
//! the bytes as it writes them, the manifest names the table with that sum,
//! and a start reads each table through once and compares, before any of
//! its entries is served. The text stays plain: `cat` still reads a table,
//! and the checksum lives beside it, in the manifest.
//!
//! Shortcuts, and what they cost:
//! - a table is checked once, when the store opens it, and trusted from
//!   then on: damage done to a file under a running store is not seen
//!   until the next start (LevelDB checks each block as it reads it);
//! - CRC-32 catches every change of up to a few bits and all but one in
//!   four billion others, which is enough against a disk's damage, not
//!   against someone forging a table on purpose.
//!
//! Invariants:
//! - a checksum is the size of the whole file and the CRC-32 (IEEE) of all
//!   of its bytes, in order;
//! - [`Summer`] fed a file's bytes in order gives what [`Checksum::of_file`]
//!   reads from it.
//!
//! Read alongside chapter 5 of the book, "Compaction".

use std::fmt;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::{Error, Result};

/// How many bytes [`Checksum::of_file`] reads at a time.
const READ_BYTES: usize = 64 * 1024;

/// What a table's bytes must be: how many, and their CRC-32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksum {
    /// The size of the file, in bytes.
    pub bytes: u64,
    /// The CRC-32 (IEEE) of all of the file's bytes.
    pub crc: u32,
}

impl Checksum {
    /// Reads the whole of `file` (at `path`, for errors) and sums it.
    pub fn of_file(file: &File, path: &Path) -> Result<Checksum> {
        let mut summer = Summer::default();
        let mut buffer = vec![0; READ_BYTES];
        loop {
            let read = file
                .read_at(&mut buffer, summer.bytes)
                .map_err(|source| Error::Io {
                    action: "read",
                    path: path.to_path_buf(),
                    source,
                })?;
            if read == 0 {
                return Ok(summer.finish());
            }
            summer.add(&buffer[..read]);
        }
    }

    /// Opens the file at `path` and sums it.
    pub fn of_path(path: &Path) -> Result<Checksum> {
        let file = File::open(path).map_err(|source| Error::Io {
            action: "open",
            path: path.to_path_buf(),
            source,
        })?;
        Checksum::of_file(&file, path)
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} bytes with CRC-32 {:08x}",
            self.bytes, self.crc
        )
    }
}

/// Sums bytes as they go by, for a writer that checksums what it writes.
#[derive(Default)]
pub struct Summer {
    hasher: crc32fast::Hasher,
    bytes: u64,
}

impl Summer {
    /// Adds the next `bytes` of the file.
    pub fn add(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
    }

    /// The checksum of everything added.
    pub fn finish(self) -> Checksum {
        Checksum {
            bytes: self.bytes,
            crc: self.hasher.finalize(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_read_back_sums_to_what_was_written() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.sst");
        let text = "kenya:capital→Nairobi\n".repeat(10_000);
        let mut summer = Summer::default();
        for line in text.split_inclusive('\n') {
            summer.add(line.as_bytes());
        }
        std::fs::write(&path, &text).unwrap();
        let written = summer.finish();
        assert_eq!(written.bytes, text.len() as u64);
        assert_eq!(Checksum::of_path(&path).unwrap(), written);
        // One letter changed: same size, another sum.
        std::fs::write(&path, text.replacen("Nairobi", "Nairobu", 1)).unwrap();
        assert_ne!(Checksum::of_path(&path).unwrap(), written);
    }
}
