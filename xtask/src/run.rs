//! Running programs: cargo and friends, either in front of the user or with
//! their output captured for parsing.
//!
//! Captured runs merge stdout and stderr into one pipe, in the order they
//! were written. That order matters: cargo announces each test binary on
//! stderr (`Running unittests src/lib.rs (…)`) and the binary then prints its
//! results on stdout, so only the merged stream tells which binary a result
//! came from.

use std::env;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::libtest::{Outcome, Report};

/// The `CARGO_TERM_COLOR` that `ci` chose for every cargo it starts, when
/// the user did not set one.
static TERM_COLOR: OnceLock<&'static str> = OnceLock::new();

/// Makes every later [`cargo`] command use `CARGO_TERM_COLOR=value`, unless
/// the user set `CARGO_TERM_COLOR` themselves. (Passed per command rather
/// than through `env::set_var`, which is unsafe once threads may exist.)
pub fn default_term_color(value: &'static str) {
    if env::var_os("CARGO_TERM_COLOR").is_none() {
        let _ = TERM_COLOR.set(value);
    }
}

/// Whether `ci` turned incremental compilation off for every cargo it starts.
static INCREMENTAL_OFF: OnceLock<()> = OnceLock::new();

/// Makes every later [`cargo`] command build without incremental caches
/// (`CARGO_INCREMENTAL=0`), unless the user set `CARGO_INCREMENTAL`. `ci`
/// compiles each crate once or twice on a clean clone, so the caches only
/// cost disk: 5.7 of the 15 GB a clean run left in target/, and a CI machine
/// with less room stopped with "No space left on device".
pub fn no_incremental_caches() {
    if env::var_os("CARGO_INCREMENTAL").is_none() {
        let _ = INCREMENTAL_OFF.set(());
    }
}

/// Set once strace is known to be here: every cargo we start then requires
/// it (`LITTLE_KV_REQUIRE_STRACE`), so the power-loss check cannot skip.
static STRACE_REQUIRED: OnceLock<()> = OnceLock::new();

/// Makes every cargo started from now on fail the power-loss check rather
/// than skip it (see `tools.rs`).
pub fn require_strace() {
    let _ = STRACE_REQUIRED.set(());
}

/// A `cargo` command run from `dir`. Inside `cargo xtask`, `$CARGO` is the
/// cargo that started us, so the same toolchain builds everything.
pub fn cargo(dir: &Path) -> Command {
    let program = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(program);
    command.current_dir(dir);
    if let Some(value) = TERM_COLOR.get() {
        command.env("CARGO_TERM_COLOR", value);
    }
    if INCREMENTAL_OFF.get().is_some() {
        command.env("CARGO_INCREMENTAL", "0");
    }
    if STRACE_REQUIRED.get().is_some() {
        command.env("LITTLE_KV_REQUIRE_STRACE", "1");
    }
    command
}

/// Prepares a cargo test run whose output we parse: no colours, and no
/// settings that change libtest's output format (quiet output prints dots
/// instead of names; nocapture loses the per-test output sections).
pub fn for_parsing(command: &mut Command) {
    command
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("CARGO_TERM_QUIET")
        .env_remove("RUST_TEST_NOCAPTURE")
        // Backtraces would only lengthen the output sections we read.
        .env("RUST_BACKTRACE", "0");
}

/// A finished `cargo test` whose output was parsed.
#[derive(Debug)]
pub struct TestRun {
    /// The command, as typed, for messages.
    pub command: String,
    pub success: bool,
    pub output: String,
    pub report: Report,
}

impl TestRun {
    /// Whether the tests never ran because the build failed: cargo failed
    /// and no test binary started.
    pub fn build_failed(&self) -> bool {
        !self.success && self.report.binaries.is_empty()
    }
}

/// Runs a `cargo test …` command (prepared with [`cargo`]), announcing it on
/// stdout first, since a build can take minutes, and parses what it printed.
pub fn cargo_test(mut command: Command) -> Result<TestRun> {
    for_parsing(&mut command);
    let described = describe(&command);
    println!("  $ {described}");
    // Flushing shows the line before the build starts; a failed flush of
    // stdout is not worth stopping for.
    let _ = std::io::stdout().flush();
    let captured = capture(command)?;
    let run = TestRun {
        command: described,
        success: captured.success,
        report: Report::parse(&captured.output),
        output: captured.output,
    };
    if run.build_failed() {
        println!("    the build failed");
    } else {
        let count = |outcome| run.report.with_outcome(outcome).count();
        println!(
            "    {} passed, {} failed, {} ignored",
            count(Outcome::Passed),
            count(Outcome::Failed),
            count(Outcome::Ignored)
        );
    }
    Ok(run)
}

