//! `cargo xtask sync [--check]`: regenerates every `steps/NN-name/` from
//! `solutions/NN-name/`.
//!
//! The starters are never edited by hand: a fix goes into the solution and
//! `sync` carries it over, so a starter cannot drift from the code the book
//! shows. Each starter is the solution with the regions of its own chapter
//! turned into holes (see `holes.rs`) and `solution-NN`/`solution_NN`
//! renamed to `step-NN`/`step_NN`; exercises of earlier chapters stay solved,
//! because step 03 starts where a learner who finished step 02 is.
//!
//! `--check` builds the same starters under `target/xtask/sync/` and compares
//! them with `steps/` without writing there; CI runs it so that a commit
//! which changed a solution but not its starter fails.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::files::{self, File};
use crate::layout::{self, Chapter, Layout};
use crate::starter::{self, Recipe, Solution};

/// A generated starter, not yet written anywhere.
struct Generated {
    chapter: Chapter,
    files: Vec<File>,
    holes: usize,
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

/// `cargo xtask sync`: rewrites every starter, and removes a `steps/NN-*`
/// directory whose solution no longer exists (after a rename it would be a
/// second package with the same name).
pub fn sync(layout: &Layout) -> Result<()> {
    let solutions = starter::load(layout, &layout.solutions()?)?;
    // Everything is generated before anything is written, so a marker or
    // rustfmt error leaves `steps/` as it was.
    let generated = generate(layout, &solutions)?;
    for step in &generated {
        let dir = layout.root.join(step.chapter.step_dir());
        files::replace_tree(&dir, &step.files)?;
        println!(
            "synced {} from {} ({} files, {} exercise holes)",
            step.chapter.step_dir().display(),
            step.chapter.solution_dir().display(),
            step.files.len(),
            step.holes
        );
    }
    for stale in stale_steps(layout, &generated)? {
        files::remove_dir_if_exists(&layout.root.join(&stale))?;
        println!("removed {}: it has no solution", stale.display());
    }
    Ok(())
}

/// `cargo xtask sync --check`: fails, listing the files, when `steps/` is
/// not what `sync` would write.
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
    if problems.is_empty() {
        println!(
            "steps/ is up to date with solutions/ ({} starters)",
            generated.len()
        );
        return Ok(());
    }
    Err(Error::Check(format!(
        "steps/ is out of date with solutions/:\n  {}\nrun `cargo xtask sync` to regenerate the starters \
         (what sync would write is in {})",
        problems.join("\n  "),
        scratch.join("steps").display()
    )))
}

/// Fails unless the starters of `chapters` match their solutions; the
/// exercise checks would otherwise test an old starter.
pub fn require_up_to_date(layout: &Layout, solutions: &[Solution]) -> Result<()> {
    let generated = generate(layout, solutions)?;
    let problems = differences(layout, &generated)?;
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Check(format!(
        "the starters are out of date with their solutions:\n  {}\nrun `cargo xtask sync` first",
        problems.join("\n  ")
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
