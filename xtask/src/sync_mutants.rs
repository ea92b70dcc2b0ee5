//! `cargo xtask sync-mutants`: proves that the power-loss check
//! (`tests/tests/power_loss.rs`) sees every sync the store relies on.
//!
//! A test that passes with the sync removed does not test the sync. For each
//! call of `sync_all`, `sync_data` or `sync_directory` in the code of steps
//! 03 and 07 (their tests aside), this builds a copy of the solution's
//! server with that one call turned into a no-op (a scratch crate, as
//! `exercises` does for holes), records the check's workload against it
//! (`LITTLE_KV_TRACED_SERVER`), and expects the check to report a broken
//! promise. A sync whose removal goes unseen fails the command, with its
//! file and line: either the check misses a crash image, or the sync is
//! not needed and should go. The one exception is a sync listed in
//! `WINDOW_SYNCS`, with its reason: needed only in a window that the
//! recorded run cannot reach on demand; it is reported, not failed. The
//! recorded run depends on timing, so a mutant the check misses is
//! recorded again, up to three times in all, before its sync counts as
//! unseen (the log's sync at a rotation needed records pending at a freeze,
//! which a run missed once in CI, when rotate still had a sync of its own).
//!
//! A sync inside an exercise's answer (an `// ANCHOR: exercise_N_M` region,
//! such as the table's `sync_all` of exercise 3.3 or the log's `sync_data`
//! of exercise 7.3) is what a learner may leave out, and the book promises
//! that the check then points at the exercise: its mutant must fail with a
//! message that names a lost key and "exercise N.M" (checked on the same
//! recording, so this costs no run of its own). `cargo xtask sync-mutants
//! --exercises` runs only those mutants, as a quick check of the messages.
//! Where the book quotes such a failure (a fenced block in `book/src/` that
//! ends with the pointer "(exercise N.M, …)"), each of its lines must be a
//! line of the report of one of that exercise's mutants, up to numbers and
//! quoted keys and values, which depend on the run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::files::{self, File};
use crate::holes;
use crate::layout::Layout;
use crate::markers::{self, ExerciseId};
use crate::run;
use crate::scratch;
use crate::tools;

/// The steps whose syncs are mutated: where the first sync lives (03, the
/// table) and where every kind of sync is (07, the log too).
const CHAPTERS: [&str; 2] = ["03", "07"];

/// Syncs the recorded run cannot show to be needed, by file and enclosing
/// function, each with the reason: needed in a window the run rarely
/// reaches, or against damage other than a power cut. A mutant of one of these that survives
/// is reported, not failed; one that is caught is fine too.
const WINDOW_SYNCS: &[(&str, &str, &str)] = &[
    (
        "src/recovery.rs",
        "recover",
        "it matters only when the previous process was killed between a rename and its \
         directory sync, a window the recorded run's one kill rarely hits (it did once in CI, \
         which is how this sync came to be); the removals of leftovers it also covers are \
         made durable in step 07 by the new log's directory sync as well",
    ),
    (
        "src/rotation.rs",
        "end_with_next",
        "no crash image needs the old log's `next` record: a start links two logs by the new \
         log's header whatever became of it; its sync is there so that a new log removed \
         whole is noticed, which is damage, not a power cut (log_chain.rs tests it)",
    ),
];

/// How many recordings a mutant gets before a sync counts as unseen.
const RECORDINGS: usize = 3;

/// What the check prints when a crash image breaks a promise (see
/// `tests/src/power_loss.rs`): the mark of a mutant caught.
const CAUGHT: &str = "can leave a directory that breaks the promise";

/// One call that makes something durable.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Site {
    /// The file inside the crate, e.g. `src/wal.rs`.
    file: PathBuf,
    line: usize,
    /// Where the text to replace starts and ends, in bytes.
    start: usize,
    end: usize,
    /// What it is, as written: `.sync_data()`, `files::sync_directory(`.
    text: String,
    /// The function it is in.
    function: String,
    /// The exercise whose answer holds it, if any.
    exercise: Option<ExerciseId>,
}

