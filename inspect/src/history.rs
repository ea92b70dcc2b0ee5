//! What changed between two looks at a directory, named as the store's own
//! log names it: the timeline of `--serve`.
//!
//! The idea: the inspector cannot hear the store, only see its files. So a
//! change is found by comparing two [`Tree`]s, and named by what the store
//! does that leaves those files behind:
//! - a table that appears is a flush (`flushed 2 entries to 000004.sst`,
//!   as `shaker.rs` logs it);
//! - tables that vanish while one numbered above them all appears are a
//!   merge (`compacted 3 tables into 000007.sst`, as `compaction.rs` logs
//!   it: a merge replaces the newest tables with one numbered above them);
//! - every table gone, and a manifest that names none, is a clear;
//! - in step 07 a new log is a start or a rotation (a rotation's new log
//!   follows the old one by its header, then a `next` record ends the old
//!   log and names it); a log that vanishes was flushed into a table, and
//!   records added to a log are writes; a table
//!   that appears as a server starts and its logs vanish is the start's
//!   replay (`replayed 3 records from 000001.wal`, as `recovery.rs` logs
//!   it);
//! - a `LOCK` that becomes held or free is a server that started or
//!   stopped. A start is seen at the next look (opening `LOCK` is not a
//!   change the watcher reports), a stop at once (its closing is).
//!
//! Shortcuts, and what they cost:
//! - two changes that land between two looks are told apart only by the
//!   rules above: a flush and a merge in the same instant are both named,
//!   but a table flushed and merged away before the inspector looked is
//!   seen only as a number the merge skipped: counted among the merge's
//!   inputs, with `000003.sst came and went between two looks` (logs are
//!   numbered apart from tables, so only table names count as seen);
//! - the entries of a flush are counted from its table, so a table that
//!   is damaged counts its good lines only.
//!
//! Invariants:
//! - the names depend only on the two trees, never on time;
//! - a look that shows nothing new (the same summary) is no change.

use std::collections::BTreeSet;

use crate::log::log_name;
use crate::summary::plural;
use crate::tree::{Table, Tree, table_number};
use crate::{Lock, Step};

/// The names of what changed from `before` to `after`, in the order the
/// store would have done it: a server start, tables, logs, other files,
/// problems, a server stop.
pub fn changes(before: &Tree, after: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    let held = |tree: &Tree| tree.lock == Some(Lock::Held);
    if !held(before) && held(after) {
        out.push("a server holds LOCK: it is running".to_string());
    }
    if before.step != after.step {
        out.push(format!(
            "read as step {} now ({})",
            after.step, after.step_reason
        ));
    }
    // A start replays the logs into a table and removes them: named as
    // the start, not as a flush.
    let gone: Vec<&str> = before
        .logs
        .iter()
        .rev()
        .filter(|log| !after.logs.iter().any(|new| new.name == log.name))
        .map(|log| log.name.as_str())
        .collect();
    let replayed = (!held(before) && held(after) && !gone.is_empty()).then_some(&gone[..]);
    tables(&mut out, before, after, replayed);
    if after.step.has_filter_and_logs() {
        logs(&mut out, before, after);
    }
    others(&mut out, before, after);
    let (was, is) = (before.problems.len(), after.problems.len());
    if was != is {
        out.push(match is {
            0 => "no problem left".to_string(),
            _ => format!(
                "{} (`cargo inspect DIR verify` lists them)",
                plural(is, "problem", "problems")
            ),
        });
    }
    if held(before) && !held(after) {
        out.push("the server stopped: LOCK is free".to_string());
    }
    if out.is_empty() {
        out.push("the files changed".to_string());
    }
    out
}

/// What the first look shows, as the first entry of the timeline.
pub fn first_look(tree: &Tree) -> Vec<String> {
    let mut look = format!(
        "first look: step {}, {}",
        tree.step,
        plural(tree.tables.len(), "live table", "live tables")
    );
    if tree.step.has_filter_and_logs() {
        look += &format!(", {}", plural(tree.logs.len(), "log", "logs"));
    }
    let mut out = vec![look];
    if tree.lock == Some(Lock::Held) {
        out.push("a server is running (it holds LOCK)".to_string());
    }
    out
}

