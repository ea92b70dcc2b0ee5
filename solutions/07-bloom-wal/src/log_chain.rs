//! Which write-ahead logs a start must replay, and the proof that none of
//! them is missing or was cut.
//!
//! The idea: the logs whose writes are in no table yet form a chain, and
//! each link is written down twice. The manifest names the first log, the
//! oldest one still needed (a flush moves it on, see `shaker.rs`). When the
//! store moves from one log to the next (`rotation.rs`), it syncs the old
//! log's records, then makes the new log with a header that names the old
//! one and how many bytes of batches it holds, then ends the old log with a
//! `next` record that names the new one. So a log removed whole leaves a
//! `next` or a manifest line pointing at nothing, and a log cut anywhere
//! before its end leaves the next log's header saying it held more. Only
//! the newest log has no one to vouch for its end: there, a last batch
//! that shows a tear is dropped (see `replay.rs`), and each file's
//! header gives the length it was made, which a cut file falls short of.
//!
//! The rules, for the log files in the directory:
//! - a log numbered below the manifest's is a leftover of a flush (its
//!   writes are in a table): removed once the start has checked the rest;
//! - the chain starts at the manifest's log, which must exist, and goes on
//!   through each log whose header follows the one before it; every log
//!   in it is replayed, each up to where the next one's header says it
//!   ends, the newest up to its end;
//! - a `next` record names the log after its own: if that log is missing,
//!   or does not follow, the store stops;
//! - a log after the chain must hold no batch: it is a log a start made
//!   and crashed before naming (removed too). One that holds writes but
//!   follows nothing stops the store.
//!
//! Shortcuts, and what they cost:
//! - a manifest written by step 05 or 06 names no log: the chain then
//!   starts at the oldest log that holds a batch, and a log removed from
//!   the start of it goes unseen. A store of this step writes the log line from its
//!   first start;
//! - the newest log's last batch, damaged so that it looks torn (zeros,
//!   or cut where the file's zeros begin), is dropped as a torn write
//!   would be: on disk, the two look the same. So is a cut in the part of
//!   the newest log that grew past the length it was made.
//!
//! Invariants:
//! - nothing is removed here: the caller removes [`Chain::done`] only once
//!   every table and every log has passed its checks;
//! - logs are replayed oldest first, so a newer record beats an older one.
//!
//! Read alongside chapter 7.2 of the book, "The write-ahead log and group
//! commit".

use std::path::{Path, PathBuf};

use crate::log_record::{self, LogHeader};
use crate::memtable::Memtable;
use crate::replay::{self, End};
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
/// `memtable`. `oldest` is the manifest's log line, if it has one: the
/// number, the manifest's path and the line.
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
    chain.highest = chain
        .highest
        .max(logs.last().map_or(0, |(number, _)| *number));
    // Without a log line, nothing names a log: the chain starts at the
    // oldest that holds a batch (one before it is a log whose making a
    // crash cut short, at a first start, before a manifest named it).
    let mut first = oldest.map(|(number, _, _)| number);
    for (number, path) in logs {
        if first.is_some() {
            break;
        }
        if holds_a_batch(path)? {
            first = Some(*number);
        }
    }
    let Some(first) = first else {
        return Ok(chain);
    };
    let find = |number: u64| logs.iter().find(|(found, _)| *found == number);
    if let Some((number, manifest, line)) = oldest
        && find(number).is_none()
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
    // The chain: from `first`, each log whose header follows the one
    // before, with where that one's batches end.
    let mut links: Vec<(&(u64, PathBuf), End)> = Vec::new();
    let mut at = find(first);
    while let Some(log) = at {
        let next = find(log.0 + 1);
        let follows = match next {
            Some((_, path)) => header(path)?.and_then(|header| header.after),
            None => None,
        };
        match follows {
            Some((before, bytes)) if before == log.0 => {
                links.push((log, End::At(bytes)));
                at = next;
            }
            _ => {
                links.push((log, End::Newest));
                at = None;
            }
        }
    }
    let end = links.last().map_or(first, |(log, _)| log.0);
    // Whether something names the log about to be replayed: the manifest
    // names the first, and a `next` the one after it. A named log was made
    // whole (its length synced) before it was named.
    let mut named = oldest.is_some();
    for ((number, path), bound) in &links {
        if named {
            made_whole(path)?;
        }
        let replayed = replay::replay(path, *bound, memtable)?;
        named = replayed.next == Some(number + 1);
        tracing::info!(
            "replayed {} records from {}",
            replayed.records,
            path.display()
        );
        chain.records += replayed.records;
        chain.cleared |= replayed.cleared;
        if let Some(next) = replayed.next {
            chain.highest = chain.highest.max(next);
            // A log that follows is in the chain; one that does not is
            // missing or damaged.
            if next != number + 1 || *number == end {
                return Err(Error::Corrupt {
                    path: path.clone(),
                    line: replayed.lines,
                    reason: format!(
                        "names {} as the next log, and {}: acknowledged writes may have \
                         been in it",
                        log_name(next),
                        match find(next) {
                            Some(_) => "its header does not follow this log",
                            None => "it is missing",
                        }
                    ),
                });
            }
        }
    }
    for (_, path) in logs.iter().filter(|(number, _)| *number > end) {
        if holds_a_batch(path)? {
            return Err(Error::Corrupt {
                path: path.clone(),
                line: 1,
                reason: format!(
                    "this log holds writes, but its header does not follow {}, the last log \
                     of the chain: a log between them may be missing",
                    log_name(end)
                ),
            });
        }
    }
    Ok(chain)
}