/// The no-op the mutant calls instead of `sync_directory`, added to the
/// copy's `src/files.rs` (where `Path` and `Result` are in scope in every
/// step).
const SKIPPED_SYNC_DIRECTORY: &str = "\n/// `cargo xtask sync-mutants`: a directory sync that does nothing.\n\
     #[allow(dead_code)]\n\
     pub fn skipped_sync_directory(_directory: &Path) -> Result<()> {\n    Ok(())\n}\n";

pub fn run(layout: &Layout, args: &[String]) -> Result<()> {
    let only_exercises = match args {
        [] => false,
        [flag] if flag == "--exercises" => true,
        _ => {
            return Err(Error::Usage(
                "`sync-mutants` takes no arguments, or `--exercises`".into(),
            ));
        }
    };
    if !tools::strace_available() {
        println!(
            "sync-mutants: SKIPPED, strace is not installed (apt-get install strace): \
             the power-loss check cannot run without it"
        );
        return Ok(());
    }
    // The check's own test binary, built once; each mutant only rebuilds
    // its server.
    build_check(layout)?;
    let mut survivors = Vec::new();
    let mut caught = 0;
    // The reports of the mutants inside an exercise, for the book's quotes.
    let mut reports: Vec<(ExerciseId, String)> = Vec::new();
    for nn in CHAPTERS {
        let chapter = layout
            .solutions()?
            .into_iter()
            .find(|chapter| chapter.nn() == nn)
            .ok_or_else(|| Error::Check(format!("no solution for chapter {nn}")))?;
        let crate_dir = layout.root.join(chapter.solution_dir());
        let sources = files::read_tree(&crate_dir)?;
        let mut sites = find_sites(&sources);
        if only_exercises {
            sites.retain(|site| site.exercise.is_some());
        }
        let what = if only_exercises {
            "syncs inside an exercise"
        } else {
            "syncs"
        };
        println!("sync-mutants: step {nn}: {} {what}", sites.len());
        for site in &sites {
            let started = Instant::now();
            let binary = build_mutant(layout, nn, &sources, site)?;
            // The recorded run depends on timing (which records are pending
            // when the memtable freezes, say), so a removal the check missed
            // is recorded again, up to RECORDINGS times: a sync must be
            // caught in at least one.
            let mut recordings = 0;
            let (verdict, detail, report) = loop {
                let outcome = run_check(layout, nn, &binary, site.exercise)?;
                recordings += 1;
                let again = outcome.0 == "NOT caught"
                    && recordings < RECORDINGS
                    && window_reason(site).is_none();
                if !again {
                    break outcome;
                }
            };
            if let (Some(id), Some(report)) = (site.exercise, report) {
                reports.push((id, report));
            }
            let detail = if recordings > 1 {
                format!("{detail} (recording {recordings} of at most {RECORDINGS})")
            } else {
                detail
            };
            println!(
                "  {}:{} `{}`: {verdict} ({:.0?}){detail}",
                site.file.display(),
                site.line,
                site.text,
                started.elapsed()
            );
            if verdict == "caught" {
                caught += 1;
            } else if let Some(reason) = window_reason(site).filter(|_| verdict == "NOT caught") {
                println!("    not required: {reason}");
            } else {
                survivors.push(format!(
                    "{}/{}:{} `{}`: {verdict}{detail}",
                    chapter.solution_dir().display(),
                    site.file.display(),
                    site.line,
                    site.text
                ));
            }
        }
    }
    let quotes = book_quotes(layout)?;
    for (path, line, id, quote) in &quotes {
        let mutants: Vec<&String> = reports
            .iter()
            .filter(|(of, _)| of == id)
            .map(|(_, report)| report)
            .collect();
        if mutants.is_empty() {
            continue;
        }
        let unmatched: Vec<&str> = quote
            .lines()
            .filter(|quoted| !mutants.iter().any(|report| has_line(report, quoted)))
            .collect();
        if unmatched.is_empty() {
            println!(
                "  {}:{line}: the book's quote of exercise {id}'s failure is what the check prints",
                path.display()
            );
        } else {
            survivors.push(format!(
                "{}:{line}: the book quotes lines the check does not print for a sync left out \
                 of exercise {id} (numbers, keys and values aside):\n    {}",
                path.display(),
                unmatched.join("\n    ")
            ));
        }
    }
    if !survivors.is_empty() {
        return Err(Error::Check(format!(
            "the power-loss check did not notice these syncs removed, did not point at the \
             exercise that holds them, or does not print what the book quotes:\n  {}",
            survivors.join("\n  ")
        )));
    }
    if only_exercises {
        println!(
            "sync-mutants: {caught} syncs inside an exercise caught, each with a message that \
             names the exercise and a lost key"
        );
    } else {
        println!(
            "sync-mutants: {caught} syncs caught (those inside an exercise with a message that \
             names it and a lost key); any other is listed above with why the recorded run \
             cannot show it"
        );
    }
    Ok(())
}

