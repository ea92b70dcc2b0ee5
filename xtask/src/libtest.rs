//! Reads the plain text that `cargo test` prints, into test results.
//!
//! We parse text instead of libtest's JSON output because the JSON format
//! needs a nightly flag, and because this is the output a learner sees, so
//! the xtask and the learner agree on what happened. The lines we rely on:
//!
//! ```text
//!      Running unittests src/lib.rs (target/debug/deps/step_01-1fb4…)   (cargo, stderr)
//!    Doc-tests step_01                                                  (cargo, stderr)
//! running 14 tests
//! test store::tests::exercise_1_1_get ... FAILED         (or: ok, ignored[, reason])
//! test tests::sp - should panic ... ok
//! ---- store::tests::exercise_1_1_get stdout ----        (then the test's output,
//! thread 'store::…' (10435) panicked at src/store.rs:5:21:      up to the next
//! not yet implemented: exercise 1.1: …                         section or list)
//! failures:
//! test result: FAILED. 13 passed; 1 failed; …
//! ```
//!
//! One `cargo test` runs several binaries (lib and bin unit tests,
//! integration tests, doc tests), and two of them can hold tests with the
//! same name, so every result remembers its binary. A binary that was
//! started but printed no `test result:` line crashed or was killed; the
//! callers report that instead of trusting a partial list.

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Ignored,
}

/// One test binary of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    /// What cargo called it: `unittests src/lib.rs`, `tests/http.rs`,
    /// `Doc-tests step_01`, or `tests` when cargo's lines are missing.
    pub label: String,
    /// The file name of the executable (`step_01-1fb4…`), if cargo said.
    pub executable: Option<String>,
    /// For doc tests, the library crate's name (`step_01`).
    pub doc_crate: Option<String>,
    /// Whether it printed its `test result:` line.
    pub finished: bool,
}

/// One test's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCase {
    /// Index into [`Report::binaries`].
    pub binary: usize,
    /// The full name, e.g. `store::tests::exercise_1_1_get_of_missing_key`.
    pub name: String,
    pub outcome: Outcome,
    /// The captured output libtest printed for it (failed tests only), or
    /// for an ignored test the reason it gives (`ignored, <reason>`).
    pub output: String,
}

/// What a failed test said, for a person: where it panicked, and the
/// message with the values an assertion printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `src/store.rs:95:9`, from the `panicked at` line.
    pub location: Option<String>,
    /// The message's lines, at most [`FAILURE_LINES`].
    pub message: Vec<String>,
}

impl Failure {
    /// The failure in plain words, a line each: a hole is named as the
    /// exercise to do; anything else is the message with its values, and
    /// where it happened. `root` is cut from the front of the location (a
    /// crate outside the workspace is compiled with absolute paths).
    pub fn explain(&self, root: &std::path::Path) -> Vec<String> {
        let root = format!("{}/", root.display());
        let at = self
            .location
            .as_ref()
            .map(|location| format!(" (at {})", location.strip_prefix(&root).unwrap_or(location)))
            .unwrap_or_default();
        let hole = self
            .message
            .first()
            .and_then(|line| line.split_once("not yet implemented: "))
            .map(|(_, task)| task);
        match hole {
            Some(task) => vec![format!("stopped at a hole: {task}{at}")],
            None => {
                let mut lines = self.message.clone();
                match lines.first_mut() {
                    Some(first) if first.trim().is_empty() => *first = format!("a test failed{at}"),
                    Some(first) => first.push_str(&at),
                    None => lines.push(format!("a test failed{at}")),
                }
                lines
            }
        }
    }
}

/// Whether `line` is past the end of a panic message: a blank line, the
/// backtrace note, a backtrace, a new section or another panic.
fn ends_a_panic_message(line: &str) -> bool {
    line.trim().is_empty()
        || line.starts_with("note: ")
        || line.starts_with("stack backtrace:")
        || line.starts_with("---- ")
        || (line.contains("panicked at ") && line.contains("thread '"))
}

/// How many lines of a panic message [`TestCase::failure`] keeps.
pub const FAILURE_LINES: usize = 8;

