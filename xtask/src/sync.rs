//! `cargo xtask sync [--check|--force]`: regenerates every `steps/NN-name/`
//! from `solutions/NN-name/`, and never overwrites a learner's work.
//!
//! The starters are never edited by hand: a fix goes into the solution and
//! `sync` carries it over, so a starter cannot drift from the code the book
//! shows. Each starter is the solution with the regions of its own chapter
//! turned into holes (see `holes.rs`) and `solution-NN`/`solution_NN`
//! renamed to `step-NN`/`step_NN`; exercises of earlier chapters stay solved,
//! because step 03 starts where a learner who finished step 02 is.
//!
//! `steps/` is also where a learner works, so sync writes a file only where
//! that loses nothing. The record `steps/.generated` (see `record.rs`) says
//! what sync wrote last. A file that still matches it is replaced when its
//! solution changed; a file that does not (a filled hole, any edit, a file
//! added by hand) is *somebody's work*: sync then writes nothing at all, names
//! those files and stops. `--force` overwrites them, after copying each one
//! to `target/xtask/sync-backup/<time>/`.
//!
//! `--check` builds the same starters under `target/xtask/sync/` and compares
//! them and the record with `steps/` without writing there; CI runs it so
//! that a commit which changed a solution but not its starter fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::files::{self, File};
use crate::layout::{self, Chapter, Layout};
use crate::record::{self, RECORD_PATH, Record, Touched, Work};
use crate::starter::{self, Recipe, Solution};

/// A generated starter, not yet written anywhere.
struct Generated {
    chapter: Chapter,
    files: Vec<File>,
    holes: usize,
}

/// Whether `sync` may overwrite somebody's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Stop, write nothing and name the files (the default).
    Refuse,
    /// Overwrite them, after a backup (`--force`).
    Force,
}

/// Builds the starter of each solution in memory.
fn generate(layout: &Layout, solutions: &[Solution]) -> Result<Vec<Generated>> {
    solutions
        .iter()
        .map(|solution| {
            let own_chapter = solution.chapter.chapter;
            let package = solution.chapter.step_package();
            let recipe = Recipe {
                package: &package,
                pick: &|region| region.id.chapter == own_chapter,
                rustfmt_root: Some(&layout.root),
            };
            let (files, holes) = starter::build(solution, &recipe)?;
            Ok(Generated {
                chapter: solution.chapter.clone(),
                files,
                holes,
            })
        })
        .collect()
}

/// The record of what `generated` holds.
fn record_of(generated: &[Generated]) -> Record {
    record::of_steps(
        generated
            .iter()
            .map(|step| (step.chapter.dir_name.as_str(), step.files.as_slice())),
    )
}

/// What sync will do to `steps/`, worked out before anything is written.
#[derive(Default)]
struct Plan {
    /// Files to write, with their path relative to the root.
    writes: Vec<(PathBuf, File)>,
    /// Files to delete, relative to the root.
    deletes: Vec<PathBuf>,
    /// Step directories to delete (they have no solution any more).
    stale_dirs: Vec<PathBuf>,
    /// Somebody's work that the writes and deletes above would destroy.
    at_risk: Vec<Touched>,
    /// Somebody's work that sync leaves alone, because what sync would
    /// write there did not change since it last wrote it (a learner's
    /// filled holes, while the solution stays the same), or because sync
    /// never wrote that path (a file the learner added). `--force` makes it
    /// at risk: then `steps/` becomes exactly the generated starters.
    kept: Vec<(Touched, Option<File>)>,
}

