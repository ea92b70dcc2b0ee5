//! `cargo xtask check NN`: the learner's check of a whole step.
//!
//! First the step's own tests, as `progress` shows them; then the
//! cross-step suites of `tests/` (the model against a `BTreeMap` with
//! restarts, the HTTP contract on the learner's real server, the pinned file
//! formats, the crash tests) run on the learner's `step-NN`, exactly as they
//! run on `solution-NN` (see `suites.rs`). A step is done when both are green.
//!
//! The report names each suite, says what passed, and for a failure gives
//! the first thing that went wrong in plain words: the hole it stopped at
//! (`exercise 5.1: …`), or the assertion with its values and its place.
//!
//! `cargo xtask check --prove` is the contributors' side, run by `ci`: the
//! suites pass on every step solved (the solution under the step's name,
//! exactly what a learner who finished has), and fail on every starter, each
//! failure at a hole of that step's chapter.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::files;
use crate::layout::{self, Chapter, Layout};
use crate::libtest::{Outcome, TestCase};
use crate::progress;
use crate::starter::{self, Recipe};
use crate::suites::{self, Mapped, Suite, SuiteRun};

/// `cargo xtask check NN [NN ...]` or `cargo xtask check --prove`.
pub fn run(layout: &Layout, args: &[String]) -> Result<()> {
    match args {
        [] => Err(Error::Usage(
            "`check` takes the step to check, e.g. `cargo xtask check 05`".into(),
        )),
        [flag] if flag == "--prove" => prove(layout),
        names => check_steps(layout, names),
    }
}

/// Checks the learner's steps named in `names`.
fn check_steps(layout: &Layout, names: &[String]) -> Result<()> {
    let steps = layout::select(&layout.steps()?, names, "step")?;
    let mut unfinished = Vec::new();
    for step in &steps {
        let own = progress::show_step(layout, step)?;
        let mapped = [Mapped {
            chapter: step.clone(),
            dir: layout.root.join(step.step_dir()),
        }];
        println!(
            "  the cross-step suites (tests/), on your {} as on {}:",
            step.step_package(),
            step.solution_package()
        );
        let suites_pass = match run_suites(layout, &step.step_package(), &mapped)? {
            Err(errors) => {
                println!("    your step does not build:");
                for line in errors {
                    println!("      {line}");
                }
                false
            }
            Ok(results) => {
                print_suites(layout, &results, step);
                results.iter().all(|(_, run)| suite_passed(run))
            }
        };
        println!();
        if !(own.all_pass && suites_pass) {
            unfinished.push(step.step_package());
        }
    }
    if unfinished.is_empty() {
        println!("check: done, every test of the step and every suite passes");
        Ok(())
    } else {
        Err(Error::Check(format!(
            "not done yet: {} (the first failure of each part is above)",
            unfinished.join(", ")
        )))
    }
}

/// Every suite's run, or the build's error lines when the code under test
/// does not compile.
type Built = std::result::Result<Vec<(Suite, SuiteRun)>, Vec<String>>;

/// Builds the suites pointed at `mapped` and runs each one; or the build
/// errors.
fn run_suites(layout: &Layout, name: &str, mapped: &[Mapped]) -> Result<Built> {
    let workspace = match suites::build(layout, name, mapped)? {
        Ok(workspace) => workspace,
        Err(errors) => return Ok(Err(errors)),
    };
    let mut results = Vec::new();
    for suite in suites::list(layout)? {
        let run = workspace.run(&suite)?;
        results.push((suite, run));
    }
    Ok(Ok(results))
}

fn suite_passed(run: &SuiteRun) -> bool {
    run.run.success && !run.stopped
}

/// Prints one line per suite, and the first failure of each test that
/// failed.
fn print_suites(layout: &Layout, results: &[(Suite, SuiteRun)], step: &Chapter) {
    let width = results
        .iter()
        .map(|(suite, _)| suite.name.len())
        .max()
        .unwrap_or(0);
    let mut not_here = Vec::new();
    for (suite, run) in results {
        let tests = &run.run.report.tests;
        if tests.is_empty() && !run.stopped && run.run.success {
            not_here.push(suite.name.as_str());
            continue;
        }
        let passed = tests
            .iter()
            .filter(|t| t.outcome == Outcome::Passed)
            .count();
        let mark = if suite_passed(run) { '✓' } else { '✗' };
        println!(
            "    {mark} {:<width$}  {passed} of {} passed   {}",
            suite.name,
            tests.len(),
            suite.title
        );
        // A test that cannot run here (no strace) passes after saying so on
        // stderr: repeat it, so that a pass is never a silent skip.
        for line in run.run.output.lines().filter(|l| l.contains(": SKIPPED, ")) {
            println!("        {}", line.trim());
        }
        for test in tests.iter().filter(|t| t.outcome == Outcome::Failed) {
            println!("        {}:", test.name);
            for line in test.failure().explain(&layout.root) {
                println!("          {line}");
            }
        }
        if run.stopped {
            println!(
                "        stopped after {} s: a test waits for something that never happens \
                 (a background thread that stopped at a hole, say)",
                suites::SUITE_LIMIT.as_secs()
            );
            for line in run
                .run
                .output
                .lines()
                .filter(|l| l.contains("has been running for over"))
            {
                println!("          {}", line.trim());
            }
        } else if !run.run.success && tests.iter().all(|t| t.outcome != Outcome::Failed) {
            println!("        the suite failed without a test result; its last lines:");
            let lines: Vec<&str> = run.run.output.lines().collect();
            for line in &lines[lines.len().saturating_sub(8)..] {
                println!("          {line}");
            }
        }
    }
    if !not_here.is_empty() {
        println!(
            "    (no tests for step {} in: {})",
            step.nn(),
            not_here.join(", ")
        );
    }
}