/// The command as a person would type it, for messages.
pub fn describe(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or(command.get_program())
        .to_string_lossy()
        .into_owned();
    let mut words = vec![program];
    words.extend(
        command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned()),
    );
    words.join(" ")
}

/// What a captured run printed, and whether it succeeded.
#[derive(Debug)]
pub struct Captured {
    pub success: bool,
    /// stdout and stderr, interleaved as written.
    pub output: String,
}

/// Runs `command` to completion with stdout and stderr merged and captured.
pub fn capture(command: Command) -> Result<Captured> {
    Ok(capture_within(command, None)?.0)
}

/// Like [`capture`], but stops the command and everything it started (cargo
/// and the test binary under it) once `limit` has passed. Returns whether it
/// was stopped.
pub fn capture_within(mut command: Command, limit: Option<Duration>) -> Result<(Captured, bool)> {
    let name = describe(&command);
    let pipe_error = |source| Error::Spawn {
        program: name.clone(),
        source,
    };
    let (mut reader, writer) = std::io::pipe().map_err(pipe_error)?;
    let writer_copy = writer.try_clone().map_err(pipe_error)?;
    command
        .stdout(writer)
        .stderr(writer_copy)
        .stdin(Stdio::null());
    if limit.is_some() {
        // Its own process group, so that a stop reaches the test binary
        // that cargo started (and the servers it started), and not us.
        command.process_group(0);
    }
    let mut child = command.spawn().map_err(|source| Error::Spawn {
        program: name.clone(),
        source,
    })?;
    // The command holds our ends of the pipe; until they are closed the
    // read below would never see the end of the output.
    drop(command);
    let collector = thread::spawn(move || {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map(|_| bytes)
    });
    let started = Instant::now();
    let mut stopped = false;
    let status = loop {
        let waited = child.try_wait().map_err(|source| Error::Spawn {
            program: name.clone(),
            source,
        })?;
        if let Some(status) = waited {
            break status;
        }
        if limit.is_some_and(|limit| started.elapsed() > limit) && !stopped {
            stopped = true;
            // `kill -KILL -<pgid>` signals the whole group; std has no call
            // for that, and the xtask has no dependencies.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
        }
        thread::sleep(Duration::from_millis(50));
    };
    let bytes = collector
        .join()
        .map_err(|_| Error::Tool {
            program: name.clone(),
            message: "the thread reading its output panicked".into(),
        })?
        .map_err(|source| Error::Spawn {
            program: name.clone(),
            source,
        })?;
    let captured = Captured {
        success: status.success(),
        output: String::from_utf8_lossy(&bytes).into_owned(),
    };
    Ok((captured, stopped))
}

/// Runs `command` with the user's terminal, and tells whether it succeeded.
pub fn stream(mut command: Command) -> Result<bool> {
    let status = command.status().map_err(|source| Error::Spawn {
        program: describe(&command),
        source,
    })?;
    Ok(status.success())
}

/// The lines of cargo or rustc output worth showing when a build failed:
/// each `error` and the `-->` location under it, at most `limit` of them.
pub fn error_lines(output: &str, limit: usize) -> Vec<String> {
    let mut picked = Vec::new();
    let mut after_error = false;
    for line in output.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("error") {
            picked.push(line.trim_end().to_string());
            after_error = true;
        } else if after_error && trimmed.starts_with("-->") {
            picked.push(line.trim_end().to_string());
            after_error = false;
        }
        if picked.len() >= limit {
            break;
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_merges_stdout_and_stderr_in_order() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo one; echo two >&2; echo three; exit 3"]);
        let captured = capture(command).unwrap();
        assert!(!captured.success);
        assert_eq!(captured.output, "one\ntwo\nthree\n");
    }

    #[test]
    fn a_command_past_its_limit_is_stopped_with_what_it_started() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo before; sh -c 'sleep 30'; echo never"]);
        let started = Instant::now();
        let (captured, stopped) =
            capture_within(command, Some(Duration::from_millis(300))).unwrap();
        assert!(stopped);
        assert!(!captured.success);
        assert_eq!(captured.output, "before\n");
        // The grandchild `sleep` held the pipe too: it was stopped as well.
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn error_lines_keep_errors_and_their_locations() {
        let output = "   Compiling a\nerror[E0425]: cannot find value `x`\n  --> src/lib.rs:3:5\n\
                      |\nwarning: unused\nerror: could not compile `a`\n";
        assert_eq!(
            error_lines(output, 10),
            vec![
                "error[E0425]: cannot find value `x`",
                "  --> src/lib.rs:3:5",
                "error: could not compile `a`"
            ]
        );
    }
}