/// Compares the generated starters with `steps/` and the record.
fn plan(layout: &Layout, generated: &[Generated], record: &Record) -> Result<Plan> {
    let mut plan = Plan::default();
    for step in generated {
        let dir = step.chapter.step_dir();
        let on_disk = if layout.root.join(&dir).is_dir() {
            files::read_tree(&layout.root.join(&dir))?
        } else {
            Vec::new()
        };
        for file in &step.files {
            let inside = Path::new(&step.chapter.dir_name).join(&file.path);
            let old = on_disk.iter().find(|old| old.path == file.path);
            if old == Some(file) {
                continue;
            }
            // A missing file, or the same bytes with another mode, is no
            // one's work.
            let work = old
                .filter(|old| old.contents != file.contents)
                .and_then(|old| record.work_in(&inside, &old.contents));
            let Some(work) = work else {
                plan.writes.push((dir.join(&file.path), file.clone()));
                continue;
            };
            let touched = Touched {
                path: dir.join(&file.path),
                work,
            };
            if record.is_untouched(&inside, &file.contents) {
                plan.kept.push((touched, Some(file.clone())));
            } else {
                plan.at_risk.push(touched);
                plan.writes.push((dir.join(&file.path), file.clone()));
            }
        }
        for old in &on_disk {
            if step.files.iter().any(|file| file.path == old.path) {
                continue;
            }
            let inside = Path::new(&step.chapter.dir_name).join(&old.path);
            let path = dir.join(&old.path);
            match record.work_in(&inside, &old.contents) {
                None => plan.deletes.push(path),
                Some(Work::Added) => plan.kept.push((
                    Touched {
                        path,
                        work: Work::Added,
                    },
                    None,
                )),
                Some(Work::Edited) => {
                    plan.at_risk.push(Touched {
                        path: path.clone(),
                        work: Work::Edited,
                    });
                    plan.deletes.push(path);
                }
            }
        }
    }
    for stale in stale_steps(layout, generated)? {
        let name = stale.file_name().map(PathBuf::from).unwrap_or_default();
        for old in files::read_tree(&layout.root.join(&stale))? {
            if let Some(work) = record.work_in(&name.join(&old.path), &old.contents) {
                plan.at_risk.push(Touched {
                    path: stale.join(&old.path),
                    work,
                });
            }
        }
        plan.stale_dirs.push(stale);
    }
    Ok(plan)
}

/// `cargo xtask sync [--force]`: brings every starter up to date with its
/// solution, and removes a `steps/NN-*` directory whose solution no longer
/// exists (after a rename it would be a second package with the same name).
pub fn sync(layout: &Layout, overwrite: Overwrite) -> Result<()> {
    let solutions = starter::load(layout, &layout.solutions()?)?;
    // Everything is generated and planned before anything is written, so a
    // marker or rustfmt error, or somebody's work in the way, leaves
    // `steps/` as it was.
    let generated = generate(layout, &solutions)?;
    let record = Record::read(layout)?;
    let mut plan = plan(layout, &generated, &record)?;
    if overwrite == Overwrite::Force {
        for (touched, file) in plan.kept.drain(..) {
            match file {
                Some(file) => plan.writes.push((touched.path.clone(), file)),
                None => plan.deletes.push(touched.path.clone()),
            }
            plan.at_risk.push(touched);
        }
    }
    if !plan.at_risk.is_empty() {
        match overwrite {
            Overwrite::Refuse => return Err(refusal(&plan.at_risk, &record)),
            Overwrite::Force => {
                let backup = back_up(layout, &plan.at_risk)?;
                println!(
                    "sync --force: overwriting {} file(s) that held edits; copies are in {}",
                    plan.at_risk.len(),
                    backup.display()
                );
            }
        }
    }
    for (path, file) in &plan.writes {
        files::write_file(&layout.root.join(path), file)?;
    }
    for path in &plan.deletes {
        let full = layout.root.join(path);
        fs::remove_file(&full).map_err(|source| Error::io("delete", &full, source))?;
    }
    for stale in &plan.stale_dirs {
        files::remove_dir_if_exists(&layout.root.join(stale))?;
        println!("removed {}: it has no solution", stale.display());
    }
    let record_path = layout.root.join(RECORD_PATH);
    fs::write(&record_path, record_of(&generated).render())
        .map_err(|source| Error::io("write", &record_path, source))?;
    for step in &generated {
        println!(
            "compared {} with {} ({} files, {} exercise holes)",
            step.chapter.step_dir().display(),
            step.chapter.solution_dir().display(),
            step.files.len(),
            step.holes
        );
    }
    println!(
        "{} file(s) written, {} deleted",
        plan.writes.len(),
        plan.deletes.len()
    );
    if !plan.kept.is_empty() {
        println!(
            "kept {} file(s) with edits that sync did not write (their starter did not change):",
            plan.kept.len()
        );
        for (touched, _) in &plan.kept {
            println!("  {}", touched.describe());
        }
    }
    Ok(())
}