/// `cargo xtask check --prove`: the suites pass on every solved step and
/// fail on every starter, each failure at a hole of its chapter.
fn prove(layout: &Layout) -> Result<()> {
    let solutions = starter::load(layout, &layout.solutions()?)?;
    let mut problems = Vec::new();

    // Every step solved: the solution, renamed to the step's package, in a
    // scratch directory (steps/ may hold a learner's work; it is not read).
    let solved_dir = layout.scratch("check").join("solved-steps");
    let mut solved = Vec::new();
    for solution in &solutions {
        let package = solution.chapter.step_package();
        let recipe = Recipe {
            package: &package,
            pick: &|_| false,
            rustfmt_root: None,
        };
        let (crate_files, _) = starter::build(solution, &recipe)?;
        let dir = solved_dir.join(&solution.chapter.dir_name);
        files::update_tree(&dir, &crate_files)?;
        solved.push(Mapped {
            chapter: solution.chapter.clone(),
            dir,
        });
    }
    println!("check --prove: the suites on every step, solved");
    match run_suites(layout, "solved", &solved)? {
        Err(errors) => {
            problems.push("the solved steps do not build:".to_string());
            problems.extend(errors);
        }
        Ok(results) => {
            for (suite, run) in &results {
                report_line(suite, run);
                if run.stopped {
                    problems.push(format!("{}: stopped on the solved steps", suite.name));
                }
                for test in run.run.report.with_outcome(Outcome::Failed) {
                    problems.push(format!(
                        "{} ({}) fails on its solved step: {}",
                        test.name,
                        suite.name,
                        test.failure().explain(&layout.root).join(" / ")
                    ));
                }
                if !run.run.success && run.run.report.with_outcome(Outcome::Failed).count() == 0 {
                    problems.push(format!("{}: failed without a test result", suite.name));
                }
            }
        }
    }

    println!("check --prove: the suites on every starter in steps/");
    let starters: Vec<Mapped> = solutions
        .iter()
        .map(|solution| Mapped {
            chapter: solution.chapter.clone(),
            dir: layout.root.join(solution.chapter.step_dir()),
        })
        .collect();
    match run_suites(layout, "starters", &starters)? {
        Err(errors) => {
            problems.push("the starters do not build:".to_string());
            problems.extend(errors);
        }
        Ok(results) => {
            let mut failing: BTreeMap<String, usize> = BTreeMap::new();
            for (suite, run) in &results {
                report_line(suite, run);
                if run.stopped {
                    problems.push(format!(
                        "{}: stopped at its time limit on the starters (a test hangs instead of failing)",
                        suite.name
                    ));
                }
                for test in run.run.report.with_outcome(Outcome::Failed) {
                    match owner(
                        test,
                        &solutions.iter().map(|s| &s.chapter).collect::<Vec<_>>(),
                    ) {
                        Some(chapter) if at_a_hole_of(test, chapter.chapter) => {
                            *failing.entry(chapter.step_package()).or_default() += 1;
                        }
                        _ => problems.push(format!(
                            "{} ({}) fails on the starter, but not at a hole of its chapter: {}",
                            test.name,
                            suite.name,
                            test.failure().explain(&layout.root).join(" / ")
                        )),
                    }
                }
            }
            for solution in &solutions {
                let package = solution.chapter.step_package();
                match failing.get(&package) {
                    Some(count) => println!("  {package}: {count} suite tests fail at its holes"),
                    None => problems.push(format!(
                        "no suite test fails on the starter {package}: the suites do not check its exercises"
                    )),
                }
            }
        }
    }
    if problems.is_empty() {
        println!("check --prove: green on every solved step, red at the holes of every starter");
        Ok(())
    } else {
        Err(Error::Check(format!(
            "the learner's check is not proven:\n  {}",
            problems.join("\n  ")
        )))
    }
}

/// `  model: 7 passed, 0 failed`.
fn report_line(suite: &Suite, run: &SuiteRun) {
    let count = |outcome| run.run.report.with_outcome(outcome).count();
    println!(
        "  {}: {} passed, {} failed{}",
        suite.name,
        count(Outcome::Passed),
        count(Outcome::Failed),
        if run.stopped {
            ", stopped at its time limit"
        } else {
            ""
        }
    );
}

/// The chapter whose step a suite test is named for (`step_05_…`).
fn owner<'a>(test: &TestCase, chapters: &[&'a Chapter]) -> Option<&'a Chapter> {
    chapters
        .iter()
        .copied()
        .find(|chapter| test.name.starts_with(&suites::test_prefix(chapter)))
}

/// Whether a failed test's output shows a hole of `chapter`.
fn at_a_hole_of(test: &TestCase, chapter: u32) -> bool {
    test.output.contains(&format!("(book chapter {chapter})"))
}
