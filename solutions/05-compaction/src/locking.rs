//! How the store's lock is taken: the one place that locks `State`.
//!
//! The idea: readers take the read lock for what is in memory and a
//! snapshot of the tables ([`Shared::read_state`]); the tree shaker takes
//! the write lock for one change of the state ([`Shared::write_state`]);
//! writers take it once there is room for their write, waiting for the
//! shaker between tries ([`Shared::lock_when`]).
//!
//! Invariants:
//! - no code holds the lock while it reads or writes a file, but for the
//!   writes of `clear`;
//! - a writer that waits cannot miss the change it waits for: it reads the
//!   mailbox's clock before it looks at the state (see `shaker.rs`);
//! - once the shaker has failed, no write is taken: nothing would ever make
//!   it durable.
//!
//! Read alongside chapter 4 of the book, "The tree shaker".

use std::panic;
use std::sync::{PoisonError, RwLockReadGuard, RwLockWriteGuard};

use crate::state::State;
use crate::store::Shared;
use crate::{Error, Result};

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
                return Err(Error::FlushFailed { reason });
            }
            if ready(&state) {
                return Ok(state);
            }
            drop(state);
            self.mailbox.wait_after(seen);
        }
    }
}