/// The error for a sync that would destroy somebody's work.
fn refusal(at_risk: &[Touched], record: &Record) -> Error {
    let list: Vec<String> = at_risk.iter().map(Touched::describe).collect();
    let why = if *record == Record::default() {
        format!(" ({RECORD_PATH}, the record of what sync wrote, is missing)")
    } else {
        String::new()
    };
    Error::Check(format!(
        "sync changed nothing: these files in steps/ are not what sync wrote{why}, and \
         regenerating would overwrite or delete them:\n  {}\n\
         If this is your work on the exercises, keep it: you do not need sync \
         (`cargo xtask check NN` checks a step you are working on).\n\
         To throw the edits away and regenerate the starters anyway, run \
         `cargo xtask sync --force` (it copies the files to target/xtask/sync-backup/ first).",
        list.join("\n  ")
    ))
}

/// Copies the files in `at_risk` to `target/xtask/sync-backup/<seconds>/`,
/// under their paths; returns that directory.
fn back_up(layout: &Layout, at_risk: &[Touched]) -> Result<PathBuf> {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let backup = layout.scratch("sync-backup").join(seconds.to_string());
    for touched in at_risk {
        let from = layout.root.join(&touched.path);
        let to = backup.join(&touched.path);
        if let Some(parent) = to.parent() {
            files::create_dir_all(parent)?;
        }
        fs::copy(&from, &to).map_err(|source| Error::io("back up", &from, source))?;
    }
    Ok(backup)
}

/// `cargo xtask sync --check`: fails, listing the files, when `steps/` is
/// not what `cargo xtask sync` would write.
pub fn check(layout: &Layout) -> Result<()> {
    let solutions = starter::load(layout, &layout.solutions()?)?;
    let generated = generate(layout, &solutions)?;
    let scratch = layout.scratch("sync");
    files::remove_dir_if_exists(&scratch)?;
    for step in &generated {
        files::replace_tree(&scratch.join(step.chapter.step_dir()), &step.files)?;
    }
    let mut problems = differences(layout, &generated)?;
    for stale in stale_steps(layout, &generated)? {
        problems.push(format!(
            "extra:   {}/ (no solution has this name)",
            stale.display()
        ));
    }
    let expected_record = record_of(&generated).render();
    let record_path = layout.root.join(RECORD_PATH);
    if fs::read_to_string(&record_path).ok().as_deref() != Some(expected_record.as_str()) {
        problems.push(format!("differs: {RECORD_PATH} (the record sync writes)"));
    }
    if problems.is_empty() {
        println!(
            "steps/ is up to date with solutions/ ({} starters)",
            generated.len()
        );
        return Ok(());
    }
    let touched = record::touched_files(layout)?;
    Err(Error::Check(format!(
        "steps/ is out of date with solutions/:\n  {}\n{}\n(what sync would write is in {})",
        problems.join("\n  "),
        advice(&touched),
        scratch.join("steps").display()
    )))
}

