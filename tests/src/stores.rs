//! One [`Harness`] per solution, so that one test body can drive every step.
//!
//! Each step's crate has its own `Storage` trait (a step must build on its
//! own, so it cannot share a trait with the others). A `Harness` maps the
//! operations the suites need onto one step's `Store`, and says which
//! operations the step has at all: steps 01 and 02 live in memory, so for
//! them "flush" and "reopen" do nothing and the model keeps its data.

use std::path::Path;

/// The memtable threshold the harness opens disk-backed stores with: small,
/// so that random operation sequences also flush on their own.
pub const SMALL_MEMTABLE_BYTES: usize = 64;

/// How many frozen memtables may wait for the tree shaker (step 04 on): the
/// server's default.
pub const FROZEN_MEMTABLES: usize = 2;

/// The number of tables at which the harness's stores (step 05 on) consider
/// merging: small, so that random sequences merge often.
pub const COMPACTION_THRESHOLD: usize = 3;

/// What the suites do to a store. Failures panic: this is test code, and the
/// panic message is the test's report.
pub trait Harness: Sized {
    /// The solution's package name, for messages.
    const NAME: &'static str;
    /// Whether the store keeps its data in files (step 03 on).
    const HAS_DISK: bool;

    /// Opens a store whose files (if it has any) go to `directory`, with a
    /// memtable of [`SMALL_MEMTABLE_BYTES`].
    fn open(directory: &Path) -> Self {
        Self::try_open(directory, SMALL_MEMTABLE_BYTES)
            .unwrap_or_else(|error| panic!("{}: open: {error}", Self::NAME))
    }
    /// Opens a store that flushes its memtable at `memtable_bytes` (where it
    /// has a disk), or returns the error's message (e.g. for a corrupt file).
    fn try_open(directory: &Path, memtable_bytes: usize) -> Result<Self, String>;
    fn set(&self, key: &str, value: &str);
    fn get(&self, key: &str) -> Option<String>;
    fn delete(&self, key: &str);
    fn clear(&self);
    /// Every live key and value in key order, where the step can list them.
    fn scan(&self) -> Option<Vec<(String, String)>>;
    /// Writes the memtable to disk, where the step has a disk.
    fn flush(&self);
    /// Stops the store gracefully and opens it again from `directory`.
    fn reopen(self, directory: &Path) -> Self;
}

impl Harness for solution_01::Store {
    const NAME: &'static str = "solution-01";
    const HAS_DISK: bool = false;

    fn try_open(_directory: &Path, _memtable_bytes: usize) -> Result<Self, String> {
        Ok(solution_01::Store::new())
    }
    fn set(&self, key: &str, value: &str) {
        solution_01::Storage::set(self, key, value).unwrap()
    }
    fn get(&self, key: &str) -> Option<String> {
        solution_01::Storage::get(self, key).unwrap()
    }
    fn delete(&self, key: &str) {
        solution_01::Storage::delete(self, key).unwrap()
    }
    fn clear(&self) {
        solution_01::Storage::clear(self).unwrap()
    }
    fn scan(&self) -> Option<Vec<(String, String)>> {
        None
    }
    fn flush(&self) {}
    fn reopen(self, _directory: &Path) -> Self {
        self
    }
}

impl Harness for solution_02::Store {
    const NAME: &'static str = "solution-02";
    const HAS_DISK: bool = false;

    fn try_open(_directory: &Path, _memtable_bytes: usize) -> Result<Self, String> {
        Ok(solution_02::Store::new())
    }
    fn set(&self, key: &str, value: &str) {
        solution_02::Storage::set(self, key, value).unwrap()
    }
    fn get(&self, key: &str) -> Option<String> {
        solution_02::Storage::get(self, key).unwrap()
    }
    fn delete(&self, key: &str) {
        solution_02::Storage::delete(self, key).unwrap()
    }
    fn clear(&self) {
        solution_02::Storage::clear(self).unwrap()
    }
    fn scan(&self) -> Option<Vec<(String, String)>> {
        Some(self.scan().unwrap())
    }
    fn flush(&self) {}
    fn reopen(self, _directory: &Path) -> Self {
        self
    }
}

/// The `Harness` of a step with a disk (03 on): every such step has the same
/// operations, and only how its store is opened differs. (A macro, because
/// each step's `Store` and `Storage` are types of a different crate.)
macro_rules! disk_harness {
    ($krate:ident, $name:literal, |$directory:ident, $memtable_bytes:ident| $open:expr) => {
        impl Harness for $krate::Store {
            const NAME: &'static str = $name;
            const HAS_DISK: bool = true;

            fn try_open($directory: &Path, $memtable_bytes: usize) -> Result<Self, String> {
                $open.map_err(|error| error.to_string())
            }
            fn set(&self, key: &str, value: &str) {
                $krate::Storage::set(self, key, value).unwrap()
            }
            fn get(&self, key: &str) -> Option<String> {
                $krate::Storage::get(self, key).unwrap()
            }
            fn delete(&self, key: &str) {
                $krate::Storage::delete(self, key).unwrap()
            }
            fn clear(&self) {
                $krate::Storage::clear(self).unwrap()
            }
            fn scan(&self) -> Option<Vec<(String, String)>> {
                Some($krate::Store::scan(self).unwrap())
            }
            fn flush(&self) {
                $krate::Store::flush(self).unwrap()
            }
            fn reopen(self, directory: &Path) -> Self {
                $krate::Store::flush(&self).unwrap();
                drop(self);
                <Self as Harness>::open(directory)
            }
        }
    };
}

disk_harness!(solution_03, "solution-03", |directory, memtable_bytes| {
    solution_03::Store::open(directory, memtable_bytes)
});
disk_harness!(solution_04, "solution-04", |directory, memtable_bytes| {
    solution_04::Store::open(directory, memtable_bytes, FROZEN_MEMTABLES)
});
disk_harness!(solution_05, "solution-05", |directory, memtable_bytes| {
    solution_05::Store::open(
        directory,
        memtable_bytes,
        FROZEN_MEMTABLES,
        COMPACTION_THRESHOLD,
    )
});
disk_harness!(solution_06, "solution-06", |directory, memtable_bytes| {
    solution_06::Store::open(
        directory,
        memtable_bytes,
        FROZEN_MEMTABLES,
        COMPACTION_THRESHOLD,
    )
});
disk_harness!(solution_07, "solution-07", |directory, memtable_bytes| {
    solution_07::Store::open(
        directory,
        memtable_bytes,
        FROZEN_MEMTABLES,
        COMPACTION_THRESHOLD,
    )
});
