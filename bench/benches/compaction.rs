//! What compaction buys (step 05): GET latency against the number of tables,
//! before and after the tables are merged, and the write amplification of
//! the merging policy.
//!
//! The report prints the write amplification (bytes written to disk per
//! byte PUT) of a workload that overwrites the same keys round after round.
//! Criterion measures GETs of present and absent keys in a store of 10,000
//! keys that were all overwritten into 1, 4 and 16 tables (in step 05 with
//! merging off), and in the 16-table store after a merge has left one table.
//! Before criterion, the report prints the mean of each of those GETs, timed
//! by a plain loop, which with `LITTLE_KV_RESULTS` set (see the crate docs)
//! it also writes as `compaction.csv`: the data of chapter 5's chart.

use std::hint::black_box;
use std::time::Duration;

use benchmarks::{Results, bytes_written_by_this_process, mean_time, micros, micros_cell};
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

/// How long the report times each kind of GET: a second covers thousands
/// of GETs of one table and still 70 or so of a 16-table absent key.
const REPORT_BUDGET: Duration = Duration::from_secs(1);

/// Prints and records the mean GET of a present and an absent key in
/// `store`, which was flushed as `tables` tables and maybe merged.
fn report_gets(store: &Store, tables: usize, merged: bool, results: &mut Results) {
    let mut n = 0;
    let present = mean_time(REPORT_BUDGET, || {
        n = (n + 7919) % KEYS;
        black_box(store.get(&key(n)).unwrap());
    });
    let absent = mean_time(REPORT_BUDGET, || {
        n = (n + 7919) % KEYS;
        black_box(store.get(&format!("{}-missing", key(n))).unwrap());
    });
    let setup = if merged {
        format!("{tables} tables merged into 1")
    } else {
        format!("{tables} tables")
    };
    println!(
        "  {setup:<24} present {:>10}  absent {:>10}",
        micros(present),
        micros(absent)
    );
    for (kind, mean) in [("present", present), ("absent", absent)] {
        results.row(vec![
            tables.to_string(),
            if merged { "yes" } else { "no" }.to_string(),
            kind.to_string(),
            micros_cell(mean),
        ]);
    }
}

fn gets(c: &mut Criterion) {
    report_write_amplification();
    // The stores first, so that the report and criterion measure the same ones.
    let mut stores = Vec::new();
    for tables in [1, 4, 16] {
        let directory = tempfile::tempdir().unwrap();
        let store = store_with_tables(directory.path(), tables, NO_MERGING);
        stores.push((tables, directory, store));
    }
    // The 16 tables merged into one: `flush` returns once the merge is done.
    let merged_directory = tempfile::tempdir().unwrap();
    let merged = store_with_tables(merged_directory.path(), 16, 2);
    merged.flush().unwrap();

    println!("mean GET of {KEYS} keys overwritten into N tables (step 05):");
    let mut results = Results::new(
        "compaction",
        &["tables_flushed", "merged", "key", "get_mean_us"],
    );
    for (tables, _, store) in &stores {
        report_gets(store, *tables, false, &mut results);
    }
    report_gets(&merged, 16, true, &mut results);
    results
        .write_if_asked()
        .expect("write compaction's results");

    let mut group = c.benchmark_group("get");
    for (tables, _directory, store) in &stores {
        let mut n = 0;
        group.bench_with_input(BenchmarkId::new("present", tables), tables, |b, _| {
            b.iter(|| {
                n = (n + 7919) % KEYS;
                black_box(store.get(&key(n)).unwrap())
            })
        });
        group.bench_with_input(BenchmarkId::new("absent", tables), tables, |b, _| {
            b.iter(|| {
                n = (n + 7919) % KEYS;
                black_box(store.get(&format!("{}-missing", key(n))).unwrap())
            })
        });
    }
    let store = merged;
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
