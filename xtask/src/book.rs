//! `cargo xtask book`: build the book and serve it on http://127.0.0.1:3000
//! (see `book_serve.rs`), while the step crates' tests compile in the
//! background, so that a learner's first `cargo test -p step-01` after
//! reading chapter 1 does not wait for its dependencies;
//! `cargo xtask book --build`: only build it into `target/book` (under
//! `CARGO_TARGET_DIR` when that is set), without serving it or compiling
//! the steps;
//! `cargo xtask book --check`: what CI runs, a build that changes no file.
//!
//! All three first bring `book/src/generated/` up to date (`--check` instead
//! fails if it is stale: see `book_generated.rs`), then lint the sources
//! (`book_lint.rs`: only `--check` fails on a problem, the learner's two
//! commands warn and build the book anyway), then run mdBook. mdBook and the quiz preprocessor,
//! `mdbook-quiz`, are installed with `cargo install` when the machine does
//! not have the pinned versions, so a fresh clone needs nothing but the
//! Rust toolchain.

use std::path::{Path, PathBuf};
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
    let tools = regenerate_and_lint(layout)?;
    mdbook_build(layout, &tools)?;
    let (host, port) = SERVE_ADDRESS;
    println!("book: serving on http://{host}:{port} (Ctrl-C stops)");
    book_serve::serve(&book_dir(layout), &format!("{host}:{port}"))
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
            "book: compiling the steps' tests in the background, so your first test run is quick; \
             a `cargo test` started meanwhile waits for it (progress: {})",
            log_path.display()
        );
    }
}

/// Regenerates, lints and builds the book into `target/book`.
pub fn build(layout: &Layout) -> Result<()> {
    let tools = regenerate_and_lint(layout)?;
    mdbook_build(layout, &tools)
}

/// Brings the generated files up to date and lints the sources; returns the
/// tools to build it with. The lint is the contributors' (CI runs it, as
/// `book --check`): here it only warns, so that a problem in the book's
/// sources never keeps a learner from reading it.
fn regenerate_and_lint(layout: &Layout) -> Result<Installed> {
    let generated = book_generated::expected(layout)?;
    let changed = book_generated::write(layout, &generated)?;
    if changed > 0 {
        println!("book: regenerated {changed} file(s) in book/src/generated");
    }
    if let Err(problems) = book_lint::lint(layout) {
        println!(
            "book: warning: the book's lint found problems (the book is built anyway; \
             `cargo xtask book --check` fails on them):\n{problems}"
        );
    }
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

/// Where the book is built and served from: `book` in the target
/// directory, which `CARGO_TARGET_DIR` may move. book.toml's `build-dir`
/// says `target/book` for an `mdbook build` run by hand; ours always
/// passes this directory, so it builds where `serve` looks.
fn book_dir(layout: &Layout) -> PathBuf {
    layout.target.join("book")
}

/// The `mdbook` arguments that build the book into [`book_dir`].
fn mdbook_build_args(layout: &Layout) -> Vec<std::ffi::OsString> {
    vec![
        "build".into(),
        "book".into(),
        "--dest-dir".into(),
        book_dir(layout).into_os_string(),
    ]
}

/// Runs `mdbook build`, which writes the book to [`book_dir`].
fn mdbook_build(layout: &Layout, tools: &Installed) -> Result<()> {
    let mut command = Command::new(&tools.mdbook);
    command.args(mdbook_build_args(layout));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let paths = std::iter::once(tools.bin.clone()).chain(std::env::split_paths(&path));
    if let Ok(joined) = std::env::join_paths(paths) {
        command.env("PATH", joined);
    }
    command.current_dir(&layout.root);
    if run::stream(command)? {
        println!("book: built into {}", book_dir(layout).display());
        Ok(())
    } else {
        Err(Error::Check(
            "`mdbook build` failed (its output is above)".into(),
        ))
    }
}

/// A command-line tool the book needs, installed with `cargo install` at a
/// pinned version when the machine lacks it.
struct Tool {
    /// The binary, and the crate that provides it.
    name: &'static str,
    /// The version pinned: the tools' output and the book's syntax change
    /// between their minor versions.
    version: &'static str,
    /// Extra `cargo install` arguments.
    features: &'static [&'static str],
    /// What the install costs on two cores, said before it starts.
    takes: &'static str,
}

