//! Which write-ahead logs a start replays (step 07), by the rules of the
//! store's `log_chain.rs`, and what in them stops it.
//!
//! The idea: the logs whose writes are in no table yet form a chain. The
//! manifest's log line names its first link, every log but the newest ends
//! with a `next` record naming the log after it, and every log's header
//! says how long its file was made (see `log.rs`). So, for the logs in the
//! directory, oldest first:
//! - a log numbered below the manifest's is a leftover of a flush: its
//!   writes are in a table, and the start removes it unread;
//! - the chain runs from the manifest's log (under a manifest with no log
//!   line, one of step 05 or 06, from the oldest log there) to the newest
//!   log that holds a batch. The manifest's log must be there; each log of
//!   the chain is read as replay reads it, the last one as the newest,
//!   whose torn tail is dropped; each but the newest ends with `next`
//!   naming the log numbered one above, which must be there;
//! - the log that the newest names, holding no batch yet, is the log in
//!   use: there is nothing in it to replay, and the start does not read it;
//! - any other log after the chain holds no batch and no log names it: a
//!   rotation or a start made it and did not finish. It is removed unread.
//!
//! Invariants:
//! - every problem here is one the store's start stops on, at the same
//!   path and line (`MANIFEST` and its log line for a missing first log);
//! - a log the start does not read is not checked here either: it cannot
//!   stop the store, whatever is in it;
//! - a log that vanishes while it is read (a flush removed it) is a note,
//!   never a missing link: it was in the listing.

use std::io;
use std::path::Path;

use solution_07::format::MANIFEST;

use crate::Problem;
use crate::log::{self, LogFile, Written, log_name};

