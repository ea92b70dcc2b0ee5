//! The `step-02` server: parse the flags, create the store, serve it.
//!
//! Try it: `cargo run -p step-02`, then in another terminal
//! `curl -X PUT localhost:8888/kv/kenya:capital -d Nairobi`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use step_02::{Result, Store, http};

/// little-kv, step 02: a sorted memtable with tombstones.
#[derive(Parser)]
struct Args {
    /// The TCP port to listen on, on 127.0.0.1.
    #[arg(long, default_value_t = 8888)]
    port: u16,

    /// The directory for the store's files. Every step accepts it so that all
    /// steps take the same flags; this one keeps everything in memory.
    #[arg(long, default_value = "data")]
    working_dir: PathBuf,
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

/// Takes the port, creates the store, then serves it until SIGTERM or
/// SIGINT.
fn run(args: Args) -> Result<()> {
    tracing::info!(
        "keeping everything in memory; --working-dir {} is used from step 03 on",
        args.working_dir.display()
    );
    // The port first, so that a start that cannot serve fails at once.
    let listener = http::listen(args.port)?;
    let store = Arc::new(Store::new());
    let served = http::run(listener, store);
    // The stop has nothing to keep on disk, and its last line says so.
    tracing::info!("stopped: this step keeps nothing, so every key is gone");
    served
}
