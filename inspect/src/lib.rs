//! # `cargo inspect`: a read-only look at a little-kv data directory
//!
//! Every file that steps 03 to 07 write is plain text, so `cat` shows any
//! one of them. This shows the tree as a whole: which tables are live and
//! in what order a read looks in them, what the index and the filter of
//! each hold, what the logs would replay, and what does not add up.
//!
//! - `step.rs` says which step wrote the directory, from its files;
//! - `tree_reader.rs` reads the directory once, as that step's recovery
//!   decides what is live, and with the same rules finds what would stop
//!   the store's start; `tree.rs` is what it found, the [`Tree`] every
//!   command looks at; `table.rs`, `sidecars.rs` and `log.rs` read one file
//!   each, `replay.rs` reads a log's batches as replay does, `chain.rs`
//!   says which logs a start replays and what it makes of the others, and
//!   `lock.rs` asks whether a server holds `LOCK`;
//! - the commands: `summary.rs`, `get.rs` (a lookup explained), `verify.rs`
//!   (every rule, `path:line: reason`, and whether the store refuses to
//!   start) and `picture.rs` (an SVG);
//! - `main.rs` parses the command line, and `--watch` refreshes the summary;
//! - `--serve` follows the directory as a web page: `live.rs` looks again
//!   at each change the kernel reports (reading only the tables that
//!   changed, `cache.rs`), `history.rs` names each change as the store
//!   would, and `web.rs` serves `page.html`, which shows any frame of that
//!   timeline through the same `picture`, `summary` and `get`.
//!
//! One definition per format: the inspector reads each file with the
//! parsers of `solution-07` (`solution_07::format`), which read the files
//! of the earlier steps too: `line.rs`, the table, index and check-line
//! formats are the same from the step that adds them to 07, and 07's
//! manifest is that of 05 and 06 with a log line added, which its reader
//! takes as optional. Where steps differ is in *what* they read and how
//! they look a key up, which `step.rs` and `get.rs` name.
//!
//! Invariants:
//! - it only reads: it never creates, changes or removes a file in the data
//!   directory, so it is safe beside a running server;
//! - a damaged, half-written or vanishing file is reported, never a panic;
//! - the output depends only on the files: no time, no hash-map order.
//!
//! Shortcuts, and what they cost:
//! - each file is read whole into memory: fine for a learner's data, not
//!   for gigabytes;
//! - there is no lock against the server (the inspector only asks whether
//!   one holds `LOCK`, and says so): a file may change between two reads,
//!   and the next look shows the new state.

mod cache;
mod chain;
mod error;
pub mod get;
pub mod history;
pub mod live;
mod lock;
mod log;
pub mod picture;
mod problem;
mod replay;
mod sidecars;
mod step;
pub mod summary;
mod table;
pub mod tree;
mod tree_reader;
pub mod verify;
pub mod web;

pub use cache::TableCache;
pub use error::{Error, Result};
pub use lock::{Lock, SERVER_RUNNING};
pub use log::{LogFile, Record};
pub use problem::Problem;
pub use sidecars::Sidecar;
pub use step::Step;
pub use table::{Line, TableFile};
pub use tree::Tree;
