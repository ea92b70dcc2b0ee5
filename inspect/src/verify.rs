//! `verify`: every rule of every format, and the facts that must hold
//! between files, each problem printed `path:line: reason`.
//!
//! Within a file (found while the tree is read, see `table.rs`, `replay.rs`,
//! `sidecars.rs`): table lines well-formed with strictly ascending keys and
//! valid escapes; sidecars whose check line matches their table and their
//! body; a log's header naming the log and a length the file still has,
//! its batches whole and its records decoding, nothing after its `next`,
//! but for a torn last batch of the newest log, which recovery drops too;
//! a log that another follows holding exactly the bytes of batches that
//! the other's header says, then at most its `next`.
//! The manifest is read by the store's own `manifest::read`, so it names
//! tables that exist.
//!
//! Between files: the chain of logs a start replays (`chain.rs`): the log
//! the manifest names is there, a `next` names the log after its own,
//! which is there and follows it, and no log after the chain holds
//! writes. And here: each
//! index block starts at the offset and line it says, with the key it
//! says, and the index lists exactly the blocks the writer makes; every key
//! of a table passes its filter, and the filter is the one the writer
//! builds. Leftovers (temporary files, tables the manifest does not name,
//! sidecars of tables that are gone, logs older than the manifest's or
//! empty ones after the chain) are reported, since the next start removes
//! them.
//!
//! Each problem that the store refuses to start on says so ("the store
//! refuses to start"), and so does the last line: the rules are the
//! store's own (see `tree_reader.rs`), so `verify` and a start agree. What the
//! store accepts is at most a note: a torn last batch of the newest log,
//! or a torn `next` of an older one, which replay drops, and a server
//! holding `LOCK`. Where there is no
//! manifest (steps 03 and 04, or a later step before its first start) no
//! table has a size and a checksum to be checked against, and a note says
//! what damage cannot be seen.
//!
//! Invariants:
//! - `verify` fails exactly when there is a problem; each problem names a
//!   file, and a line where there is one;
//! - it says "the store refuses to start" exactly when the step's
//!   `Store::open` would stop on the directory.

use solution_07::format::{BloomFilter, Index};

use crate::Problem;
use crate::problem::REFUSES;
use crate::sidecars::{self, Sidecar};
use crate::summary::{plural, shown};
use crate::tree::{Table, Tree};

/// How many keys that fail their filter are named, per table.
const MOST_KEYS_NAMED: usize = 3;

/// Every problem in `tree`.
pub fn problems(tree: &Tree) -> Vec<Problem> {
    let mut problems = tree.problems.clone();
    for table in &tree.tables {
        check_index(table, &mut problems);
        check_filter(table, &mut problems);
    }
    problems
}

/// The report as printed, and whether the directory is sound.
pub fn render(tree: &Tree) -> (String, bool) {
    let problems = problems(tree);
    let mut out = String::new();
    for problem in &problems {
        out.push_str(&problem.show(&tree.directory));
        out.push('\n');
    }
    for note in notes(tree) {
        out.push_str(&format!("note: {note}\n"));
    }
    let refusing = problems
        .iter()
        .filter(|problem| problem.refuses_start)
        .count();
    let found = format!(
        "{} in {} files checked (step {})",
        plural(problems.len(), "problem", "problems"),
        tree.files_read,
        tree.step
    );
    let verdict = match (problems.len(), refusing) {
        (0, _) => format!("ok: {} files checked (step {})", tree.files_read, tree.step),
        (_, 0) => format!("{found}; none stops the store from starting"),
        (_, refusing) => format!("{found}: {REFUSES} (on {refusing} of them)"),
    };
    out.push_str(&verdict);
    out.push('\n');
    (out, problems.is_empty())
}

/// What the store accepts as it is, or what cannot be checked: the
/// tree's notes, a torn tail of each log, and where there is no manifest,
/// what that hides.
fn notes(tree: &Tree) -> Vec<String> {
    let mut notes = tree.notes.clone();
    for log in &tree.logs {
        if let Some((line, reason)) = &log.torn {
            let path = tree.directory.join(&log.name);
            notes.push(format!(
                "{}:{line}: a torn last batch ({reason}): written by a sync that never finished, none of it acknowledged; the store drops it at start",
                path.display()
            ));
        }
    }
    if tree.manifest.is_none() && !tree.tables.is_empty() {
        let why = if tree.step.has_manifest() {
            format!(
                "step {} writes one at its next start, from the tables as they are",
                tree.step
            )
        } else {
            "steps 03 and 04 keep none".to_string()
        };
        notes.push(format!(
            "no MANIFEST names the tables with their sizes and checksums ({why}), so damage that still parses cannot be seen: a letter of a value changed, or a line lost at a line boundary"
        ));
    }
    notes
}

