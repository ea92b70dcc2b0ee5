//! `cargo xtask ci`: every check that must pass before a commit lands, in
//! order, stopping at the first failure. `.ci/run` calls this, and a person
//! can run the same thing before pushing.
//!
//! `ci` is the contributors' check: it requires `steps/` to be exactly the
//! generated starters. On a learner's checkout (a file in `steps/` that sync
//! did not write, see `record.rs`) it runs nothing, names the files and points
//! at `cargo xtask check NN`, the learner's own check, instead of failing
//! with advice meant for contributors.
//!
//! The order puts the quick checks first, so a formatting slip fails in
//! seconds rather than after the test suites:
//! 1. `fmt`: every crate, starters included, is rustfmt-clean;
//! 2. `clippy`: no crate has a warning, the starters included: their holes
//!    leave code unused only where the starter's lint table allows it (see
//!    `holes.rs`), so a learner's first build is quiet;
//! 3. `build`: everything compiles, the starters and all test targets too;
//! 4. `sync`: `steps/` is what `cargo xtask sync` generates; then `drift`:
//!    no module doc, test name or anchor went stale between steps (see
//!    `drift.rs`), `cycles`: no solution has an import cycle between its
//!    files (see `import_cycles.rs`), and `doc`: the solutions' API docs
//!    build without a rustdoc warning;
//! 5. `tools`: strace, which the power-loss check needs, and Chromium with
//!    chromedriver, which the test of `cargo inspect --serve`'s page needs,
//!    are installed if they can be, and then required (see `tools.rs`);
//! 6. `test`: `cargo test` at the root (solutions, cross-step suites, xtask);
//! 7. `exercises`: see `exercises.rs`;
//! 8. `learner-check`: the learner's `cargo xtask check` is green on every
//!    step solved and red at the holes of every starter (see `check.rs`);
//! 9. `sync-mutants`: the power-loss check fails when any one sync of steps
//!    03 and 07 is removed (see `sync_mutants.rs`);
//! 10. `book`: the generated pages are fresh, every include resolves, and
//!     mdBook builds the book (see `book.rs`).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::layout::{self, Layout};
use crate::record::{self, Touched};
use crate::run;
use crate::{book, check, drift, exercises, import_cycles, sync, sync_mutants, tools};

/// One check: its name, what it runs, and how.
struct Check {
    name: &'static str,
    what: &'static str,
    run: fn(&Layout) -> Result<()>,
}

const CHECKS: &[Check] = &[
    Check {
        name: "fmt",
        what: "cargo fmt --all --check",
        run: |layout| cargo(layout, &["fmt", "--all", "--check"]),
    },
    Check {
        name: "clippy",
        what: "cargo clippy --workspace --all-targets -- -D warnings",
        run: |layout| {
            cargo(
                layout,
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ],
            )
        },
    },
    Check {
        name: "build",
        what: "cargo build --workspace --all-targets",
        run: |layout| cargo(layout, &["build", "--workspace", "--all-targets"]),
    },
    Check {
        name: "sync",
        what: "cargo xtask sync --check",
        run: sync::check,
    },
    Check {
        name: "drift",
        what: "cargo xtask drift",
        run: drift::check,
    },
    Check {
        name: "cycles",
        what: "cargo xtask cycles",
        run: import_cycles::check,
    },
    Check {
        name: "doc",
        what: "RUSTDOCFLAGS='-D warnings' cargo doc --no-deps (the solutions)",
        run: solution_docs,
    },
    Check {
        name: "tools",
        what: "strace for the power-loss check, Chromium and chromedriver for the browser test (installed with apt-get as root)",
        run: |_| {
            if tools::ensure_strace() {
                run::require_strace();
            }
            if tools::ensure_browser() {
                tools::require_browser();
            }
            Ok(())
        },
    },
    Check {
        name: "test",
        what: "cargo test",
        run: |layout| cargo(layout, &["test"]),
    },
    Check {
        name: "exercises",
        what: "cargo xtask exercises",
        run: |layout| exercises::run(layout, &[]),
    },
    Check {
        name: "learner-check",
        what: "cargo xtask check --prove",
        run: |layout| check::run(layout, &["--prove".to_string()]),
    },
    Check {
        name: "sync-mutants",
        what: "cargo xtask sync-mutants",
        run: |layout| sync_mutants::run(layout, &[]),
    },
    Check {
        name: "book",
        what: "cargo xtask book --check",
        run: book::check,
    },
];

