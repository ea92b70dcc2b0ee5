//! `cargo xtask exercises [NN ...]`: checks that each chapter's exercises
//! are real exercises, the way Rustlings checks its own.
//!
//! For every step with exercises of its own chapter N:
//! 1. the solution passes all its tests (`cargo test -p solution-NN`);
//! 2. in the starter (`cargo test -p step-NN`) every test named
//!    `exercise_N_*` fails at its own hole (its output names `exercise N.M`,
//!    the id in its name), and every other test passes: a learner who runs
//!    the step's tests sees only the chapter's exercises fail. A test that
//!    needs an exercise it does not test (from step 07 on, every durable
//!    write waits for the log's sync) is marked `// needs: exercise N.M` in
//!    the solution and ignored in the starter (see `needs.rs`); run with
//!    `--include-ignored`, each such test must fail at the hole its marker
//!    names, so that no marker hides a test that could run. They are
//!    counted in the summary;
//! 3. every exercise region has a test named `exercise_N_M_*`, and every
//!    such test has a region;
//! 4. with only one exercise's hole open (see `variants.rs`), every test of
//!    that exercise fails. A test that passes there does not check it.
//!
//! A test that passes against its starter checks nothing, and a hole that
//! no test catches lets a learner "finish" an exercise with any code.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::layout::{self, Layout};
use crate::libtest::{self, Binary, Outcome, Report, TestCase};
use crate::markers::{ExerciseId, Located};
use crate::needs;
use crate::run::{self, TestRun};
use crate::starter::{self, Solution};
use crate::sync;
use crate::variants::{self, Variants};

/// What was found about one exercise, for the summary table.
struct Row {
    id: ExerciseId,
    /// How many tests are named for it, in the solution.
    tests: usize,
    starter: &'static str,
    variant: String,
    ok: bool,
}

/// Runs the checks for the chapters named in `names` (all when empty).
pub fn run(layout: &Layout, names: &[String]) -> Result<()> {
    let chapters = layout::select(&layout.solutions()?, names, "solution")?;
    let solutions = starter::load(layout, &chapters)?;
    sync::require_up_to_date(layout, &solutions)?;
    let (mut passed, mut failed, mut step_problems) = (0, 0, 0);
    for solution in &solutions {
        let exercises = solution.exercises();
        let chapter = solution.chapter.chapter;
        if exercises.is_empty() {
            println!(
                "step {}: no chapter-{chapter} exercises, nothing to check",
                solution.chapter.nn()
            );
            continue;
        }
        println!(
            "step {} ({}): {} exercises of chapter {chapter}",
            solution.chapter.nn(),
            solution.chapter.step_dir().display(),
            exercises.len()
        );
        let (rows, problems) = check_step(layout, solution, &exercises)?;
        print_table(&rows, &exercises);
        passed += rows.iter().filter(|row| row.ok).count();
        failed += rows.iter().filter(|row| !row.ok).count();
        if !problems.is_empty() {
            step_problems += problems.len();
            println!("  problems:");
            for problem in &problems {
                println!("  - {}", problem.replace('\n', "\n    "));
            }
        }
        println!();
    }
    // A plain closing line that CI log readers recognise.
    println!("exercises: {passed} passed, {failed} failed");
    if failed > 0 || step_problems > 0 {
        let problems = match step_problems {
            1 => "1 problem".to_string(),
            n => format!("{n} problems"),
        };
        return Err(Error::Check(format!(
            "exercise checks failed: {problems}, listed above"
        )));
    }
    Ok(())
}

