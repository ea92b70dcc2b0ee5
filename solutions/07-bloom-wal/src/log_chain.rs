//! Which write-ahead logs a start must replay, and the proof that none of
//! them is missing or was cut.
//!
//! The idea: the logs whose writes are in no table yet form a chain. The
//! manifest names its first link, the oldest log still needed (a flush
//! moves it on, see `shaker.rs`); every log but the newest ends with a
//! `next` record that names the log after it (a rotation writes it, see
//! `wal.rs`); and every log's header says how long its file was made (see
//! `log_record.rs`). So a start can tell a log that is gone, or cut at a
//! batch boundary, from one that was never written: each of those leaves a
//! link that names a file that is not there, a log that ends without its
//! `next`, or a file shorter than its header says.
//!
//! The rules, for the log files in the directory:
//! - a log numbered below the manifest's is a leftover of a flush (its
//!   writes are in a table): removed once the start has checked the rest;
//! - the chain runs from the manifest's log (it must exist) to the newest
//!   log that holds a batch, or that the one before it names; each log in
//!   it is replayed, and each but the newest must end with `next` naming
//!   the log after it, which must exist;
//! - a log after the chain holds no batch: a new log that a rotation made
//!   but never named (it crashed or failed in between), or the one a start
//!   made before it crashed. It is removed too.
//!
//! Shortcuts, and what they cost:
//! - a manifest written by step 05 or 06 names no log: the chain then
//!   starts at the oldest log there is, and a log removed from the start
//!   of it goes unseen. Step 07 writes the log line from its first start;
//! - the newest log's last batch, damaged so that it looks torn (zeros,
//!   or cut where the file's zeros begin), is dropped as a torn write
//!   would be: on disk, the two look the same.
//!
//! Invariants:
//! - nothing is removed here: the caller removes [`Chain::done`] only once
//!   every table and every log has passed its checks;
//! - logs are replayed oldest first, so a newer record beats an older one.
//!
//! Read alongside chapter 7.2 of the book, "The write-ahead log and group
//! commit".

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::log_record::{self, Replayed};
use crate::memtable::Memtable;
use crate::{Error, Result};

/// What replaying the chain gave.
#[derive(Debug, Default)]
pub(crate) struct Chain {
    /// How many writes were replayed, in all.
    pub(crate) records: usize,
    /// Whether a `clear` was among them: every table is older, and void.
    pub(crate) cleared: bool,
    /// The highest log number seen, in a file name, a `next` record or the
    /// manifest: the next log is numbered above it.
    pub(crate) highest: u64,
    /// Every log file there, replayed or left over: its writes are in a
    /// table once the caller has written the replayed memtable to one.
    pub(crate) done: Vec<PathBuf>,
}

/// Replays the chain of `logs` (their numbers and paths, sorted) into
/// `memtable`. `oldest` is the manifest's log line, if it has one, and
/// `manifest` where to point when the log it names is missing.
pub(crate) fn replay(
    logs: &[(u64, PathBuf)],
    oldest: Option<(u64, &Path, usize)>,
    memtable: &mut Memtable,
) -> Result<Chain> {
    let mut chain = Chain {
        highest: oldest.map_or(0, |(number, _, _)| number),
        done: logs.iter().map(|(_, path)| path.clone()).collect(),
        ..Chain::default()
    };
    let Some(first) = oldest
        .map(|(number, _, _)| number)
        .or(logs.first().map(|(number, _)| *number))
    else {
        return Ok(chain);
    };
    let live: Vec<&(u64, PathBuf)> = logs.iter().filter(|(number, _)| *number >= first).collect();
    if let Some((number, manifest, line)) = oldest
        && live.first().is_none_or(|(found, _)| *found != number)
    {
        return Err(Error::Corrupt {
            path: manifest.to_path_buf(),
            line,
            reason: format!(
                "names {} as the oldest log still needed, and it is missing: \
                 acknowledged writes may have been in it",
                log_name(number)
            ),
        });
    }
    // The newest log that holds a batch: every log before it must lead to
    // it. Logs after it are empty; the first of them may be the newest
    // link, if the one before names it.
    let mut end = first;
    for (number, path) in &live {
        if holds_a_batch(path)? {
            end = *number;
        }
    }
    // Each log but the newest names the next, which `check_next` finds
    // among `logs`: so these are `first`, `first + 1`, ... up to `end`.
    for (number, path) in live.iter().filter(|(number, _)| *number <= end) {
        let newest = *number == end;
        let replayed = log_record::replay(path, newest, memtable)?;
        tracing::info!(
            "replayed {} records from {}",
            replayed.records,
            path.display()
        );
        chain.records += replayed.records;
        chain.cleared |= replayed.cleared;
        check_next(path, *number, newest, &replayed, logs)?;
        chain.highest = chain.highest.max(replayed.next.unwrap_or(0)).max(*number);
    }
    chain.highest = chain
        .highest
        .max(logs.last().map_or(0, |(number, _)| *number));
    Ok(chain)
}

