//! Reading the data directory once, into a [`Tree`], as the store's start
//! would read it.
//!
//! The idea: the store decides what is live as its recovery does (see the
//! `//!` of `recovery.rs`), and so does this file: from step 05 on the
//! manifest names the live tables, oldest first; before it (or when there
//! is no manifest yet) every table is live, in the order of its number.
//! Whatever else is in the directory is listed with the reason it is
//! there, which is usually that the next start will remove it.
//!
//! What the store refuses to start on, this reports as a problem that says
//! so, by the store's own rules: a manifest that fails `manifest::read`; a
//! live table whose size or CRC-32 is not what its manifest line names
//! (summed by the store's own `Summer`); a table line that breaks its
//! format where the start reads the table through (step 03 to 05 always,
//! 06 and 07 when a sidecar must be rebuilt); a log of the chain a start
//! replays (`chain.rs`) that is damaged anywhere but in a torn tail, a
//! link of that chain that is missing, or a log with writes outside it; a
//! table or log whose name is not a number; and anything that is not a
//! file where the store reads, writes or removes one (a directory called
//! `000999.sst`, say: removing it fails). `LOCK` is the store's lock on
//! the directory, asked whether a server holds it (`lock.rs`).
//!
//! Shortcuts, and what they cost:
//! - the directory is listed once and each file read once, with no lock:
//!   beside a live server a file may vanish in between (a merge removed
//!   it), which becomes a note, or change, which the next look shows;
//! - asking whether `LOCK` is held takes a shared lock for a moment (see
//!   `lock.rs`).
//!
//! Invariants:
//! - the inspector never writes, creates or removes a file: every file is
//!   opened read-only;
//! - whatever would stop the store's start is a problem marked as refusing
//!   it, and nothing else is.

use std::fs;
use std::io;
use std::path::Path;

use solution_07::Error as StoreError;
use solution_07::format::{Checksum, LOCK, LiveTable, MANIFEST, Manifest, read_manifest};

use crate::cache::TableCache;
use crate::chain::{self, Outside};
use crate::lock::{self, Lock, SERVER_RUNNING};
use crate::sidecars::Sidecar;
use crate::tree::{Other, Table, Tree, table_number};
use crate::{Error, Problem, Result, Step};

impl Tree {
    /// Reads `directory` as step `step` wrote it, or as the step its files
    /// show if `step` is `None`.
    pub fn read(directory: &Path, step: Option<Step>) -> Result<Tree> {
        Tree::read_cached(directory, step, &mut TableCache::default())
    }

