//! The `solution-07` server: parse the flags, open the store, serve it.
//!
//! Try it: `cargo run -p solution-07`, then in another terminal
//! `curl -X PUT localhost:8888/kv/kenya:capital -d Nairobi`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use solution_07::{Options, Result, Store, http};

/// little-kv, step 07: bloom filters and a write-ahead log.
#[derive(Parser)]
struct Args {
    /// The TCP port to listen on, on 127.0.0.1.
    #[arg(long, default_value_t = 8888)]
    port: u16,

    /// The directory for the store's files. Every step accepts it so that all
    /// steps take the same flags; this one keeps its tables and logs there.
    #[arg(long, default_value = "data")]
    working_dir: PathBuf,

    /// Flush the memtable to a new table once it holds this many bytes of
    /// keys and values.
    #[arg(long, default_value_t = Options::default().memtable_bytes)]
    memtable_bytes: usize,

    /// How many full memtables may wait for the tree shaker before writes
    /// wait too.
    #[arg(long, default_value_t = Options::default().max_frozen_memtables)]
    max_frozen_memtables: usize,

    /// Consider merging tables once there are this many.
    #[arg(long, default_value_t = Options::default().compaction_threshold)]
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

/// Takes the port, opens the store, serves it until SIGTERM or SIGINT, then
/// flushes it.
fn run(args: Args) -> Result<()> {
    let options = Options {
        memtable_bytes: args.memtable_bytes,
        max_frozen_memtables: args.max_frozen_memtables,
        compaction_threshold: args.compaction_threshold,
    };
    // The port first: a start that cannot serve fails before opening the
    // store reads or removes a file.
    let listener = http::listen(args.port)?;
    let store = Arc::new(Store::open(&args.working_dir, options)?);
    let served = http::run(listener, Arc::clone(&store));
    // Flush even if serving failed: the memtable holds acknowledged writes.
    store.flush()?;
    // The power-loss check (tests/tests/power_loss.rs) takes this line as
    // the store's promise that every write answered so far is on disk.
    tracing::info!("stopped: every write answered 200 is in a table");
    served
}
