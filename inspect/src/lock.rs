//! The directory's `LOCK`: whether a server is running on it.
//!
//! The idea: from step 03 on, a server locks the file `LOCK` in its data
//! directory (`files::lock_directory`, an `flock` the kernel lets go when
//! the process ends), so that one server at a time uses it. The file stays
//! when the server stops, empty, and means nothing on its own: only the
//! lock does. So the inspector looks the file up in the kernel's table of
//! locks, `/proc/locks`, by its device and inode: held means a server is
//! running, and what is on disk may change while the inspector reads.
//!
//! It does not ask for the lock itself, even shared and for a moment: a
//! server starting at that moment would be refused, as beside another
//! server.
//!
//! Shortcuts, and what they cost:
//! - `/proc/locks` is Linux's: elsewhere the state is unknown, and no note
//!   is given.
//!
//! Invariants:
//! - `LOCK` is never created, opened for writing or locked: a directory
//!   without one is left without one.

use std::fs;
use std::os::unix::fs::MetadataExt;
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

/// Whether a server holds `LOCK` in `directory`, asked of the kernel's
/// table of locks without touching the file; `None` when there is no
/// `LOCK`, or the table cannot be read.
pub fn state(directory: &Path, names: &[String]) -> Option<Lock> {
    if !names.iter().any(|name| name == LOCK) {
        return None;
    }
    let metadata = fs::metadata(directory.join(LOCK)).ok()?;
    let locks = fs::read_to_string("/proc/locks").ok()?;
    let held = locks
        .lines()
        .any(|line| locks_file(line, metadata.dev(), metadata.ino()));
    Some(if held { Lock::Held } else { Lock::Free })
}

/// Whether a line of `/proc/locks`, such as
/// `1: FLOCK  ADVISORY  WRITE 24618 fe:00:10109717 0 EOF`, is a lock on the
/// file with device `device` and inode `inode`. The device is written as
/// its major and minor numbers in hex, the inode in decimal.
fn locks_file(line: &str, device: u64, inode: u64) -> bool {
    let Some(place) = line.split_whitespace().nth(5) else {
        return false;
    };
    let mut parts = place.split(':');
    let (Some(major), Some(minor), Some(number)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    // Linux's encoding of a device number (glibc's `major` and `minor`).
    let device_major = ((device >> 8) & 0xfff) | ((device >> 32) & !0xfff);
    let device_minor = (device & 0xff) | ((device >> 12) & !0xff);
    u64::from_str_radix(major, 16).ok() == Some(device_major)
        && u64::from_str_radix(minor, 16).ok() == Some(device_minor)
        && number.parse::<u64>().ok() == Some(inode)
}
