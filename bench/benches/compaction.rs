//! What compaction buys (step 05): GET latency against the number of tables,
//! before and after the tables are merged, and the write amplification of
//! the merging policy.
//!
//! The report prints the write amplification (bytes written to disk per
//! byte PUT) of a workload that overwrites the same keys round after round.
//! Criterion measures GETs of present and absent keys in a store of 10,000
//! keys that were all overwritten into 1, 4 and 16 tables (in step 05 with
//! merging off), and in the 16-table store after a merge has left one table.

use std::hint::black_box;
use std::time::Duration;

use benchmarks::bytes_written_by_this_process;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use solution_05::{Options, Storage as _, Store};

const KEYS: usize = 10_000;
const NO_MERGING: usize = usize::MAX;

fn key(n: usize) -> String {
    format!("country-{n:05}:capital")
}

/// A store in `directory` in which every one of `tables` tables holds every
/// one of the `KEYS` keys: each table overwrote all the keys of the one
/// before, as a store that is never compacted ends up.
fn store_with_tables(
    directory: &std::path::Path,
    tables: usize,
    compaction_threshold: usize,
) -> Store {
    let options = Options {
        memtable_bytes: usize::MAX,
        compaction_threshold,
        ..Options::default()
    };
    let store = Store::open(directory, options).unwrap();
    for table in 0..tables {
        for n in 0..KEYS {
            store.set(&key(n), &format!("city-{table:02}")).unwrap();
        }
        store.flush().unwrap();
    }
    store
}

fn report_write_amplification() {
    const ROUNDS: usize = 50;
    const OVERWRITTEN: usize = 1_000;
    let directory = tempfile::tempdir().unwrap();
    let options = Options {
        memtable_bytes: usize::MAX,
        ..Options::default()
    };
    let store = Store::open(directory.path(), options).unwrap();
    let before = bytes_written_by_this_process();
    let mut put = 0;
    for round in 0..ROUNDS {
        for n in 0..OVERWRITTEN {
            let (key, value) = (key(n), format!("city-{round:04}"));
            put += key.len() + value.len();
            store.set(&key, &value).unwrap();
        }
        store.flush().unwrap();
    }
    let written = bytes_written_by_this_process() - before;
    println!(
        "write amplification: {OVERWRITTEN} keys overwritten {ROUNDS} times, a flush per round, \
         compaction threshold 4: {written} bytes written for {put} bytes PUT = {:.2}",
        written as f64 / put as f64
    );
}

fn gets(c: &mut Criterion) {
    report_write_amplification();
    let mut group = c.benchmark_group("get");
    for tables in [1, 4, 16] {
        let directory = tempfile::tempdir().unwrap();
        let store = store_with_tables(directory.path(), tables, NO_MERGING);
        let mut n = 0;
        group.bench_with_input(BenchmarkId::new("present", tables), &tables, |b, _| {
            b.iter(|| {
                n = (n + 7919) % KEYS;
                black_box(store.get(&key(n)).unwrap())
            })
        });
        group.bench_with_input(BenchmarkId::new("absent", tables), &tables, |b, _| {
            b.iter(|| {
                n = (n + 7919) % KEYS;
                black_box(store.get(&format!("{}-missing", key(n))).unwrap())
            })
        });
    }
    // The 16 tables merged into one: `flush` returns once the merge is done.
    let directory = tempfile::tempdir().unwrap();
    let store = store_with_tables(directory.path(), 16, 2);
    store.flush().unwrap();
    let mut n = 0;
    group.bench_function("present/16 merged into 1", |b| {
        b.iter(|| {
            n = (n + 7919) % KEYS;
            black_box(store.get(&key(n)).unwrap())
        })
    });
    group.bench_function("absent/16 merged into 1", |b| {
        b.iter(|| {
            n = (n + 7919) % KEYS;
            black_box(store.get(&format!("{}-missing", key(n))).unwrap())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(2));
    targets = gets
}
criterion_main!(benches);
