//! The tree shaker: the background thread that writes frozen memtables to
//! SSTables, so that no request waits for the disk, and merges tables when
//! there are enough of them (see `compaction.rs`).
//!
//! The idea: a writer that fills the memtable only freezes it (a swap under
//! the lock) and goes on. The tree shaker, a thread named `tree-shaker` (after
//! the machines that shake olive trees at harvest), takes the oldest frozen
//! memtable, writes it to a table *without holding the lock*, and then, in one
//! short write-locked step, adds the table and removes the frozen memtable.
//! Readers see the data in the frozen memtable until that step, and in the
//! table after it.
//!
//! The shaker and the threads that wait for it signal each other through
//! the mailbox (`mailbox.rs`); what they share is `Shared` (`shared.rs`).
//!
//! Shortcuts, and what they cost:
//! - one thread, one table at a time: simple, and enough for one disk;
//! - a failed flush is final: the shaker records the reason and stops, and
//!   every write after it answers with that reason.
//!
//! Invariants:
//! - frozen memtables are flushed oldest first, into increasing table numbers;
//! - a flush comes before a merge: writers may be waiting for the queue;
//! - this is the only thread that adds or replaces tables;
//! - the shaker never holds the store's lock while it writes a file;
//! - when the shaker stops, for whatever reason (a stop, an error, a panic),
//!   every thread waiting on the mailbox wakes up and sees why.
//!
//! Read alongside chapter 4 of the book, "The tree shaker"; the merging,
//! with chapter 5, "Compaction".

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crate::Result;
use crate::error::panic_message;
use crate::file_set;
use crate::shared::Shared;
use crate::state::Change;
use crate::{compaction, files, sstable};

/// The name of the thread, as debuggers and `top -H` show it.
pub const THREAD_NAME: &str = "tree-shaker";

/// Starts the tree shaker on a thread of its own.
pub fn spawn(shared: Arc<Shared>) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(THREAD_NAME.into())
        .spawn(move || {
            // A panic here is a bug, but the threads waiting for this one must
            // hear about it rather than wait forever.
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| shake(&shared)));
            if let Err(payload) = outcome {
                let message = panic_message(&*payload);
                shared
                    .mailbox
                    .fail(format!("the tree shaker panicked: {message}"));
            }
        })
}

/// The shaker's loop: flush while there is work, sleep while there is none.
fn shake(shared: &Shared) {
    loop {
        let seen = shared.mailbox.now();
        if shared.mailbox.stopping() {
            return;
        }
        // Flushing comes first: writers may be waiting for room in the queue.
        let worked = match flush_oldest(shared) {
            Ok(false) => compaction::compact_if_needed(shared),
            flushed => flushed,
        };
        match worked {
            Ok(true) => {}
            Ok(false) => shared.mailbox.rest(seen),
            Err(error) => {
                tracing::error!("the tree shaker stopped: {error}");
                shared.mailbox.fail(error.to_string());
                return;
            }
        }
    }
}

/// Writes the oldest frozen memtable to the next table, then swaps the table
/// in for the memtable. Returns `false` when the queue is empty.
fn flush_oldest(shared: &Shared) -> Result<bool> {
    let Some((oldest, number)) = shared.read_state().oldest_frozen() else {
        return Ok(false);
    };
    // Only this thread removes frozen memtables or numbers tables, so
    // `oldest` and `number` are still the front and the next number when
    // the write below is done.
    let path = files::table_path(&shared.directory, number);
    let table = sstable::write(&path, oldest.iter())?;
    // On disk first: the manifest names the table before any reader sees it.
    let memtable = Arc::clone(&oldest);
    file_set::log_and_apply(shared, Change::Flushed { table, memtable })?;
    shared.mailbox.tick();
    tracing::info!(
        "flushed {} entries to {}",
        oldest.iter().count(),
        path.display()
    );
    Ok(true)
}
