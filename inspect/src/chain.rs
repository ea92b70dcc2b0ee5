//! Which write-ahead logs a start replays (step 07), by the rules of the
//! store's `log_chain.rs`, and what in them stops it.
//!
//! The idea: the logs whose writes are in no table yet form a chain, each
//! link written down twice. The manifest's log line names the first log;
//! a log the store moved on to from another says so in its header (that
//! log, and where its batches end); and the log it moved on from ends with
//! a `next` record naming it (see `replay.rs`). So, for the logs in the
//! directory, oldest first:
//! - a log numbered below the manifest's is a leftover of a flush: its
//!   writes are in a table, and the start removes it unread;
//! - the chain starts at the manifest's log (under a manifest with no log
//!   line, one of step 05 or 06, at the oldest log there), which must be
//!   there, and goes on through each log whose header follows the one
//!   before it. Each log of it is read as replay reads it: up to where
//!   the next one's header says its batches end (then only its `next` may
//!   follow), and the newest, the log in use, to its end, a torn tail
//!   dropped;
//! - a `next` record names the log numbered one above its own, and that
//!   log follows it: one that is missing, or whose header does not follow,
//!   stops the store;
//! - a log after the chain must hold no batch: a log that a start made
//!   and crashed before the manifest named it (or a rotation, before its
//!   header was whole), removed unread. One that holds writes stops the
//!   store: a log between may be missing.
//!
//! Invariants:
//! - every problem here is one the store's start stops on, at the same
//!   path and line (`MANIFEST` and its log line for a missing first log);
//! - a log the start does not replay is at most read to see whether it
//!   holds a batch: it cannot stop the store otherwise, whatever is in it;
//! - a log that vanishes while it is read (a flush removed it) is a note,
//!   never a missing link: it was in the listing.

use std::io;
use std::path::Path;

use solution_07::format::{End, MANIFEST};

use crate::Problem;
use crate::log::{self, LogFile, Written, log_name};
use crate::replay;

/// The logs of a directory, as a start sees them.
#[derive(Debug, Default)]
pub(crate) struct Chain {
    /// The logs of the chain, oldest first: the newest is the log in use.
    pub(crate) logs: Vec<LogFile>,
    /// The logs the start does not replay, each with why.
    pub(crate) outside: Vec<Outside>,
    pub(crate) problems: Vec<Problem>,
    pub(crate) notes: Vec<String>,
    pub(crate) files_read: usize,
}

/// A log that is not in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outside {
    pub(crate) name: String,
    pub(crate) why: String,
    /// Whether the start removes it; if not, the start refuses on it (that
    /// problem is among [`Chain::problems`]).
    pub(crate) removed: bool,
}

