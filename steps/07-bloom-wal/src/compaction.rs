//! Compaction: merging several SSTables into one, in the background.
//!
//! The idea: every flush adds a table and none ever goes away, so without
//! compaction disk use only grows (an overwritten value stays on disk
//! forever) and a read that misses looks in more and more files. A
//! compaction reads some tables side by side, in key order, and writes one
//! table with the newest entry of each key. Because every table is sorted,
//! this is the merge step of merge sort: it streams, holding one line and a
//! small read buffer per input, however big the tables are.
//!
//! Which tables: when there are `compaction_threshold` tables or more, the
//! tree shaker picks the newest table and walks towards older ones, adding
//! each next older table while it is no bigger than everything picked so far.
//! Small recent tables are merged with each other often; a big old table is
//! rewritten only once the newer data has grown as big as it. (A size-tiered
//! policy, in the family of Cassandra's and RocksDB's "universal"
//! compaction; chapter 5 of the book compares it with LevelDB's levels.)
//!
//! Tombstones: a tombstone may be dropped only if the merge includes the
//! oldest table. Otherwise an older table outside the merge may still hold a
//! value for the key, and the tombstone is what hides it.
//!
//! A table has an index beside it, the `.idx`, and a bloom filter, the
//! `.bloom`. A merge reads its inputs from their first lines, so it has no
//! use for their indexes or filters; the merged table gets its own index and
//! filter from the table writer as the merge streams through it, and
//! removing an input removes all three of its files.
//!
//! Shortcuts, and what they cost:
//! - the shaker compacts between flushes, so while it merges, frozen
//!   memtables wait (and, if the queue fills, so do writers);
//! - a merge rewrites its inputs whole: no partial, key-range compactions;
//! - picking a head among k inputs is a linear scan, fine for the handful of
//!   tables a merge takes (a heap would pay off for dozens).
//!
//! Invariants:
//! - the merged table holds, for each key in any input, the entry of the
//!   newest input that has the key, except tombstones when the merge
//!   includes the oldest table;
//! - the merged table replaces its inputs in one step for readers (under the
//!   write lock) and on disk (by the manifest), and the inputs' files, each
//!   table with its index and filter, are removed only after that (one that cannot
//!   be is logged and left for the next start, which removes every file no
//!   manifest names).
//!
//! Read alongside chapter 5 of the book, "Compaction".

use std::ops::Range;

use crate::Result;
use crate::file_set;
use crate::files;
use crate::manifest;
use crate::memtable::Entry;
use crate::shared::Shared;
use crate::sstable::{Entries, SsTable, TableWriter};
use crate::state::Change;

/// Picks the tables to merge, as a range of `sizes` (the tables' sizes in
/// bytes, oldest first): `None` while there are fewer than `threshold`
/// tables or nothing worth merging.
pub fn pick(sizes: &[u64], threshold: usize) -> Option<Range<usize>> {
    if sizes.len() < threshold.max(2) {
        return None;
    }
    let mut start = sizes.len() - 1;
    let mut picked = sizes[start];
    while start > 0 && sizes[start - 1] <= picked {
        start -= 1;
        picked += sizes[start];
    }
    // Merging one table with nothing would only rewrite it.
    (sizes.len() - start >= 2).then_some(start..sizes.len())
}

/// The entries of several tables merged into one sorted stream, where each
/// key appears once, with the entry of the newest table that has it.
pub struct Merge {
    /// The inputs, newest first.
    inputs: Vec<Entries>,
    /// The next entry of each input; `None` once the input is used up.
    heads: Vec<Option<(String, Entry)>>,
}

impl Merge {
    /// Merges `tables`, given newest first.
    pub fn new(tables: &[&SsTable]) -> Result<Merge> {
        let mut merge = Merge {
            inputs: Vec::new(),
            heads: Vec::new(),
        };
        for table in tables {
            merge.inputs.push(table.entries()?);
            merge.heads.push(None);
            merge.advance(merge.inputs.len() - 1)?;
        }
        Ok(merge)
    }

    /// Replaces the head of input `index` with that input's next entry.
    fn advance(&mut self, index: usize) -> Result<()> {
        self.heads[index] = self.inputs[index].next().transpose()?;
        Ok(())
    }
}

impl Iterator for Merge {
    type Item = Result<(String, Entry)>;

