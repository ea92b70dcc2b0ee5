//! What the store, its tree shaker and its writers share (`Shared`): the
//! store's settings, its `State` behind a read-write lock, and the mailbox;
//! the only code that takes that lock, and the rules for a write to go
//! ahead and for freezing the memtable.
//!
//! The idea: readers take the read lock for what is in memory and a
//! snapshot of the tables ([`Shared::read_state`]); the tree shaker takes
//! the write lock for one change of the state ([`Shared::write_state`]);
//! writers take it once there is room for their write, waiting for the
//! shaker between tries ([`Shared::lock_when`]), or decline at once
//! when there is none, as an async task must ([`Shared::lock_if`]).
//!
//! A write goes ahead when the active memtable and its log have room, or
//! when a full memtable can be frozen because the queue of frozen
//! memtables has room ([`Shared::has_room`], [`Shared::freeze`], which
//! also moves the log on to a new file, in memory: the file is made by
//! the next sync); otherwise it waits for the shaker. That wait is
//! the bound on memory. An async task must not wait: it declines when
//! there is no room.
//!
//! Locks, and the order they are taken in: the state's read-write lock,
//! then the log's mutex (`wal.rs`), then the mailbox's mutex
//! (`mailbox.rs`). A writer appends its record to the log while it holds
//! the state's write lock, and, when it freezes the memtable, rotates the
//! log and tells the mailbox under it too; [`Shared::lock_if`] asks the
//! mailbox for a failure under it. Nothing takes them the other way round:
//! the log's and the mailbox's mutexes are held only for a few assignments,
//! or while waiting on their own condition variables, which let go of them
//! (every sync of the log, a rotation's too, is written with its mutex let
//! go). What a poisoned lock means: the state's stops the caller (a
//! panic in the middle of a change may have left the state half changed;
//! `stop_on_poison`); the log's is taken anyway, since the panic has failed
//! the log, and every wait answers with that (`Wal::failing_on_panic`); the
//! mailbox's cannot be poisoned (nothing under it panics), and says so if
//! it ever is.
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
//! Read alongside chapter 4 of the book, "The tree shaker", and chapter 7.2,
//! "The write-ahead log and group commit".

use std::panic;
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::files;
use crate::mailbox::Mailbox;
use crate::state::State;
use crate::wal::Wal;
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
    /// The write-ahead log of the active memtable.
    pub(crate) wal: Wal,
}

/// How many bytes of log the active memtable may have per byte of its size
/// limit before it is frozen anyway (see `Shared::is_full`).
pub(crate) const LOG_BYTES_PER_MEMTABLE_BYTE: u64 = 4;

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
            if let Some(state) = self.lock_if(&ready)? {
                return Ok(state);
            }
            self.mailbox.wait_after(seen);
        }
    }

    /// Takes the write lock if `ready(state)` holds, without waiting for
    /// the tree shaker. Fails if the shaker has failed.
    pub(crate) fn lock_if(
        &self,
        ready: impl Fn(&State) -> bool,
    ) -> Result<Option<RwLockWriteGuard<'_, State>>> {
        let state = self.state.write().unwrap_or_else(stop_on_poison);
        if let Some(reason) = self.mailbox.failure() {
            return Err(Error::ShakerFailed { reason });
        }
        Ok(ready(&state).then_some(state))
    }
}

impl Shared {
    /// Whether the active memtable has reached its size limit, or its log
    /// has: overwrites of the same keys grow the log but not the memtable,
    /// and freezing is what starts a new log, so that no log grows without
    /// bound.
    pub(crate) fn is_full(&self, state: &State) -> bool {
        state.memtable().approximate_bytes() >= self.memtable_bytes
            || self.wal.bytes() >= self.log_bytes()
    }

    /// The size at which the active log counts as full: a few times the
    /// memtable's limit, so that a log of new keys (its records are a
    /// little bigger than their entries) still fills the memtable first.
    pub(crate) fn log_bytes(&self) -> u64 {
        (self.memtable_bytes as u64).saturating_mul(LOG_BYTES_PER_MEMTABLE_BYTE)
    }

    /// Whether a write can go ahead: the memtable has room, or a full one
    /// can be frozen. Otherwise the write waits for the shaker: that is the
    /// bound on memory.
    pub(crate) fn has_room(&self, state: &State) -> bool {
        !self.is_full(state) || state.frozen().len() < self.max_frozen
    }

    /// Moves the active memtable to the back of the frozen queue, with its
    /// log, starts a new log and a fresh memtable, and tells the tree shaker.
    /// The caller holds the write lock and has checked that the queue has
    /// room.
    pub(crate) fn freeze(&self, state: &mut State) -> Result<()> {
        debug_assert!(
            state.frozen().len() < self.max_frozen,
            "the caller checked for room"
        );
        let next_log = files::log_path(&self.directory, state.next_log_number());
        // In memory: the new file is made by the next sync, off this lock.
        let ended_by = self.wal.rotate(&next_log)?;
        state.freeze(ended_by);
        self.mailbox.memtable_frozen();
        Ok(())
    }

    /// Waits until every record appended so far is durable. A read calls it
    /// after it looked, before it answers: the memtables may hold writes
    /// whose records are not synced yet, and a reader must never see a
    /// write that a crash could take back. Fails once the log has failed,
    /// since what was read may then be a write that will never be durable.
    pub(crate) fn wait_for_log(&self) -> Result<()> {
        // Records are appended under the write lock that applies them, and
        // the read has released its read lock: every write it could have
        // seen is among the records appended so far.
        self.wal.wait_all_durable().map_err(|error| match error {
            Error::LogFailed { reason } => Error::ReadAfterLogFailed { reason },
            other => other,
        })
    }
}
