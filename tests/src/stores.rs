//! One [`Harness`] per solution, so that one test body can drive every step.
//!
//! Each step's crate has its own `Storage` trait (a step must build on its
//! own, so it cannot share a trait with the others). A `Harness` maps the
//! operations the suites need onto one step's `Store`, and says which
//! operations the step has at all: steps 01 and 02 live in memory, so for
//! them "flush" and "reopen" do nothing and the model keeps its data.
//!
//! The harnesses of steps 03 to 07 are the same but for two things: the crate
//! each one names (a generic function cannot call five crates' different
//! `Storage` traits), and the knobs it sets in that crate's `Options`: the
//! memtable size it is given, then [`FROZEN_MEMTABLES`] from step 04 on and
//! [`COMPACTION_THRESHOLD`] from step 05 on.

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
    /// Stops the store gracefully (a flush) and opens it again from
    /// `directory`. A store without a disk has nowhere to keep its data in
    /// between, so it stays as it is.
    fn reopen(self, directory: &Path) -> Self {
        if !Self::HAS_DISK {
            return self;
        }
        self.flush();
        drop(self);
        Self::open(directory)
    }
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
}

impl Harness for solution_03::Store {
    const NAME: &'static str = "solution-03";
    const HAS_DISK: bool = true;

    fn try_open(directory: &Path, memtable_bytes: usize) -> Result<Self, String> {
        let options = solution_03::Options { memtable_bytes };
        crate::lent_lock::again_while_lent(|| solution_03::Store::open(directory, options.clone()))
            .map_err(|error| error.to_string())
    }
    fn set(&self, key: &str, value: &str) {
        solution_03::Storage::set(self, key, value).unwrap()
    }
    fn get(&self, key: &str) -> Option<String> {
        solution_03::Storage::get(self, key).unwrap()
    }
    fn delete(&self, key: &str) {
        solution_03::Storage::delete(self, key).unwrap()
    }
    fn clear(&self) {
        solution_03::Storage::clear(self).unwrap()
    }
    fn scan(&self) -> Option<Vec<(String, String)>> {
        Some(solution_03::Store::scan(self).unwrap())
    }
    fn flush(&self) {
        solution_03::Store::flush(self).unwrap()
    }
}

impl Harness for solution_04::Store {
    const NAME: &'static str = "solution-04";
    const HAS_DISK: bool = true;

    fn try_open(directory: &Path, memtable_bytes: usize) -> Result<Self, String> {
        let options = solution_04::Options {
            memtable_bytes,
            max_frozen_memtables: FROZEN_MEMTABLES,
        };
        crate::lent_lock::again_while_lent(|| solution_04::Store::open(directory, options.clone()))
            .map_err(|error| error.to_string())
    }
    fn set(&self, key: &str, value: &str) {
        solution_04::Storage::set(self, key, value).unwrap()
    }
    fn get(&self, key: &str) -> Option<String> {
        solution_04::Storage::get(self, key).unwrap()
    }
    fn delete(&self, key: &str) {
        solution_04::Storage::delete(self, key).unwrap()
    }
    fn clear(&self) {
        solution_04::Storage::clear(self).unwrap()
    }
    fn scan(&self) -> Option<Vec<(String, String)>> {
        Some(solution_04::Store::scan(self).unwrap())
    }
    fn flush(&self) {
        solution_04::Store::flush(self).unwrap()
    }
}

impl Harness for solution_05::Store {
    const NAME: &'static str = "solution-05";
    const HAS_DISK: bool = true;

    fn try_open(directory: &Path, memtable_bytes: usize) -> Result<Self, String> {
        let options = solution_05::Options {
            memtable_bytes,
            max_frozen_memtables: FROZEN_MEMTABLES,
            compaction_threshold: COMPACTION_THRESHOLD,
        };
        crate::lent_lock::again_while_lent(|| solution_05::Store::open(directory, options.clone()))
            .map_err(|error| error.to_string())
    }
    fn set(&self, key: &str, value: &str) {
        solution_05::Storage::set(self, key, value).unwrap()
    }
    fn get(&self, key: &str) -> Option<String> {
        solution_05::Storage::get(self, key).unwrap()
    }
    fn delete(&self, key: &str) {
        solution_05::Storage::delete(self, key).unwrap()
    }
    fn clear(&self) {
        solution_05::Storage::clear(self).unwrap()
    }
    fn scan(&self) -> Option<Vec<(String, String)>> {
        Some(solution_05::Store::scan(self).unwrap())
    }
    fn flush(&self) {
        solution_05::Store::flush(self).unwrap()
    }
}

impl Harness for solution_06::Store {
    const NAME: &'static str = "solution-06";
    const HAS_DISK: bool = true;

    fn try_open(directory: &Path, memtable_bytes: usize) -> Result<Self, String> {
        let options = solution_06::Options {
            memtable_bytes,
            max_frozen_memtables: FROZEN_MEMTABLES,
            compaction_threshold: COMPACTION_THRESHOLD,
        };
        crate::lent_lock::again_while_lent(|| solution_06::Store::open(directory, options.clone()))
            .map_err(|error| error.to_string())
    }
    fn set(&self, key: &str, value: &str) {
        solution_06::Storage::set(self, key, value).unwrap()
    }
    fn get(&self, key: &str) -> Option<String> {
        solution_06::Storage::get(self, key).unwrap()
    }
    fn delete(&self, key: &str) {
        solution_06::Storage::delete(self, key).unwrap()
    }
    fn clear(&self) {
        solution_06::Storage::clear(self).unwrap()
    }
    fn scan(&self) -> Option<Vec<(String, String)>> {
        Some(solution_06::Store::scan(self).unwrap())
    }
    fn flush(&self) {
        solution_06::Store::flush(self).unwrap()
    }
}

impl Harness for solution_07::Store {
    const NAME: &'static str = "solution-07";
    const HAS_DISK: bool = true;

    fn try_open(directory: &Path, memtable_bytes: usize) -> Result<Self, String> {
        let options = solution_07::Options {
            memtable_bytes,
            max_frozen_memtables: FROZEN_MEMTABLES,
            compaction_threshold: COMPACTION_THRESHOLD,
        };
        crate::lent_lock::again_while_lent(|| solution_07::Store::open(directory, options.clone()))
            .map_err(|error| error.to_string())
    }
    fn set(&self, key: &str, value: &str) {
        solution_07::Storage::set(self, key, value).unwrap()
    }
    fn get(&self, key: &str) -> Option<String> {
        solution_07::Storage::get(self, key).unwrap()
    }
    fn delete(&self, key: &str) {
        solution_07::Storage::delete(self, key).unwrap()
    }
    fn clear(&self) {
        solution_07::Storage::clear(self).unwrap()
    }
    fn scan(&self) -> Option<Vec<(String, String)>> {
        Some(solution_07::Store::scan(self).unwrap())
    }
    fn flush(&self) {
        solution_07::Store::flush(self).unwrap()
    }
}
