//! The whole data directory, read once: which step wrote it, its manifest,
//! its live tables in the order a read looks in them, their sidecars, its
//! logs, and every other file. Each command (`summary`, `get`, `verify`,
//! `picture`) only looks at a [`Tree`].
//!
//! The idea: the store decides what is live as its recovery does (see the
//! `//!` of `recovery.rs`), and so does this file: from step 05 on the
//! manifest names the live tables, oldest first; before it (or when there
//! is no manifest yet) every table is live, in the order of its number.
//! Whatever else is in the directory is listed with the reason it is
//! there, which is usually that the next start will remove it.
//!
//! Shortcuts, and what they cost:
//! - the directory is listed once and each file read once, with no lock:
//!   beside a live server a file may vanish in between (a merge removed
//!   it), which becomes a note, or change, which the next look shows.
//!
//! Invariants:
//! - the inspector never writes, creates or removes a file: every file is
//!   opened read-only;
//! - every name in the directory is in exactly one place: the manifest, a
//!   live table or its sidecar, a log, or [`Tree::others`];
//! - the output is a function of the directory's files: names are sorted,
//!   nothing depends on time or on hashing.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use solution_07::format::{
    BloomFilter, Index, MANIFEST, encode_line, read_manifest, written_length,
};
use solution_07::{Entry, Error as StoreError};

use crate::log::{self, LogFile};
use crate::sidecars::{self, Sidecar};
use crate::table::{self, TableFile};
use crate::{Error, Problem, Result, Step};

/// A live table and its sidecars, where its step has them.
#[derive(Debug, Clone)]
pub struct Table {
    pub file: TableFile,
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
    /// The live tables, newest first: the order a read looks in them.
    pub tables: Vec<Table>,
    /// The logs, newest first (step 07).
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
    /// Reads `directory` as step `step` wrote it, or as the step its files
    /// show if `step` is `None`.
    pub fn read(directory: &Path, step: Option<Step>) -> Result<Tree> {
        let names = list(directory)?;
        let (step, step_reason) = match step {
            Some(step) => (step, "as --step says".to_string()),
            None => {
                let (step, reason) = Step::detect(names.iter().map(String::as_str));
                (step, format!("detected: {reason}"))
            }
        };
        let mut tree = Tree {
            directory: directory.to_path_buf(),
            step,
            step_reason,
            manifest: None,
            tables: Vec::new(),
            logs: Vec::new(),
            others: Vec::new(),
            problems: Vec::new(),
            notes: Vec::new(),
            files_read: 0,
        };
        let live = tree.live_table_names(&names);
        for name in live.iter().rev() {
            tree.read_table(name);
        }
        if step.has_filter_and_logs() {
            tree.read_logs(&names);
        }
        tree.sort_others(&names, &live);
        Ok(tree)
    }

    /// The names of the live tables, oldest first, as the step's recovery
    /// decides them.
    fn live_table_names(&mut self, names: &[String]) -> Vec<String> {
        if self.step.has_manifest() && names.iter().any(|name| name == MANIFEST) {
            self.files_read += 1;
            let listed = match read_manifest(&self.directory) {
                Ok(listed) => listed.unwrap_or_default(),
                Err(error) => {
                    self.problems.push(store_problem(MANIFEST, error));
                    // Go on with the lines that name a table that is there,
                    // to show what can be shown.
                    let text =
                        fs::read_to_string(self.directory.join(MANIFEST)).unwrap_or_default();
                    let lines = text
                        .lines()
                        .filter(|line| names.iter().any(|name| name == line));
                    lines.map(str::to_string).collect()
                }
            };
            self.manifest = Some(listed.clone());
            return listed;
        }
        let mut numbered: Vec<(u64, String)> = Vec::new();
        for name in names.iter().filter(|name| name.ends_with(".sst")) {
            match table_number(name) {
                Some(number) => numbered.push((number, name.clone())),
                None => self.problems.push(Problem::of(
                    name,
                    "the name of a table must be digits and `.sst`: the store refuses to start",
                )),
            }
        }
        numbered.sort();
        numbered.into_iter().map(|(_, name)| name).collect()
    }

