//! The directory's `LOCK`: whether a server is running on it.
//!
//! The idea: from step 03 on, a server locks the file `LOCK` in its data
//! directory (`files::lock_directory`, an `flock` the kernel lets go when
//! the process ends), so that one server at a time uses it. The file stays
//! when the server stops, empty, and means nothing on its own: only the
//! lock does. So the inspector asks for the lock, shared, on the file
//! opened read-only, and lets it go at once; refused means a server holds
//! it, and what is on disk may change while the inspector reads.
//!
//! Shortcuts, and what they cost:
//! - the shared lock is held for a moment: a server that starts at that
//!   very moment is refused, as beside another server (start it again).
//!
//! Invariants:
//! - `LOCK` is never created, written or kept locked: a directory without
//!   one is left without one.

use std::fs::{File, TryLockError};
use std::path::Path;

use solution_07::format::LOCK;

/// The state of the directory's `LOCK` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// A server holds it: it is running on this directory.
    Held,
    /// No server holds it.
    Free,
}

/// The note for a directory whose `LOCK` a server holds.
pub const SERVER_RUNNING: &str = "a server is running on this directory (it holds LOCK): what is on disk may change while this reads";

/// Whether a server holds `LOCK` in `directory`, asked without creating,
/// writing or keeping anything: the file is opened read-only, and the
/// shared lock, if it is granted, is let go when the file is closed.
pub fn state(directory: &Path, names: &[String]) -> Option<Lock> {
    if !names.iter().any(|name| name == LOCK) {
        return None;
    }
    let file = File::open(directory.join(LOCK)).ok()?;
    match file.try_lock_shared() {
        Ok(()) => Some(Lock::Free),
        Err(TryLockError::WouldBlock) => Some(Lock::Held),
        Err(TryLockError::Error(_)) => None,
    }
}