/// Runs every check in order and stops at the first failure.
pub fn run(layout: &Layout) -> Result<()> {
    let touched = record::touched_files(layout)?;
    if !touched.is_empty() {
        return Err(Error::Check(learner_checkout(&touched)));
    }
    // Cargo's output reaches the terminal through us, and some of it only
    // through a pipe we read, where cargo would turn colours off by itself.
    // A person at a terminal gets colours; a CI log gets plain text.
    // A CARGO_TERM_COLOR the user set is left alone.
    run::default_term_color(if std::io::stdout().is_terminal() {
        "always"
    } else {
        "never"
    });
    run::no_incremental_caches();
    let started = Instant::now();
    for (index, check) in CHECKS.iter().enumerate() {
        println!(
            "==> [{}/{}] {}: {}",
            index + 1,
            CHECKS.len(),
            check.name,
            check.what
        );
        let check_started = Instant::now();
        let result = (check.run)(layout);
        let took = format_duration(check_started.elapsed());
        match result {
            Ok(()) => println!("==> {} ok ({took})\n", check.name),
            Err(error) => {
                println!("==> {} FAILED ({took})", check.name);
                return Err(Error::Check(format!(
                    "ci stopped at `{}` ({}):\n{error}",
                    check.name, check.what
                )));
            }
        }
    }
    println!(
        "ci: every check passed in {}",
        format_duration(started.elapsed())
    );
    // The plain closing line that CI log readers recognise.
    println!("ci: {} passed, 0 failed", CHECKS.len());
    Ok(())
}

/// What `ci` says on a checkout where somebody worked in `steps/`.
fn learner_checkout(touched: &[Touched]) -> String {
    let list: Vec<String> = touched.iter().map(Touched::describe).collect();
    // The steps worked on, for the command to suggest: `steps/03-sstable/...`
    // gives `03`.
    let mut steps: Vec<String> = touched
        .iter()
        .filter_map(|t| t.path.components().nth(1))
        .map(|dir| dir.as_os_str().to_string_lossy().into_owned())
        .filter(|dir| layout::chapter_of_dir(dir).is_some())
        .map(|dir| dir[..2].to_string())
        .collect();
    steps.dedup();
    let commands: Vec<String> = steps
        .iter()
        .map(|nn| format!("cargo xtask check {nn}"))
        .collect();
    format!(
        "ci checked nothing: these files in steps/ are not the generated starters (your work on the exercises?):\n  {}\n\
         `cargo xtask ci` is the project's own check, for contributors: it needs steps/ to be \
         the untouched starters. Your files are as you left them.\n\
         To check your work, run: {}",
        list.join("\n  "),
        if commands.is_empty() {
            "cargo xtask check NN".to_string()
        } else {
            commands.join(", then ")
        }
    )
}

/// Builds the solutions' API docs with every rustdoc warning denied (a
/// broken intra-doc link, an unclosed code fence). Only the solutions: the
/// starters' docs are the same text, and the tooling's are not read.
fn solution_docs(layout: &Layout) -> Result<()> {
    let mut command = run::cargo(&layout.root);
    command.args(["doc", "--no-deps"]);
    for solution in layout.solutions()? {
        command.args(["-p", &solution.solution_package()]);
    }
    // RUSTDOCFLAGS reaches rustdoc only, so the build cache of the other
    // checks is not invalidated.
    command.env("RUSTDOCFLAGS", "-D warnings");
    if run::stream(command)? {
        Ok(())
    } else {
        Err(Error::Check(
            "`cargo doc` found problems in the solutions' docs (its output is above)".into(),
        ))
    }
}

/// Runs `cargo <args>` at the root with the user's terminal.
fn cargo(layout: &Layout, args: &[&str]) -> Result<()> {
    let mut command = run::cargo(&layout.root);
    command.args(args);
    if tools::browser_required() {
        command.env("LITTLE_KV_REQUIRE_BROWSER", "1");
    }
    if run::stream(command)? {
        Ok(())
    } else {
        Err(Error::Check(format!(
            "`cargo {}` failed (its output is above)",
            args.join(" ")
        )))
    }
}

/// `4.2s` or `3m 07s`.
fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let whole = duration.as_secs();
        format!("{}m {:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learner_checkout_is_named_and_pointed_at_the_learners_check() {
        use crate::record::Work;
        let touched = [
            Touched {
                path: "steps/01-hashmap/src/store.rs".into(),
                work: Work::Edited,
            },
            Touched {
                path: "steps/03-sstable/src/sstable.rs".into(),
                work: Work::Edited,
            },
            Touched {
                path: "steps/03-sstable/notes.md".into(),
                work: Work::Added,
            },
        ];
        let message = learner_checkout(&touched);
        assert!(
            message.contains("steps/01-hashmap/src/store.rs (edited)"),
            "{message}"
        );
        assert!(
            message.contains("steps/03-sstable/notes.md (added)"),
            "{message}"
        );
        assert!(
            message.ends_with("cargo xtask check 01, then cargo xtask check 03"),
            "{message}"
        );
        assert!(!message.contains("xtask sync"), "{message}");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_millis(4_240)), "4.2s");
        assert_eq!(format_duration(Duration::from_secs(187)), "3m 07s");
    }
}