/// What to do about starters that differ from their solutions, given the
/// files that hold somebody's work: never a command that would lose it.
fn advice(touched: &[Touched]) -> String {
    if touched.is_empty() {
        return "run `cargo xtask sync` to regenerate the starters".into();
    }
    let edited = touched.iter().filter(|t| t.work == Work::Edited).count();
    format!(
        "{} file(s) in steps/ hold edits that sync did not write ({edited} edited, {} added), \
         such as a learner's exercises. To check a step you are working on, run \
         `cargo xtask check NN`; `cargo xtask sync` keeps them (it overwrites an edited \
         file only with --force).",
        touched.len(),
        touched.len() - edited
    )
}

/// Fails unless the starters of `solutions` match their solutions; the
/// exercise checks would otherwise test an old starter, or a learner's.
pub fn require_up_to_date(layout: &Layout, solutions: &[Solution]) -> Result<()> {
    let generated = generate(layout, solutions)?;
    let problems = differences(layout, &generated)?;
    if problems.is_empty() {
        return Ok(());
    }
    let touched = record::touched_files(layout)?;
    Err(Error::Check(format!(
        "the starters are not the ones generated from their solutions:\n  {}\n{}",
        problems.join("\n  "),
        advice(&touched)
    )))
}

/// One line per file that differs between the generated starters and
/// `steps/`.
fn differences(layout: &Layout, generated: &[Generated]) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for step in generated {
        let dir = step.chapter.step_dir();
        if !layout.root.join(&dir).is_dir() {
            problems.push(format!("missing: {}/", dir.display()));
            continue;
        }
        let on_disk = files::read_tree(&layout.root.join(&dir))?;
        let diff = files::compare(&step.files, &on_disk);
        let show = |path: &PathBuf| dir.join(path).display().to_string();
        problems.extend(diff.changed.iter().map(|p| format!("differs: {}", show(p))));
        problems.extend(diff.missing.iter().map(|p| format!("missing: {}", show(p))));
        problems.extend(diff.extra.iter().map(|p| format!("extra:   {}", show(p))));
    }
    Ok(problems)
}