/// Every call that makes something durable in a crate's code, tests aside.
fn find_sites(sources: &[File]) -> Vec<Site> {
    let mut sites = Vec::new();
    for file in sources {
        let is_rust = file.path.extension().is_some_and(|e| e == "rs");
        let Ok(text) = std::str::from_utf8(&file.contents) else {
            continue;
        };
        if !is_rust {
            continue;
        }
        let code_end = test_module_start(text);
        // A file whose exercise regions do not parse has its problems
        // reported by `cargo xtask exercises`; here its syncs count as
        // outside any exercise.
        let regions = markers::parse(&file.path, text).unwrap_or_default();
        for needle in [".sync_all()", ".sync_data()", "sync_directory("] {
            for (start, _) in text[..code_end].match_indices(needle) {
                let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                let line = &text[line_start..];
                let is_comment = line.trim_start().starts_with("//");
                let is_definition = text[line_start..start].contains("fn ");
                if is_comment || is_definition {
                    continue;
                }
                // A directory sync is replaced with its path:
                // `crate::files::sync_directory(`.
                let start = if needle == "sync_directory(" {
                    let before = &text[..start];
                    before
                        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                        .map_or(0, |i| i + 1)
                } else {
                    start
                };
                let end = text[start..].find(needle).map(|i| start + i + needle.len());
                let Some(end) = end else { continue };
                let line = text[..start].matches('\n').count() + 1;
                let exercise = regions
                    .iter()
                    .find(|region| region.start < line - 1 && line - 1 < region.end)
                    .map(|region| region.id);
                sites.push(Site {
                    file: file.path.clone(),
                    line,
                    start,
                    end,
                    text: text[start..end].to_string(),
                    function: enclosing_function(&text[..start]),
                    exercise,
                });
            }
        }
    }
    sites.sort_by(|a, b| (&a.file, a.start).cmp(&(&b.file, b.start)));
    sites
}

/// The name of the last function declared in `before`: the one a site is
/// in.
fn enclosing_function(before: &str) -> String {
    before
        .lines()
        .rev()
        .find_map(|line| {
            let trimmed = line.trim_start();
            let after = trimmed
                .strip_prefix("pub(crate) fn ")
                .or_else(|| trimmed.strip_prefix("pub fn "))
                .or_else(|| trimmed.strip_prefix("fn "))?;
            let end = after.find(['(', '<'])?;
            Some(after[..end].to_string())
        })
        .unwrap_or_default()
}

/// Why a sync's removal may go unseen, if it is one the recorded run
/// cannot reach.
fn window_reason(site: &Site) -> Option<&'static str> {
    WINDOW_SYNCS
        .iter()
        .find(|(file, function, _)| site.file == Path::new(file) && site.function == *function)
        .map(|(_, _, reason)| *reason)
}

