//! Starting a child process without lending it a store's directory lock.
//!
//! The idea: from its fork until its exec, a child holds a copy of every
//! file descriptor of the test process, close-on-exec or not, and with it
//! the `LOCK` file of any store a test has open in this process. The lock
//! on it (an `flock`) belongs to the open file, not to a process, so it is
//! held until the last copy is closed. Tests run on several threads: a
//! test that closes its store and at once starts a server (or opens the
//! store again) on the same directory can find it locked by another test's
//! child, forked a moment before and not yet exec'd, and is refused with
//! "another server is using" (seen once in CI, in the compaction suite's
//! kill test).
//!
//! So every child of this crate is started with [`spawn`], and every store
//! opened in this process with [`while_no_child_starts`]: both under one
//! lock. `Command::spawn` returns only once the child has exec'd (or
//! failed to), so when a test holds the lock, no child forked before it
//! still holds a copy of a file the test has closed.

use std::io;
use std::process::{Child, Command};
use std::sync::{Mutex, PoisonError};

/// Held while a child is being started, or a store's directory locked.
static STARTING: Mutex<()> = Mutex::new(());

/// Starts `command` (see the module docs).
pub fn spawn(command: &mut Command) -> io::Result<Child> {
    while_no_child_starts(|| command.spawn())
}

/// Runs `open`, which locks a store's directory, while no child is being
/// started (see the module docs).
pub fn while_no_child_starts<T>(open: impl FnOnce() -> T) -> T {
    // A test that panicked holding the lock left nothing half done.
    let _alone = STARTING.lock().unwrap_or_else(PoisonError::into_inner);
    open()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::stores::Harness;

    /// A store closed while another thread starts children one after the
    /// other opens again at once, every time. Red when the lock is left
    /// out of either function: a child forked while the store was open
    /// still holds its `LOCK` when the store opens again.
    #[test]
    fn a_store_closed_while_children_start_opens_again_at_once() {
        let directory = tempfile::tempdir().unwrap();
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let mut nothing = Command::new("true");
                    spawn(&mut nothing).unwrap().wait().unwrap();
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
}
