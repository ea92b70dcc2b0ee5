//! What the store, its tree shaker and its writers share (`Shared`): the
//! store's settings, its `State` behind a read-write lock, and the mailbox;
//! the only code that takes that lock, and the rules for a write to go
//! ahead and for freezing the memtable.
//!
//! The idea: readers take the read lock for what is in memory and a
//! snapshot of the tables ([`Shared::read_state`]); the tree shaker takes
//! the write lock for one change of the state ([`Shared::write_state`]);
//! writers take it once there is room for their write, waiting for the
//! shaker between tries ([`Shared::lock_when`]).
//!
//! A write goes ahead when the active memtable has room, or when a full one
//! can be frozen because the queue of frozen memtables has room
//! ([`Shared::is_full`], [`Shared::freeze`]); otherwise it waits for the
//! shaker. That wait is the bound on memory. The tables change in one
//! place, `log_and_apply` (`file_set.rs`).
//!
//! Locks, and the order they are taken in: the state's read-write lock,
//! then the mailbox's mutex (`mailbox.rs`). A writer that freezes the
//! memtable tells the mailbox while it holds the state's write lock, and
//! [`Shared::lock_if`] asks the mailbox for a failure under it; nothing
//! takes them the other way round, since the mailbox's mutex is held only
//! for a few assignments, or while waiting on its condition variable, which
//! lets go of it. What a poisoned lock means: the state's stops the caller
//! (a panic in the middle of a change may have left the state half changed;
//! `stop_on_poison`); the mailbox's cannot be poisoned (nothing under it
//! panics), and says so if it ever is.
//!
//! Invariants:
//! - no code holds the lock while it reads or writes a file;
//! - a writer that waits cannot miss the change it waits for: it reads the
//!   mailbox's clock before it looks at the state (see `mailbox.rs`);
//! - the queue holds at most `max_frozen` memtables: a freeze happens only
//!   when it has room;
//! - once the shaker has failed, no write is taken: nothing would ever make
//!   it durable.
//!
//! Read alongside chapter 4 of the book, "The tree shaker".

use std::panic;
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::mailbox::Mailbox;
use crate::state::State;
use crate::{Error, Result};

/// What the store and its tree shaker share: the store's settings, its
/// state behind the lock, and the mailbox.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The working directory, which holds the tables.
    pub(crate) directory: PathBuf,
    /// The active memtable is frozen when it holds this many bytes or more.
    pub(crate) memtable_bytes: usize,
    /// How many frozen memtables may wait for the shaker.
    pub(crate) max_frozen: usize,
    /// The shaker considers merging tables once there are this many.
    pub(crate) compaction_threshold: usize,
    /// The memtables and the tables (see `state.rs`), taken only through
    /// the methods below.
    pub(crate) state: RwLock<State>,
    /// How the shaker and the threads that wait for it signal each other.
    pub(crate) mailbox: Mailbox,
}

/// The message of the panic that follows a poisoned lock. A lock is poisoned
/// only when a thread panicked while holding it, which is a bug in this
/// crate: the state may be half-changed, so we stop instead of serving it.
const POISONED: &str = "store lock poisoned: a thread panicked while holding it";

/// Stops the calling thread's work on a poisoned lock, with [`POISONED`].
/// The panic that poisoned the lock has already printed where it happened
/// (a bug, or in a starter an exercise's `todo!`); this one unwinds without
/// printing (`resume_unwind` skips the panic hook), so that the tree
/// shaker and later requests do not bury that first message under copies
/// of this one. The HTTP layer still answers it as a `500`, and the shaker
/// still fails the store with it.
fn stop_on_poison<T>(_: PoisonError<T>) -> T {
    panic::resume_unwind(Box::new(POISONED))
}

impl Shared {
    /// Takes the read lock: for a look at what is in memory, or for a
    /// snapshot of the tables, never for reading a file.
    pub(crate) fn read_state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(stop_on_poison)
    }

    /// Takes the write lock, to change the state through its methods.
    pub(crate) fn write_state(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(stop_on_poison)
    }

    /// Takes the write lock once `ready(state)` holds, waiting for the tree
    /// shaker between tries. Fails instead of waiting if the shaker has
    /// failed, since then nothing will ever change.
    pub(crate) fn lock_when(
        &self,
        ready: impl Fn(&State) -> bool,
    ) -> Result<RwLockWriteGuard<'_, State>> {
        loop {
            // Read the clock before looking: a change after this point
            // ticks it, so the wait below cannot miss that change.
            let seen = self.mailbox.now();
            let state = self.state.write().unwrap_or_else(stop_on_poison);
            if let Some(reason) = self.mailbox.failure() {
                return Err(Error::ShakerFailed { reason });
            }
            if ready(&state) {
                return Ok(state);
            }
            drop(state);
            self.mailbox.wait_after(seen);
        }
    }
}

impl Shared {
    /// Whether the active memtable has reached its size limit.
    pub(crate) fn is_full(&self, state: &State) -> bool {
        state.memtable().approximate_bytes() >= self.memtable_bytes
    }

    /// Moves the active memtable to the back of the frozen queue, puts a
    /// fresh one in its place, and tells the tree shaker. The caller holds
    /// the write lock and has checked that the queue has room.
    pub(crate) fn freeze(&self, state: &mut State) {
        debug_assert!(
            state.frozen().len() < self.max_frozen,
            "the caller checked for room"
        );
        state.freeze();
        self.mailbox.memtable_frozen();
    }
}