/// Where a file's `#[cfg(test)] mod …` starts (its end if it has none).
fn test_module_start(text: &str) -> usize {
    let mut offset = 0;
    let mut previous_was_cfg_test = false;
    for line in text.split_inclusive('\n') {
        if previous_was_cfg_test && line.starts_with("mod ") {
            return offset - "#[cfg(test)]\n".len();
        }
        previous_was_cfg_test = line.trim_end() == "#[cfg(test)]";
        offset += line.len();
    }
    text.len()
}

/// The crate's files with `site` turned into a no-op.
fn mutate(sources: &[File], site: &Site) -> Vec<File> {
    sources
        .iter()
        .map(|file| {
            let mut contents = file.contents.clone();
            if file.path == site.file {
                let replacement: &[u8] = if site.text.ends_with("sync_directory(") {
                    b"crate::files::skipped_sync_directory("
                } else {
                    // `file.sync_all()` becomes `file.metadata().map(drop)`:
                    // the same type, io::Result<()>, and no sync.
                    b".metadata().map(drop)"
                };
                contents.splice(site.start..site.end, replacement.iter().copied());
            }
            if file.path == Path::new("src/files.rs") {
                contents.extend_from_slice(SKIPPED_SYNC_DIRECTORY.as_bytes());
            }
            File {
                path: file.path.clone(),
                contents,
                mode: file.mode,
            }
        })
        .collect()
}

/// Builds the test binary of the power-loss check.
fn build_check(layout: &Layout) -> Result<()> {
    let mut command = run::cargo(&layout.root);
    command.args([
        "test",
        "-p",
        "cross-step-tests",
        "--test",
        "power_loss",
        "--no-run",
    ]);
    run::for_parsing(&mut command);
    let built = run::capture(command)?;
    if !built.success {
        return Err(Error::Check(format!(
            "the power-loss check does not build:\n{}",
            run::error_lines(&built.output, 20).join("\n")
        )));
    }
    Ok(())
}

/// Builds the server of step `nn` with `site` removed, in the scratch
/// workspace `target/xtask/sync-mutants/`, as the package `mutant-NN`.
/// Returns the binary's path.
fn build_mutant(layout: &Layout, nn: &str, sources: &[File], site: &Site) -> Result<PathBuf> {
    let dir = layout.scratch("sync-mutants");
    let package = format!("mutant-{nn}");
    let renamed: Vec<File> = mutate(sources, site)
        .into_iter()
        .map(|file| match String::from_utf8(file.contents.clone()) {
            Ok(text) => File {
                contents: holes::rename_crate(&text, nn, &package).into_bytes(),
                ..file
            },
            Err(_) => file,
        })
        .collect();
    files::create_dir_all(&dir)?;
    files::update_tree(&dir.join(&package), &renamed)?;
    scratch::write_root(
        layout,
        &dir,
        std::slice::from_ref(&package),
        "# Generated by `cargo xtask sync-mutants`; not part of the little-kv workspace.\n\
         # A solution's server with one sync removed.",
    )?;
    let mut command = run::cargo(&dir);
    command
        .args(["build", "-p", &package, "--bin", &package])
        .env("CARGO_TARGET_DIR", &layout.target);
    run::for_parsing(&mut command);
    let built = run::capture(command)?;
    if !built.success {
        return Err(Error::Check(format!(
            "the mutant {}:{} does not build:\n{}",
            site.file.display(),
            site.line,
            run::error_lines(&built.output, 20).join("\n")
        )));
    }
    Ok(layout.target.join("debug").join(&package))
}

