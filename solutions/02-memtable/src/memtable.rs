//! The memtable: the sorted, in-memory part of an LSM tree.
//!
//! The idea: writes go to a map kept sorted by key. Sorted, because in
//! chapter 3 the memtable is written to disk as a file whose lines are in key
//! order, and a sorted file can be searched and merged without loading it.
//! A delete cannot simply remove the key: once older files on disk hold a
//! value for it, removing the key from memory would let that older value show
//! through again. So a delete writes a tombstone, an entry that says "this key
//! was deleted", and the tombstone is what reaches the disk.
//!
//! Shortcuts, and what they cost:
//! - a `BTreeMap` instead of a skip list: simple and sorted, but a writer
//!   needs the store's lock for the whole map (LevelDB's skip list lets
//!   readers run alongside a writer);
//! - the size is approximate: the bytes of keys and values, not the map's
//!   real memory use, which is what decides when to flush anyway.
//!
//! Invariants:
//! - each key has at most one entry, the latest one written;
//! - `approximate_bytes` is the sum of [`entry_bytes`] over all entries;
//! - a tombstone stays until the memtable is dropped (it is never removed).
//!
//! Read alongside chapter 2 of the book, "The memtable".

use std::collections::BTreeMap;

// ANCHOR: entry
/// What the memtable holds for a key: its value, or the mark of its deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// The key holds this value.
    Value(String),
    /// The key was deleted. On disk this is written as `†`.
    Tombstone,
}
// ANCHOR_END: entry

/// The bytes an entry counts for in [`Memtable::approximate_bytes`]: its key
/// and its value, roughly what the entry will take on disk. A tombstone
/// counts its key only.
pub fn entry_bytes(key: &str, entry: &Entry) -> usize {
    match entry {
        Entry::Value(value) => key.len() + value.len(),
        Entry::Tombstone => key.len(),
    }
}

// ANCHOR: memtable
/// A map from key to [`Entry`], sorted by key, that knows its size in bytes.
#[derive(Debug, Default)]
pub struct Memtable {
    entries: BTreeMap<String, Entry>,
    approximate_bytes: usize,
}
// ANCHOR_END: memtable

impl Memtable {
    /// Creates an empty memtable.
    pub fn new() -> Memtable {
        Memtable::default()
    }

    // ANCHOR: put_and_delete
    /// Sets `key` to `value`.
    pub fn put(&mut self, key: &str, value: &str) {
        self.insert(key, Entry::Value(value.to_string()));
    }

    /// Deletes `key` by writing a tombstone for it, whether or not the key is
    /// in this memtable: an older value may still be on disk.
    pub fn delete(&mut self, key: &str) {
        self.insert(key, Entry::Tombstone);
    }
    // ANCHOR_END: put_and_delete

    /// Stores `entry` for `key`, replacing the key's older entry, and keeps
    /// `approximate_bytes` equal to the sum of [`entry_bytes`] of all entries.
    fn insert(&mut self, key: &str, entry: Entry) {
        // ANCHOR: exercise_2_1
        // Exercise 2.1: replace the key's entry and keep approximate_bytes exact
        self.approximate_bytes += entry_bytes(key, &entry);
        if let Some(older) = self.entries.insert(key.to_string(), entry) {
            self.approximate_bytes -= entry_bytes(key, &older);
        }
        // ANCHOR_END: exercise_2_1
    }

    /// Returns the entry of `key`: `None` when this memtable knows nothing of
    /// it, which is not the same as a [`Entry::Tombstone`].
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Iterates over every entry, tombstones included, in ascending key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries
            .iter()
            .map(|(key, entry)| (key.as_str(), entry))
    }

    /// The sum of [`entry_bytes`] over all entries.
    pub fn approximate_bytes(&self) -> usize {
        self.approximate_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_memtable_is_empty() {
        let memtable = Memtable::new();
        assert_eq!(memtable.approximate_bytes(), 0);
        assert_eq!(memtable.iter().count(), 0);
        assert_eq!(memtable.get("kenya:capital"), None);
    }

    #[test]
    fn entry_bytes_counts_key_and_value() {
        assert_eq!(
            entry_bytes("kenya:capital", &Entry::Value("Nairobi".into())),
            13 + 7
        );
        assert_eq!(entry_bytes("kenya:capital", &Entry::Tombstone), 13);
        // Bytes, not characters: `→` is three bytes of UTF-8.
        assert_eq!(entry_bytes("→", &Entry::Value("é".into())), 3 + 2);
    }

    #[test]
    fn exercise_2_1_put_then_get() {
        let mut memtable = Memtable::new();
        memtable.put("kenya:capital", "Nairobi");
        assert_eq!(
            memtable.get("kenya:capital"),
            Some(&Entry::Value("Nairobi".into()))
        );
        assert_eq!(memtable.approximate_bytes(), 20);
    }

    #[test]
    fn exercise_2_1_overwrite_replaces_and_recounts() {
        let mut memtable = Memtable::new();
        memtable.put("tanzania:capital", "Dar es Salaam");
        memtable.put("tanzania:capital", "Dodoma");
        assert_eq!(
            memtable.get("tanzania:capital"),
            Some(&Entry::Value("Dodoma".into()))
        );
        assert_eq!(memtable.iter().count(), 1);
        assert_eq!(memtable.approximate_bytes(), 16 + 6);
    }

    #[test]
    fn exercise_2_1_delete_leaves_a_tombstone() {
        let mut memtable = Memtable::new();
        memtable.put("tanzania:capital", "Dodoma");
        memtable.delete("tanzania:capital");
        memtable.delete("never:written");
        assert_eq!(memtable.get("tanzania:capital"), Some(&Entry::Tombstone));
        assert_eq!(memtable.get("never:written"), Some(&Entry::Tombstone));
        assert_eq!(memtable.approximate_bytes(), 16 + 13);
    }

    #[test]
    fn exercise_2_1_iter_is_sorted_by_key() {
        let mut memtable = Memtable::new();
        for key in [
            "uganda:capital",
            "kenya:capital",
            "rwanda:capital",
            "tanzania:capital",
        ] {
            memtable.put(key, "x");
        }
        let keys: Vec<&str> = memtable.iter().map(|(key, _)| key).collect();
        assert_eq!(
            keys,
            [
                "kenya:capital",
                "rwanda:capital",
                "tanzania:capital",
                "uganda:capital"
            ]
        );
    }
}