/// Runs checks 1 to 4 for one step; returns the table rows and the problems.
fn check_step(
    layout: &Layout,
    solution: &Solution,
    exercises: &[Located],
) -> Result<(Vec<Row>, Vec<String>)> {
    let chapter = solution.chapter.chapter;
    let mut problems = Vec::new();
    let mut rows: Vec<Row> = exercises
        .iter()
        .map(|exercise| Row {
            id: exercise.region.id,
            tests: 0,
            starter: "not run",
            variant: "not run".into(),
            ok: false,
        })
        .collect();

    // 1. The solution passes.
    let mut command = run::cargo(&layout.root);
    command.args([
        "test",
        "-p",
        &solution.chapter.solution_package(),
        "--no-fail-fast",
    ]);
    let solved = run::cargo_test(command)?;
    if !solved.success {
        problems.push(format!(
            "{} must pass every test, but:",
            solution.chapter.solution_package()
        ));
        problems.extend(run_failures(&solved));
        problems.push("(the starter and the variants are checked once the solution passes)".into());
        return Ok((rows, problems));
    }

    // 3. Regions and tests match up, by the tests the solution has.
    let tests = exercise_tests(&solved.report, chapter);
    for (row, exercise) in rows.iter_mut().zip(exercises) {
        row.tests = tests.get(&row.id).map_or(0, Vec::len);
        if row.tests == 0 {
            problems.push(format!(
                "exercise {} ({}:{}) has no test; name its tests `exercise_{}_{}_<behaviour>`",
                row.id,
                exercise.path.display(),
                exercise.region.start + 1,
                row.id.chapter,
                row.id.number
            ));
        }
    }
    for (id, names) in &tests {
        if !rows.iter().any(|row| row.id == *id) {
            problems.push(format!(
                "{} named for exercise {id}, but there is no `// ANCHOR: exercise_{}_{}` region in {}",
                names.join(", "),
                id.chapter,
                id.number,
                solution.chapter.solution_dir().display()
            ));
        }
    }
    for test in &solved.report.tests {
        if let Some(id) = ExerciseId::from_test_name(&test.name).filter(|id| id.chapter > chapter) {
            problems.push(format!(
                "{} is named for exercise {id}, of a chapter after this step's chapter {chapter}",
                solved.report.describe(test)
            ));
        }
    }

    // 2. The starter fails exactly at its holes.
    let mut command = run::cargo(&layout.root);
    command.args([
        "test",
        "-p",
        &solution.chapter.step_package(),
        "--no-fail-fast",
    ]);
    let started = run::cargo_test(command)?;
    if started.build_failed() {
        problems.push(format!(
            "{} does not build:",
            solution.chapter.step_package()
        ));
        problems.extend(run::error_lines(&started.output, 20));
    } else {
        problems.extend(unfinished(&started.report));
        let mut wrong = BTreeMap::new();
        let mut marked = Vec::new();
        for test in &started.report.tests {
            // A test named for an exercise that has no region was reported
            // above; how it ends in the starter says nothing more.
            let orphan = ExerciseId::from_test_name(&test.name)
                .is_some_and(|id| id.chapter == chapter && !rows.iter().any(|row| row.id == id));
            if orphan {
                continue;
            }
            if let Some(problem) = starter_problem(&started.report, test, chapter) {
                if let Some(id) = ExerciseId::from_test_name(&test.name) {
                    wrong.insert(id, ());
                }
                problems.push(problem);
            } else if test.outcome == Outcome::Ignored {
                let needed = needs::needed(&test.output);
                if !needed.is_empty() {
                    marked.push((test, needed));
                }
            }
        }
        if !marked.is_empty() {
            problems.extend(check_marked(layout, solution, &started.report, &marked)?);
        }
        for row in &mut rows {
            row.starter = if wrong.contains_key(&row.id) || row.tests == 0 {
                "WRONG"
            } else {
                "fails as expected"
            };
        }
    }

    // 4. Each hole alone is caught.
    let found = variants::run(layout, solution, exercises)?;
    check_variants(&found, solution, &tests, &mut rows, &mut problems);

    for row in &mut rows {
        row.ok = row.tests > 0 && row.starter == "fails as expected" && row.variant == "caught";
    }
    Ok((rows, problems))
}

/// The tests of the solution named `exercise_<chapter>_M_*`, by exercise.
fn exercise_tests(report: &Report, chapter: u32) -> BTreeMap<ExerciseId, Vec<String>> {
    let mut tests: BTreeMap<ExerciseId, Vec<String>> = BTreeMap::new();
    for test in &report.tests {
        if let Some(id) = ExerciseId::from_test_name(&test.name).filter(|id| id.chapter == chapter)
        {
            tests.entry(id).or_default().push(test.name.clone());
        }
    }
    tests
}

