//! Writes through the write-ahead log: a write is appended to the active
//! log and applied to the active memtable in one locked step, and it is
//! acknowledged only once its record is synced (the group commit, in
//! `group_commit.rs`).
//!
//! The idea: the log's order must be the memtable's, so the append and the
//! apply happen under the store's write lock; the sync happens without it,
//! so that one sync covers every writer that waits (group commit). A write
//! that fills the memtable freezes it, which also switches to a new log
//! (see `Shared::freeze` in `shared.rs`).
//!
//! Two forms: [`Storage::set`](crate::Storage::set) and
//! [`Storage::delete`](crate::Storage::delete) call [`Store::write`] and
//! then block their thread until the record is on disk; an async server
//! calls [`Store::try_set_logged`] or [`Store::try_delete_logged`], which
//! never wait for the disk, and awaits the [`Ticket`] with
//! [`Store::durable`].
//!
//! A write is in the memtable before its record is synced, so a read could
//! see it and then lose it in a crash. It does not: a read answers only once
//! every record appended before it looked is durable
//! (`Shared::wait_for_log`, in `shared.rs`); when writes are in flight, that is one group
//! commit's wait, or two if a sync was already under way. If that sync fails, the read fails too, and the
//! refused writes are never seen.
//!
//! Invariants:
//! - a write's log record is appended under the same write lock that
//!   applies it, so replaying the log gives back the memtable;
//! - a write is acknowledged only after the sync that covers its record;
//! - a read answers only what is durable: it waits for the log first.
//!
//! Read alongside chapter 7.2 of the book, "The write-ahead log and group
//! commit".

use std::sync::RwLockWriteGuard;

use crate::Result;
use crate::log_record::Op;
use crate::state::State;
use crate::store::Store;

impl Store {
    /// Logs `op` and applies it to the active memtable with `apply`, and
    /// freezes the memtable if the write filled it. Returns the ticket of
    /// the log record, which is not on disk yet: the write may be
    /// acknowledged only once [`Wal::wait_durable`](crate::wal::Wal::wait_durable)
    /// or [`Wal::durable`](crate::wal::Wal::durable)
    /// says it is. The caller took the lock once the memtable had room.
    pub(crate) fn write(
        &self,
        mut state: RwLockWriteGuard<'_, State>,
        op: Op,
        apply: impl FnOnce(&mut State),
    ) -> Result<Ticket> {
        let shared = &self.shared;
        // Under the lock, so that the log's order is the memtable's.
        let ticket = shared.wal.append(&op)?;
        apply(&mut state);
        if shared.is_full(&state) && state.frozen().len() < shared.max_frozen {
            // This write's record is in the log already: whether it is
            // durable is for its ticket to say. A failed freeze has failed
            // the log, which refuses the writes after this one.
            if let Err(error) = shared.freeze(&mut state) {
                tracing::error!("could not freeze the memtable: {error}");
            }
        }
        Ok(Ticket(ticket))
    }

    /// Sets `key` to `value` in memory and in the log's buffer, without
    /// waiting for the disk: acknowledge it only once [`Store::durable`]
    /// returns. Returns `None`, having done nothing, when the memtable is
    /// full and the queue of frozen memtables too: the write would have to
    /// wait for the shaker to make room. Otherwise it touches no file and
    /// waits for nothing but the lock (a freeze it causes is a swap in
    /// memory, see `Shared::freeze`), so an async task may call it.
    pub fn try_set_logged(&self, key: &str, value: &str) -> Result<Option<Ticket>> {
        let Some(state) = self.shared.lock_if(|state| self.shared.has_room(state))? else {
            return Ok(None);
        };
        let op = Op::Put(key.to_string(), value.to_string());
        self.write(state, op, |state| state.put(key, value))
            .map(Some)
    }

    /// Removes `key` as [`Store::try_set_logged`] sets one.
    pub fn try_delete_logged(&self, key: &str) -> Result<Option<Ticket>> {
        let Some(state) = self.shared.lock_if(|state| self.shared.has_room(state))? else {
            return Ok(None);
        };
        let op = Op::Delete(key.to_string());
        self.write(state, op, |state| state.delete(key)).map(Some)
    }

    /// How many syncs the write-ahead log has made since the store opened:
    /// with many concurrent writers, far fewer than writes (group commit).
    pub fn log_syncs(&self) -> u64 {
        self.shared.wal.syncs()
    }

    /// Returns once the write with `ticket` is on disk, without blocking a
    /// thread meanwhile: the server's tasks wait here by the hundred.
    pub async fn durable(&self, ticket: Ticket) -> Result<()> {
        self.shared.wal.durable(ticket.0).await
    }
}

/// A write that is in the memtable and whose log record waits for a sync:
/// the record's number in the log.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(pub(crate) u64);