/// `replayed`: the logs a start replayed, if this is a start's.
fn tables(out: &mut Vec<String>, before: &Tree, after: &Tree, replayed: Option<&[&str]>) {
    let names = |tree: &Tree| -> BTreeSet<String> {
        let names = tree.tables.iter().map(|table| table.file.name.clone());
        names.collect()
    };
    let (was, is) = (names(before), names(after));
    // Oldest first, as the store's manifest lists them.
    let added: Vec<&Table> = after
        .tables
        .iter()
        .rev()
        .filter(|table| !was.contains(&table.file.name))
        .collect();
    let removed: Vec<&str> = before
        .tables
        .iter()
        .rev()
        .map(|table| table.file.name.as_str())
        .filter(|name| !is.contains(*name))
        .collect();
    let emptied = after.manifest.as_ref().is_some_and(Vec::is_empty) || after.manifest.is_none();
    if !removed.is_empty() && after.tables.is_empty() && emptied {
        let what = match after.manifest {
            Some(_) => "the MANIFEST names no table",
            None => "no table left",
        };
        out.push(format!("clear: {what}; removed {}", removed.join(", ")));
        return;
    }
    // The merge's table: numbered above every input (taken when the merge
    // began), and the lowest such, since a flush during the merge takes a
    // number after it.
    let top = removed.iter().filter_map(|name| table_number(name)).max();
    let merged = top.and_then(|top| {
        added
            .iter()
            .filter(|table| table_number(&table.file.name).is_some_and(|number| number > top))
            .min_by_key(|table| table_number(&table.file.name))
    });
    for table in &added {
        let name = &table.file.name;
        let entries = plural(table.file.lines.len(), "entry", "entries");
        if merged.is_some_and(|merged| merged.file.name == *name) {
            // The inputs as the store's log counts them: those the first
            // look saw, then those no look saw.
            let missed = missed_between(before, after, top, table_number(name));
            let inputs: Vec<&str> = removed
                .iter()
                .copied()
                .chain(missed.iter().map(String::as_str))
                .collect();
            let unseen = match &missed[..] {
                [] => String::new(),
                names => format!(" ({} came and went between two looks)", names.join(", ")),
            };
            out.push(format!(
                "merge: compacted {} into {name} ({entries}): {}{unseen}",
                plural(inputs.len(), "table", "tables"),
                inputs.join(", ")
            ));
        } else if let Some(logs) = replayed {
            out.push(format!(
                "start: replayed {} into {name} ({entries})",
                logs.join(", ")
            ));
        } else {
            out.push(format!("flushed {entries} to {name}"));
        }
    }
    if merged.is_none() && !removed.is_empty() {
        out.push(format!("removed {}", removed.join(", ")));
    }
}

/// The tables numbered between a merge's newest input `top` and its table
/// `merged` that neither look shows: tables written and removed between
/// the two looks (a table flushed and merged at once, most often). They
/// were inputs of the merge: a merge takes the newest tables, and a flush
/// during it takes a number above its table. Only tables count: logs have
/// numbers of their own, which say nothing about tables.
fn missed_between(
    before: &Tree,
    after: &Tree,
    top: Option<u64>,
    merged: Option<u64>,
) -> Vec<String> {
    let (Some(top), Some(merged)) = (top, merged) else {
        return Vec::new();
    };
    let seen: BTreeSet<u64> = [before, after]
        .iter()
        .flat_map(|tree| tree.tables.iter())
        .filter_map(|table| table_number(&table.file.name))
        .collect();
    (top + 1..merged)
        .filter(|number| !seen.contains(number))
        .map(|number| format!("{number:06}.sst"))
        .collect()
}