/// The sidecar called `name` if the store would use it. A missing or
/// damaged one is reported to `problems` instead; a step without such
/// sidecars (`None`) has nothing to report.
fn usable<'a, T>(
    name: &str,
    sidecar: &'a Option<Sidecar<T>>,
    problems: &mut Vec<Problem>,
) -> Option<&'a T> {
    match sidecar.as_ref()? {
        Sidecar::Missing => {
            problems.push(Problem::of(
                name,
                "missing: the store rebuilds it from its table at open",
            ));
            None
        }
        Sidecar::Damaged(problem) => {
            problems.push(problem.clone());
            None
        }
        Sidecar::Sound(contents) => Some(contents),
    }
}

fn check_index(table: &Table, problems: &mut Vec<Problem>) {
    let name = sidecars::name_for(&table.file.name, "idx");
    let Some(index) = usable(&name, &table.index, problems) else {
        return;
    };
    let mut sound = true;
    for (at, block) in index.blocks().iter().enumerate() {
        // Line 1 is the check line.
        let index_line = at + 2;
        let line = table
            .file
            .lines
            .iter()
            .find(|line| line.number == block.line);
        let reason = match line {
            None => Some(format!(
                "the block starts on line {}, which {} does not have as a good line",
                block.line, table.file.name
            )),
            Some(line) if line.offset != block.offset => Some(format!(
                "the block of line {} starts at offset {}, but that line starts at {}",
                block.line, block.offset, line.offset
            )),
            Some(line) if line.key != block.key => Some(format!(
                "the block of line {} starts with the key {}, but that line's key is {}",
                block.line,
                shown(&block.key),
                shown(&line.key)
            )),
            Some(_) => None,
        };
        if let Some(reason) = reason {
            problems.push(Problem::at(&name, index_line, reason));
            sound = false;
        }
    }
    if sound && table.file.problems.is_empty() {
        different_blocks(
            &name,
            index,
            &sidecars::rebuilt_index(&table.file),
            problems,
        );
    }
}

/// Reports the first block where `index` is not what the writer makes.
fn different_blocks(name: &str, index: &Index, expected: &Index, problems: &mut Vec<Problem>) {
    let (found, expected) = (index.blocks(), expected.blocks());
    let at = (0..found.len().max(expected.len())).find(|&at| found.get(at) != expected.get(at));
    if let Some(at) = at {
        let reason = match expected.get(at) {
            Some(block) => format!(
                "the writer starts a block here at line {} (offset {})",
                block.line, block.offset
            ),
            None => "the writer makes no more blocks".to_string(),
        };
        problems.push(Problem::at(name, at + 2, reason));
    }
}

fn check_filter(table: &Table, problems: &mut Vec<Problem>) {
    let name = sidecars::name_for(&table.file.name, "bloom");
    let Some(filter) = usable(&name, &table.filter, problems) else {
        return;
    };
    let turned_away: Vec<_> = table
        .file
        .lines
        .iter()
        .filter(|line| !filter.may_contain(&line.key))
        .collect();
    for line in turned_away.iter().take(MOST_KEYS_NAMED) {
        // Line 2 is the filter's header, after the check line.
        problems.push(Problem::at(
            &name,
            2,
            format!(
                "says \"not here\" for the key {} of {} line {}",
                shown(&line.key),
                table.file.name,
                line.number
            ),
        ));
    }
    if turned_away.len() > MOST_KEYS_NAMED {
        let more = turned_away.len() - MOST_KEYS_NAMED;
        problems.push(Problem::at(&name, 2, format!("and for {more} more keys")));
    }
    let rebuilt: BloomFilter = sidecars::rebuilt_filter(&table.file);
    if turned_away.is_empty() && table.file.problems.is_empty() && *filter != rebuilt {
        problems.push(Problem::at(
            &name,
            2,
            "not the filter the writer builds from the table's keys",
        ));
    }
}