/// Runs the starter's tests again with the ignored ones, and checks that
/// each test that `marked` says needs an exercise fails at that exercise's
/// hole. Returns the problems.
fn check_marked(
    layout: &Layout,
    solution: &Solution,
    report: &Report,
    marked: &[(&TestCase, Vec<ExerciseId>)],
) -> Result<Vec<String>> {
    let mut command = run::cargo(&layout.root);
    command.args([
        "test",
        "-p",
        &solution.chapter.step_package(),
        "--no-fail-fast",
        "--",
        "--include-ignored",
    ]);
    let all = run::cargo_test(command)?;
    let mut problems = unfinished(&all.report);
    for (test, needed) in marked {
        let name = report.describe(test);
        let ids: Vec<String> = needed.iter().map(ExerciseId::to_string).collect();
        let ids = ids.join(" and ");
        let label = &report.binaries[test.binary].label;
        let run = all.report.tests.iter().find(|found| {
            found.name == test.name && all.report.binaries[found.binary].label == *label
        });
        match run {
            None => problems.push(format!("{name} did not run with `--include-ignored`")),
            Some(run) if run.outcome == Outcome::Passed => problems.push(format!(
                "{name} is ignored in the starter as needing exercise {ids}, but passes there: \
                 remove its `// needs:` marker, so that the learner's `cargo test` runs it"
            )),
            Some(run)
                if needed
                    .iter()
                    .any(|id| libtest::mentions_exercise(&run.output, &id.to_string())) => {}
            Some(run) => problems.push(format!(
                "{name} is marked as needing exercise {ids}, but in the starter it fails \
                 elsewhere: {}",
                run.panic_message()
            )),
        }
    }
    let (count, need) = match marked.len() {
        1 => ("1 test".to_string(), "needs"),
        n => (format!("{n} tests"), "need"),
    };
    println!(
        "    {count} {need} an exercise they do not test: ignored in the starter, run by `cargo xtask check {}`",
        solution.chapter.nn()
    );
    Ok(problems)
}

/// What is wrong with one test's result in the starter, if anything.
fn starter_problem(report: &Report, test: &TestCase, chapter: u32) -> Option<String> {
    let name = report.describe(test);
    let own = ExerciseId::from_test_name(&test.name).filter(|id| id.chapter == chapter);
    match (own, test.outcome) {
        (Some(id), Outcome::Failed)
            if libtest::mentions_exercise(&test.output, &id.to_string()) =>
        {
            None
        }
        (Some(id), Outcome::Failed) => Some(format!(
            "{name} fails in the starter, but not at the hole of exercise {id}: expected a panic \
             naming `exercise {id}`, got: {}",
            test.panic_message()
        )),
        (Some(id), Outcome::Passed) => Some(format!(
            "{name} passes against the starter: it must fail until exercise {id} is done"
        )),
        (Some(id), Outcome::Ignored) => Some(format!(
            "{name} is ignored: the tests of exercise {id} must run"
        )),
        (None, Outcome::Failed) => Some(format!(
            "{name} fails in the starter, but only the chapter-{chapter} exercise tests may fail: \
             {}; let it go through given code instead of a hole, or, if it needs an exercise \
             it does not test, put `// needs: exercise N.M` above it in the solution (see \
             xtask/src/needs.rs)",
            test.panic_message()
        )),
        (None, _) => None,
    }
}

/// Fills in the variant column: each exercise's tests must all fail in the
/// variant where only that exercise is a hole.
fn check_variants(
    found: &Variants,
    solution: &Solution,
    tests: &BTreeMap<ExerciseId, Vec<String>>,
    rows: &mut [Row],
    problems: &mut Vec<String>,
) {
    let tested = match &found.outcome {
        Ok(tested) => tested,
        Err(errors) => {
            problems.push("the one-hole variants do not build:".into());
            problems.extend(errors.iter().cloned());
            for row in rows {
                row.variant = "does not build".into();
            }
            return;
        }
    };
    problems.extend(unfinished(&tested.report));
    for row in rows {
        let package = variants::package(solution.chapter.nn(), row.id);
        let names = tests.get(&row.id).map_or(&[][..], Vec::as_slice);
        let in_variant = |test: &&TestCase| {
            found.package_of_binary[test.binary].as_deref() == Some(package.as_str())
                && names.contains(&test.name)
        };
        let results: Vec<&TestCase> = tested.report.tests.iter().filter(in_variant).collect();
        let escaped: Vec<String> = results
            .iter()
            .filter(|test| test.outcome != Outcome::Failed)
            .map(|test| tested.report.describe(test))
            .collect();
        let caught = results.len() - escaped.len();
        row.variant = if names.is_empty() {
            "no tests".into()
        } else if results.len() < names.len() {
            problems.push(format!(
                "{package}: {} of the {} tests of exercise {} did not run",
                names.len() - results.len(),
                names.len(),
                row.id
            ));
            "tests missing".into()
        } else if escaped.is_empty() {
            "caught".into()
        } else {
            problems.push(format!(
                "with only the hole of exercise {} open ({package}), these tests still pass, so \
                 they do not check it: {}",
                row.id,
                escaped.join(", ")
            ));
            if caught == 0 {
                "NOT caught".into()
            } else {
                format!("{caught} of {} tests fail", names.len())
            }
        };
    }
}