fn logs(out: &mut Vec<String>, before: &Tree, after: &Tree) {
    // Oldest first.
    for log in after.logs.iter().rev() {
        let earlier = before.logs.iter().find(|old| old.name == log.name);
        let had = earlier.map_or(0, |old| old.writes());
        if earlier.is_none() {
            out.push(format!("log {} started", log.name));
        }
        if log.writes() > had {
            out.push(format!(
                "logged {} to {}",
                plural(log.writes() - had, "record", "records"),
                log.name
            ));
        }
        if let Some(next) = log.next()
            && earlier.is_none_or(|old| old.next().is_none())
        {
            out.push(format!(
                "{} ends: the log continues in {}",
                log.name,
                log_name(next)
            ));
        }
    }
    for log in before.logs.iter().rev() {
        if !after.logs.iter().any(|new| new.name == log.name) {
            out.push(format!(
                "log {} removed (its writes are in a table)",
                log.name
            ));
        }
    }
}

/// Files that are neither live tables nor logs: leftovers the next start
/// removes. A `.tmp` is a write under way, seen only by chance: not named.
fn others(out: &mut Vec<String>, before: &Tree, after: &Tree) {
    let shown = |tree: &Tree| -> Vec<(String, String)> {
        let others = tree
            .others
            .iter()
            .filter(|other| !other.name.ends_with(".tmp"));
        others
            .map(|other| (other.name.clone(), other.why.clone()))
            .collect()
    };
    let (was, is) = (shown(before), shown(after));
    for (name, why) in &is {
        if !was.iter().any(|(old, _)| old == name) {
            out.push(format!("{name} appeared: {why}"));
        }
    }
    for (name, _) in &was {
        if !is.iter().any(|(new, _)| new == name) {
            out.push(format!("{name} removed"));
        }
    }
}

