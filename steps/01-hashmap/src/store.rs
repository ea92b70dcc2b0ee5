//! The storage layer: a `HashMap` shared between threads behind a read-write lock.
//!
//! The idea: a hash map finds any key in constant time, and that is all a
//! key-value store needs while everything fits in memory. The HTTP server
//! answers many requests at once on several threads, and a `HashMap` may not
//! be changed by one thread while another reads it, so it sits behind a
//! [`RwLock`]: any number of readers at a time, or one writer alone.
//!
//! Shortcuts, and what they cost:
//! - the data lives in this process only; a restart loses everything
//!   (chapters 2 and 3 fix that);
//! - memory bounds the data: every key and value is held in RAM;
//! - one lock guards the whole map, so a writer stalls every reader for the
//!   (very short) time of an insert.
//!
//! Invariants:
//! - a `get` sees the latest `set`, `delete` or `clear` that has returned;
//! - `delete` of an absent key and `clear` of an empty store succeed;
//! - no lock is held once a method returns (values are cloned out).
//!
//! Read alongside chapter 1 of the book, "A hash map behind HTTP".

use std::collections::HashMap;
use std::sync::RwLock;

use crate::Result;

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

/// A key-value store held in a `HashMap` behind a read-write lock.
#[derive(Debug, Default)]
pub struct Store {
    map: RwLock<HashMap<String, String>>,
}

/// The message of the panic that follows a poisoned lock. A lock is poisoned
/// only when a thread panicked while holding it, which is a bug in this
/// crate: the map may be half-changed, so we stop instead of serving it.
const POISONED: &str = "store lock poisoned: a thread panicked while holding it";

impl Store {
    /// Creates an empty store.
    pub fn new() -> Store {
        Store::default()
    }
}

impl Storage for Store {
    fn set(&self, key: &str, value: &str) -> Result<()> {
        // TODO(exercise 1.2): take the write lock and insert the key and value
        todo!("exercise 1.2: take the write lock and insert the key and value (book chapter 1)")
    }

    fn get(&self, key: &str) -> Result<Option<String>> {
        // TODO(exercise 1.1): take the read lock and clone the value out
        todo!("exercise 1.1: take the read lock and clone the value out (book chapter 1)")
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.map.write().expect(POISONED).remove(key);
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        self.map.write().expect(POISONED).clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exercise_1_1_get_of_missing_key_is_none() {
        let store = Store::new();
        assert_eq!(store.get("kenya:capital").unwrap(), None);
    }

    #[test]
    fn exercise_1_1_get_returns_what_was_set() {
        let store = Store::new();
        assert_eq!(store.get("kenya:capital").unwrap(), None);
        store
            .map
            .write()
            .unwrap()
            .insert("kenya:capital".into(), "Nairobi".into());
        assert_eq!(
            store.get("kenya:capital").unwrap().as_deref(),
            Some("Nairobi")
        );
        assert_eq!(store.get("uganda:capital").unwrap(), None);
    }

    #[test]
    fn exercise_1_2_set_inserts_a_new_key() {
        let store = Store::new();
        store.set("uganda:capital", "Kampala").unwrap();
        let map = store.map.read().unwrap();
        assert_eq!(
            map.get("uganda:capital").map(String::as_str),
            Some("Kampala")
        );
    }

    #[test]
    fn exercise_1_2_set_overwrites_an_existing_key() {
        let store = Store::new();
        store.set("tanzania:capital", "Dar es Salaam").unwrap();
        store.set("tanzania:capital", "Dodoma").unwrap();
        let map = store.map.read().unwrap();
        assert_eq!(
            map.get("tanzania:capital").map(String::as_str),
            Some("Dodoma")
        );
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn delete_of_missing_key_succeeds() {
        let store = Store::new();
        store.delete("nowhere").unwrap();
        assert!(store.map.read().unwrap().is_empty());
    }

    #[test]
    fn delete_and_clear_remove_keys() {
        let store = Store::new();
        {
            let mut map = store.map.write().unwrap();
            map.insert("a".into(), "1".into());
            map.insert("b".into(), "2".into());
        }
        store.delete("a").unwrap();
        assert_eq!(store.map.read().unwrap().len(), 1);
        store.clear().unwrap();
        assert!(store.map.read().unwrap().is_empty());
    }
}