impl TestCase {
    /// The panic message: the line after `thread '…' panicked at …:`, or the
    /// first line of output when there is no such line.
    pub fn panic_message(&self) -> &str {
        let mut lines = self.output.lines();
        while let Some(line) = lines.next() {
            if line.starts_with("thread '") && line.contains("panicked at") {
                return lines.next().unwrap_or("").trim();
            }
        }
        self.output
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or("(no output)")
    }

    /// The panic that explains the failure. A test can print several: a
    /// property test prints one per case it tries while it shrinks, and
    /// ends with the smallest; a server's log can hold the panic of a
    /// handler. The one that hit an exercise's hole (`not yet implemented:
    /// exercise N.M`) explains most; otherwise the last one does.
    pub fn failure(&self) -> Failure {
        let lines: Vec<&str> = self.output.lines().collect();
        let panics: Vec<Failure> = lines
            .iter()
            .enumerate()
            .filter_map(|(index, line)| {
                let (_, location) = line.trim_start().split_once("panicked at ")?;
                let message: Vec<String> = lines[index + 1..]
                    .iter()
                    .take_while(|line| !ends_a_panic_message(line))
                    .take(FAILURE_LINES)
                    .map(|line| line.trim_end().to_string())
                    .collect();
                Some(Failure {
                    location: Some(location.trim_end_matches(':').to_string()),
                    message,
                })
            })
            .collect();
        let at_a_hole = panics.iter().find(|failure| {
            failure
                .message
                .first()
                .is_some_and(|line| line.contains("not yet implemented: exercise "))
        });
        match at_a_hole.or(panics.last()) {
            Some(failure) => failure.clone(),
            None => Failure {
                location: None,
                message: vec![self.panic_message().to_string()],
            },
        }
    }
}

/// Everything one `cargo test` printed about its tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub binaries: Vec<Binary>,
    pub tests: Vec<TestCase>,
}

impl Report {
    /// Parses the merged stdout and stderr of `cargo test`.
    pub fn parse(output: &str) -> Report {
        let mut report = Report::default();
        // The binary whose lines we are reading, whether it has printed
        // `running N tests`, and the test whose output section is open.
        let mut current: Option<usize> = None;
        let mut started = false;
        let mut section: Option<usize> = None;

        for raw in output.lines() {
            let line = strip_ansi(raw);
            let trimmed = line.trim();
            // Inside a test's output section only the lines that end the
            // section count: the test's own output may look like anything.
            if let Some(index) = section {
                if let Some(name) = section_header(&line) {
                    section = current.and_then(|binary| report.find(binary, name));
                } else if line == "failures:" || line == "successes:" {
                    section = None;
                } else {
                    let output = &mut report.tests[index].output;
                    output.push_str(&line);
                    output.push('\n');
                }
                continue;
            }
            if let Some(rest) = trimmed.strip_prefix("Running ") {
                current = Some(report.add_binary(running_binary(rest)));
                started = false;
            } else if let Some(name) = trimmed.strip_prefix("Doc-tests ") {
                current = Some(report.add_binary(Binary {
                    label: format!("Doc-tests {name}"),
                    executable: None,
                    doc_crate: Some(name.to_string()),
                    finished: false,
                }));
                started = false;
            } else if line.starts_with("running ") && line.ends_with(" tests")
                || line == "running 1 test"
            {
                // Test binaries run without cargo's lines around them.
                if current.is_none_or(|index| started || report.binaries[index].finished) {
                    current = Some(report.add_binary(Binary {
                        label: "tests".into(),
                        executable: None,
                        doc_crate: None,
                        finished: false,
                    }));
                }
                started = true;
            } else if line.starts_with("test result: ") {
                if let Some(index) = current {
                    report.binaries[index].finished = true;
                }
            } else if let Some(name) = section_header(&line) {
                section = current.and_then(|binary| report.find(binary, name));
            } else if let Some((name, outcome, reason)) = result_line(&line) {
                let binary = match current {
                    Some(index) => index,
                    None => report.add_binary(Binary {
                        label: "tests".into(),
                        executable: None,
                        doc_crate: None,
                        finished: false,
                    }),
                };
                current = Some(binary);
                report.tests.push(TestCase {
                    binary,
                    name: name.to_string(),
                    outcome,
                    output: reason.to_string(),
                });
            }
        }
        report
    }

    fn add_binary(&mut self, binary: Binary) -> usize {
        self.binaries.push(binary);
        self.binaries.len() - 1
    }

