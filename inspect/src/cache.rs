//! Tables read once and kept, for a look that comes back again and again
//! (`--serve`): a table is read again only when its file changed.
//!
//! The idea: the store never changes a table in place. A table, its index
//! and its filter are each written under a `.tmp` name and renamed into
//! place whole, and removed whole by a merge or a clear (see the `//!` of
//! `files.rs` in the steps). So a table whose file, index and filter have
//! the same size and modification time as at the last look holds the same
//! bytes, and what was parsed then is still what is on disk. A directory
//! of 1,000 tables where one was just flushed costs 1,000 `stat`s per look
//! (3,000 with sidecars), and one read.
//!
//! Shortcuts, and what they cost:
//! - the size and time are taken before the read: a file replaced at that
//!   very moment is parsed in its new form under its old stamp, and read
//!   again at the next look, whose stamp differs. A file rewritten in
//!   place with the same size within one tick of the clock would be
//!   missed; the store never writes one so.
//!
//! Invariants:
//! - a look through the cache gives the same [`Tree`](crate::Tree) as a
//!   look without it (a test compares the two);
//! - the cache keeps only the tables of the last look.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use solution_07::format::{BloomFilter, Index};

use crate::Step;
use crate::sidecars::{self, Sidecar};
use crate::table::{self, TableFile};

/// A table as loaded: its file and, where `step` has them, its sidecars.
pub(crate) type Loaded = (
    Arc<TableFile>,
    Option<Sidecar<Index>>,
    Option<Sidecar<BloomFilter>>,
);

/// The size and modification time of a table, its index and its filter
/// (`None` for a file that is not there).
type Stamp = [Option<(u64, SystemTime)>; 3];

/// The tables of the last look, by name.
#[derive(Debug, Default)]
pub struct TableCache {
    tables: HashMap<String, (Step, Stamp, Loaded)>,
    /// The names looked at since [`TableCache::forget_unused`].
    used: HashSet<String>,
    /// How many tables were read from disk, not from the cache.
    pub reads: usize,
}

impl TableCache {
    /// The table `name` in `directory`, as `step` reads it: from the cache
    /// if none of its files changed, else from disk. `Err` is the read's
    /// error, as [`table::read`] gives it.
    pub(crate) fn load(&mut self, directory: &Path, step: Step, name: &str) -> io::Result<Loaded> {
        self.used.insert(name.to_string());
        let stamp = stamp(directory, name);
        if let Some((cached_step, cached_stamp, loaded)) = self.tables.get(name)
            && *cached_step == step
            && *cached_stamp == stamp
            && stamp[0].is_some()
        {
            return Ok(loaded.clone());
        }
        self.reads += 1;
        let file = table::read(directory, name)?;
        let index = step.has_index().then(|| sidecars::index(directory, &file));
        let filter = step
            .has_filter_and_logs()
            .then(|| sidecars::filter(directory, &file));
        let loaded = (Arc::new(file), index, filter);
        self.tables
            .insert(name.to_string(), (step, stamp, loaded.clone()));
        Ok(loaded)
    }

    /// Drops every table not loaded since the last call: the tables a merge
    /// or a clear removed.
    pub(crate) fn forget_unused(&mut self) {
        let used = std::mem::take(&mut self.used);
        self.tables.retain(|name, _| used.contains(name));
    }
}

fn stamp(directory: &Path, name: &str) -> Stamp {
    let of = |name: &str| {
        let metadata = fs::metadata(directory.join(name)).ok()?;
        Some((metadata.len(), metadata.modified().ok()?))
    };
    [
        of(name),
        of(&sidecars::name_for(name, "idx")),
        of(&sidecars::name_for(name, "bloom")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Tree, summary, verify};

    #[test]
    fn a_table_is_read_again_only_when_it_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        let step = Some(Step::new(7).unwrap());
        fs::write(path.join("000001.sst"), "a→1\nb→2\n").unwrap();
        fs::write(path.join("000002.sst"), "a→†\n").unwrap();
        let mut cache = TableCache::default();
        let same_as_uncached = |cache: &mut TableCache| {
            let cached = Tree::read_cached(path, step, cache).unwrap();
            let fresh = Tree::read(path, step).unwrap();
            assert_eq!(summary::render(&cached), summary::render(&fresh));
            assert_eq!(verify::render(&cached), verify::render(&fresh));
        };
        same_as_uncached(&mut cache);
        assert_eq!(cache.reads, 2);
        same_as_uncached(&mut cache);
        assert_eq!(cache.reads, 2, "nothing changed, nothing read");

        // A new table, and a table replaced by one of another size: read.
        fs::write(path.join("000003.sst"), "c→3\n").unwrap();
        fs::write(path.join("000001.sst"), "a→1\nb→22\n").unwrap();
        same_as_uncached(&mut cache);
        assert_eq!(cache.reads, 4);

        // A sidecar that appears changes what the table's look shows.
        fs::write(path.join("000002.bloom"), "not a filter\n").unwrap();
        same_as_uncached(&mut cache);
        assert_eq!(cache.reads, 5);

        // A table removed is forgotten.
        fs::remove_file(path.join("000003.sst")).unwrap();
        same_as_uncached(&mut cache);
        assert_eq!(cache.tables.len(), 2);
    }
}
