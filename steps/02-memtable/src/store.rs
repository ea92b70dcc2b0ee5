//! The storage layer: a memtable shared between threads behind a read-write lock.
//!
//! The idea: the store is a `Memtable`, a map sorted by key in which a
//! delete leaves a tombstone, behind a read-write lock: any number of
//! readers at a time, or one writer alone. The store turns the memtable's
//! three answers for a key (a value, a tombstone, nothing) into the two that
//! callers see (a value, or `None`).
//!
//! Shortcuts, and what they cost:
//! - the data lives in this process only; a restart loses everything
//!   (chapter 3 writes the memtable to disk);
//! - tombstones are never dropped, so deleted keys still take memory.
//!
//! Invariants:
//! - a `get` sees the latest `set`, `delete` or `clear` that has returned;
//! - a key whose latest entry is a tombstone reads as absent;
//! - `scan` returns the live keys in ascending order, each once.
//!
//! Read alongside chapter 2 of the book, "The memtable".

use std::sync::RwLock;

use crate::Result;
use crate::memtable::{Entry, Memtable};

/// The storage interface from Part 1 of the series, plus `clear`.
///
/// Every step of little-kv implements this trait with the same signatures, so
/// that the same HTTP layer and the same tests drive all of them. The methods
/// return `Result` although a hash map cannot fail: from chapter 3 on they
/// touch the disk, and disks fail.
pub trait Storage {
    /// Inserts `key` with `value`, replacing any value the key had.
    fn set(&self, key: &str, value: &str) -> Result<()>;

    /// Returns the value of `key`, or `None` when the store does not hold it.
    fn get(&self, key: &str) -> Result<Option<String>>;

    /// Removes `key`. Removing a key that is not there is not an error.
    fn delete(&self, key: &str) -> Result<()>;

    /// Removes every key.
    fn clear(&self) -> Result<()>;
}

/// A key-value store held in a `Memtable` behind a read-write lock.
#[derive(Debug, Default)]
pub struct Store {
    memtable: RwLock<Memtable>,
}

/// The message of the panic that follows a poisoned lock. A lock is poisoned
/// only when a thread panicked while holding it, which is a bug in this
/// crate: the memtable may be half-changed, so we stop instead of serving it.
const POISONED: &str = "store lock poisoned: a thread panicked while holding it";

impl Store {
    /// Creates an empty store.
    pub fn new() -> Store {
        Store::default()
    }

    /// How many bytes of keys and values the memtable holds (see
    /// `memtable::entry_bytes`). Chapter 3 writes the memtable to disk when
    /// this passes a threshold.
    pub fn memtable_bytes(&self) -> usize {
        self.memtable.read().expect(POISONED).approximate_bytes()
    }

    /// Returns every live key and its value, in ascending key order.
    pub fn scan(&self) -> Result<Vec<(String, String)>> {
        // TODO(exercise 2.3): list the memtable's values in key order, skipping tombstones
        todo!(
            "exercise 2.3: list the memtable's values in key order, skipping tombstones (book chapter 2)"
        )
    }
}

impl Storage for Store {
    fn set(&self, key: &str, value: &str) -> Result<()> {
        self.memtable.write().expect(POISONED).put(key, value);
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<String>> {
        // TODO(exercise 2.2): answer from the memtable; a tombstone means the key is gone
        todo!(
            "exercise 2.2: answer from the memtable; a tombstone means the key is gone (book chapter 2)"
        )
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.memtable.write().expect(POISONED).delete(key);
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        // A fresh memtable: there is nothing older for tombstones to hide.
        *self.memtable.write().expect(POISONED) = Memtable::new();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exercise_2_2_get_of_missing_key_is_none() {
        let store = Store::new();
        assert_eq!(store.get("kenya:capital").unwrap(), None);
    }

    #[test]
    fn exercise_2_2_get_sees_values_and_hides_tombstones() {
        let store = Store::new();
        assert_eq!(store.get("tanzania:capital").unwrap(), None);
        store.set("tanzania:capital", "Dodoma").unwrap();
        assert_eq!(
            store.get("tanzania:capital").unwrap().as_deref(),
            Some("Dodoma")
        );
        store.delete("tanzania:capital").unwrap();
        assert_eq!(store.get("tanzania:capital").unwrap(), None);
        store.set("tanzania:capital", "Dodoma").unwrap();
        assert_eq!(
            store.get("tanzania:capital").unwrap().as_deref(),
            Some("Dodoma")
        );
    }

    #[test]
    fn exercise_2_3_scan_of_empty_store_is_empty() {
        let store = Store::new();
        assert_eq!(store.scan().unwrap(), []);
    }

    #[test]
    fn exercise_2_3_scan_lists_live_keys_in_order() {
        let store = Store::new();
        assert_eq!(store.scan().unwrap(), []);
        store.set("uganda:capital", "Kampala").unwrap();
        store.set("kenya:capital", "Nairobi").unwrap();
        store.set("tanzania:capital", "Dodoma").unwrap();
        store.delete("tanzania:capital").unwrap();
        let expected = [("kenya:capital", "Nairobi"), ("uganda:capital", "Kampala")];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(store.scan().unwrap(), expected);
    }

    #[test]
    fn clear_forgets_tombstones_too() {
        let store = Store::new();
        store.clear().unwrap();
        assert_eq!(store.memtable_bytes(), 0);
        let memtable = store.memtable.read().unwrap();
        assert_eq!(memtable.iter().count(), 0);
    }
}
