//! A store's directory lock, lent for a moment to a child that is starting.
//!
//! The idea: from its fork until its exec has closed them, a child holds a
//! copy of every file descriptor of the test process, close-on-exec or
//! not, and with it the `LOCK` file of any store a test has open in this
//! process. The lock on that file (an `flock`) belongs to the open file,
//! not to a process, so it stays held until the last copy is closed, and
//! the kernel closes the child's copies only as the exec ends, after the
//! parent's `spawn` may already have returned. Tests run on several
//! threads: a test that closes its store and at once starts a server (or
//! opens the store again) on the same directory can find it locked by
//! another test's child, and be refused with "another server is using"
//! (CI saw it once, in the compaction suite's kill test).
//!
//! So where a test opens a directory it has just closed, a refusal for
//! that reason is tried again, for at most [`PATIENCE`]: a copy in a
//! starting child is gone within microseconds, while a lock that another
//! server really holds is still held then, and the refusal stands.
//!
//! Shortcuts, and what they cost:
//! - a second server on a live directory is refused only after
//!   [`PATIENCE`]; the tests that check that refusal start the second
//!   server themselves (`tests/integrity.rs`), without this.

use std::fmt::Display;
use std::thread;
use std::time::{Duration, Instant};

/// What a step's store says when another holds its directory's lock
/// (`files::lock_directory`).
pub const LOCKED: &str = "another server is using";

/// How long a refusal because of the lock is tried again.
pub const PATIENCE: Duration = Duration::from_secs(2);

/// Runs `attempt` until it succeeds, fails for another reason, or has been
/// refused because of the lock for [`PATIENCE`]; returns its last result.
pub fn again_while_lent<T, E: Display>(mut attempt: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match attempt() {
            Err(error) if error.to_string().contains(LOCKED) && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(5));
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::stores::Harness;

    /// A store closed while another thread starts children, one after the
    /// other, opens again at once, every time. Red when a refusal is not
    /// tried again: a child started while the store was open can still
    /// hold its `LOCK` when the store opens again.
    #[test]
    fn a_store_closed_while_children_start_opens_again_at_once() {
        let directory = tempfile::tempdir().unwrap();
        let stop = AtomicBool::new(false);
        thread::scope(|scope| {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    Command::new("true").status().unwrap();
                }
            });
            let opened = (0..300).try_for_each(|_| {
                <solution_03::Store as Harness>::try_open(directory.path(), 1024).map(drop)
            });
            stop.store(true, Ordering::Relaxed);
            if let Err(error) = opened {
                panic!("the store did not open again: {error}");
            }
        });
    }

    /// A lock that another store really holds is still refused.
    #[test]
    fn a_lock_really_held_is_still_refused() {
        let directory = tempfile::tempdir().unwrap();
        let _held = <solution_03::Store as Harness>::try_open(directory.path(), 1024).unwrap();
        let started = Instant::now();
        let second = <solution_03::Store as Harness>::try_open(directory.path(), 1024);
        assert!(second.is_err_and(|error| error.contains(LOCKED)));
        assert!(started.elapsed() >= PATIENCE);
    }
}