/// What the page's Memtable box says, for `step`: that the memtable's
/// writes are in memory only, or from step 07 where else they are.
pub fn memtable_note(step: Step) -> &'static str {
    if step.has_filter_and_logs() {
        "The memtable lives in the server's memory, but every write it holds is \
         also in a log: the records below, which a start replays into a table. \
         At a flush they become a table and their log is removed."
    } else {
        "The memtable lives only in the server's memory: the writes since the \
         last flush are not on disk, so this page cannot show them. They appear \
         here as a table at the next flush (and are lost if the server is killed \
         before it)."
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;

    /// A step 05 directory holding `tables` (name and lines) and a
    /// MANIFEST naming them, oldest first.
    fn directory(path: &Path, tables: &[(&str, &str)]) -> Tree {
        for entry in fs::read_dir(path).unwrap() {
            fs::remove_file(entry.unwrap().path()).unwrap();
        }
        let mut manifest = String::new();
        for (name, text) in tables {
            fs::write(path.join(name), text).unwrap();
            let mut summer = solution_07::format::Summer::default();
            summer.add(text.as_bytes());
            let checksum = summer.finish();
            manifest += &format!("{name} {} {:08x}\n", checksum.bytes, checksum.crc);
        }
        let mut summer = solution_07::format::Summer::default();
        summer.add(manifest.as_bytes());
        let check = format!("check {:08x}\n", summer.finish().crc);
        fs::write(path.join("MANIFEST"), manifest + &check).unwrap();
        Tree::read(path, Some(Step::new(5).unwrap())).unwrap()
    }

    #[test]
    fn flushes_a_merge_and_a_clear_are_named_as_the_store_logs_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        let one = ("000001.sst", "a→1\nb→2\n");
        let two = ("000002.sst", "a→3\n");
        let three = ("000003.sst", "b→†\n");
        let empty = directory(path, &[]);
        let flushed = directory(path, &[one, two]);
        assert_eq!(
            changes(&empty, &flushed),
            [
                "flushed 2 entries to 000001.sst",
                "flushed 1 entry to 000002.sst"
            ]
        );
        let merged = directory(path, &[("000003.sst", "a→3\nb→2\n")]);
        assert_eq!(
            changes(&flushed, &merged),
            ["merge: compacted 2 tables into 000003.sst (2 entries): 000001.sst, 000002.sst"]
        );
        // A table flushed and merged between two looks is never seen: the
        // merge counts it among its inputs, as the store's log does, and
        // says that no look saw it.
        let merged_unseen = directory(path, &[("000004.sst", "a→3\nb→2\n")]);
        let unseen = [
            "merge: compacted 3 tables into 000004.sst (2 entries): 000001.sst, \
              000002.sst, 000003.sst (000003.sst came and went between two looks)",
        ];
        assert_eq!(changes(&flushed, &merged_unseen), unseen);
        // Logs are numbered apart from tables: a log 000003.wal says
        // nothing about the table 000003.sst.
        let mut flushed_with_log = flushed.clone();
        let header = solution_07::format::LogHeader {
            number: 3,
            made: 0,
            after: None,
        };
        let bytes = header.line().into_bytes();
        let written = crate::log::Written {
            file_bytes: bytes.len() as u64,
            bytes,
        };
        let log = crate::replay::parse("000003.wal", &written, solution_07::format::End::Newest);
        assert_eq!(log.problems, []);
        flushed_with_log.logs.push(log);
        assert_eq!(changes(&flushed_with_log, &merged_unseen), unseen);
        // A flush that lands while a merge runs takes a number after it.
        let both = directory(
            path,
            &[("000004.sst", "a→3\nb→2\n"), ("000005.sst", "c→1\n")],
        );
        let three_tables = directory(path, &[one, two, three]);
        assert_eq!(
            changes(&three_tables, &both),
            [
                "merge: compacted 3 tables into 000004.sst (2 entries): 000001.sst, 000002.sst, 000003.sst",
                "flushed 1 entry to 000005.sst"
            ]
        );
        let cleared = directory(path, &[]);
        assert_eq!(
            changes(&both, &cleared),
            ["clear: the MANIFEST names no table; removed 000004.sst, 000005.sst"]
        );
    }

    #[test]
    fn logs_started_written_and_removed_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        let step = Some(Step::new(7).unwrap());
        let record = |op: solution_07::format::Op| solution_07::format::encode(&op);
        let put = |key: &str| solution_07::format::Op::Put(key.into(), "v".into());
        let batch = |records: &[String]| {
            let body: String = records.concat();
            solution_07::format::batch_header(records.len() as u64, body.as_bytes()) + &body
        };
        let header = |number, after| {
            let header = solution_07::format::LogHeader {
                number,
                made: 0,
                after,
            };
            header.line()
        };
        let empty = Tree::read(path, step).unwrap();
        let one = header(1, None) + &batch(&[record(put("a"))]);
        fs::write(path.join("000001.wal"), &one).unwrap();
        let one_tree = Tree::read(path, step).unwrap();
        assert_eq!(
            changes(&empty, &one_tree),
            ["log 000001.wal started", "logged 1 record to 000001.wal"]
        );
        let three = one + &batch(&[record(put("b")), record(put("c"))]);
        fs::write(path.join("000001.wal"), &three).unwrap();
        let three_tree = Tree::read(path, step).unwrap();
        assert_eq!(
            changes(&one_tree, &three_tree),
            ["logged 2 records to 000001.wal"]
        );
        // A rotation: the new log, which follows the old one, and the
        // `next` that names it.
        let after = Some((1, three.len() as u64));
        fs::write(path.join("000002.wal"), header(2, after)).unwrap();
        let made = Tree::read(path, step).unwrap();
        assert_eq!(made.problems, []);
        assert_eq!(changes(&three_tree, &made), ["log 000002.wal started"]);
        let next = record(solution_07::format::Op::Next(2));
        fs::write(path.join("000001.wal"), three + &batch(&[next])).unwrap();
        let rotated = Tree::read(path, step).unwrap();
        assert_eq!(rotated.problems, []);
        assert_eq!(
            changes(&made, &rotated),
            ["000001.wal ends: the log continues in 000002.wal"]
        );
        // A flush: a manifest that names log 2 as the oldest still needed,
        // then log 1 removed.
        let body = "log 000002\n";
        let mut summer = solution_07::format::Summer::default();
        summer.add(body.as_bytes());
        let manifest = format!("{body}check {:08x}\n", summer.finish().crc);
        fs::write(path.join("MANIFEST"), manifest).unwrap();
        fs::remove_file(path.join("000001.wal")).unwrap();
        let flushed = Tree::read(path, step).unwrap();
        assert_eq!(flushed.problems, []);
        assert_eq!(
            changes(&rotated, &flushed),
            ["log 000001.wal removed (its writes are in a table)"]
        );
    }
}
