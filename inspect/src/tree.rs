//! The whole data directory, as one look found it: which step wrote it, its
//! manifest, its live tables in the order a read looks in them, their
//! sidecars, the logs a start replays, and every other file. Each command
//! (`summary`, `get`, `verify`, `picture`) only looks at a [`Tree`].
//!
//! A [`Tree`] is made by [`Tree::read`] (`tree_reader.rs`), which decides
//! what is live as the store's start does; this file holds what it found,
//! and the two sizes the summary compares ([`Tree::bytes_on_disk`] and
//! [`Tree::live_bytes`]).
//!
//! Invariants:
//! - every name in the directory is in exactly one place: the manifest, a
//!   live table or its sidecar, a log, the lock ([`Tree::lock`]), or
//!   [`Tree::others`];
//! - the output is a function of the directory's files: names are sorted,
//!   nothing depends on time or on hashing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use solution_07::Entry;
use solution_07::format::{BloomFilter, Index, MANIFEST, encode_line};

use crate::lock::Lock;
use crate::log::LogFile;
use crate::sidecars::{self, Sidecar};
use crate::table::TableFile;
use crate::{Problem, Step};

/// A live table and its sidecars, where its step has them.
#[derive(Debug, Clone)]
pub struct Table {
    /// Shared with the [`TableCache`](crate::TableCache) and with older looks
    /// that hold it.
    pub file: Arc<TableFile>,
    /// `None` before step 06.
    pub index: Option<Sidecar<Index>>,
    /// `None` before step 07.
    pub filter: Option<Sidecar<BloomFilter>>,
}

impl Table {
    /// The index a lookup uses: the one on disk if the store would use it,
    /// else the one the store rebuilds at open. `None` before step 06.
    pub fn index_in_use(&self) -> Option<(Index, bool)> {
        match self.index.as_ref()? {
            Sidecar::Sound(index) => Some((index.clone(), false)),
            _ => Some((sidecars::rebuilt_index(&self.file), true)),
        }
    }

    /// The filter a lookup uses, and whether it had to be rebuilt.
    pub fn filter_in_use(&self) -> Option<(BloomFilter, bool)> {
        match self.filter.as_ref()? {
            Sidecar::Sound(filter) => Some((filter.clone(), false)),
            _ => Some((sidecars::rebuilt_filter(&self.file), true)),
        }
    }
}

/// A file that is neither the manifest, a live table, a sidecar of one, nor
/// a log, with why it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Other {
    pub name: String,
    pub bytes: u64,
    pub why: String,
}

/// A data directory, as read once.
#[derive(Debug, Clone)]
pub struct Tree {
    /// The directory as it was given.
    pub directory: PathBuf,
    pub step: Step,
    /// Why this step: `--step`, or what detection found.
    pub step_reason: String,
    /// The manifest's table names, oldest first, where the step reads one
    /// and there is one.
    pub manifest: Option<Vec<String>>,
    /// The manifest's log line (step 07): the number of the oldest log
    /// whose writes are in no table yet, and the line it is on.
    pub oldest_log: Option<(u64, usize)>,
    /// Whether a server holds the directory's `LOCK`: `None` when there is
    /// no `LOCK` file (or it cannot be asked).
    pub lock: Option<Lock>,
    /// The live tables, newest first: the order a read looks in them.
    pub tables: Vec<Table>,
    /// The logs a start replays, newest first: the chain (step 07, see
    /// `chain.rs`), whose newest log is the one in use. A log outside the
    /// chain is in [`Tree::others`].
    pub logs: Vec<LogFile>,
    /// Every other file, by name.
    pub others: Vec<Other>,
    /// Everything that breaks a rule, in the order found.
    pub problems: Vec<Problem>,
    /// What changed while we read (a file that vanished), not a problem.
    pub notes: Vec<String>,
    /// How many files were read.
    pub files_read: usize,
}

impl Tree {
    /// The bytes of every file of the store in the directory: tables,
    /// sidecars, the manifest, logs and leftovers.
    pub fn bytes_on_disk(&self) -> u64 {
        let tables: u64 = self.tables.iter().map(|table| table.file.bytes).sum();
        let sidecars: u64 = self
            .tables
            .iter()
            .flat_map(|table| {
                ["idx", "bloom"].map(|extension| sidecars::name_for(&table.file.name, extension))
            })
            .map(|name| {
                fs::metadata(self.directory.join(name)).map_or(0, |metadata| metadata.len())
            })
            .sum();
        let manifest =
            fs::metadata(self.directory.join(MANIFEST)).map_or(0, |metadata| metadata.len());
        let manifest = if self.manifest.is_some() { manifest } else { 0 };
        let logs: u64 = self.logs.iter().map(|log| log.file_bytes).sum();
        let others: u64 = self
            .others
            .iter()
            .filter(|other| !other.why.starts_with("not a file"))
            .map(|other| other.bytes)
            .sum();
        tables + sidecars + manifest + logs + others
    }

    /// The live data, as one table would hold it: for each key, its newest
    /// entry in the tables, and the bytes of its line if that is a value
    /// (a tombstone is not live data).
    pub fn live_bytes(&self) -> u64 {
        let mut newest: BTreeMap<&str, &Entry> = BTreeMap::new();
        for table in &self.tables {
            for line in &table.file.lines {
                newest.entry(line.key.as_str()).or_insert(&line.entry);
            }
        }
        let live = newest
            .iter()
            .filter(|(_, entry)| ***entry != Entry::Tombstone);
        live.map(|(key, entry)| encode_line(key, entry).len() as u64)
            .sum()
    }
}

/// The number in a table's or log's name, `000007.sst` → 7, by the store's
/// rule (`files::file_number`).
pub fn table_number(name: &str) -> Option<u64> {
    solution_07::format::file_number(Path::new(name)).ok()
}
