//! The one error type of the xtask.
//!
//! Every variant names what failed and the file or command it failed on, so
//! that a red CI log says where to look without re-running anything. A check
//! that ran fine but found problems (a starter that is out of date, an
//! exercise no test catches) is [`Error::Check`]: its message already lists
//! the problems and says what to do next.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can stop an xtask command.
#[derive(Debug)]
pub enum Error {
    /// The command line did not make sense; the message says why.
    Usage(String),

    /// A file-system operation on `path` failed.
    Io {
        /// What we were doing, e.g. `"read"` or `"create directory"`.
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    /// A program could not be started, or waiting for it failed.
    Spawn { program: String, source: io::Error },

    /// A program we depend on (rustfmt, diff) ran and failed.
    Tool { program: String, message: String },

    /// Exercise markers in the solutions are malformed: one `file:line:
    /// message` per problem, all of them at once.
    Markers(Vec<String>),

    /// A check found problems; the message lists them.
    Check(String),
}

/// The `Result` of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an `io::Error` together with the path it happened on.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) => write!(f, "{message}\n(run `cargo xtask help` for usage)"),
            Error::Io {
                action,
                path,
                source,
            } => write!(f, "cannot {action} {}: {source}", path.display()),
            Error::Spawn { program, source } => write!(f, "cannot run `{program}`: {source}"),
            Error::Tool { program, message } => write!(f, "`{program}` failed: {message}"),
            Error::Markers(problems) => {
                writeln!(f, "malformed exercise markers:")?;
                for problem in problems {
                    writeln!(f, "  {problem}")?;
                }
                write!(
                    f,
                    "(the convention: `// ANCHOR: exercise_N_M`, then `// Exercise N.M: <task>`, \
                     the answer, then `// ANCHOR_END: exercise_N_M`)"
                )
            }
            Error::Check(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}
