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
//! - in step 07 a new log is a rotation, a log that vanishes was flushed
//!   into a table, and records added to a log are writes;
//! - a `LOCK` that becomes held or free is a server that started or
//!   stopped.
//!
//! Shortcuts, and what they cost:
//! - two changes that land between two looks are told apart only by the
//!   rules above: a flush and a merge in the same instant are both named,
//!   but a table flushed and merged away before the inspector looked is
//!   seen as the merge alone;
//! - the entries of a flush are counted from its table, so a table that
//!   is damaged counts its good lines only.
//!
//! Invariants:
//! - the names depend only on the two trees, never on time;
//! - a look that shows nothing new (the same summary) is no change.

use std::collections::BTreeSet;

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
        out.push("server started (it holds LOCK)".to_string());
    }
    if before.step != after.step {
        out.push(format!(
            "read as step {} now ({})",
            after.step, after.step_reason
        ));
    }
    tables(&mut out, before, after);
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
        out.push("server stopped (LOCK is free)".to_string());
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

fn tables(out: &mut Vec<String>, before: &Tree, after: &Tree) {
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
            out.push(format!(
                "merge: compacted {} into {name} ({entries}): {}",
                plural(removed.len(), "table", "tables"),
                removed.join(", ")
            ));
        } else {
            out.push(format!("flushed {entries} to {name}"));
        }
    }
    if merged.is_none() && !removed.is_empty() {
        out.push(format!("removed {}", removed.join(", ")));
    }
}

fn logs(out: &mut Vec<String>, before: &Tree, after: &Tree) {
    // Oldest first.
    for log in after.logs.iter().rev() {
        let earlier = before.logs.iter().find(|old| old.name == log.name);
        let had = earlier.map_or(0, |old| old.records.len());
        if earlier.is_none() {
            out.push(format!("log {} started", log.name));
        }
        if log.records.len() > had {
            out.push(format!(
                "logged {} to {}",
                plural(log.records.len() - had, "record", "records"),
                log.name
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

/// What the page says is not on disk, for `step`: the memtable, and from
/// step 07 where its writes are instead.
pub fn not_on_disk(step: Step) -> &'static str {
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