/// The `steps/NN-name` directories that no solution generates.
fn stale_steps(layout: &Layout, generated: &[Generated]) -> Result<Vec<PathBuf>> {
    let steps = layout.root.join("steps");
    let mut stale = Vec::new();
    if !steps.is_dir() {
        return Ok(stale);
    }
    let entries = fs::read_dir(&steps).map_err(|source| Error::io("list", &steps, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::io("list", &steps, source))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_step = entry.path().is_dir() && layout::chapter_of_dir(&name).is_some();
        // A solution directory that exists but is skipped (no Cargo.toml yet,
        // someone is writing it) keeps its starter.
        let has_solution = generated.iter().any(|step| step.chapter.dir_name == name)
            || layout.root.join("solutions").join(&name).is_dir();
        if is_step && !has_solution {
            stale.push(Path::new("steps").join(name));
        }
    }
    stale.sort();
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLUTION_LIB: &str = "\
//! A demo crate.

/// The answer.
pub fn answer() -> u32 {
    // ANCHOR: exercise_1_1
    // Exercise 1.1: return the answer.
    42
    // ANCHOR_END: exercise_1_1
}
";

    /// A workspace in a fresh temporary directory with one solution,
    /// `solutions/01-demo`, and its starter synced.
    fn scratch_workspace(name: &str) -> Layout {
        let root =
            std::env::temp_dir().join(format!("xtask-sync-test-{}-{name}", std::process::id()));
        files::remove_dir_if_exists(&root).unwrap();
        let solution = root.join("solutions/01-demo");
        files::create_dir_all(&solution.join("src")).unwrap();
        fs::write(
            solution.join("Cargo.toml"),
            "[package]\nname = \"solution-01\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
        )
        .unwrap();
        fs::write(solution.join("src/lib.rs"), SOLUTION_LIB).unwrap();
        fs::write(root.join("rustfmt.toml"), "edition = \"2024\"\n").unwrap();
        let layout = Layout {
            target: root.join("target"),
            root,
        };
        sync(&layout, Overwrite::Refuse).unwrap();
        layout
    }

    fn starter_lib(layout: &Layout) -> String {
        fs::read_to_string(layout.root.join("steps/01-demo/src/lib.rs")).unwrap()
    }

    /// What a learner writes: the hole filled in.
    fn solve(layout: &Layout) -> String {
        let solved = starter_lib(layout)
            .replace(
                "todo!(\"exercise 1.1: return the answer. (book chapter 1)\")",
                "40 + 2",
            )
            .replace("    // TODO(exercise 1.1): return the answer.\n", "");
        assert_ne!(solved, starter_lib(layout), "the starter has its hole");
        fs::write(layout.root.join("steps/01-demo/src/lib.rs"), &solved).unwrap();
        solved
    }

    #[test]
    fn a_solved_exercise_survives_sync_while_its_solution_is_unchanged() {
        let layout = scratch_workspace("unchanged");
        assert!(starter_lib(&layout).contains("todo!(\"exercise 1.1"));
        let solved = solve(&layout);
        fs::write(layout.root.join("steps/01-demo/notes.md"), "mine\n").unwrap();

        sync(&layout, Overwrite::Refuse).unwrap();
        assert_eq!(starter_lib(&layout), solved);
        assert!(layout.root.join("steps/01-demo/notes.md").exists());
        // sync --check and ci see the work and name the file.
        let touched = record::touched_files(&layout).unwrap();
        let names: Vec<String> = touched.iter().map(Touched::describe).collect();
        assert_eq!(
            names,
            [
                "steps/01-demo/notes.md (added)",
                "steps/01-demo/src/lib.rs (edited)"
            ]
        );
        let error = check(&layout).unwrap_err().to_string();
        assert!(error.contains("cargo xtask check NN"), "{error}");
        assert!(!error.contains("run `cargo xtask sync`"), "{error}");
        files::remove_dir_if_exists(&layout.root).unwrap();
    }

    #[test]
    fn sync_refuses_to_overwrite_a_solved_exercise_and_force_keeps_a_copy() {
        let layout = scratch_workspace("changed");
        let solved = solve(&layout);
        // A contributor changes the solution of the same file.
        let solution = layout.root.join("solutions/01-demo/src/lib.rs");
        fs::write(
            &solution,
            SOLUTION_LIB.replace("The answer.", "The answer, 42."),
        )
        .unwrap();

        let error = sync(&layout, Overwrite::Refuse).unwrap_err().to_string();
        assert!(
            error.contains("steps/01-demo/src/lib.rs (edited)"),
            "{error}"
        );
        assert!(error.contains("--force"), "{error}");
        assert_eq!(starter_lib(&layout), solved, "nothing was written");

        sync(&layout, Overwrite::Force).unwrap();
        assert!(starter_lib(&layout).contains("The answer, 42."));
        assert!(starter_lib(&layout).contains("todo!(\"exercise 1.1"));
        let backups = files::read_tree(&layout.scratch("sync-backup")).unwrap();
        assert_eq!(backups.len(), 1);
        assert_eq!(backups[0].contents, solved.as_bytes());
        assert!(record::touched_files(&layout).unwrap().is_empty());
        check(&layout).unwrap();
        files::remove_dir_if_exists(&layout.root).unwrap();
    }

    #[test]
    fn an_untouched_starter_follows_its_solution() {
        let layout = scratch_workspace("follows");
        let solution = layout.root.join("solutions/01-demo/src/lib.rs");
        fs::write(
            &solution,
            SOLUTION_LIB.replace("The answer.", "The answer, 42."),
        )
        .unwrap();
        assert!(
            check(&layout)
                .unwrap_err()
                .to_string()
                .contains("run `cargo xtask sync`")
        );
        sync(&layout, Overwrite::Refuse).unwrap();
        assert!(starter_lib(&layout).contains("The answer, 42."));
        check(&layout).unwrap();
        files::remove_dir_if_exists(&layout.root).unwrap();
    }
}