/// Reads the chain of `logs` (their numbers and names, sorted) in
/// `directory`. `oldest` is the manifest's log line: the number it names,
/// and the line it is on.
pub(crate) fn read(
    directory: &Path,
    logs: &[(u64, String)],
    oldest: Option<(u64, usize)>,
) -> Chain {
    let mut chain = Chain::default();
    // Without a log line, nothing names a log: the chain starts at the
    // oldest that holds a batch, as the store's does.
    let holds_a_batch =
        |name: &str| log::read(directory, name).is_ok_and(|written| !written.holds_no_batch());
    let Some(first) = oldest.map(|(number, _)| number).or_else(|| {
        logs.iter()
            .find(|(_, name)| holds_a_batch(name))
            .map(|(number, _)| *number)
    }) else {
        for (_, name) in logs {
            chain.outside.push(unnamed_and_empty(name));
        }
        return chain;
    };
    for (_, name) in logs.iter().filter(|(number, _)| *number < first) {
        chain.outside.push(match oldest {
            Some(_) => Outside {
                name: name.clone(),
                why: format!(
                    "older than {}, the oldest log the MANIFEST still needs: left by a flush, \
                     its writes are in a table; the next start removes it",
                    log_name(first)
                ),
                removed: true,
            },
            None => unnamed_and_empty(name),
        });
    }
    let listed = |number: u64| logs.iter().any(|(found, _)| *found == number);
    if let Some((number, line)) = oldest
        && !listed(number)
    {
        let reason = format!(
            "names {} as the oldest log still needed, and it is missing: acknowledged writes \
             may have been in it",
            log_name(number)
        );
        chain
            .problems
            .push(Problem::at(MANIFEST, line, reason).refusing());
    }
    let mut read: Vec<(u64, &str, Written)> = Vec::new();
    for (number, name) in logs.iter().filter(|(number, _)| *number >= first) {
        match log::read(directory, name) {
            Ok(written) => {
                chain.files_read += 1;
                read.push((*number, name, written));
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => chain.notes.push(format!(
                "{name} vanished while it was read (its writes went into a table)"
            )),
            Err(error) => chain
                .problems
                .push(Problem::of(name, format!("cannot read: {error}")).refusing()),
        }
    }
    // The chain: from the first log there (the manifest's, unless it is
    // missing, which the start refuses: then what follows is shown), each
    // log whose header follows the one before, with where that one's
    // batches end.
    let mut links: Vec<End> = Vec::new();
    for (at, (number, _, _)) in read.iter().enumerate() {
        let follows = read
            .get(at + 1)
            .filter(|(next, _, _)| *next == number + 1)
            .and_then(|(_, _, written)| written.header()?.after);
        match follows {
            Some((before, bytes)) if before == *number => links.push(End::At(bytes)),
            _ => {
                links.push(End::Newest);
                break;
            }
        }
    }
    let end = links
        .len()
        .checked_sub(1)
        .map_or(first, |newest| read[newest].0);
    // Whether something names the log: the manifest names the first, and a
    // `next` the one after it. A named log was made whole before it was
    // named, so even one that holds no batch must be as long as it was made.
    let mut named = oldest.is_some();
    for ((number, name, written), bound) in read.iter().zip(&links) {
        let mut log = replay::parse(name, written, *bound);
        let made = log.header.map_or(0, |header| header.made);
        if named && log.problems.is_empty() && log.file_bytes < made {
            log.problems
                .push(Problem::at(name, 1, replay::cut_short(log.file_bytes, made)).refusing());
        }
        named = log.next() == Some(number + 1);
        // Replay stops at damage before it looks at how the log ends.
        if log.problems.is_empty() {
            log.problems
                .extend(check_next(&log, *number, *number == end, listed));
        }
        chain.problems.extend(log.problems.iter().cloned());
        chain.logs.push(log);
    }
    for (_, name, written) in read.iter().skip(links.len()) {
        let outside = if written.holds_no_batch() {
            Outside {
                name: name.to_string(),
                why: format!(
                    "holds no batch, and its header does not follow {}, the newest log of the \
                     chain: made by a start (or a rotation) that did not finish; the next start \
                     removes it",
                    log_name(end)
                ),
                removed: true,
            }
        } else {
            let reason = format!(
                "this log holds writes, but its header does not follow {}, the last log of the \
                 chain: a log between them may be missing",
                log_name(end)
            );
            chain
                .problems
                .push(Problem::at(name, 1, reason.clone()).refusing());
            Outside {
                name: name.to_string(),
                why: format!("{reason}: the store refuses to start"),
                removed: false,
            }
        };
        chain.outside.push(outside);
    }
    chain
}

/// A log older than the chain's first, with no manifest line to name
/// any: one whose making a crash cut short, at a first start.
fn unnamed_and_empty(name: &str) -> Outside {
    Outside {
        name: name.to_string(),
        why: "holds no batch, and nothing names it: made by a start that did not finish; the \
              next start removes it"
            .to_string(),
        removed: true,
    }
}

/// How the log `number` ends, as the store checks it: a `next` names the
/// log numbered one above, and is not the newest log's (the log it names
/// would follow it, and so be in the chain). `listed` says which logs are
/// in the directory.
fn check_next(
    log: &LogFile,
    number: u64,
    newest: bool,
    listed: impl Fn(u64) -> bool,
) -> Option<Problem> {
    let next = log.next()?;
    if next == number + 1 && !newest {
        return None;
    }
    let reason = format!(
        "names {} as the next log, and {}: acknowledged writes may have been in it",
        log_name(next),
        if listed(next) {
            "its header does not follow this log"
        } else {
            "it is missing"
        }
    );
    Some(Problem::at(&log.name, log.lines, reason).refusing())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use solution_07::format::{LogHeader, Op, batch_header, encode};

    use super::*;

    fn put(key: &str) -> Op {
        Op::Put(key.into(), "v".into())
    }

    /// `ops` as one batch.
    fn batch(ops: &[Op]) -> String {
        let records: String = ops.iter().map(encode).collect();
        batch_header(ops.len() as u64, records.as_bytes()) + &records
    }

    /// Writes the logs `first`, `first + 1`, ... in `directory` as a store
    /// that moved from each to the next leaves them: a batch of each of
    /// `writes` (none if it is empty), each later log's header following
    /// the one before (the first follows nothing), each but the newest
    /// ended by `next`.
    fn write_chain(directory: &Path, first: u64, writes: &[&[Op]]) {
        let mut after = None;
        for (at, ops) in writes.iter().enumerate() {
            let number = first + at as u64;
            let header = LogHeader {
                number,
                made: 0,
                after,
            };
            let mut text = header.line();
            if !ops.is_empty() {
                text += &batch(ops);
            }
            after = Some((number, text.len() as u64));
            if at + 1 < writes.len() {
                text += &batch(&[Op::Next(number + 1)]);
            }
            fs::write(directory.join(log_name(number)), text).unwrap();
        }
    }

    /// Three logs: `a` in log 1, `b` in log 2, `c` in log 3.
    fn three_logs(directory: &Path) {
        write_chain(directory, 1, &[&[put("a")], &[put("b")], &[put("c")]]);
    }

    /// Rewrites log `number` in `directory` with `edit`.
    fn edit_log(directory: &Path, number: u64, edit: impl FnOnce(&mut Vec<u8>)) {
        let path = directory.join(log_name(number));
        let mut bytes = fs::read(&path).unwrap();
        edit(&mut bytes);
        fs::write(path, bytes).unwrap();
    }

    /// The chain of the logs in `directory`, the manifest naming `oldest`
    /// on its line 3.
    fn chain_of(directory: &Path, oldest: Option<u64>) -> Chain {
        let mut logs: Vec<(u64, String)> = fs::read_dir(directory)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .map(|name| (name[..6].parse().unwrap(), name))
            .collect();
        logs.sort();
        read(directory, &logs, oldest.map(|number| (number, 3)))
    }

    fn shown(problems: &[Problem]) -> Vec<String> {
        problems
            .iter()
            .map(|problem| problem.show(Path::new("")))
            .collect()
    }

    /// Checks that `chain` has a problem starting with each of `expected`,
    /// and no other, each stopping the store.
    fn assert_problems(chain: &Chain, expected: &[&str], what: &str) {
        let problems = shown(&chain.problems);
        assert_eq!(problems.len(), expected.len(), "{what}: {problems:?}");
        for (problem, expected) in problems.iter().zip(expected) {
            assert!(problem.starts_with(expected), "{what}: {problem}");
            assert!(
                problem.ends_with(": the store refuses to start"),
                "{problem}"
            );
        }
    }

    #[test]
    fn a_whole_chain_is_read_and_what_lies_outside_it_left_over() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path();
        write_chain(path, 1, &[&[put("old")], &[put("a")], &[put("b")], &[]]);
        // A start's new log, which no manifest names yet.
        write_chain(path, 6, &[&[]]);
        let chain = chain_of(path, Some(2));
        assert_eq!(shown(&chain.problems), Vec::<String>::new());
        let logs: Vec<(&str, usize)> = chain
            .logs
            .iter()
            .map(|log| (log.name.as_str(), log.writes()))
            .collect();
        assert_eq!(
            logs,
            [("000002.wal", 1), ("000003.wal", 1), ("000004.wal", 0)]
        );
        let outside: Vec<(&str, bool)> = chain
            .outside
            .iter()
            .map(|outside| (outside.name.as_str(), outside.removed))
            .collect();
        assert_eq!(outside, [("000001.wal", true), ("000006.wal", true)]);
        assert_eq!(chain.files_read, 4, "log 1 is not read");
    }

    #[test]
    fn a_missing_link_is_refused_where_the_store_refuses_it() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path();
        let cases: [(u64, &[&str]); 3] = [
            (
                1,
                &["MANIFEST:3: names 000001.wal as the oldest log still needed, and it is missing"],
            ),
            (
                2,
                &[
                    "000001.wal:5: names 000002.wal as the next log, and it is missing",
                    "000003.wal:1: this log holds writes, but its header does not follow \
                     000001.wal, the last log of the chain",
                ],
            ),
            (
                3,
                &["000002.wal:5: names 000003.wal as the next log, and it is missing"],
            ),
        ];
        for (removed, expected) in cases {
            for entry in fs::read_dir(path).unwrap() {
                fs::remove_file(entry.unwrap().path()).unwrap();
            }
            three_logs(path);
            fs::remove_file(path.join(log_name(removed))).unwrap();
            let chain = chain_of(path, Some(1));
            assert_problems(&chain, expected, &format!("log {removed} removed"));
        }
    }

    #[test]
    fn a_log_whose_next_does_not_follow_it_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path();
        three_logs(path);
        // Log 2's header damaged: it no longer says it follows log 1.
        edit_log(path, 2, |bytes| bytes[3] = b'X');
        let chain = chain_of(path, Some(1));
        assert_problems(
            &chain,
            &[
                "000001.wal:5: names 000002.wal as the next log, and its header does not follow \
                 this log",
                "000002.wal:1: this log holds writes, but its header does not follow 000001.wal",
                "000003.wal:1: this log holds writes, but its header does not follow 000001.wal",
            ],
            "log 2's header damaged",
        );
        let outside: Vec<bool> = chain.outside.iter().map(|log| log.removed).collect();
        assert_eq!(outside, [false, false], "a start removes neither");
        // A `next` that names a log other than the one above.
        three_logs(path);
        edit_log(path, 1, |bytes| {
            let text = String::from_utf8(bytes.clone()).unwrap();
            let ended = batch(&[Op::Next(2)]);
            *bytes = text.replace(&ended, &batch(&[Op::Next(5)])).into_bytes();
        });
        assert_problems(
            &chain_of(path, Some(1)),
            &["000001.wal:5: names 000005.wal as the next log, and it is missing"],
            "next 5",
        );
        // With no manifest log line the chain starts at the oldest log.
        three_logs(path);
        let chain = chain_of(path, None);
        assert_eq!(shown(&chain.problems), Vec::<String>::new());
        assert_eq!(chain.logs.len(), 3);
    }

    #[test]
    fn a_log_cut_before_where_the_next_says_it_ends_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path();
        write_chain(path, 1, &[&[put("a")], &[put("b"), put("c")], &[put("d")]]);
        // Log 2 cut after its header, its `next` written again after it:
        // every batch left whole, and the file as long as it was made.
        edit_log(path, 2, |bytes| {
            let text = String::from_utf8(bytes.clone()).unwrap();
            let header = text.split_inclusive('\n').next().unwrap().to_string();
            *bytes = (header + &batch(&[Op::Next(3)])).into_bytes();
        });
        assert_problems(
            &chain_of(path, Some(1)),
            &["000002.wal:1: the next log says this one holds 93 bytes of batches, but only 76"],
            "log 2 cut",
        );
    }

    #[test]
    fn a_rotation_that_stopped_before_its_next_or_while_writing_it_is_whole() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path();
        // The new log made, the old one not ended yet.
        write_chain(path, 1, &[&[put("a")], &[]]);
        edit_log(path, 1, |bytes| {
            let ended = batch(&[Op::Next(2)]);
            bytes.truncate(bytes.len() - ended.len());
        });
        let chain = chain_of(path, Some(1));
        assert_eq!(shown(&chain.problems), Vec::<String>::new());
        let logs: Vec<&str> = chain.logs.iter().map(|log| log.name.as_str()).collect();
        assert_eq!(logs, ["000001.wal", "000002.wal"]);
        assert_eq!(chain.logs[0].next(), None);
        // Its `next` torn.
        write_chain(path, 1, &[&[put("a")], &[]]);
        edit_log(path, 1, |bytes| bytes.truncate(bytes.len() - 3));
        let chain = chain_of(path, Some(1));
        assert_eq!(shown(&chain.problems), Vec::<String>::new());
        assert_eq!(chain.logs[0].torn.as_ref().map(|torn| torn.0), Some(4));
    }

    #[test]
    fn only_the_newest_log_of_the_chain_may_end_torn() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path();
        // Log 1's batch of writes torn, and counted by log 2's header.
        write_chain(path, 1, &[&[put("a")], &[put("b")]]);
        let torn = LogHeader {
            number: 1,
            made: 0,
            after: None,
        }
        .line()
            + &batch(&[put("a")])[..20];
        fs::write(path.join(log_name(1)), &torn).unwrap();
        let header = LogHeader {
            number: 2,
            made: 0,
            after: Some((1, torn.len() as u64)),
        };
        fs::write(path.join(log_name(2)), header.line() + &batch(&[put("b")])).unwrap();
        assert_problems(
            &chain_of(path, Some(1)),
            &["000001.wal:2: the checksum does not match"],
            "log 1 torn",
        );
        // The newest log's tail torn: dropped.
        write_chain(path, 1, &[&[put("a")], &[put("b")]]);
        edit_log(path, 2, |bytes| bytes.truncate(bytes.len() - 3));
        let chain = chain_of(path, Some(1));
        assert_eq!(shown(&chain.problems), Vec::<String>::new());
        assert_eq!(chain.logs[1].torn.as_ref().map(|torn| torn.0), Some(2));
    }
}
