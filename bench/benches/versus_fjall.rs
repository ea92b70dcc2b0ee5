//! Step 07 against fjall, a production LSM engine in Rust, at the engine
//! level (no HTTP), on the same machine in the same run. The vocabulary is
//! LevelDB's `db_bench`: 16-byte keys, 100-byte values;
//! - `fillrandom`: one thread writes every key once, in random order;
//! - `readrandom` / `readmissing`: random reads of present / absent keys,
//!   after everything is flushed;
//! - `readseq`: every key, in order (ours: `scan`);
//! - durable writes: each write acknowledged only once on disk, from 1, 8
//!   and 64 threads (fjall: `insert`, then `persist(SyncData)`);
//! - `open`: the directory opened again, once everything above is written
//!   (opens a second, the median of three).
//!
//! Ours is durable on every write; fjall's `fillrandom` is not (it persists
//! in the background), so that row compares a durable store with a
//! buffered one, and says so. Prints one table and the ratios.
//!
//! With `LITTLE_KV_RESULTS` set (see the crate docs), it also writes the
//! table as `versus_fjall-<keys>.csv` (one file per number of keys, since
//! the book quotes two), one line per workload and engine: chapter 7's
//! chart of durable writes against threads is drawn from it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use benchmarks::Results;
use fjall::{Database, KeyspaceCreateOptions, PersistMode};
use solution_07::Storage as _;

/// How many keys, unless `VERSUS_FJALL_KEYS` says otherwise (the book
/// quotes runs with 100,000 and 1,000,000).
const DEFAULT_KEYS: usize = 100_000;
const READS: usize = 100_000;

