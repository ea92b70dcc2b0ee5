//! The store's knobs: [`Options`], what [`Store::open`](crate::Store::open)
//! takes besides its directory.
//!
//! One struct with a default for every field, instead of one parameter per
//! knob: a caller names the knobs it sets and takes the defaults for the
//! rest, as in `Options { memtable_bytes: 64, ..Options::default() }`, so
//! its call still compiles, and still means the same, when a knob is added.
//! The defaults are the server's: `main.rs` takes the default of each flag
//! from [`Options::default`].
//!
//! The knobs: `memtable_bytes`, the size at which the memtable is frozen,
//! and `max_frozen_memtables`, the bound on the queue of frozen memtables.
//!
//! Read alongside chapter 4 of the book, "The tree shaker".

/// How a [`Store`](crate::Store) is tuned. [`Options::default`] is what the
/// server runs with unless a flag says otherwise.
#[derive(Debug, Clone)]
pub struct Options {
    /// The memtable is written to a new table once it holds this many bytes
    /// of keys and values (see `memtable::entry_bytes`). This bounds the
    /// memory the memtable takes, and, until chapter 7's log, what a crash
    /// loses. The default, 4 MiB, is LevelDB's `write_buffer_size`: big
    /// enough that tables stay few, small enough that writing one is quick.
    pub memtable_bytes: usize,
    /// How many full memtables may wait for the tree shaker before writes
    /// wait too. With the active memtable, this bounds the memory at about
    /// `(max_frozen_memtables + 1) × memtable_bytes`. The default, 2, lets
    /// writes go on while one table is being written and the next is queued;
    /// more would only use more memory when the disk is slower than the
    /// writes. Zero counts as one: a queue of zero would stall every writer.
    pub max_frozen_memtables: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            memtable_bytes: 4 * 1024 * 1024,
            max_frozen_memtables: 2,
        }
    }
}