/// Checks how the log `number` at `path` ends: a log before the newest
/// names the log after it, and a log it names exists.
fn check_next(
    path: &Path,
    number: u64,
    newest: bool,
    replayed: &Replayed,
    logs: &[(u64, PathBuf)],
) -> Result<()> {
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        line: replayed.lines,
        reason,
    };
    match replayed.next {
        None if newest => Ok(()),
        None => Err(corrupt(format!(
            "the log ends without naming the next one (`next {:06}`), and a newer log \
             holds writes: the end of this log is missing",
            number + 1,
        ))),
        Some(next) if next != number + 1 => Err(corrupt(format!(
            "names {} as the next log, but logs are numbered one after another: {} is next",
            log_name(next),
            log_name(number + 1)
        ))),
        Some(next) if !logs.iter().any(|(found, _)| *found == next) => Err(corrupt(format!(
            "names {} as the next log, and it is missing: acknowledged writes may have \
             been in it",
            log_name(next)
        ))),
        Some(_) => Ok(()),
    }
}

/// Whether the log at `path` holds a batch: more than its header.
fn holds_a_batch(path: &Path) -> Result<bool> {
    let io_error = |source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    Ok(!log_record::holds_no_batch(&file).map_err(io_error)?)
}

/// `000004.wal` for log 4.
fn log_name(number: u64) -> String {
    crate::manifest::file_name(&crate::files::log_path(Path::new(""), number))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::files;
    use crate::log_record::{Op, batch_header, encode, log_header};
    use crate::memtable::Entry;

    fn put(key: &str, value: &str) -> Op {
        Op::Put(key.to_string(), value.to_string())
    }

    /// Log `number` as the store writes it: its header, one batch of
    /// `ops`, and zeros up to the 4096 bytes it was made.
    fn write_log(directory: &Path, number: u64, ops: &[Op]) {
        let records: String = ops.iter().map(encode).collect();
        let batch = batch_header(ops.len() as u64, records.as_bytes()) + &records;
        let mut bytes = (log_header(number, 4096) + &batch).into_bytes();
        bytes.resize(4096, 0);
        fs::write(files::log_path(directory, number), bytes).unwrap();
    }

    /// Three logs as a store leaves them: `a` in log 1, `b` in log 2, `c`
    /// in log 3, each but the newest ended by a rotation to the next.
    fn three_logs(directory: &Path) {
        write_log(directory, 1, &[put("a", "1"), Op::Next(2)]);
        write_log(directory, 2, &[put("b", "2"), Op::Next(3)]);
        write_log(directory, 3, &[put("c", "3")]);
    }

    /// The log files in `directory`, as recovery lists them.
    fn logs(directory: &Path) -> Vec<(u64, PathBuf)> {
        let mut logs: Vec<(u64, PathBuf)> = fs::read_dir(directory)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| files::is_log(path))
            .map(|path| (files::file_number(&path).unwrap(), path))
            .collect();
        logs.sort();
        logs
    }

    /// Replays `directory`'s logs with a manifest (at `MANIFEST`, line 2)
    /// naming log `oldest`.
    fn replay_from(directory: &Path, oldest: u64) -> Result<(Chain, Memtable)> {
        let manifest = directory.join("MANIFEST");
        let mut memtable = Memtable::new();
        let chain = replay(
            &logs(directory),
            Some((oldest, &manifest, 2)),
            &mut memtable,
        )?;
        Ok((chain, memtable))
    }

    #[test]
    fn a_whole_chain_is_replayed_oldest_first() {
        let directory = tempfile::tempdir().unwrap();
        three_logs(directory.path());
        let (chain, memtable) = replay_from(directory.path(), 1).unwrap();
        assert_eq!((chain.records, chain.highest, chain.done.len()), (3, 3, 3));
        assert_eq!(memtable.get("c"), Some(&Entry::Value("3".into())));
    }

    #[test]
    fn a_log_removed_whole_is_refused_wherever_it_was() {
        let directory = tempfile::tempdir().unwrap();
        let expected = [
            (
                1,
                "MANIFEST:2: names 000001.wal as the oldest log still needed, and it is missing",
            ),
            (
                2,
                "000001.wal:4: names 000002.wal as the next log, and it is missing",
            ),
            // The newest: only the `next` record before it knows of it.
            (
                3,
                "000002.wal:4: names 000003.wal as the next log, and it is missing",
            ),
        ];
        for (removed, message) in expected {
            three_logs(directory.path());
            fs::remove_file(files::log_path(directory.path(), removed)).unwrap();
            let error = replay_from(directory.path(), 1).unwrap_err().to_string();
            assert!(error.contains(message), "log {removed} removed: {error}");
        }
    }

    #[test]
    fn a_log_that_lost_its_next_record_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        three_logs(directory.path());
        // Log 2 as it was before the rotation wrote its `next`, at its
        // full length: its end lost, and zeros in its place.
        write_log(directory.path(), 2, &[put("b", "2")]);
        let error = replay_from(directory.path(), 1).unwrap_err().to_string();
        assert!(
            error
                .contains("000002.wal:3: the log ends without naming the next one (`next 000003`)"),
            "{error}"
        );
    }

    #[test]
    fn logs_before_the_manifests_and_an_unnamed_empty_one_after_are_left_over() {
        let directory = tempfile::tempdir().unwrap();
        three_logs(directory.path());
        // A rotation that made log 4 and crashed before naming it.
        let mut made = log_header(4, 4096).into_bytes();
        made.resize(4096, 0);
        fs::write(files::log_path(directory.path(), 4), made).unwrap();
        // A flush put log 1's writes in a table and named log 2.
        let (chain, memtable) = replay_from(directory.path(), 2).unwrap();
        assert_eq!(chain.records, 2, "log 1 is not replayed");
        assert_eq!(memtable.get("a"), None);
        assert_eq!(chain.highest, 4, "the next log is numbered above log 4");
        assert_eq!(chain.done.len(), 4, "every log file goes once replayed");
    }
}
