//! `summary`: the tree as a whole, newest first, in a few lines per file.
//!
//! What it shows: the step assumed and why; the manifest; each live table
//! in the order a read looks in them (its entries, tombstones, first and
//! last key, bytes, and where the step has them its index blocks and its
//! filter's size, hashes and expected false-positive rate); every other
//! file with why it is there; the logs a start replays (their writes,
//! bytes written against the file's length, a torn last batch, the `next`
//! that ends a log, the log its header says it follows); and the totals,
//! whose ratio of bytes on disk to live data is the space amplification
//! that compaction keeps down.

use std::fmt::Write as _;

use solution_07::format::escape;

use crate::log::log_name;
use crate::sidecars::{self, Sidecar};
use crate::tree::{Table, Tree};

/// The summary of `tree`, as printed.
pub fn render(tree: &Tree) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_summary(&mut out, tree);
    out
}

/// `count` and its noun: `one` if `count` is 1, else `many`.
pub fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// A key as its table's line holds it, escaped, so that it stays on one line.
pub fn shown(key: &str) -> String {
    format!("\"{}\"", escape(key))
}

fn write_summary(out: &mut String, tree: &Tree) -> std::fmt::Result {
    writeln!(
        out,
        "{}: step {} ({}; --step NN to override)",
        tree.directory.display(),
        tree.step,
        tree.step_reason
    )?;
    if tree.step.has_manifest() {
        let oldest_log = match tree.oldest_log {
            Some((number, _)) => format!("; the oldest log still needed: {}", log_name(number)),
            None => String::new(),
        };
        match &tree.manifest {
            Some(names) if names.is_empty() => {
                writeln!(out, "MANIFEST: no tables yet{oldest_log}")?
            }
            Some(names) => writeln!(
                out,
                "MANIFEST: {}, oldest first: {}{oldest_log}",
                plural(names.len(), "table", "tables"),
                names.join(" ")
            )?,
            None => writeln!(
                out,
                "MANIFEST: none yet (the store writes one at its next start)"
            )?,
        }
    }
    writeln!(out)?;
    if tree.step.has_filter_and_logs() {
        writeln!(
            out,
            "memtable: in memory only; the logs below hold its writes"
        )?;
    } else {
        writeln!(out, "memtable: in memory only, not on disk")?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "live tables, newest first (the order a read looks in them): {}",
        tree.tables.len()
    )?;
    for table in &tree.tables {
        write_table(out, table)?;
    }
    if tree.step.has_filter_and_logs() {
        writeln!(out)?;
        writeln!(
            out,
            "logs, newest first (replayed into a table at the next start): {}",
            tree.logs.len()
        )?;
        for log in &tree.logs {
            let tail = match (&log.torn, log.next()) {
                (Some((line, reason)), _) => {
                    format!("torn last batch at line {line} ({reason}): dropped at replay")
                }
                (None, Some(next)) => format!(
                    "ends with `next {next:06}`: the log continues in {}",
                    log_name(next)
                ),
                (None, None) if log.batches == 0 => "empty".to_string(),
                (None, None) => "last batch whole".to_string(),
            };
            let follows = match log.header.and_then(|header| header.after) {
                Some((before, bytes)) => format!(
                    "; follows {} (its batches end at byte {bytes})",
                    log_name(before)
                ),
                None => String::new(),
            };
            writeln!(
                out,
                "  {}  {} in {}, {} bytes written of {} (the rest is preallocated zeros), {tail}{follows}",
                log.name,
                plural(log.writes(), "record", "records"),
                plural(log.batches, "batch", "batches"),
                log.written_bytes,
                log.file_bytes
            )?;
        }
    }
    if !tree.others.is_empty() {
        writeln!(out)?;
        writeln!(out, "other files:")?;
        for other in &tree.others {
            writeln!(
                out,
                "  {} ({} bytes): {}",
                other.name, other.bytes, other.why
            )?;
        }
    }
    for note in &tree.notes {
        writeln!(out, "note: {note}")?;
    }
    writeln!(out)?;
    let entries: usize = tree.tables.iter().map(|table| table.file.lines.len()).sum();
    let tombstones: usize = tree
        .tables
        .iter()
        .map(|table| table.file.tombstones())
        .sum();
    let table_bytes: u64 = tree.tables.iter().map(|table| table.file.bytes).sum();
    let live = tree.live_bytes();
    writeln!(
        out,
        "totals: {}, {} ({}); {} bytes in all the store's files",
        plural(tree.tables.len(), "live table", "live tables"),
        plural(entries, "entry", "entries"),
        plural(tombstones, "tombstone", "tombstones"),
        tree.bytes_on_disk()
    )?;
    write!(
        out,
        "live data (the newest value of each key, as one table would hold it): {live} bytes in {table_bytes} bytes of tables"
    )?;
    if live > 0 {
        write!(
            out,
            ": space amplification {:.2}",
            table_bytes as f64 / live as f64
        )?;
    }
    writeln!(out)?;
    if !tree.problems.is_empty() {
        let refuses = tree.problems.iter().any(|problem| problem.refuses_start);
        writeln!(
            out,
            "problems: {} (`verify` lists them){}",
            tree.problems.len(),
            if refuses {
                ": the store refuses to start"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}

fn write_table(out: &mut String, table: &Table) -> std::fmt::Result {
    let file = &table.file;
    let keys = match (file.lines.first(), file.lines.last()) {
        (Some(first), Some(last)) => format!("keys {} to {}", shown(&first.key), shown(&last.key)),
        _ => "no keys".to_string(),
    };
    writeln!(
        out,
        "  {}  {}, {}, {keys}, {} bytes",
        file.name,
        plural(file.lines.len(), "entry", "entries"),
        plural(file.tombstones(), "tombstone", "tombstones"),
        file.bytes
    )?;
    let mut sidecar_lines = Vec::new();
    if let Some(index) = &table.index {
        sidecar_lines.push(match index {
            Sidecar::Sound(index) => {
                format!("index: {}", plural(index.blocks().len(), "block", "blocks"))
            }
            Sidecar::Missing => "index: missing (the store rebuilds it at open)".to_string(),
            Sidecar::Damaged(problem) => format!(
                "index: damaged, {} (the store rebuilds it at open)",
                problem.reason
            ),
        });
    }
    if let Some(filter) = &table.filter {
        sidecar_lines.push(match filter {
            Sidecar::Sound(filter) => format!(
                "filter: {} bits, {} hashes, {} keys, expected false positives {:.2}%",
                filter.bit_count(),
                filter.hash_count(),
                filter.key_count(),
                100.0 * sidecars::expected_false_positive_rate(filter)
            ),
            Sidecar::Missing => "filter: missing (the store rebuilds it at open)".to_string(),
            Sidecar::Damaged(problem) => format!(
                "filter: damaged, {} (the store rebuilds it at open)",
                problem.reason
            ),
        });
    }
    if !sidecar_lines.is_empty() {
        writeln!(out, "              {}", sidecar_lines.join("; "))?;
    }
    Ok(())
}