/// Runs the power-loss check of step `nn` against `binary`. Returns
/// "caught", "NOT caught", "caught, but the message misleads" (for a sync
/// inside `exercise`, a report that does not name it and a lost key) or
/// "failed for another reason", and a detail.
fn run_check(
    layout: &Layout,
    nn: &str,
    binary: &Path,
    exercise: Option<ExerciseId>,
) -> Result<(&'static str, String, Option<String>)> {
    let mut command = run::cargo(&layout.root);
    command
        .args([
            "test",
            "-p",
            "cross-step-tests",
            "--test",
            "power_loss",
            "--",
            &format!("solution_{nn}_"),
        ])
        .env("LITTLE_KV_TRACED_SERVER", binary)
        .env("LITTLE_KV_REQUIRE_STRACE", "1");
    run::for_parsing(&mut command);
    let ran = run::capture(command)?;
    if ran.success {
        return Ok(("NOT caught", String::new(), None));
    }
    let Some(report) = failure_report(&ran.output) else {
        return Ok((
            "failed for another reason",
            format!(":\n{}", run::error_lines(&ran.output, 15).join("\n")),
            None,
        ));
    };
    // "… a power cut just before call 161, fdatasync(data/000001.wal) can …"
    let first = report.lines().next().unwrap_or_default();
    let before = first.split(CAUGHT).next().unwrap_or_default();
    let at = before.split("a power cut ").nth(1).unwrap_or(before).trim();
    let Some(id) = exercise else {
        return Ok(("caught", format!(": {at}"), None));
    };
    let shown = report.lines().collect::<Vec<_>>().join("\n    ");
    match misses(&report, id) {
        None => Ok((
            "caught",
            format!(": {at}; the message names exercise {id} and a lost key:\n    {shown}"),
            Some(report),
        )),
        Some(missing) => Ok((
            "caught, but the message misleads",
            format!(
                ": it does not name {missing}, which the book promises for a sync left out \
                 of exercise {id}. The report:\n    {shown}"
            ),
            None,
        )),
    }
}

/// Every fenced block in the book's chapters that quotes a power-loss
/// failure: one whose last line is a pointer "… (exercise N.M, …)". Each
/// with its file, the line of its opening fence, the exercise, and its
/// lines (blank ones left out).
fn book_quotes(layout: &Layout) -> Result<Vec<(PathBuf, usize, ExerciseId, String)>> {
    let book = layout.root.join("book/src");
    let mut quotes = Vec::new();
    for file in files::read_tree(&book)? {
        if file.path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let Ok(text) = std::str::from_utf8(&file.contents) else {
            continue;
        };
        let path = Path::new("book/src").join(&file.path);
        let mut open: Option<(usize, Vec<&str>)> = None;
        for (index, line) in text.lines().enumerate() {
            if !line.trim_start().starts_with("```") {
                if let Some((_, lines)) = &mut open
                    && !line.trim().is_empty()
                {
                    lines.push(line);
                }
                continue;
            }
            let Some((start, lines)) = open.take() else {
                open = Some((index + 1, Vec::new()));
                continue;
            };
            if let Some(id) = lines.last().and_then(|last| pointer_exercise(last)) {
                quotes.push((path.clone(), start, id, lines.join("\n")));
            }
        }
    }
    Ok(quotes)
}

/// The exercise a pointer line names: "… (exercise 3.3, `sstable::write`)".
fn pointer_exercise(line: &str) -> Option<ExerciseId> {
    let inside = line.trim_end().strip_suffix(')')?;
    let (_, pointer) = inside.rsplit_once("(exercise ")?;
    let (id, _) = pointer.split_once(", ")?;
    let (chapter, number) = id.split_once('.')?;
    Some(ExerciseId {
        chapter: chapter.parse().ok()?,
        number: number.parse().ok()?,
    })
}

/// Whether `report` has a line that reads as `quoted`, up to what depends on
/// the run: every number, and every quoted key or value.
fn has_line(report: &str, quoted: &str) -> bool {
    let quoted = shape(quoted);
    report.lines().any(|line| shape(line) == quoted)
}

