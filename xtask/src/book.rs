//! `cargo xtask book`: build the book and serve it on http://127.0.0.1:3000
//! (see `book_serve.rs`), while the step crates' tests compile in the
//! background, so that a learner's first `cargo test -p step-01` after
//! reading chapter 1 does not wait for its dependencies;
//! `cargo xtask book --build`: the same, but only build it into `target/book`;
//! `cargo xtask book --check`: what CI runs, a build that changes no file.
//!
//! All three first bring `book/src/generated/` up to date (`--check` instead
//! fails if it is stale: see `book_generated.rs`), then lint the sources
//! (`book_lint.rs`), then run mdBook. mdBook is installed with
//! `cargo install` when the machine does not have the pinned version, so a
//! fresh clone needs nothing but the Rust toolchain; only with the `search`
//! feature, since we serve the book ourselves.

use std::process::Command;

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::{book_generated, book_lint, book_serve, run};

/// The mdBook version the book is written for. mdBook's output and its
/// preprocessors change between minor versions, so we pin it.
const MDBOOK_VERSION: &str = "0.5.4";

/// Where `cargo xtask book` serves the book.
const SERVE_ADDRESS: (&str, &str) = ("127.0.0.1", "3000");

/// Regenerates, lints, builds and serves the book until Ctrl-C.
pub fn serve(layout: &Layout) -> Result<()> {
    warm_up_the_steps(layout);
    let mdbook = regenerate_and_lint(layout)?;
    mdbook_build(layout, &mdbook)?;
    let (host, port) = SERVE_ADDRESS;
    println!("book: serving on http://{host}:{port} (Ctrl-C stops)");
    book_serve::serve(&layout.target.join("book"), &format!("{host}:{port}"))
}

/// Starts compiling the tests of every step in the background, with its
/// output in `target/xtask/warm-up.log`: the first `cargo test -p step-01`
/// then finds its dependencies built. A learner's own `cargo test` meanwhile
/// waits for cargo's lock and then goes on; a failure here (a step that
/// does not build) only shows in the log and in the learner's own run.
fn warm_up_the_steps(layout: &Layout) {
    let Ok(steps) = layout.steps() else { return };
    let log_path = layout.scratch("warm-up.log");
    if std::fs::create_dir_all(layout.scratch("")).is_err() {
        return;
    }
    let Ok(log) = std::fs::File::create(&log_path) else {
        return;
    };
    let Ok(log_copy) = log.try_clone() else {
        return;
    };
    let mut command = run::cargo(&layout.root);
    command.args(["test", "--no-run"]);
    for step in &steps {
        command.args(["-p", &step.step_package()]);
    }
    command
        .stdout(log)
        .stderr(log_copy)
        .stdin(std::process::Stdio::null());
    if command.spawn().is_ok() {
        println!(
            "book: compiling the steps' tests in the background, so your first test run is quick ({})",
            log_path.display()
        );
    }
}

/// Regenerates, lints and builds the book into `target/book`.
pub fn build(layout: &Layout) -> Result<()> {
    let mdbook = regenerate_and_lint(layout)?;
    mdbook_build(layout, &mdbook)
}

/// Brings the generated files up to date and lints the sources; returns the
/// `mdbook` to run.
fn regenerate_and_lint(layout: &Layout) -> Result<String> {
    let generated = book_generated::expected(layout)?;
    let changed = book_generated::write(layout, &generated)?;
    if changed > 0 {
        println!("book: regenerated {changed} file(s) in book/src/generated");
    }
    book_lint::lint(layout)?;
    ensure_mdbook()
}

/// Fails if a generated file is stale or the sources have a problem, then
/// builds the book into `target/book`.
pub fn check(layout: &Layout) -> Result<()> {
    let generated = book_generated::expected(layout)?;
    let stale = book_generated::stale(layout, &generated)?;
    if !stale.is_empty() {
        let list: Vec<String> = stale
            .iter()
            .map(|path| path.display().to_string())
            .collect();
        return Err(Error::Check(format!(
            "the book's generated files are out of date:\n  {}\nrun `cargo xtask book` to regenerate them",
            list.join("\n  ")
        )));
    }
    book_lint::lint(layout)?;
    mdbook_build(layout, &ensure_mdbook()?)
}

/// Runs `mdbook build`, which writes the book to `target/book`.
fn mdbook_build(layout: &Layout, mdbook: &str) -> Result<()> {
    let mut command = Command::new(mdbook);
    command.args(["build", "book"]);
    command.current_dir(&layout.root);
    if run::stream(command)? {
        println!("book: built into {}", layout.target.join("book").display());
        Ok(())
    } else {
        Err(Error::Check(
            "`mdbook build` failed (its output is above)".into(),
        ))
    }
}

/// Returns the `mdbook` to run, installing the pinned version first if the
/// one on the PATH is missing or another version.
fn ensure_mdbook() -> Result<String> {
    let wanted = format!("v{MDBOOK_VERSION}");
    let installed = Command::new("mdbook").arg("--version").output();
    if let Ok(output) = installed
        && String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .any(|word| word == wanted)
    {
        return Ok("mdbook".into());
    }
    println!(
        "book: installing mdBook {MDBOOK_VERSION} with cargo install (once; about two minutes on two cores)"
    );
    let mut command = run::cargo(std::path::Path::new("."));
    command.args([
        "install",
        "--locked",
        "mdbook",
        "--version",
        MDBOOK_VERSION,
        // `book_serve.rs` serves the book, so mdBook's own server and file
        // watcher are not needed; leaving them out halves the install.
        "--no-default-features",
        "--features",
        "search",
    ]);
    if !run::stream(command)? {
        return Err(Error::Check(format!(
            "`cargo install mdbook --version {MDBOOK_VERSION}` failed"
        )));
    }
    // `cargo install` puts binaries in $CARGO_HOME/bin, which may not be on
    // the PATH of this process: run it from there.
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| std::path::PathBuf::from(home).join(".cargo"))
        })
        .ok_or_else(|| Error::Check("neither CARGO_HOME nor HOME is set".into()))?;
    Ok(cargo_home.join("bin").join("mdbook").display().to_string())
}