    fn next(&mut self) -> Option<Self::Item> {
        // Exercise 5.1: take the smallest head (the newest input's on a tie) and skip that key in the other inputs
        // `min_by` keeps the first of equal elements, and the inputs are
        // newest first, so on a tie the newest input wins.
        let winner = (0..self.heads.len())
            .filter_map(|index| Some((index, &self.heads[index].as_ref()?.0)))
            .min_by(|(_, key), (_, other)| key.cmp(other))
            .map(|(index, _)| index)?;
        let (key, entry) = self.heads[winner].take()?;
        for index in 0..self.heads.len() {
            let same_key = self.heads[index]
                .as_ref()
                .is_some_and(|(other, _)| *other == key);
            if (index == winner || same_key)
                && let Err(error) = self.advance(index)
            {
                return Some(Err(error));
            }
        }
        Some(Ok((key, entry)))
    }
}

/// Writes the merge of `inputs` (newest first) to a new table at `path`.
/// Tombstones are dropped only if `includes_oldest`: then no table older
/// than the merge is left for them to hide anything in.
pub fn write_merged(
    inputs: &[&SsTable],
    includes_oldest: bool,
    path: &std::path::Path,
) -> Result<(SsTable, usize)> {
    // Exercise 5.2: stream the merge into a TableWriter, keeping tombstones unless the oldest table is merged
    let mut writer = TableWriter::create(path)?;
    let mut written = 0;
    for entry in Merge::new(inputs)? {
        let (key, entry) = entry?;
        if entry == Entry::Tombstone && includes_oldest {
            continue;
        }
        writer.push(&key, &entry)?;
        written += 1;
    }
    Ok((writer.finish()?, written))
}

/// Merges the tables that [`pick`] chooses, if any, and swaps the result in.
/// Returns whether it merged anything. Runs on the tree shaker's thread,
/// which is the only thread that flushes and merges; a clear waits for it
/// to be idle, and keeps it so until the clear is done.
pub fn compact_if_needed(shared: &Shared) -> Result<bool> {
    // The plan is made on a snapshot, with no lock held while the files are
    // measured; it goes ahead only if the tables are still that snapshot.
    let tables = {
        let state = shared.read_state();
        if state.clearing() {
            // Nothing starts during a clear; its end wakes the shaker.
            return Ok(false);
        }
        state.tables()
    };
    let mut sizes = Vec::new();
    for table in tables.iter() {
        // Asked of the open file: a `clear` may remove the names meanwhile.
        sizes.push(table.file_bytes()?);
    }
    let Some(range) = pick(&sizes, shared.compaction_threshold) else {
        return Ok(false);
    };
    let Some(number) = shared.write_state().begin_merge(&tables, range.clone()) else {
        // A `clear` changed the tables meanwhile: plan again.
        return Ok(true);
    };
    let result = merge_and_install(shared, range.clone(), &tables[range], number);
    shared.write_state().end_merge();
    shared.mailbox.tick();
    result.map(|()| true)
}

/// Writes the merge of `inputs` (the tables in `range`, oldest first) to
/// table `number`, then installs it.
fn merge_and_install(
    shared: &Shared,
    range: Range<usize>,
    inputs: &[SsTable],
    number: u64,
) -> Result<()> {
    let newest_first: Vec<&SsTable> = inputs.iter().rev().collect();
    let path = files::table_path(&shared.directory, number);
    let (merged, entries) = write_merged(&newest_first, range.start == 0, &path)?;
    install(shared, range, merged)?;
    tracing::info!(
        "compacted {} tables into {} ({entries} entries)",
        inputs.len(),
        manifest::file_name(&path)
    );
    Ok(())
}