/// Refuses the log at `path` if its file is shorter than its header says
/// it was made. (`replay::replay` checks a log that holds a batch; this
/// checks one that holds none, but that was named, so was made whole.)
fn made_whole(path: &Path) -> Result<()> {
    let io_error = |source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let length = std::fs::metadata(path).map_err(io_error)?.len();
    match header(path)? {
        Some(header) if length < header.made => Err(Error::Corrupt {
            path: path.to_path_buf(),
            line: 1,
            reason: replay::cut_short(length, header.made),
        }),
        _ => Ok(()),
    }
}

/// The header of the log at `path`, or `None` if it has no whole one.
fn header(path: &Path) -> Result<Option<LogHeader>> {
    LogHeader::of_file(path).map_err(|source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })
}

/// Whether the log at `path` holds a batch: more than its header.
fn holds_a_batch(path: &Path) -> Result<bool> {
    let io_error = |source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
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
    use crate::log_record::{Op, batch_header, encode};
    use crate::memtable::Entry;

    fn put(key: &str, value: &str) -> Op {
        Op::Put(key.to_string(), value.to_string())
    }

    /// `ops` as one batch.
    fn batch(ops: &[Op]) -> String {
        let records: String = ops.iter().map(encode).collect();
        batch_header(ops.len() as u64, records.as_bytes()) + &records
    }

    /// The logs of `writes` (one batch of writes each) as a store leaves
    /// them after moving from each to the next: log 1 first, each later
    /// one's header naming the one before and where its batches end, each
    /// but the newest ended by `next`. Every file is made 4096 bytes long.
    fn write_chain(directory: &Path, writes: &[&[Op]]) {
        let mut after = None;
        for (at, ops) in writes.iter().enumerate() {
            let number = at as u64 + 1;
            let header = LogHeader {
                number,
                made: 4096,
                after,
            };
            let mut text = header.line() + &batch(ops);
            after = Some((number, text.len() as u64));
            if at + 1 < writes.len() {
                text += &batch(&[Op::Next(number + 1)]);
            }
            let mut bytes = text.into_bytes();
            bytes.resize(4096, 0);
            fs::write(files::log_path(directory, number), bytes).unwrap();
        }
    }

    /// Three logs: `a` in log 1, `b` in log 2, `c` in log 3.
    fn three_logs(directory: &Path) {
        write_chain(
            directory,
            &[&[put("a", "1")], &[put("b", "2")], &[put("c", "3")]],
        );
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

    /// Rewrites log `number` in `directory` with `edit`.
    fn edit_log(directory: &Path, number: u64, edit: impl FnOnce(&mut Vec<u8>)) {
        let path = files::log_path(directory, number);
        let mut bytes = fs::read(&path).unwrap();
        edit(&mut bytes);
        fs::write(path, bytes).unwrap();
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
                "000001.wal:5: names 000002.wal as the next log, and it is missing",
            ),
            // The newest: only the `next` record before it knows of it.
            (
                3,
                "000002.wal:5: names 000003.wal as the next log, and it is missing",
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
    fn a_log_cut_before_where_the_next_says_it_ends_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        // Log 2 holds two batches; the cut takes the second and the `next`,
        // at a batch boundary, and keeps the file's length.
        write_chain(
            directory.path(),
            &[
                &[put("a", "1")],
                &[put("b", "2"), put("d", "4")],
                &[put("c", "3")],
            ],
        );
        let whole = batch(&[put("b", "2"), put("d", "4")]);
        let first_half = batch(&[put("b", "2")]);
        edit_log(directory.path(), 2, |bytes| {
            let at = bytes
                .windows(whole.len())
                .position(|w| w == whole.as_bytes())
                .unwrap();
            let zeros = bytes.len() - at - first_half.len();
            bytes.splice(
                at..,
                first_half.bytes().chain(std::iter::repeat_n(0, zeros)),
            );
        });
        let error = replay_from(directory.path(), 1).unwrap_err().to_string();
        assert!(
            error.contains("000002.wal:1: the next log says this one holds"),
            "{error}"
        );
    }

    #[test]
    fn a_log_whose_next_was_torn_is_whole_when_the_next_log_follows_it() {
        let directory = tempfile::tempdir().unwrap();
        three_logs(directory.path());
        // A crash while log 2's `next` was synced: the batch cut short. Log
        // 3's header says where log 2's batches end, and they are whole.
        let next = batch(&[Op::Next(3)]);
        edit_log(directory.path(), 2, |bytes| {
            let at = bytes
                .windows(next.len())
                .position(|w| w == next.as_bytes())
                .unwrap();
            bytes[at + 10..at + next.len()].fill(0);
        });
        let (chain, _) = replay_from(directory.path(), 1).unwrap();
        assert_eq!(chain.records, 3);
        // But anything other than `next` after those batches is damage.
        edit_log(directory.path(), 2, |bytes| {
            let at = bytes
                .windows(10)
                .position(|w| w == &next.as_bytes()[..10])
                .unwrap();
            let other = batch(&[put("e", "5")]);
            bytes.splice(at..at + other.len(), other.bytes());
        });
        let error = replay_from(directory.path(), 1).unwrap_err().to_string();
        assert!(error.contains("only a `next` record may follow"), "{error}");
    }

    #[test]
    fn logs_before_the_manifests_and_an_empty_one_that_follows_nothing_are_left_over() {
        let directory = tempfile::tempdir().unwrap();
        three_logs(directory.path());
        // A start that made log 4 and crashed before a manifest named it.
        let mut made = LogHeader {
            number: 4,
            made: 4096,
            after: None,
        }
        .line()
        .into_bytes();
        made.resize(4096, 0);
        fs::write(files::log_path(directory.path(), 4), made).unwrap();
        // A flush put log 1's writes in a table and named log 2.
        let (chain, memtable) = replay_from(directory.path(), 2).unwrap();
        assert_eq!(chain.records, 2, "log 1 is not replayed");
        assert_eq!(memtable.get("a"), None);
        assert_eq!(chain.highest, 4, "the next log is numbered above log 4");
        assert_eq!(chain.done.len(), 4, "every log file goes once replayed");
    }

    #[test]
    fn a_log_with_writes_that_follows_nothing_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        three_logs(directory.path());
        // Log 3's header damaged: log 2's `next` names a log that does not
        // follow it, and log 3's writes would be lost.
        edit_log(directory.path(), 3, |bytes| bytes[5] = b'x');
        let error = replay_from(directory.path(), 1).unwrap_err().to_string();
        assert!(
            error.contains("000002.wal:5: names 000003.wal as the next log, and its header does not follow this log"),
            "{error}"
        );
    }

    #[test]
    fn a_new_log_cut_short_is_refused_only_once_something_names_it() {
        let directory = tempfile::tempdir().unwrap();
        // A rotation that crashed while making log 3: its header reached
        // the disk, its length did not, and log 2 has no `next` yet.
        write_chain(directory.path(), &[&[put("a", "1")], &[put("b", "2")]]);
        let log_2 = fs::read(files::log_path(directory.path(), 2)).unwrap();
        let batches_end = log_2.iter().rposition(|&byte| byte != 0).unwrap() as u64 + 1;
        let header = LogHeader {
            number: 3,
            made: 4096,
            after: Some((2, batches_end)),
        };
        fs::write(files::log_path(directory.path(), 3), header.line()).unwrap();
        let (chain, _) = replay_from(directory.path(), 1).unwrap();
        assert_eq!(chain.records, 2);
        // Once log 2 ends with `next 000003`, log 3 was made whole first:
        // a shorter file was cut.
        edit_log(directory.path(), 2, |bytes| {
            let next = batch(&[Op::Next(3)]);
            let at = batches_end as usize;
            bytes.splice(at..at + next.len(), next.bytes());
        });
        let error = replay_from(directory.path(), 1).unwrap_err().to_string();
        assert!(
            error.contains("000003.wal:1: the file is 41 bytes, shorter than the 4096 it was made"),
            "{error}"
        );
    }
}
