//! The one error type of the inspector.
//!
//! Only what stops the inspector is an error: a directory it cannot list,
//! or a step it does not know. Everything wrong *inside* the directory (a
//! damaged line, a file that vanished while it was read) is not an error
//! but a finding, a [`Problem`](crate::Problem) or a note, which the
//! commands report and go on: the inspector is a tool for looking at
//! broken directories too.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that stops the inspector.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data directory could not be listed (it does not exist, or is
    /// not a directory, or cannot be read).
    #[error("cannot list {}: {source}", .path.display())]
    List { path: PathBuf, source: io::Error },

    /// Standard output could not be written (other than by a reader that
    /// went away, which is not an error: see `main.rs`).
    #[error("cannot write to standard output: {0}")]
    Output(io::Error),

    /// `--serve` could not take its port (in use, say).
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: io::Error },

    /// `--serve` could not start a thread or its runtime, or serving failed.
    #[error("cannot serve the page: {0}")]
    Runtime(io::Error),

    /// `--step` named a step whose files the inspector does not read.
    #[error("step {0:02} has no files on disk to inspect: give a step from 03 to 07")]
    UnknownStep(u8),
}

/// The `Result` of this crate.
pub type Result<T> = std::result::Result<T, Error>;