/// mdBook itself. `book_serve.rs` serves the book, so mdBook's own server
/// and file watcher are not needed; leaving them out halves the install.
const MDBOOK: Tool = Tool {
    name: "mdbook",
    version: MDBOOK_VERSION,
    features: &["--no-default-features", "--features", "search"],
    takes: "about three minutes",
};

/// The preprocessor behind `{{#quiz ../quizzes/chNN.toml}}`: it turns each
/// chapter's questions into an interactive quiz, and refuses to build a
/// quiz file that does not follow its schema, which is how CI validates
/// them. Version 0.5 is built for mdBook 0.5.
const MDBOOK_QUIZ: Tool = Tool {
    name: "mdbook-quiz",
    version: "0.5.0",
    features: &[],
    takes: "about a minute and a half",
};

/// Makes sure mdBook and its preprocessors are installed at their pinned
/// versions; returns the `mdbook` to run and the directory to put first on
/// its PATH, so that mdBook finds the preprocessors we installed.
fn ensure_mdbook() -> Result<Installed> {
    let bin = cargo_bin()?;
    let mdbook = ensure(&MDBOOK, &bin)?;
    ensure(&MDBOOK_QUIZ, &bin)?;
    Ok(Installed { mdbook, bin })
}

/// What `ensure_mdbook` found or installed.
struct Installed {
    /// The `mdbook` to run.
    mdbook: PathBuf,
    /// Where `cargo install` puts binaries; first on mdBook's PATH.
    bin: PathBuf,
}

/// The path of `tool` at its pinned version: the one on the PATH, or the
/// one in `bin`, or one installed into `bin` now.
fn ensure(tool: &Tool, bin: &Path) -> Result<PathBuf> {
    let in_bin = bin.join(tool.name);
    for candidate in [PathBuf::from(tool.name), in_bin.clone()] {
        if has_version(&candidate, tool.version) {
            return Ok(candidate);
        }
    }
    println!(
        "book: installing {} {} with cargo install (once; {} on two cores)",
        tool.name, tool.version, tool.takes
    );
    let mut command = run::cargo(Path::new("."));
    command.args(["install", "--locked", tool.name, "--version", tool.version]);
    command.args(tool.features);
    if !run::stream(command)? {
        return Err(Error::Check(format!(
            "`cargo install {} --version {}` failed",
            tool.name, tool.version
        )));
    }
    Ok(in_bin)
}

/// Whether `program --version` runs and names `version` (`mdbook v0.5.4`,
/// `mdbook-quiz 0.5.0`).
fn has_version(program: &Path, version: &str) -> bool {
    let Ok(output) = Command::new(program).arg("--version").output() else {
        return false;
    };
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .any(|word| word.strip_prefix('v').unwrap_or(word) == version)
}

/// Where `cargo install` puts binaries: `$CARGO_HOME/bin`, which may not be
/// on the PATH of this process.
fn cargo_bin() -> Result<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin"))
        .ok_or_else(|| Error::Check("neither CARGO_HOME nor HOME is set".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With `CARGO_TARGET_DIR` set, the target directory is elsewhere:
    /// mdBook must be told to build there, where the server looks and the
    /// message points, not into book.toml's `target/book`.
    #[test]
    fn the_book_is_built_where_it_is_served_from() {
        let layout = Layout {
            root: PathBuf::from("/work/little-kv"),
            target: PathBuf::from("/elsewhere/cargo-target"),
        };
        let args = mdbook_build_args(&layout);
        let dest = args
            .iter()
            .position(|arg| arg == "--dest-dir")
            .and_then(|at| args.get(at + 1))
            .expect("mdbook is given --dest-dir");
        assert_eq!(Path::new(dest), Path::new("/elsewhere/cargo-target/book"));
        assert_eq!(book_dir(&layout), Path::new(dest));
        assert!(
            Path::new(dest).is_absolute(),
            "mdBook would resolve it from book/"
        );
    }

    /// `Layout::discover` takes `CARGO_TARGET_DIR` as cargo does, so the
    /// directory the book is built into follows it: when this test runs
    /// with the variable set, the book goes under it.
    #[test]
    fn the_book_follows_cargo_target_dir_when_it_is_set() {
        let layout = Layout::discover().unwrap();
        match std::env::var_os("CARGO_TARGET_DIR").filter(|dir| !dir.is_empty()) {
            Some(dir) => assert!(
                book_dir(&layout).starts_with(std::env::current_dir().unwrap().join(dir)),
                "{}",
                book_dir(&layout).display()
            ),
            None => assert_eq!(book_dir(&layout), layout.root.join("target/book")),
        }
    }
}
