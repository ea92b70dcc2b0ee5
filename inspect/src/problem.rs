//! A problem found in a data directory: the file, the line, and the reason,
//! printed `path:line: reason` as the store's own errors are, and whether
//! the store refuses to start on it.
//!
//! Invariants:
//! - a problem says "the store refuses to start" exactly when the store's
//!   own start (`Store::open` of the step) stops on it; everything else the
//!   store repairs (a sidecar it rebuilds, a leftover it removes) or does
//!   not look at.

use std::fmt;
use std::path::Path;

/// Something in the directory that breaks a rule of its format, or a fact
/// that should hold between its files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The file's name in the data directory, e.g. `000003.sst`.
    pub file: String,
    /// The line, counted from 1, when the problem is on one.
    pub line: Option<usize>,
    pub reason: String,
    /// Whether the store refuses to start on it.
    pub refuses_start: bool,
}

/// What a problem that stops the store says after its reason.
pub const REFUSES: &str = "the store refuses to start";

impl Problem {
    /// A problem on line `line` of `file`.
    pub fn at(file: &str, line: usize, reason: impl Into<String>) -> Problem {
        Problem {
            file: file.to_string(),
            line: Some(line),
            reason: reason.into(),
            refuses_start: false,
        }
    }

    /// A problem with `file` as a whole.
    pub fn of(file: &str, reason: impl Into<String>) -> Problem {
        Problem {
            file: file.to_string(),
            line: None,
            reason: reason.into(),
            refuses_start: false,
        }
    }

    /// The same problem, as one the store refuses to start on.
    pub fn refusing(self) -> Problem {
        Problem {
            refuses_start: true,
            ..self
        }
    }

    /// The same problem, refusing the start if `refuses` says so.
    pub fn refusing_if(self, refuses: bool) -> Problem {
        if refuses { self.refusing() } else { self }
    }

    /// The problem as `directory/file:line: reason`.
    pub fn show(&self, directory: &Path) -> String {
        Shown(self, directory).to_string()
    }
}

struct Shown<'a>(&'a Problem, &'a Path);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Shown(problem, directory) = self;
        let path = directory.join(&problem.file);
        match problem.line {
            Some(line) => write!(formatter, "{}:{line}: {}", path.display(), problem.reason)?,
            None => write!(formatter, "{}: {}", path.display(), problem.reason)?,
        }
        if problem.refuses_start {
            write!(formatter, ": {REFUSES}")?;
        }
        Ok(())
    }
}