    fn read_table(&mut self, name: &str) {
        let file = match table::read(&self.directory, name) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                if self.manifest.is_none() {
                    self.notes.push(format!(
                        "{name} vanished while it was read (a merge or a clear removed it)"
                    ));
                }
                return;
            }
            Err(error) => {
                self.problems
                    .push(Problem::of(name, format!("cannot read: {error}")));
                return;
            }
        };
        self.files_read += 1;
        self.problems.extend(file.problems.iter().cloned());
        let index = self
            .step
            .has_index()
            .then(|| sidecars::index(&self.directory, &file));
        let filter = self
            .step
            .has_filter_and_logs()
            .then(|| sidecars::filter(&self.directory, &file));
        for sidecar in [
            index.as_ref().map(is_present),
            filter.as_ref().map(is_present),
        ] {
            self.files_read += usize::from(sidecar == Some(true));
        }
        self.tables.push(Table {
            file,
            index,
            filter,
        });
    }

    fn read_logs(&mut self, names: &[String]) {
        let mut numbered: Vec<(u64, &String)> = Vec::new();
        for name in names.iter().filter(|name| name.ends_with(".wal")) {
            match table_number(name) {
                Some(number) => numbered.push((number, name)),
                None => self.problems.push(Problem::of(
                    name,
                    "the name of a log must be digits and `.wal`: the store refuses to start",
                )),
            }
        }
        numbered.sort();
        // As `recover_logs`: only the newest log that holds anything may
        // end in a torn batch.
        let written = |name: &str| {
            File::open(self.directory.join(name)).and_then(|file| written_length(&file))
        };
        let newest = numbered
            .iter()
            .rposition(|(_, name)| written(name).is_ok_and(|bytes| bytes > 0));
        for (at, (_, name)) in numbered.iter().enumerate().rev() {
            match log::read(&self.directory, name, Some(at) == newest) {
                Ok(log) => {
                    self.files_read += 1;
                    self.problems.extend(log.problems.iter().cloned());
                    self.logs.push(log);
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => self.notes.push(format!(
                    "{name} vanished while it was read (its table was written)"
                )),
                Err(error) => self
                    .problems
                    .push(Problem::of(name, format!("cannot read: {error}"))),
            }
        }
    }

    /// Puts every file that is not live, not a sidecar of a live table and
    /// not a log in [`Tree::others`], with why it is there; the leftovers
    /// that the next start removes are also problems.
    fn sort_others(&mut self, names: &[String], live: &[String]) {
        let step = self.step;
        for name in names {
            let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
            let of_live = live
                .iter()
                .any(|table| table.strip_suffix(".sst") == Some(stem));
            let why = match extension {
                _ if name == MANIFEST && step.has_manifest() => continue,
                "sst" if live.contains(name) => continue,
                "idx" if step.has_index() && of_live => continue,
                "bloom" if step.has_filter_and_logs() && of_live => continue,
                "wal" if step.has_filter_and_logs() => continue,
                "tmp" => Some(
                    "left by an interrupted write, or being written now; the next start removes it",
                ),
                "sst" => Some(
                    "not named by the MANIFEST: left by an interrupted flush or merge; the next start removes it",
                ),
                "idx" if step.has_index() => {
                    Some("the index of a table that is not live; the next start removes it")
                }
                "bloom" if step.has_filter_and_logs() => {
                    Some("the filter of a table that is not live; the next start removes it")
                }
                _ => None,
            };
            let bytes =
                fs::metadata(self.directory.join(name)).map_or(0, |metadata| metadata.len());
            let why = match why {
                Some(why) => {
                    self.problems.push(Problem::of(name, why));
                    why.to_string()
                }
                None if ["MANIFEST", "idx", "bloom", "wal"]
                    .iter()
                    .any(|kind| name == kind || extension == *kind) =>
                {
                    format!("not read by step {step}")
                }
                None => "not a file of the store".to_string(),
            };
            self.others.push(Other {
                name: name.clone(),
                bytes,
                why,
            });
        }
    }

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

fn is_present<T>(sidecar: &Sidecar<T>) -> bool {
    !matches!(sidecar, Sidecar::Missing)
}

/// The number in a table's or log's name, `000007.sst` → 7, by the store's
/// rule (`files::file_number`).
pub fn table_number(name: &str) -> Option<u64> {
    solution_07::format::file_number(Path::new(name)).ok()
}

/// The names in `directory`, sorted.
fn list(directory: &Path) -> Result<Vec<String>> {
    let list_error = |source| Error::List {
        path: directory.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(directory).map_err(list_error)? {
        // An entry that vanished between the listing and this look is gone.
        let Ok(entry) = entry else { continue };
        let is_file = entry.file_type().is_ok_and(|kind| kind.is_file());
        if is_file {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The store's error about `file` as a problem, with its line if it has one.
fn store_problem(file: &str, error: StoreError) -> Problem {
    match error {
        StoreError::Corrupt { line, reason, .. } => Problem::at(file, line, reason),
        other => Problem::of(file, other.to_string()),
    }
}