/// The `n`th key of a random order: 16 bytes.
fn key(n: usize) -> String {
    format!(
        "{:016}",
        (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % 10_000_000_000_000_000
    )
}

fn value() -> String {
    "v".repeat(100)
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// Runs `work(thread, index)` `count` times spread over `threads` threads.
fn timed(
    threads: usize,
    count: usize,
    work: impl Fn(usize, usize) + Send + Sync + 'static,
) -> Duration {
    let work = Arc::new(work);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|thread| {
            let work = Arc::clone(&work);
            std::thread::spawn(move || {
                for index in (thread..count).step_by(threads) {
                    work(thread, index);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    started.elapsed()
}

/// Prints one workload's line and adds it to `results` as two lines, one
/// per engine; `threads` is 1 for every workload but the durable writes.
fn row(results: &mut Results, workload: &str, threads: usize, ours: f64, theirs: f64) {
    let name = if threads == 1 && workload.starts_with("durable") {
        format!("{workload}, 1 thread")
    } else if workload.starts_with("durable") {
        format!("{workload}, {threads} threads")
    } else {
        workload.to_string()
    };
    println!(
        "{name:<28} {ours:>12.0} {theirs:>12.0} {:>8.2}",
        ours / theirs
    );
    for (engine, rate) in [("step 07", ours), ("fjall", theirs)] {
        results.row(vec![
            workload.to_string(),
            threads.to_string(),
            engine.to_string(),
            format!("{rate:.0}"),
        ]);
    }
}

fn main() {
    if std::env::args()
        .skip(1)
        .any(|arg| !arg.starts_with("--") && !"versus_fjall".contains(arg.as_str()))
    {
        return;
    }
    let keys: usize = match std::env::var("VERSUS_FJALL_KEYS") {
        Ok(keys) => keys.parse().expect("VERSUS_FJALL_KEYS is a number of keys"),
        Err(_) => DEFAULT_KEYS,
    };
    let value = value();
    let ours_directory = tempfile::tempdir().unwrap();
    let ours = Arc::new(
        solution_07::Store::open(ours_directory.path(), solution_07::Options::default()).unwrap(),
    );
    let fjall_directory = tempfile::tempdir().unwrap();
    let database = Database::builder(fjall_directory.path()).open().unwrap();
    let theirs = database
        .keyspace("default", KeyspaceCreateOptions::default)
        .unwrap();

    println!("operations per second, {keys} keys (16-byte keys, 100-byte values):");
    println!(
        "{:<28} {:>12} {:>12} {:>8}",
        "", "step 07", "fjall", "ratio"
    );

    let mut results = Results::new(
        format!("versus_fjall-{keys}"),
        &["workload", "threads", "engine", "ops_per_s"],
    );

    let fill_ours = {
        let (store, value) = (Arc::clone(&ours), value.clone());
        timed(1, keys, move |_, n| store.set(&key(n), &value).unwrap())
    };
    let fill_theirs = {
        let (keyspace, value) = (theirs.clone(), value.clone());
        timed(1, keys, move |_, n| {
            keyspace.insert(key(n), value.as_bytes()).unwrap()
        })
    };
    row(
        &mut results,
        "fillrandom (ours durable)",
        1,
        per_second(keys, fill_ours),
        per_second(keys, fill_theirs),
    );

    ours.flush().unwrap();
    database.persist(PersistMode::SyncAll).unwrap();

    let read_ours = {
        let store = Arc::clone(&ours);
        timed(1, READS, move |_, n| {
            assert!(store.get(&key((n * 7919) % keys)).unwrap().is_some())
        })
    };
    let read_theirs = {
        let keyspace = theirs.clone();
        timed(1, READS, move |_, n| {
            assert!(keyspace.get(key((n * 7919) % keys)).unwrap().is_some())
        })
    };
    row(
        &mut results,
        "readrandom",
        1,
        per_second(READS, read_ours),
        per_second(READS, read_theirs),
    );

    let missing_ours = {
        let store = Arc::clone(&ours);
        timed(1, READS, move |_, n| {
            assert!(store.get(&format!("{}x", key(n))).unwrap().is_none())
        })
    };
    let missing_theirs = {
        let keyspace = theirs.clone();
        timed(1, READS, move |_, n| {
            assert!(keyspace.get(format!("{}x", key(n))).unwrap().is_none())
        })
    };
    row(
        &mut results,
        "readmissing",
        1,
        per_second(READS, missing_ours),
        per_second(READS, missing_theirs),
    );

    let started = Instant::now();
    assert_eq!(ours.scan().unwrap().len(), keys);
    let seq_ours = started.elapsed();
    let started = Instant::now();
    assert_eq!(theirs.iter().count(), keys);
    let seq_theirs = started.elapsed();
    row(
        &mut results,
        "readseq",
        1,
        per_second(keys, seq_ours),
        per_second(keys, seq_theirs),
    );

    for threads in [1, 8, 64] {
        let count = if threads == 1 { 2_000 } else { 20_000 };
        let durable_ours = {
            let (store, value) = (Arc::clone(&ours), value.clone());
            timed(threads, count, move |thread, n| {
                store
                    .set(&format!("durable-{thread:02}-{n:08}"), &value)
                    .unwrap()
            })
        };
        let durable_theirs = {
            let (database, keyspace, value) = (database.clone(), theirs.clone(), value.clone());
            timed(threads, count, move |thread, n| {
                keyspace
                    .insert(format!("durable-{thread:02}-{n:08}"), value.as_bytes())
                    .unwrap();
                database.persist(PersistMode::SyncData).unwrap();
            })
        };
        row(
            &mut results,
            "durable writes",
            threads,
            per_second(count, durable_ours),
            per_second(count, durable_theirs),
        );
    }
    // Opening the directory again, the median of three opens, as opens a
    // second so that higher is better in every row. Ours reads every table
    // through once to check its size and CRC-32 against the manifest
    // (chapter 5), and replays the log; fjall opens from its own metadata.
    drop(ours);
    drop((theirs, database));
    let open_ours = median_of_three(|| {
        let options = solution_07::Options::default();
        drop(solution_07::Store::open(ours_directory.path(), options).unwrap());
    });
    let open_theirs = median_of_three(|| {
        let database = Database::builder(fjall_directory.path()).open().unwrap();
        drop(
            database
                .keyspace("default", KeyspaceCreateOptions::default)
                .unwrap(),
        );
    });
    row(
        &mut results,
        "open",
        1,
        per_second(1, open_ours),
        per_second(1, open_theirs),
    );
    println!(
        "{:<28} {:>9.1} ms {:>9.1} ms",
        "  (open, in milliseconds)",
        open_ours.as_secs_f64() * 1e3,
        open_theirs.as_secs_f64() * 1e3
    );
    results
        .write_if_asked()
        .expect("write versus_fjall's results");
}

/// The median time of three runs of `work`.
fn median_of_three(work: impl Fn()) -> Duration {
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[1]
}