    fn find(&self, binary: usize, name: &str) -> Option<usize> {
        self.tests
            .iter()
            .position(|test| test.binary == binary && test.name == name)
    }

    /// The binaries that started but never reported a result.
    pub fn unfinished(&self) -> impl Iterator<Item = &Binary> {
        self.binaries.iter().filter(|binary| !binary.finished)
    }

    /// The tests that ended with `outcome`.
    pub fn with_outcome(&self, outcome: Outcome) -> impl Iterator<Item = &TestCase> {
        self.tests
            .iter()
            .filter(move |test| test.outcome == outcome)
    }

    /// A test's name with its binary, for messages: `store::tests::x
    /// (unittests src/lib.rs)`.
    pub fn describe(&self, test: &TestCase) -> String {
        format!("{} ({})", test.name, self.binaries[test.binary].label)
    }
}

/// The binary a `Running unittests src/lib.rs (target/debug/deps/x-1f2e)`
/// line announces (given without the word `Running`).
fn running_binary(rest: &str) -> Binary {
    let (label, executable) = match rest.rsplit_once(" (") {
        Some((label, path)) => {
            let path = path.trim_end_matches(')');
            let file = path.rsplit('/').next().unwrap_or(path);
            (label.to_string(), Some(file.to_string()))
        }
        None => (rest.to_string(), None),
    };
    Binary {
        label,
        executable,
        doc_crate: None,
        finished: false,
    }
}

/// The test name of a `---- name stdout ----` line.
fn section_header(line: &str) -> Option<&str> {
    line.strip_prefix("---- ")?.strip_suffix(" stdout ----")
}

/// The name and outcome of a `test name ... ok` line, and the reason of an
/// `ignored, <reason>` one (empty otherwise).
fn result_line(line: &str) -> Option<(&str, Outcome, &str)> {
    let (name, result) = line.strip_prefix("test ")?.split_once(" ... ")?;
    let name = name.strip_suffix(" - should panic").unwrap_or(name);
    let (outcome, reason) = if result == "ok" {
        (Outcome::Passed, "")
    } else if result == "FAILED" {
        (Outcome::Failed, "")
    } else if let Some(rest) = result.strip_prefix("ignored") {
        (Outcome::Ignored, rest.strip_prefix(", ").unwrap_or(""))
    } else {
        return None;
    };
    Some((name, outcome, reason))
}

