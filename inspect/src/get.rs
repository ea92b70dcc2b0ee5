//! `get KEY`: a lookup explained, step by step, the way the step's store
//! does it, stopping where the store stops.
//!
//! The order is the store's: the memtable first (in memory, so not on
//! disk: this can only say so); in step 07 the logs a start replays (the
//! chain from the one the manifest names, see `chain.rs`), newest first,
//! whose records are replayed at start into a table newer than every other
//! (and while the server runs, the same writes are in its memtable); then
//! the live tables, newest first. A log outside the chain (its writes are
//! in a table already, or the start refuses on it) is not looked in. In
//! each table:
//! - steps 03 to 05 read lines from the first until the key, or a key after
//!   it (the lines are sorted), or the end;
//! - step 06 asks the index for the one block that can hold the key and
//!   reads that block only;
//! - step 07 asks the table's filter first, and skips the table, reading
//!   nothing, when it says "not here".
//!
//! The first entry found answers: a value, or a tombstone, which means "not
//! found" and hides every older entry. Nothing older is read.
//!
//! Invariants:
//! - the answer is what the store returns for the key from these files
//!   (a test compares it with the store's own `get`).

use std::fmt::Write as _;

use solution_07::Entry;
use solution_07::format::{Index, Op};

use crate::summary::shown;
use crate::table::{Line, TableFile};
use crate::tree::Tree;

/// Where a lookup found its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The key's value.
    Value(String),
    /// A tombstone (or a `clear`): the key is not found.
    Deleted,
    /// No entry anywhere on disk.
    Missing,
}

/// The explanation of a lookup of `key` in `tree`, and its answer.
pub fn explain(tree: &Tree, key: &str) -> (String, Answer) {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let answer = write_explanation(&mut out, tree, key).unwrap_or(Answer::Missing);
    (out, answer)
}

fn write_explanation(out: &mut String, tree: &Tree, key: &str) -> Result<Answer, std::fmt::Error> {
    writeln!(
        out,
        "get {} in step {} ({})",
        shown(key),
        tree.step,
        tree.step_reason
    )?;
    writeln!(
        out,
        "memtable: in memory, not on disk: a running server looks there first"
    )?;
    if tree.step.has_filter_and_logs() {
        writeln!(
            out,
            "logs, newest first (replayed at start into a table newer than all the others):"
        )?;
        if tree.logs.is_empty() {
            writeln!(out, "  none")?;
        }
        for log in &tree.logs {
            // The last record that touches the key decides, as replay
            // applies them in order.
            let found = log.records.iter().rev().find_map(|record| {
                let (what, answer) = match &record.op {
                    Op::Put(k, value) if k == key => (
                        format!("puts {}", shown(value)),
                        Answer::Value(value.clone()),
                    ),
                    Op::Delete(k) if k == key => ("deletes it".to_string(), Answer::Deleted),
                    Op::Clear => (
                        "clears the store, which voids every older entry".to_string(),
                        Answer::Deleted,
                    ),
                    Op::Put(..) | Op::Delete(_) | Op::Next(_) => return None,
                };
                Some((record.line, what, answer))
            });
            let Some((line, what, answer)) = found else {
                writeln!(
                    out,
                    "  {}: no record of it in {}",
                    log.name,
                    crate::summary::plural(log.writes(), "record", "records")
                )?;
                continue;
            };
            writeln!(out, "  {}: line {line} {what}", log.name)?;
            write_answer(out, &answer, &format!("{} line {line}", log.name))?;
            writeln!(out, "(no table is read)")?;
            return Ok(answer);
        }
    }
    writeln!(out, "tables, newest first:")?;
    if tree.tables.is_empty() {
        writeln!(out, "  none")?;
    }
    for (at, table) in tree.tables.iter().enumerate() {
        let file = &table.file;
        write!(out, "  {}: ", file.name)?;
        if let Some((filter, rebuilt)) = table.filter_in_use() {
            let rebuilt = if rebuilt {
                " (rebuilt from the table, as the store does)"
            } else {
                ""
            };
            if !filter.may_contain(key) {
                writeln!(out, "filter{rebuilt} says no: skipped, nothing read")?;
                continue;
            }
            write!(out, "filter{rebuilt} says maybe; ")?;
        }
        let entry = match table.index_in_use() {
            Some((index, rebuilt)) => read_block(out, file, &index, rebuilt, key)?,
            None => scan(out, file, key)?,
        };
        let Some(line) = entry else {
            if table.filter.is_some() {
                writeln!(out, " (a false positive of the filter)")?;
            } else {
                writeln!(out)?;
            }
            continue;
        };
        let answer = match &line.entry {
            Entry::Value(value) => Answer::Value(value.clone()),
            Entry::Tombstone => Answer::Deleted,
        };
        writeln!(out)?;
        let place = match answer {
            Answer::Deleted => format!("the tombstone on {} line {}", file.name, line.number),
            _ => format!("{} line {}", file.name, line.number),
        };
        write_answer(out, &answer, &place)?;
        let older = tree.tables.len() - at - 1;
        if older > 0 {
            writeln!(
                out,
                "(the store stops here: {} not read)",
                crate::summary::plural(older, "older table", "older tables")
            )?;
        }
        return Ok(answer);
    }
    writeln!(out, "answer: not found: no entry on disk")?;
    Ok(Answer::Missing)
}