/// A line with every run of digits as `N` and every string in double
/// quotes (escapes included) as `"…"`, trimmed.
fn shape(line: &str) -> String {
    let mut shaped = String::new();
    let mut chars = line.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            while let Some(inside) = chars.next() {
                match inside {
                    '\\' => {
                        chars.next();
                    }
                    '"' => break,
                    _ => {}
                }
            }
            shaped.push_str("\"…\"");
        } else if c.is_ascii_digit() {
            while chars.next_if(char::is_ascii_digit).is_some() {}
            shaped.push('N');
        } else {
            shaped.push(c);
        }
    }
    shaped
}

/// The power-loss check's failure report in a test run's output: from the
/// line that says a promise is broken to the line before the note on where
/// the traces are kept (or the end of the output).
fn failure_report(output: &str) -> Option<String> {
    let start = output.find(CAUGHT)?;
    let start = output[..start].rfind('\n').map_or(0, |i| i + 1);
    let report = &output[start..];
    let end = report
        .find("\n(the traces are kept in")
        .unwrap_or(report.len());
    Some(report[..end].to_string())
}

/// What a report of a sync left out of exercise `id` fails to name: the
/// exercise ("exercise 3.3"), or a key that was lost (`key "…" holds`) or
/// is unreadable (`is unreadable: "…"`). `None` if it names both.
fn misses(report: &str, id: ExerciseId) -> Option<String> {
    let exercise = format!("exercise {id}");
    let names_a_key = report.contains("key \"") || report.contains("is unreadable: \"");
    match (report.contains(&exercise), names_a_key) {
        (true, true) => None,
        (false, true) => Some(format!("\"{exercise}\"")),
        (true, false) => Some("a lost key".to_string()),
        (false, false) => Some(format!("\"{exercise}\" nor a lost key")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Vec<File> {
        vec![
            File {
                path: "src/wal.rs".into(),
                contents: text.as_bytes().to_vec(),
                mode: 0o644,
            },
            File {
                path: "src/files.rs".into(),
                contents: b"use std::path::Path;\n".to_vec(),
                mode: 0o644,
            },
        ]
    }

    const CODE: &str = "\
/// Calls sync_directory(dir) in a comment.
pub fn sync_directory(directory: &Path) -> Result<()> {
    File::open(directory)?.sync_all()
}
fn append(file: &File) -> io::Result<()> {
    file.write_all(b\"x\").and_then(|()| file.sync_data())?;
    crate::files::sync_directory(&self.directory)?;
    // file.sync_all() in a comment
    Ok(())
}

#[cfg(test)]
mod tests {
    fn t() { file.sync_all().unwrap(); }
}
";

    #[test]
    fn every_sync_call_is_a_site_but_definitions_comments_and_tests() {
        let sites = find_sites(&source(CODE));
        let found: Vec<(usize, &str)> = sites
            .iter()
            .map(|site| (site.line, site.text.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (3, ".sync_all()"),
                (6, ".sync_data()"),
                (7, "crate::files::sync_directory(")
            ]
        );
    }

    #[test]
    fn a_site_knows_its_function() {
        let sites = find_sites(&source(CODE));
        let functions: Vec<&str> = sites.iter().map(|site| site.function.as_str()).collect();
        assert_eq!(functions, ["sync_directory", "append", "append"]);
    }

    #[test]
    fn a_site_inside_an_exercise_region_knows_its_exercise() {
        let code = "\
fn write(file: &File) -> Result<()> {
    // ANCHOR: exercise_3_3
    // Exercise 3.3: write, sync, rename, sync the directory
    file.sync_all()?;
    sync_directory(dir)
    // ANCHOR_END: exercise_3_3
}
fn clear(dir: &Path) -> Result<()> {
    sync_directory(dir)
}
";
        let sites = find_sites(&source(code));
        let exercises: Vec<Option<String>> = sites
            .iter()
            .map(|site| site.exercise.map(|id| id.to_string()))
            .collect();
        assert_eq!(
            exercises,
            [Some("3.3".to_string()), Some("3.3".to_string()), None]
        );
    }

    #[test]
    fn a_report_must_name_the_exercise_and_a_lost_key() {
        let id = ExerciseId {
            chapter: 7,
            number: 3,
        };
        let output = "\
test solution_07_a_power_cut_keeps_every_acknowledged_write ... FAILED
thread 'x' panicked at tests/tests/power_loss.rs:190:13:
solution-07: a power cut just before call 88, fdatasync(data/000002.wal) can leave a directory that breaks the promise:
the image: bytes written since each file's last sync lost; every name durable
key \"c0-k1\" holds None, but PUT \"c0-k1\" = \"v1.0\" was promised durable (answered 200).
Is the log synced (sync_data) before a write is answered? (exercise 7.3, `Wal::sync_batch`)
(the traces are kept in /target/tmp/power-loss-solution-07)
";
        let report = failure_report(output).expect("a report");
        assert!(report.starts_with("solution-07: a power cut just before call 88"));
        assert!(!report.contains("traces are kept"));
        assert_eq!(misses(&report, id), None);
        let unpointed = report.replace("exercise 7.3, ", "");
        assert_eq!(misses(&unpointed, id), Some("\"exercise 7.3\"".to_string()));
        let unopened = "the store does not open: data/000001.sst:6: the last line has no newline\n\
                        So every key promised durable (flushed) is unreadable: \"c0-k1\".\n\
                        (exercise 3.3, `sstable::write`)";
        let id_3_3 = ExerciseId {
            chapter: 3,
            number: 3,
        };
        assert_eq!(misses(unopened, id_3_3), None);
        let keyless = unopened.replace("is unreadable: \"c0-k1\"", "");
        assert_eq!(misses(&keyless, id_3_3), Some("a lost key".to_string()));
    }

    #[test]
    fn a_quoted_line_matches_a_report_up_to_numbers_keys_and_values() {
        let report = "key \"c0-k4\" holds None, but PUT \"c0-k4\" = \"v1.1 \\\"x\" was promised \
                      durable (answered 200).\n  - 723 bytes written to data/000001.wal since its \
                      last sync (they hold the key)";
        assert!(has_line(
            report,
            "key \"c1-k2\" holds None, but PUT \"c1-k2\" = \"v3.0\" was promised durable (answered 200)."
        ));
        assert!(has_line(
            report,
            "  - 12 bytes written to data/000002.wal since its last sync (they hold the key)"
        ));
        assert!(!has_line(
            report,
            "- 12 bytes written to data/000002.sst since its last sync (they hold the key)"
        ));
        assert_eq!(
            pointer_exercise("Is the log synced? (exercise 7.3, `Wal::sync_batch`)"),
            Some(ExerciseId {
                chapter: 7,
                number: 3
            })
        );
        assert_eq!(pointer_exercise("see exercise 7.3"), None);
    }

    #[test]
    fn a_mutant_has_exactly_one_sync_turned_into_a_no_op() {
        let sources = source(CODE);
        let sites = find_sites(&sources);
        let mutant = mutate(&sources, &sites[2]);
        let text = String::from_utf8(mutant[0].contents.clone()).unwrap();
        assert!(text.contains("crate::files::skipped_sync_directory(&self.directory)?;"));
        assert!(text.contains("file.sync_data()"), "the other syncs stay");
        let files_rs = String::from_utf8(mutant[1].contents.clone()).unwrap();
        assert!(files_rs.contains("pub fn skipped_sync_directory"));
        let mutant = mutate(&sources, &sites[1]);
        let text = String::from_utf8(mutant[0].contents.clone()).unwrap();
        assert!(text.contains("file.metadata().map(drop))?;"));
    }
}