/// Removes ANSI colour codes (`ESC [ … letter`), in case a setting forced
/// colours on despite `CARGO_TERM_COLOR=never`.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `text` mentions `exercise N.M` for this exact id (not a longer
/// number such as 1.10 for 1.1).
pub fn mentions_exercise(text: &str, id: &str) -> bool {
    let needle = format!("exercise {id}");
    text.match_indices(&needle).any(|(at, _)| {
        !text[at + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(output: &str) -> TestCase {
        TestCase {
            binary: 0,
            name: "t".into(),
            outcome: Outcome::Failed,
            output: output.into(),
        }
    }

    #[test]
    fn a_failure_keeps_the_assertion_values_and_its_place() {
        let test = failed(
            "\nthread 't' (7) panicked at src/store.rs:95:9:\n\
             assertion `left == right` failed: get after set\n  left: None\n right: Some(\"v\")\n\
             note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
        );
        assert_eq!(
            test.failure().explain(std::path::Path::new("/w")),
            vec![
                "assertion `left == right` failed: get after set (at src/store.rs:95:9)",
                "  left: None",
                " right: Some(\"v\")",
            ]
        );
    }

    #[test]
    fn a_hole_in_a_servers_log_explains_the_failure() {
        let test = failed(
            "\nthread 't' (7) panicked at tests/http.rs:261:5:\n\n\
             ---- the server's log ----\nINFO listening\n\
             thread 'tokio-rt-worker' (9) panicked at /w/steps/01-hashmap/src/http.rs:118:5:\n\
             not yet implemented: exercise 1.3: refuse an empty key (book chapter 1)\n",
        );
        assert_eq!(
            test.failure().explain(std::path::Path::new("/w")),
            vec![
                "stopped at a hole: exercise 1.3: refuse an empty key (book chapter 1) \
                 (at steps/01-hashmap/src/http.rs:118:5)"
            ]
        );
    }

    /// Real output of `cargo test --no-fail-fast` on a small crate with a
    /// passing, an ignored, a should-panic and failing unit tests, a failing
    /// integration test and a failing doc test (backtraces shortened).
    const SAMPLE: &str = include_str!("../testdata/cargo-test-output.txt");

    fn find<'a>(report: &'a Report, name: &str) -> &'a TestCase {
        report.tests.iter().find(|test| test.name == name).unwrap()
    }

    #[test]
    fn every_binary_and_result_is_read() {
        let report = Report::parse(SAMPLE);
        let labels: Vec<&str> = report.binaries.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(
            labels,
            ["unittests src/lib.rs", "tests/it.rs", "Doc-tests sample"]
        );
        assert_eq!(
            report.binaries[0].executable.as_deref(),
            Some("sample-e6daf73c296d6df0")
        );
        assert_eq!(report.binaries[2].doc_crate.as_deref(), Some("sample"));
        assert!(report.binaries.iter().all(|binary| binary.finished));

        let outcomes: Vec<(&str, Outcome, usize)> = report
            .tests
            .iter()
            .map(|test| (test.name.as_str(), test.outcome, test.binary))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("tests::ign", Outcome::Ignored, 0),
                ("tests::ok_one", Outcome::Passed, 0),
                ("tests::exercise_1_1_a", Outcome::Failed, 0),
                ("tests::plain_fail", Outcome::Failed, 0),
                ("tests::sp", Outcome::Passed, 0),
                ("exercise_1_1_it", Outcome::Failed, 1),
                ("src/lib.rs - f (line 1)", Outcome::Failed, 2),
            ]
        );
        // An ignored test keeps its reason; a passing one has no output.
        assert_eq!(find(&report, "tests::ign").output, "slow");
        assert_eq!(find(&report, "tests::ok_one").output, "");
    }

    #[test]
    fn failure_sections_hold_the_panic() {
        let report = Report::parse(SAMPLE);
        let hole = find(&report, "tests::exercise_1_1_a");
        assert!(hole.output.starts_with("hello\n"), "{:?}", hole.output);
        assert_eq!(
            hole.panic_message(),
            "not yet implemented: exercise 1.1: do {it} (book chapter 1)"
        );
        assert!(
            !hole.output.contains("plain_fail"),
            "sections must not run together"
        );
        assert_eq!(
            find(&report, "tests::plain_fail").panic_message(),
            "assertion `left == right` failed: one is not two"
        );
        assert_eq!(
            find(&report, "src/lib.rs - f (line 1)").panic_message(),
            "assertion `left == right` failed"
        );
        assert!(find(&report, "tests::ok_one").output.is_empty());
    }

    #[test]
    fn a_binary_without_a_result_line_is_unfinished() {
        let output = "     Running tests/crash.rs (target/debug/deps/crash-0a1b)\n\n\
                      running 2 tests\ntest a ... ok\n\
                      error: test failed, to rerun pass `--test crash`\n";
        let report = Report::parse(output);
        let unfinished: Vec<&str> = report.unfinished().map(|b| b.label.as_str()).collect();
        assert_eq!(unfinished, ["tests/crash.rs"]);
        assert_eq!(report.tests.len(), 1);
    }

    #[test]
    fn bare_libtest_output_gets_an_anonymous_binary() {
        let output = "running 1 test\ntest x ... ok\n\ntest result: ok. 1 passed\n\
                      running 1 test\ntest x ... FAILED\n\ntest result: FAILED. 0 passed\n";
        let report = Report::parse(output);
        assert_eq!(report.binaries.len(), 2);
        assert_eq!(report.tests[1].binary, 1);
    }

    #[test]
    fn colours_are_ignored() {
        let report = Report::parse("test a ... \u{1b}[32mok\u{1b}[0m\n");
        assert_eq!(report.tests[0].outcome, Outcome::Passed);
    }

    #[test]
    fn exercise_mentions_need_the_exact_id() {
        assert!(mentions_exercise(
            "not yet implemented: exercise 1.1: x",
            "1.1"
        ));
        assert!(mentions_exercise("exercise 1.1", "1.1"));
        assert!(!mentions_exercise("exercise 1.10: x", "1.1"));
        assert!(mentions_exercise("exercise 1.10 and exercise 1.1.", "1.1"));
        assert!(!mentions_exercise("exercise 2.1", "1.1"));
    }
}