/// The logs of a directory, as a start sees them.
#[derive(Debug, Default)]
pub(crate) struct Chain {
    /// The logs of the chain, oldest first, then the log in use if it is
    /// after them.
    pub(crate) logs: Vec<LogFile>,
    /// The logs the start removes unread, each with why.
    pub(crate) leftovers: Vec<(String, String)>,
    pub(crate) problems: Vec<Problem>,
    pub(crate) notes: Vec<String>,
    pub(crate) files_read: usize,
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
    let Some(first) = oldest
        .map(|(number, _)| number)
        .or(logs.first().map(|(number, _)| *number))
    else {
        return chain;
    };
    for (_, name) in logs.iter().filter(|(number, _)| *number < first) {
        let why = format!(
            "older than {}, the oldest log the MANIFEST still needs: left by a flush, its \
             writes are in a table; the next start removes it",
            log_name(first)
        );
        chain.leftovers.push((name.clone(), why));
    }
    let live: Vec<&(u64, String)> = logs.iter().filter(|(number, _)| *number >= first).collect();
    if let Some((number, line)) = oldest
        && live.first().is_none_or(|(found, _)| *found != number)
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
    for (number, name) in live {
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
    let end = read
        .iter()
        .rfind(|(_, _, written)| !written.holds_no_batch())
        .map_or(first, |(number, _, _)| *number);
    // What the newest log of the chain names: the log in use after it.
    let mut named = None;
    for (number, name, written) in &read {
        if *number <= end {
            let newest = *number == end;
            let mut log = log::parse(name, written, newest);
            // Replay stops at damage before it looks at how the log ends.
            if log.problems.is_empty() {
                log.problems.extend(check_next(&log, *number, newest, logs));
            }
            named = log.next();
            chain.problems.extend(log.problems.iter().cloned());
            chain.logs.push(log);
        } else if named == Some(*number) {
            chain.logs.push(LogFile::unread(name, written));
        } else {
            let why = "holds no batch, and no log names it: made by a rotation or a start \
                       that did not finish; the next start removes it";
            chain.leftovers.push((name.to_string(), why.to_string()));
        }
    }
    chain
}

/// How the log `number` ends, as the store checks it: a log before the
/// newest names the log after it, and a log it names exists among `logs`.
fn check_next(log: &LogFile, number: u64, newest: bool, logs: &[(u64, String)]) -> Option<Problem> {
    let reason = match log.next() {
        None if newest => return None,
        None => format!(
            "the log ends without naming the next one (`next {:06}`), and a newer log holds \
             writes: the end of this log is missing",
            number + 1
        ),
        Some(next) if next != number + 1 => format!(
            "names {} as the next log, but logs are numbered one after another: {} is next",
            log_name(next),
            log_name(number + 1)
        ),
        Some(next) if !logs.iter().any(|(found, _)| *found == next) => format!(
            "names {} as the next log, and it is missing: acknowledged writes may have been \
             in it",
            log_name(next)
        ),
        Some(_) => return None,
    };
    Some(Problem::at(&log.name, log.lines, reason).refusing())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use solution_07::format::{Op, batch_header, encode, log_header};

    use super::*;

    fn put(key: &str) -> Op {
        Op::Put(key.into(), "v".into())
    }

    /// Writes log `number` in `directory`: its header, then one batch of
    /// `ops` (none if there are none).
    fn write_log(directory: &Path, number: u64, ops: &[Op]) {
        let records: String = ops.iter().map(encode).collect();
        let mut text = log_header(number, 0);
        if !ops.is_empty() {
            text += &(batch_header(ops.len() as u64, records.as_bytes()) + &records);
        }
        fs::write(directory.join(log_name(number)), text).unwrap();
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

    #[test]
    fn a_whole_chain_is_read_and_what_lies_outside_it_left_over() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path();
        write_log(path, 1, &[put("old")]);
        write_log(path, 2, &[put("a"), Op::Next(3)]);
        write_log(path, 3, &[put("b"), Op::Next(4)]);
        write_log(path, 4, &[]);
        write_log(path, 6, &[]);
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
        let leftovers: Vec<&str> = chain
            .leftovers
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(leftovers, ["000001.wal", "000006.wal"]);
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
                &["000001.wal:4: names 000002.wal as the next log, and it is missing"],
            ),
            (
                3,
                &["000002.wal:4: names 000003.wal as the next log, and it is missing"],
            ),
        ];
        for (removed, expected) in cases {
            for entry in fs::read_dir(path).unwrap() {
                fs::remove_file(entry.unwrap().path()).unwrap();
            }
            write_log(path, 1, &[put("a"), Op::Next(2)]);
            write_log(path, 2, &[put("b"), Op::Next(3)]);
            write_log(path, 3, &[put("c")]);
            fs::remove_file(path.join(log_name(removed))).unwrap();
            let problems = shown(&chain_of(path, Some(1)).problems);
            assert_eq!(problems.len(), expected.len(), "{problems:?}");
            for (problem, expected) in problems.iter().zip(expected) {
                assert!(
                    problem.starts_with(expected),
                    "log {removed} removed: {problem}"
                );
                assert!(
                    problem.ends_with(": the store refuses to start"),
                    "{problem}"
                );
            }
        }
    }

    #[test]
    fn a_log_that_lost_its_next_or_names_another_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path();
        write_log(path, 1, &[put("a")]);
        write_log(path, 2, &[put("b")]);
        let problems = shown(&chain_of(path, Some(1)).problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "000001.wal:3: the log ends without naming the next one (`next 000002`)"
            ),
            "{problems:?}"
        );
        write_log(path, 1, &[put("a"), Op::Next(5)]);
        let problems = shown(&chain_of(path, Some(1)).problems);
        assert!(
            problems[0].starts_with(
                "000001.wal:4: names 000005.wal as the next log, but logs are numbered one after another"
            ),
            "{problems:?}"
        );
        // With no manifest log line the chain starts at the oldest log.
        write_log(path, 1, &[put("a"), Op::Next(2)]);
        let chain = chain_of(path, None);
        assert_eq!(shown(&chain.problems), Vec::<String>::new());
        assert_eq!(chain.logs.len(), 2);
    }

    #[test]
    fn only_the_newest_log_of_the_chain_may_end_torn() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path();
        let torn = |number: u64, ops: &[Op]| {
            write_log(path, number, ops);
            let file = path.join(log_name(number));
            let text = fs::read(&file).unwrap();
            fs::write(&file, &text[..text.len() - 3]).unwrap();
        };
        torn(1, &[put("a"), Op::Next(2)]);
        write_log(path, 2, &[put("b")]);
        let problems = shown(&chain_of(path, Some(1)).problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("000001.wal:2: the checksum does not match"),
            "{problems:?}"
        );
        write_log(path, 1, &[put("a"), Op::Next(2)]);
        torn(2, &[put("b")]);
        let chain = chain_of(path, Some(1));
        assert_eq!(shown(&chain.problems), Vec::<String>::new());
        assert_eq!(chain.logs[1].torn.as_ref().map(|torn| torn.0), Some(2));
    }
}