    /// [`Tree::read`], with the tables that did not change since the last
    /// look taken from `cache` instead of from disk (see `cache.rs`).
    pub fn read_cached(
        directory: &Path,
        step: Option<Step>,
        cache: &mut TableCache,
    ) -> Result<Tree> {
        let (names, not_files) = list(directory)?;
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
            oldest_log: None,
            lock: None,
            tables: Vec::new(),
            logs: Vec::new(),
            others: Vec::new(),
            problems: Vec::new(),
            notes: Vec::new(),
            files_read: 0,
        };
        tree.lock = lock::state(directory, &names);
        if tree.lock == Some(Lock::Held) {
            tree.notes.push(SERVER_RUNNING.to_string());
        }
        let live = tree.live_tables(&names);
        for (name, expected) in live.iter().rev() {
            tree.read_table(name, *expected, cache);
        }
        cache.forget_unused();
        let outside_logs = if step.has_filter_and_logs() {
            tree.read_logs(&names)
        } else {
            Vec::new()
        };
        let live: Vec<String> = live.into_iter().map(|(name, _)| name).collect();
        tree.sort_others(&names, &live, &outside_logs);
        tree.sort_not_files(&not_files);
        Ok(tree)
    }

    /// The names of the live tables, oldest first, as the step's recovery
    /// decides them, each with the size and CRC-32 its manifest line names
    /// (`None` where there is no manifest, or it failed its check).
    fn live_tables(&mut self, names: &[String]) -> Vec<(String, Option<Checksum>)> {
        // As `recover`: the store numbers every `.sst` before it reads the
        // manifest, and a name that is not a number stops it.
        let mut numbered: Vec<(u64, String)> = Vec::new();
        for name in names.iter().filter(|name| name.ends_with(".sst")) {
            match table_number(name) {
                Some(number) => numbered.push((number, name.clone())),
                None => self.problems.push(
                    Problem::of(name, "the name of a table must be digits and `.sst`").refusing(),
                ),
            }
        }
        if self.step.has_manifest() && names.iter().any(|name| name == MANIFEST) {
            self.files_read += 1;
            let listed: Vec<(String, Option<Checksum>)> = match read_manifest(&self.directory) {
                Ok(manifest) => {
                    let Manifest { tables, oldest_log } = manifest.unwrap_or(Manifest {
                        tables: Vec::new(),
                        oldest_log: None,
                    });
                    // The log line comes right after the table lines.
                    self.oldest_log = oldest_log.map(|number| (number, tables.len() + 1));
                    tables
                        .into_iter()
                        .map(|LiveTable { name, checksum }| (name, Some(checksum)))
                        .collect()
                }
                Err(error) => {
                    self.problems
                        .push(store_problem(MANIFEST, error).refusing());
                    // Go on with the lines that name a table that is there,
                    // and the log line, to show what can be shown.
                    let text =
                        fs::read_to_string(self.directory.join(MANIFEST)).unwrap_or_default();
                    self.oldest_log = text.lines().enumerate().find_map(|(at, line)| {
                        let number = line.strip_prefix("log ")?;
                        let is_number =
                            number.len() == 6 && number.bytes().all(|b| b.is_ascii_digit());
                        Some((number.parse().ok().filter(|_| is_number)?, at + 1))
                    });
                    let mut shown: Vec<(String, Option<Checksum>)> = Vec::new();
                    let lines = text
                        .lines()
                        .filter_map(|line| line.split(' ').next())
                        .filter(|first| names.iter().any(|name| name == first));
                    for name in lines {
                        if !shown.iter().any(|(seen, _)| seen == name) {
                            shown.push((name.to_string(), None));
                        }
                    }
                    shown
                }
            };
            self.manifest = Some(listed.iter().map(|(name, _)| name.clone()).collect());
            return listed;
        }
        numbered.sort();
        numbered.into_iter().map(|(_, name)| (name, None)).collect()
    }

    /// Reads the live table `name`, and checks it against `expected`, what
    /// its manifest line names it with, as the store's `SsTable::open` does.
    fn read_table(&mut self, name: &str, expected: Option<Checksum>, cache: &mut TableCache) {
        let (file, index, filter) = match cache.load(&self.directory, self.step, name) {
            Ok(loaded) => loaded,
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
                    .push(Problem::of(name, format!("cannot read: {error}")).refusing());
                return;
            }
        };
        self.files_read += 1;
        if let Some(expected) = expected
            && file.checksum != expected
        {
            // The words of the store's `Error::Damaged`.
            self.problems.push(
                Problem::of(
                    name,
                    format!(
                        "the table is damaged: it has {}, but the manifest names it with {expected}",
                        file.checksum
                    ),
                )
                .refusing(),
            );
        }
        // The start reads a table through, and so stops at its first bad
        // line, in steps 03 to 05 always, and from 06 on only to rebuild a
        // sidecar that is missing or does not check out.
        let is_rebuilt = |sidecar: &Option<Sidecar<_>>| {
            sidecar
                .as_ref()
                .is_some_and(|sidecar| sidecar.sound().is_none())
        };
        let read_through = !self.step.has_index()
            || is_rebuilt(&index)
            || filter
                .as_ref()
                .is_some_and(|filter| filter.sound().is_none());
        self.problems.extend(
            file.problems
                .iter()
                .map(|problem| problem.clone().refusing_if(read_through)),
        );
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

    /// Reads the logs as a start replays them (`chain.rs`), and returns
    /// the logs outside the chain, each with why.
    fn read_logs(&mut self, names: &[String]) -> Vec<Outside> {
        let mut numbered: Vec<(u64, String)> = Vec::new();
        for name in names.iter().filter(|name| name.ends_with(".wal")) {
            match table_number(name) {
                Some(number) => numbered.push((number, name.clone())),
                None => self.problems.push(
                    Problem::of(name, "the name of a log must be digits and `.wal`").refusing(),
                ),
            }
        }
        numbered.sort();
        let chain = chain::read(&self.directory, &numbered, self.oldest_log);
        self.files_read += chain.files_read;
        self.problems.extend(chain.problems);
        self.notes.extend(chain.notes);
        self.logs = chain.logs.into_iter().rev().collect();
        chain.outside
    }

    /// Puts every file that is not live, not a sidecar of a live table and
    /// not a log of the chain in [`Tree::others`], with why it is there
    /// (`outside_logs` says it for the logs); the leftovers that the next
    /// start removes are also problems. Behind a manifest that failed its
    /// check, or names a log that is missing, they are not: the start
    /// refuses, and removes nothing on the word of that manifest. (A log
    /// outside the chain that the start refuses on has its problem already,
    /// from `chain.rs`.)
    fn sort_others(&mut self, names: &[String], live: &[String], outside_logs: &[Outside]) {
        let step = self.step;
        let manifest_failed = self
            .problems
            .iter()
            .any(|problem| problem.file == MANIFEST && problem.refuses_start);
        for name in names {
            let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
            let of_live = live
                .iter()
                .any(|table| table.strip_suffix(".sst") == Some(stem));
            let why = match extension {
                _ if name == MANIFEST && step.has_manifest() => continue,
                _ if name == LOCK => continue,
                "sst" if live.contains(name) => continue,
                "idx" if step.has_index() && of_live => continue,
                "bloom" if step.has_filter_and_logs() && of_live => continue,
                "wal" if step.has_filter_and_logs() => {
                    match outside_logs.iter().find(|outside| outside.name == *name) {
                        Some(outside) if outside.removed => Some(outside.why.as_str()),
                        Some(outside) => {
                            self.others.push(Other {
                                name: name.clone(),
                                bytes: file_bytes(&self.directory, name),
                                why: outside.why.clone(),
                            });
                            continue;
                        }
                        None => continue,
                    }
                }
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
            let bytes = file_bytes(&self.directory, name);
            let why = match why {
                Some(why) if manifest_failed => why.replace(
                    "the next start removes it",
                    "no start removes it while the MANIFEST fails its check",
                ),
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

    /// Puts every entry of the directory that is not a file in
    /// [`Tree::others`]. Where the store reads, writes or removes a file of
    /// that name, it cannot, and refuses to start: a `.sst` or a `.tmp`
    /// (the start removes or opens it), the `MANIFEST` and `LOCK` (it opens
    /// them), and from the step that has them a sidecar (removed, or
    /// rebuilt over) and a log (replayed, then removed).
    fn sort_not_files(&mut self, not_files: &[String]) {
        let step = self.step;
        for name in not_files {
            let extension = name.rsplit_once('.').map_or("", |(_, extension)| extension);
            let the_store_acts_on_it = match extension {
                "sst" | "tmp" => true,
                "idx" => step.has_index(),
                "bloom" | "wal" => step.has_filter_and_logs(),
                _ => name == LOCK || (name == MANIFEST && step.has_manifest()),
            };
            let why = if the_store_acts_on_it {
                let why = "not a file (a directory?) where the store reads, writes or removes one";
                self.problems.push(Problem::of(name, why).refusing());
                why
            } else {
                "not a file of the store (not a file at all)"
            };
            self.others.push(Other {
                name: name.clone(),
                bytes: 0,
                why: why.to_string(),
            });
        }
    }
}

/// The length of the file `name` in `directory`, 0 if it is gone.
fn file_bytes(directory: &Path, name: &str) -> u64 {
    fs::metadata(directory.join(name)).map_or(0, |metadata| metadata.len())
}

fn is_present<T>(sidecar: &Sidecar<T>) -> bool {
    !matches!(sidecar, Sidecar::Missing)
}

/// The names in `directory`, sorted: of the files (a link to a file
/// counts, as it does for the store), and of every other entry.
fn list(directory: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let list_error = |source| Error::List {
        path: directory.to_path_buf(),
        source,
    };
    let (mut files, mut others) = (Vec::new(), Vec::new());
    for entry in fs::read_dir(directory).map_err(list_error)? {
        // An entry that vanished between the listing and this look is gone.
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        match fs::metadata(entry.path()) {
            Ok(metadata) if metadata.is_file() => files.push(name),
            Ok(_) => others.push(name),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(_) => others.push(name),
        }
    }
    files.sort();
    others.sort();
    Ok((files, others))
}

/// The store's error about `file` as a problem, with its line if it has one.
fn store_problem(file: &str, error: StoreError) -> Problem {
    match error {
        StoreError::Corrupt { line, reason, .. } => Problem::at(file, line, reason),
        other => Problem::of(file, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_is_known_asked_and_never_created() {
        let directory = tempfile::tempdir().unwrap();
        let step = Some(Step::new(7).unwrap());
        let tree = Tree::read(directory.path(), step).unwrap();
        assert_eq!(tree.lock, None);
        assert!(
            !directory.path().join(LOCK).exists(),
            "reading created LOCK"
        );

        let lock = fs::File::create(directory.path().join(LOCK)).unwrap();
        let tree = Tree::read(directory.path(), step).unwrap();
        assert_eq!(tree.lock, Some(Lock::Free));
        assert!(tree.others.is_empty(), "{:?}", tree.others);
        assert!(tree.notes.is_empty(), "{:?}", tree.notes);

        // As a running server holds it (`files::lock_directory`).
        lock.try_lock().unwrap();
        let tree = Tree::read(directory.path(), step).unwrap();
        assert_eq!(tree.lock, Some(Lock::Held));
        assert_eq!(tree.notes, [SERVER_RUNNING]);
        assert!(tree.problems.is_empty(), "{:?}", tree.problems);
    }

    #[test]
    fn a_directory_where_the_store_keeps_a_file_stops_it() {
        let directory = tempfile::tempdir().unwrap();
        for name in ["000999.sst", "000001.wal", "notes"] {
            fs::create_dir(directory.path().join(name)).unwrap();
        }
        let tree = Tree::read(directory.path(), Some(Step::new(7).unwrap())).unwrap();
        let refusing: Vec<&str> = tree
            .problems
            .iter()
            .filter(|problem| problem.refuses_start)
            .map(|problem| problem.file.as_str())
            .collect();
        assert_eq!(
            refusing,
            ["000001.wal", "000999.sst"],
            "{:?}",
            tree.problems
        );
        let others: Vec<&str> = tree
            .others
            .iter()
            .map(|other| other.name.as_str())
            .collect();
        assert_eq!(others, ["000001.wal", "000999.sst", "notes"]);
    }

    #[test]
    fn a_table_is_checked_against_its_manifest_line() {
        let directory = tempfile::tempdir().unwrap();
        let table = "a→1\n";
        fs::write(directory.path().join("000001.sst"), table).unwrap();
        let line = |bytes: usize, crc: u32| format!("000001.sst {bytes} {crc:08x}\n");
        let manifest = |body: String| {
            let check = format!("check {:08x}\n", crc32(&body));
            fs::write(directory.path().join(MANIFEST), body + &check).unwrap();
        };
        let step = Some(Step::new(5).unwrap());
        manifest(line(table.len(), crc32(table)));
        let tree = Tree::read(directory.path(), step).unwrap();
        assert_eq!(tree.problems, []);
        manifest(line(table.len(), crc32("a→2\n")));
        let tree = Tree::read(directory.path(), step).unwrap();
        assert_eq!(tree.problems.len(), 1, "{:?}", tree.problems);
        let problem = &tree.problems[0];
        assert_eq!((problem.file.as_str(), problem.line), ("000001.sst", None));
        assert!(problem.refuses_start);
        assert!(
            problem
                .reason
                .starts_with("the table is damaged: it has 6 bytes with CRC-32 "),
            "{problem:?}"
        );
    }

    /// The CRC-32 of `text`, by the store's own `Summer`.
    fn crc32(text: &str) -> u32 {
        let mut summer = solution_07::format::Summer::default();
        summer.add(text.as_bytes());
        summer.finish().crc
    }
}
