//! `cargo xtask <command>`: little-kv's workspace tooling.
//!
//! Two people use these commands. The learner: `book` serves the book,
//! `progress` is the dashboard of a step's exercises, `check` runs a step's
//! tests and then the cross-step suites on the learner's own step, `diff`
//! shows what a chapter adds. The contributor: `sync` generates the starters
//! from the solutions (never over a learner's edits), `exercises` proves that
//! every exercise is tested, `drift` finds text that went stale between
//! steps, `ci` runs every check in order. This file only parses the command
//! line; each command lives in its own module.
//!
//! The xtask depends on few crates, so that it builds in seconds on a fresh
//! machine and `cargo xtask` is ready before anything else is: plotters's
//! SVG backend for the book's charts, `csv` for the benchmarks' results and
//! `serde_json` for cargo's build messages (a few seconds of a first build
//! between them).

mod book;
mod book_charts;
mod book_generated;
mod book_lint;
mod book_pages;
mod book_serve;
mod chart;
mod check;
mod ci;
mod csv;
mod diff;
mod drift;
mod error;
mod exercise_contract;
mod exercises;
mod files;
mod holes;
mod import_cycles;
mod layout;
mod libtest;
mod markers;
mod measured_tables;
mod needs;
mod progress;
mod quiz_figures;
mod record;
mod run;
mod rust_tokens;
mod rust_version;
mod scratch;
mod starter;
mod suites;
mod sync;
mod sync_mutants;
mod tools;
mod variants;

use std::process::ExitCode;

use error::{Error, Result};
use layout::Layout;

const USAGE: &str = "\
usage: cargo xtask <command>

for the learner:
  book [--build|--check]  build the book and serve it on http://127.0.0.1:3000
                      (--build: only build it; --check: build without regenerating, as CI does)
  progress [NN ...]   run a step's tests and show which exercises are done (default: every step)
  check NN [NN ...]   the whole step: its tests, then the cross-step suites of tests/ on your step-NN
  diff A B            print what a chapter adds: the diff between two solutions, e.g. `diff 01 02`

for contributors (they never overwrite a learner's edits in steps/):
  ci                  run every check CI runs, in order, stopping at the first failure
  sync [--check|--force]  regenerate steps/ from solutions/ (--check: compare only, fail if stale;
                      --force: also overwrite starter files that were edited, after a backup)
  drift [--fix-anchors]  find stale text in the solutions: module docs that did not move with their
                      code, tests named for a missing exercise, anchors no chapter includes
  cycles              find import cycles between the files of each solution (a file imports only files below it)
  exercises [NN ...]  check every exercise: solution passes, starter fails at its holes, each hole is caught
  check --prove       the learner's check is green on every solved step and red on every starter
  sync-mutants [--exercises]
                      remove each sync of steps 03 and 07 in turn: the power-loss check must fail,
                      naming the exercise for a sync inside one (--exercises: only those)
  help                print this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error @ Error::Usage(_)) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(args: &[String]) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        print!("{USAGE}");
        return Ok(());
    };
    if matches!(command.as_str(), "help" | "--help" | "-h") {
        print!("{USAGE}");
        return Ok(());
    }
    let layout = Layout::discover()?;
    match command.as_str() {
        "sync" => match rest {
            [] => sync::sync(&layout, sync::Overwrite::Refuse),
            [flag] if flag == "--force" => sync::sync(&layout, sync::Overwrite::Force),
            [flag] if flag == "--check" => sync::check(&layout),
            _ => Err(Error::Usage("`sync` takes `--check` or `--force`".into())),
        },
        "exercises" => exercises::run(&layout, rest),
        "progress" => progress::run(&layout, rest),
        "drift" => match rest {
            [] => drift::check(&layout),
            [flag] if flag == "--fix-anchors" => {
                let removed = drift::remove_unused_anchors(&layout)?;
                println!("drift: removed {removed} anchors that no chapter includes");
                Ok(())
            }
            _ => Err(Error::Usage("`drift` takes only `--fix-anchors`".into())),
        },
        "cycles" if rest.is_empty() => import_cycles::check(&layout),
        "cycles" => Err(Error::Usage("`cycles` takes no arguments".into())),
        "check" => check::run(&layout, rest),
        "sync-mutants" => sync_mutants::run(&layout, rest),
        "diff" => diff::run(&layout, rest),
        "book" => match rest {
            [] => book::serve(&layout),
            [flag] if flag == "--build" => book::build(&layout),
            [flag] if flag == "--check" => book::check(&layout),
            _ => Err(Error::Usage("`book` takes `--build` or `--check`".into())),
        },
        "ci" if rest.is_empty() => ci::run(&layout),
        "ci" => Err(Error::Usage("`ci` takes no arguments".into())),
        other => Err(Error::Usage(format!("unknown command `{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::USAGE;

    /// Every `cargo xtask <command> [--flag]` that README.md or a page of the
    /// book tells someone to run is a command (and flag) this help lists, so
    /// that a renamed command cannot leave the learner's path pointing at
    /// nothing.
    #[test]
    fn every_command_the_docs_name_is_in_the_help() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut texts = vec![std::fs::read_to_string(root.join("README.md")).unwrap()];
        for page in std::fs::read_dir(root.join("book/src")).unwrap() {
            let path = page.unwrap().path();
            if path.extension().is_some_and(|extension| extension == "md") {
                texts.push(std::fs::read_to_string(path).unwrap());
            }
        }
        let mut named = 0;
        for text in &texts {
            for (at, prefix) in text.match_indices("cargo xtask ") {
                let mut words = text[at + prefix.len()..].split_whitespace();
                let command = words.next().unwrap_or_default();
                let command = command.trim_end_matches(['`', ',', '.', ')', ';', ':']);
                if command.is_empty() || !command.starts_with(|c: char| c.is_ascii_lowercase()) {
                    continue;
                }
                named += 1;
                assert!(
                    USAGE
                        .lines()
                        .any(|line| line.starts_with(&format!("  {command} "))
                            || line.trim() == command),
                    "the docs name `cargo xtask {command}`, which the help does not list"
                );
                if let Some(flag) = words.next().filter(|word| word.starts_with("--")) {
                    let flag = flag.trim_end_matches(['`', ',', '.', ')', ';', ':', '|', ']']);
                    assert!(
                        USAGE.contains(flag),
                        "the docs name `cargo xtask {command} {flag}`, which the help does not list"
                    );
                }
            }
        }
        assert!(named > 20, "found only {named} commands in the docs");
    }
}
