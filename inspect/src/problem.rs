//! A problem found in a data directory: the file, the line, and the reason,
//! printed `path:line: reason` as the store's own errors are.

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
}

impl Problem {
    /// A problem on line `line` of `file`.
    pub fn at(file: &str, line: usize, reason: impl Into<String>) -> Problem {
        Problem {
            file: file.to_string(),
            line: Some(line),
            reason: reason.into(),
        }
    }

    /// A problem with `file` as a whole.
    pub fn of(file: &str, reason: impl Into<String>) -> Problem {
        Problem {
            file: file.to_string(),
            line: None,
            reason: reason.into(),
        }
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
            Some(line) => write!(formatter, "{}:{line}: {}", path.display(), problem.reason),
            None => write!(formatter, "{}: {}", path.display(), problem.reason),
        }
    }
}