/// The failures of a run that had to pass, one line each.
fn run_failures(run: &TestRun) -> Vec<String> {
    if run.build_failed() {
        return run::error_lines(&run.output, 20);
    }
    let mut lines: Vec<String> = run
        .report
        .with_outcome(Outcome::Failed)
        .map(|test| {
            format!(
                "{} fails: {}",
                run.report.describe(test),
                test.panic_message()
            )
        })
        .collect();
    lines.extend(unfinished(&run.report));
    if lines.is_empty() {
        lines.push(format!(
            "`{}` failed; its last lines:\n{}",
            run.command,
            tail(&run.output, 15)
        ));
    }
    lines
}

/// A problem for each test binary that stopped without a result line.
fn unfinished(report: &Report) -> Vec<String> {
    report
        .unfinished()
        .map(|binary: &Binary| {
            format!(
                "test binary `{}` stopped before reporting its result (it crashed or was killed)",
                binary.label
            )
        })
        .collect()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn print_table(rows: &[Row], exercises: &[Located]) {
    println!(
        "  {:<9} {:>5}  {:<18} {:<18} task",
        "exercise", "tests", "starter", "one-hole variant"
    );
    for (row, exercise) in rows.iter().zip(exercises) {
        println!(
            "  {} {:<7} {:>5}  {:<18} {:<18} {}",
            if row.ok { '✓' } else { '✗' },
            row.id.to_string(),
            row.tests,
            row.starter,
            row.variant,
            exercise.region.description
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_test(name: &str, outcome: Outcome, output: &str) -> Report {
        Report {
            binaries: vec![libtest::Binary {
                label: "unittests src/lib.rs".into(),
                executable: None,
                doc_crate: None,
                finished: true,
            }],
            tests: vec![TestCase {
                binary: 0,
                name: name.into(),
                outcome,
                output: output.into(),
            }],
        }
    }

    const HOLE_7_3: &str = "thread 't' (7) panicked at src/group_commit.rs:90:9:\n\
                            not yet implemented: exercise 7.3: sync (book chapter 7)\n";

    #[test]
    fn only_the_chapters_exercise_tests_may_fail_in_the_starter() {
        // A test of an earlier chapter, or of none, that stops at a hole
        // of this chapter is named: it must be rewritten or marked.
        for name in [
            "store::tests::flushed_data",
            "store::tests::exercise_4_3_get",
        ] {
            let report = one_test(name, Outcome::Failed, HOLE_7_3);
            let problem = starter_problem(&report, &report.tests[0], 7).unwrap();
            assert!(
                problem.starts_with(&format!(
                    "{name} (unittests src/lib.rs) fails in the starter"
                )),
                "{problem}"
            );
            assert!(problem.contains("// needs: exercise N.M"), "{problem}");
        }
        // The chapter's own exercise test fails at its hole, as it must.
        let report = one_test("store::tests::exercise_7_3_sync", Outcome::Failed, HOLE_7_3);
        assert_eq!(starter_problem(&report, &report.tests[0], 7), None);
        // A marked test is ignored in the starter: not a problem here (the
        // run with `--include-ignored` checks it).
        let reason = needs::reason(
            &[ExerciseId {
                chapter: 7,
                number: 3,
            }],
            "07",
        );
        let report = one_test("store::tests::flushed_data", Outcome::Ignored, &reason);
        assert_eq!(starter_problem(&report, &report.tests[0], 7), None);
        assert_eq!(
            needs::needed(&report.tests[0].output),
            [ExerciseId {
                chapter: 7,
                number: 3
            }]
        );
    }
}