fn write_answer(out: &mut String, answer: &Answer, place: &str) -> std::fmt::Result {
    match answer {
        Answer::Value(value) => writeln!(out, "answer: {} (from {place})", shown(value)),
        Answer::Deleted => writeln!(
            out,
            "answer: not found: deleted ({place} hides every older entry)"
        ),
        Answer::Missing => writeln!(out, "answer: not found"),
    }
}

/// Steps 03 to 05: the lines from the first, until the key or past it.
fn scan<'a>(
    out: &mut String,
    file: &'a TableFile,
    key: &str,
) -> Result<Option<&'a Line>, std::fmt::Error> {
    let lines = file.lines.iter();
    let (last_read, found) = walk(lines, key);
    let read = match last_read {
        Some(last) => format!("scanned lines 1–{last}"),
        None => "an empty table, nothing to scan".to_string(),
    };
    match found {
        Walk::Found(line) => write!(out, "{read}, found at line {}", line.number)?,
        Walk::Passed(line) => write!(
            out,
            "{read}: line {} is past the key, not in this table",
            line.number
        )?,
        Walk::End => write!(out, "{read}, all of them: not in this table")?,
    }
    Ok(match found {
        Walk::Found(line) => Some(line),
        _ => None,
    })
}

/// Steps 06 and 07: the index's one block, then its lines.
fn read_block<'a>(
    out: &mut String,
    file: &'a TableFile,
    index: &Index,
    rebuilt: bool,
    key: &str,
) -> Result<Option<&'a Line>, std::fmt::Error> {
    let index_name = if rebuilt {
        "index (rebuilt from the table, as the store does)"
    } else {
        "index"
    };
    let Some(block) = index.block_for(key) else {
        write!(
            out,
            "{index_name}: the key is before the table's first key, nothing read"
        )?;
        return Ok(None);
    };
    let in_block = file
        .lines
        .iter()
        .filter(|line| line.offset >= block.start && line.offset < block.end);
    let last_line = in_block
        .clone()
        .next_back()
        .map_or(block.line, |line| line.number);
    write!(
        out,
        "{index_name} → block at offset {} (lines {}–{last_line}), read {} bytes, ",
        block.start,
        block.line,
        block.end - block.start
    )?;
    let (_, found) = walk(in_block, key);
    match found {
        Walk::Found(line) => write!(out, "found at line {}", line.number)?,
        Walk::Passed(line) => write!(
            out,
            "not in the block (line {} is past the key)",
            line.number
        )?,
        Walk::End => write!(out, "not in the block")?,
    }
    Ok(match found {
        Walk::Found(line) => Some(line),
        _ => None,
    })
}

enum Walk<'a> {
    Found(&'a Line),
    Passed(&'a Line),
    End,
}

/// Reads `lines` in order as the store's lookup does: the key, a key after
/// it, or the end. Also says the number of the last line read.
fn walk<'a>(lines: impl Iterator<Item = &'a Line>, key: &str) -> (Option<usize>, Walk<'a>) {
    let mut last = None;
    for line in lines {
        last = Some(line.number);
        match line.key.as_str().cmp(key) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => return (last, Walk::Found(line)),
            std::cmp::Ordering::Greater => return (last, Walk::Passed(line)),
        }
    }
    (last, Walk::End)
}