/// Puts `merged` in the place of the tables in `range`: first on disk, by
/// writing a manifest that names it instead of them, then for readers, under
/// the write lock, and only then removes the inputs' files.
pub(crate) fn install(shared: &Shared, range: Range<usize>, merged: SsTable) -> Result<()> {
    // Exercise 5.3: put the merged table in place of its inputs, on disk then for readers, then remove the inputs
    let replaced = file_set::log_and_apply(
        shared,
        Change::Merged {
            range,
            table: merged,
        },
    )?;
    // New readers no longer find the replaced tables. A reader that took
    // its snapshot before the swap may still be reading them: it reads
    // through the files it holds open, which removing the names leaves be.
    for table in &replaced {
        // The merge is durable: an input that cannot be removed is only a
        // leftover, which the next start removes, and no reason to stop.
        if let Err(error) = table.remove_files() {
            tracing::warn!("merge: {error}; the next start removes it");
        }
    }
    // No directory sync: the manifest no longer names these files, and a
    // file no manifest names is removed at the next start, so whether the
    // removals survive a power cut changes nothing.
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::checksum::Checksum;
    use crate::manifest::LiveTable;
    use crate::store::Store;
    use crate::{Error, Options};

    /// Writes `text` as table `name` in `directory`, for a merge to read:
    /// with an empty index and an empty filter, so a lookup in it finds
    /// nothing. A merge reads tables from their first line and never needs
    /// either; a test that looks keys up uses `indexed_table`.
    fn merge_input(directory: &Path, name: &str, text: &str) -> SsTable {
        let path = directory.join(name);
        fs::write(&path, text).unwrap();
        SsTable::with_sidecars(
            &path,
            crate::index::Index::new(),
            crate::bloom::BloomFilter::from_hashes(&[]),
            Checksum::of_path(&path).unwrap(),
        )
        .unwrap()
    }

    /// Writes `text` as table `name` in `directory`, with its index.
    fn indexed_table(directory: &Path, name: &str, text: &str) -> SsTable {
        let path = directory.join(name);
        fs::write(&path, text).unwrap();
        SsTable::open(&path, Checksum::of_path(&path).unwrap()).unwrap()
    }

    fn value(text: &str) -> Entry {
        Entry::Value(text.to_string())
    }

    fn merged(tables: &[&SsTable]) -> Result<Vec<(String, Entry)>> {
        Merge::new(tables)?.collect()
    }

    #[test]
    fn exercise_5_1_keys_come_out_sorted_and_the_newest_entry_wins() {
        let directory = tempfile::tempdir().unwrap();
        let older = merge_input(
            directory.path(),
            "000001.sst",
            "kenya:capital→Nairobi\ntanzania:capital→Dar es Salaam\n",
        );
        let newer = merge_input(
            directory.path(),
            "000002.sst",
            "rwanda:capital→Kigali\ntanzania:capital→Dodoma\n",
        );
        let expected = vec![
            ("kenya:capital".to_string(), value("Nairobi")),
            ("rwanda:capital".to_string(), value("Kigali")),
            ("tanzania:capital".to_string(), value("Dodoma")),
        ];
        assert_eq!(merged(&[&newer, &older]).unwrap(), expected);
    }

    #[test]
    fn exercise_5_1_tombstones_pass_through_and_win_when_newer() {
        let directory = tempfile::tempdir().unwrap();
        let oldest = merge_input(directory.path(), "000001.sst", "a→1\nb→1\nc→1\n");
        let middle = merge_input(directory.path(), "000002.sst", "b→†\nd→†\n");
        let newest = merge_input(directory.path(), "000003.sst", "c→3\nd→3\n");
        let expected = vec![
            ("a".to_string(), value("1")),
            ("b".to_string(), Entry::Tombstone),
            ("c".to_string(), value("3")),
            ("d".to_string(), value("3")),
        ];
        assert_eq!(merged(&[&newest, &middle, &oldest]).unwrap(), expected);
        assert_eq!(merged(&[]).unwrap(), []);
    }

    #[test]
    fn exercise_5_1_a_damaged_input_stops_the_merge_with_its_error() {
        let directory = tempfile::tempdir().unwrap();
        let good = merge_input(directory.path(), "000001.sst", "a→1\nz→1\n");
        let damaged = merge_input(directory.path(), "000002.sst", "b→2\nbroken\n");
        let error = merged(&[&damaged, &good]).unwrap_err();
        assert!(
            matches!(&error, Error::Corrupt { path, line: 2, .. } if path.ends_with("000002.sst")),
            "{error}"
        );
    }

    #[ignore = "needs exercise 7.1 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn exercise_5_2_tombstones_stay_unless_the_oldest_table_is_merged() {
        let directory = tempfile::tempdir().unwrap();
        let older = merge_input(directory.path(), "000001.sst", "a→1\nb→1\n");
        let newer = merge_input(directory.path(), "000002.sst", "b→†\nc→†\n");
        let output = directory.path().join("000003.sst");
        let (_, written) = write_merged(&[&newer, &older], false, &output).unwrap();
        assert_eq!(fs::read_to_string(&output).unwrap(), "a→1\nb→†\nc→†\n");
        assert_eq!(written, 3);
        let (_, written) = write_merged(&[&newer, &older], true, &output).unwrap();
        assert_eq!(fs::read_to_string(&output).unwrap(), "a→1\n");
        assert_eq!(written, 1);
    }

    #[test]
    fn exercise_5_2_a_merge_of_only_tombstones_is_an_empty_table() {
        let directory = tempfile::tempdir().unwrap();
        let only = merge_input(directory.path(), "000001.sst", "a→†\n");
        let output = directory.path().join("000002.sst");
        let (merged, written) = write_merged(&[&only], true, &output).unwrap();
        assert_eq!(
            (fs::read_to_string(merged.path()).unwrap(), written),
            (String::new(), 0)
        );
    }

    /// Options under which the store neither flushes nor merges by itself:
    /// these tests do both by hand.
    fn only_by_hand() -> Options {
        Options {
            memtable_bytes: usize::MAX,
            compaction_threshold: usize::MAX,
            ..Options::default()
        }
    }

    /// A store over tables written by hand, which never merges by itself.
    fn store_with_tables(directory: &Path, texts: &[&str]) -> Store {
        let mut live = Vec::new();
        for (index, text) in texts.iter().enumerate() {
            let name = format!("{:06}.sst", index + 1);
            fs::write(directory.join(&name), text).unwrap();
            let checksum = Checksum::of_path(&directory.join(&name)).unwrap();
            live.push(manifest::LiveTable { name, checksum });
        }
        // The manifest names log 1 as the oldest needed: it must exist.
        manifest::write(directory, &live, 1).unwrap();
        crate::wal::Wal::create(&crate::files::log_path(directory, 1), 0).unwrap();
        Store::open(directory, only_by_hand()).unwrap()
    }

    /// The file names of the store's tables, oldest first.
    fn table_names(store: &Store) -> Vec<String> {
        let tables = store.shared.read_state().tables();
        tables
            .iter()
            .map(|table| LiveTable::of(table).name)
            .collect()
    }

    fn files(directory: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(directory)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        files
    }

    #[ignore = "needs exercise 7.1 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn exercise_5_3_the_merged_table_replaces_its_inputs() {
        let directory = tempfile::tempdir().unwrap();
        let store = store_with_tables(directory.path(), &["a→1\n", "a→2\n", "b→3\n"]);
        let merged = indexed_table(directory.path(), "000009.sst", "a→2\nb→3\n");
        install(&store.shared, 1..3, merged).unwrap();
        let live = manifest::read(directory.path()).unwrap().unwrap();
        let live: Vec<&str> = live
            .tables
            .iter()
            .map(|table| table.name.as_str())
            .collect();
        assert_eq!(live, ["000001.sst", "000009.sst"]);
        let names: Vec<String> = files(directory.path())
            .iter()
            .map(|path| manifest::file_name(path))
            .collect();
        assert_eq!(
            names,
            [
                "000001.bloom",
                "000001.idx",
                "000001.sst",
                "000002.wal",
                "000009.bloom",
                "000009.idx",
                "000009.sst",
                "LOCK",
                "MANIFEST",
            ],
            "the inputs are removed"
        );
        assert_eq!(table_names(&store), ["000001.sst", "000009.sst"]);
        let expected = [
            ("a".to_string(), "2".to_string()),
            ("b".to_string(), "3".to_string()),
        ];
        assert_eq!(store.scan().unwrap(), expected);
    }

    #[ignore = "needs exercise 7.1 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn exercise_5_3_the_swap_survives_reopening() {
        let directory = tempfile::tempdir().unwrap();
        let store = store_with_tables(directory.path(), &["a→1\nb→1\n", "a→†\n"]);
        let merged = indexed_table(directory.path(), "000003.sst", "b→1\n");
        install(&store.shared, 0..2, merged).unwrap();
        drop(store);
        let store = Store::open(directory.path(), only_by_hand()).unwrap();
        assert_eq!(store.scan().unwrap(), [("b".to_string(), "1".to_string())]);
        assert_eq!(table_names(&store), ["000003.sst"]);
    }

    #[ignore = "needs exercise 7.1 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn a_snapshot_taken_before_the_swap_still_reads_its_tables() {
        let directory = tempfile::tempdir().unwrap();
        let store = store_with_tables(directory.path(), &["a→1\n", "a→2\n", "b→3\n"]);
        let before = store.shared.read_state().tables();
        let merged = merge_input(directory.path(), "000009.sst", "a→2\nb→3\n");
        install(&store.shared, 1..3, merged).unwrap();
        assert!(
            !directory.path().join("000002.sst").exists(),
            "the input is removed"
        );
        // A reader that took its snapshot before the swap reads on, through
        // the files its tables hold open.
        assert_eq!(before[1].get("a").unwrap(), Some(value("2")));
        assert_eq!(before[2].get("b").unwrap(), Some(value("3")));
        assert_eq!(store.shared.read_state().tables().len(), 2);
    }

    #[test]
    fn nothing_is_picked_below_the_threshold() {
        assert_eq!(pick(&[10, 10, 10], 4), None);
        assert_eq!(pick(&[], 4), None);
    }

    #[test]
    fn tables_of_the_same_size_are_all_merged() {
        assert_eq!(pick(&[10, 10, 10, 10], 4), Some(0..4));
    }

    #[test]
    fn a_big_old_table_waits_until_the_new_data_is_as_big() {
        // 1 + 1 + 2 = 4 is less than 100: the big table stays.
        assert_eq!(pick(&[100, 2, 1, 1], 4), Some(1..4));
        assert_eq!(pick(&[100, 60, 30, 20, 10, 10], 4), Some(0..6));
        assert_eq!(
            pick(&[100, 50, 10, 1], 4),
            None,
            "merging one table would only rewrite it"
        );
    }
}
