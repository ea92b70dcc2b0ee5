//! `cargo xtask progress [NN ...]`: the learner's dashboard. Runs a step's
//! tests and shows which of its exercises pass.
//!
//! The exercises and their tasks come from the solution's regions, and the
//! tests from their names (`exercise_N_M_<behaviour>`), so the table always
//! matches the book. Failing tests are the normal state of a starter, so
//! this command exits 0 whatever the tests say; only a broken tool (no cargo,
//! no solution to read) is an error. A build error in the learner's code is
//! shown, not treated as one.

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::layout::{self, Chapter, Layout};
use crate::libtest::{Outcome, TestCase};
use crate::markers::ExerciseId;
use crate::run;
use crate::starter;

/// Shows the progress of the steps named in `names` (every step when empty).
pub fn run(layout: &Layout, names: &[String]) -> Result<()> {
    let steps = layout::select(&layout.steps()?, names, "step")?;
    let solutions = layout.solutions()?;
    let (mut done_total, mut all_total) = (0, 0);
    for step in &steps {
        let Some(chapter) = solutions.iter().find(|s| s.dir_name == step.dir_name) else {
            return Err(Error::Check(format!(
                "{} has no solution ({}) to read its exercises from",
                step.step_dir().display(),
                step.solution_dir().display()
            )));
        };
        let shown = show_step(layout, chapter)?;
        done_total += shown.done;
        all_total += shown.total;
    }
    if steps.len() > 1 {
        let which = if names.is_empty() {
            "all steps".to_string()
        } else {
            let nns: Vec<&str> = steps.iter().map(Chapter::nn).collect();
            format!("steps {}", nns.join(", "))
        };
        println!("{which}: {done_total} of {all_total} exercises done");
    }
    Ok(())
}

/// What one step's own tests said.
pub struct StepProgress {
    pub done: usize,
    pub total: usize,
    /// Whether every test of the step passed.
    pub all_pass: bool,
}

/// Runs one step's tests and prints its table.
pub fn show_step(layout: &Layout, chapter: &Chapter) -> Result<StepProgress> {
    let solution = starter::load(layout, std::slice::from_ref(chapter))?.remove(0);
    let exercises = solution.exercises();
    println!(
        "{} (chapter {}): {}",
        chapter.step_package(),
        chapter.chapter,
        chapter.step_dir().display()
    );
    let mut command = run::cargo(&layout.root);
    // The ignored tests too: a starter ignores the tests that need an
    // exercise they do not test (`// needs:`, see `needs.rs`), and they
    // count once the learner works on the step.
    command.args([
        "test",
        "-p",
        &chapter.step_package(),
        "--no-fail-fast",
        "--",
        "--include-ignored",
    ]);
    let tested = run::cargo_test(command)?;
    if tested.build_failed() {
        println!("  the step does not build yet:");
        for line in run::error_lines(&tested.output, 12) {
            println!("    {line}");
        }
    }

    let mut done = 0;
    let mut next_hint = None;
    println!("  {:<9} {:>6}  task", "exercise", "tests");
    for exercise in &exercises {
        let id = exercise.region.id;
        let tests: Vec<_> = tested
            .report
            .tests
            .iter()
            .filter(|test| ExerciseId::from_test_name(&test.name) == Some(id))
            .collect();
        let passing = tests
            .iter()
            .filter(|t| t.outcome == Outcome::Passed)
            .count();
        let finished = !tests.is_empty() && passing == tests.len();
        if finished {
            done += 1;
        } else if next_hint.is_none() {
            next_hint = tests
                .iter()
                .find(|t| t.outcome == Outcome::Failed)
                .map(|test| {
                    format!(
                        "next: exercise {id} ({}); {} says:\n  {}",
                        todo_location(layout, chapter, &exercise.path, id),
                        test.name,
                        test.failure().explain(&layout.root).join("\n  ")
                    )
                });
        }
        // Without a build there are no results to count.
        let count = if tested.build_failed() {
            "-".to_string()
        } else {
            format!("{passing}/{}", tests.len())
        };
        println!(
            "  {} {:<7} {:>6}  {}",
            if finished { '✓' } else { '✗' },
            id.to_string(),
            count,
            exercise.region.description
        );
    }
    // Tests outside this chapter's exercises pass on the starter, or are
    // ignored there because they need one of its exercises and fail at its
    // hole (`cargo xtask exercises` proves it): from step 07 on, every
    // durable write waits for the log. One that fails otherwise passed on
    // the starter, so a change to the step broke it.
    let hole_of_this_chapter = format!("(book chapter {})", chapter.chapter);
    let (waiting, broken): (Vec<&TestCase>, Vec<&TestCase>) = tested
        .report
        .with_outcome(Outcome::Failed)
        .filter(|test| {
            ExerciseId::from_test_name(&test.name).is_none_or(|id| id.chapter != chapter.chapter)
        })
        .partition(|test| test.output.contains(&hole_of_this_chapter));
    if !waiting.is_empty() {
        let (count, stop, pass) = match waiting.len() {
            1 => ("1 other test".to_string(), "stops", "it passes"),
            n => (format!("{n} other tests"), "stop", "they pass"),
        };
        println!(
            "  {count} (not named for an exercise, or of an earlier chapter; `cargo test` ignores them) {stop} at a hole of this chapter; {pass} once its exercises do"
        );
    }
    if !broken.is_empty() {
        println!(
            "other failing tests (they pass on the starter, so a change to the step broke them):"
        );
        for test in broken {
            println!("  {}:", tested.report.describe(test));
            for line in test.failure().explain(&layout.root) {
                println!("    {line}");
            }
        }
    }
    if let Some(hint) = next_hint {
        println!("{hint}");
    }
    println!("{done} of {} exercises done\n", exercises.len());
    Ok(StepProgress {
        done,
        total: exercises.len(),
        all_pass: tested.success,
    })
}

/// Where the learner finds exercise `id`: the step's file and the line of its
/// `// TODO(exercise N.M)`, or just the file once that line is gone.
fn todo_location(
    layout: &Layout,
    chapter: &Chapter,
    solution_file: &Path,
    id: ExerciseId,
) -> String {
    let inside = solution_file
        .strip_prefix(chapter.solution_dir())
        .unwrap_or(solution_file);
    let step_file = chapter.step_dir().join(inside);
    let marker = format!("TODO(exercise {id})");
    let line = fs::read_to_string(layout.root.join(&step_file))
        .ok()
        .and_then(|text| text.lines().position(|line| line.contains(&marker)));
    match line {
        Some(index) => format!("{}:{}", step_file.display(), index + 1),
        None => step_file.display().to_string(),
    }
}
