//! The `step-07` server: parse the flags, open the store, serve it.
//!
//! Try it: `cargo run -p step-07`, then in another terminal
//! `curl -X PUT localhost:8888/kv/kenya:capital -d Nairobi`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use step_07::{Result, Store, http};

/// little-kv, step 07: bloom filters and a write-ahead log.
#[derive(Parser)]
struct Args {
    /// The TCP port to listen on, on 127.0.0.1.
    #[arg(long, default_value_t = 8888)]
    port: u16,

    /// The directory for the store's files. Every step accepts it so that all
    /// steps take the same flags; this one keeps its tables there.
    #[arg(long, default_value = "data")]
    working_dir: PathBuf,

    /// Flush the memtable to a new table once it holds this many bytes of
    /// keys and values.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    memtable_bytes: usize,

    /// How many full memtables may wait for the tree shaker before writes
    /// wait too. Two lets writes go on while one table is being written and
    /// the next is queued; more would only use more memory when the disk is
    /// slower than the writes.
    #[arg(long, default_value_t = 2)]
    max_frozen_memtables: usize,

    /// Consider merging tables once there are this many. Four keeps a read
    /// that misses down to a few files, and bounds the disk used by data
    /// that was overwritten to about three times the live data.
    #[arg(long, default_value_t = 4)]
    compaction_threshold: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt().with_target(false).init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the store, serves it until SIGTERM or SIGINT, then flushes it.
fn run(args: Args) -> Result<()> {
    let store = Arc::new(Store::open(
        &args.working_dir,
        args.memtable_bytes,
        args.max_frozen_memtables,
        args.compaction_threshold,
    )?);
    let served = http::run(args.port, Arc::clone(&store));
    // Flush even if serving failed: the memtable holds acknowledged writes.
    store.flush()?;
    served
}
