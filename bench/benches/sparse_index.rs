//! GET latency against table size: step 05, which reads a table from its
//! first line, against step 06, which reads the one block its sparse index
//! points to. One table of 1,000, 10,000 or 100,000 keys with 100-byte
//! values; GETs of keys spread over the whole table. Before criterion, the
//! report prints the mean of each, timed by a plain loop, which with
//! `LITTLE_KV_RESULTS` set (see the crate docs) it also writes as
//! `sparse_index.csv`: the data of chapter 6's chart.

use std::hint::black_box;
use std::time::Duration;

use benchmarks::{Results, mean_time, micros, micros_cell};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use solution_05::Storage as _;
use solution_06::Storage as _;

fn key(n: usize) -> String {
    format!("key-{n:09}")
}

fn value() -> String {
    "v".repeat(100)
}

/// How long the report times each kind of GET: a second is thousands of
/// indexed GETs and still 40 or so scans of the largest table.
const REPORT_BUDGET: Duration = Duration::from_secs(1);

/// The table sizes measured, in keys.
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// Step 05's store of one table of `keys` keys.
fn step_05_table(directory: &std::path::Path, keys: usize) -> solution_05::Store {
    let options = solution_05::Options {
        memtable_bytes: usize::MAX,
        compaction_threshold: usize::MAX,
        ..Default::default()
    };
    let store = solution_05::Store::open(directory, options).unwrap();
    for n in 0..keys {
        store.set(&key(n), &value()).unwrap();
    }
    store.flush().unwrap();
    store
}

/// Step 06's store of one table of `keys` keys.
fn step_06_table(directory: &std::path::Path, keys: usize) -> solution_06::Store {
    let options = solution_06::Options {
        memtable_bytes: usize::MAX,
        compaction_threshold: usize::MAX,
        ..Default::default()
    };
    let store = solution_06::Store::open(directory, options).unwrap();
    for n in 0..keys {
        store.set(&key(n), &value()).unwrap();
    }
    store.flush().unwrap();
    store
}

fn gets(c: &mut Criterion) {
    let directory = tempfile::tempdir().unwrap();
    // The stores first, so that the report and criterion measure the same ones.
    let tables: Vec<_> = SIZES
        .iter()
        .map(|&keys| {
            let step_05 = step_05_table(&directory.path().join(format!("05-{keys}")), keys);
            let step_06 = step_06_table(&directory.path().join(format!("06-{keys}")), keys);
            (keys, step_05, step_06)
        })
        .collect();

    println!("mean GET from one table of N keys with 100-byte values:");
    let mut results = Results::new("sparse_index", &["step", "keys", "get_mean_us"]);
    for (keys, step_05, step_06) in &tables {
        let mut n = 0;
        let scan = mean_time(REPORT_BUDGET, || {
            n = (n + 7919) % keys;
            black_box(step_05.get(&key(n)).unwrap());
        });
        let index = mean_time(REPORT_BUDGET, || {
            n = (n + 7919) % keys;
            black_box(step_06.get(&key(n)).unwrap());
        });
        println!(
            "  {keys:>7} keys: step 05 (scan) {:>10}  step 06 (index) {:>10}",
            micros(scan),
            micros(index)
        );
        results.row(vec!["05".into(), keys.to_string(), micros_cell(scan)]);
        results.row(vec!["06".into(), keys.to_string(), micros_cell(index)]);
    }
    results
        .write_if_asked()
        .expect("write sparse_index's results");

    let mut group = c.benchmark_group("get_from_one_table");
    for (keys, step_05, step_06) in &tables {
        let mut n = 0;
        group.bench_with_input(BenchmarkId::new("step_05_scan", keys), keys, |b, &keys| {
            b.iter(|| {
                n = (n + 7919) % keys;
                black_box(step_05.get(&key(n)).unwrap())
            })
        });
        group.bench_with_input(BenchmarkId::new("step_06_index", keys), keys, |b, &keys| {
            b.iter(|| {
                n = (n + 7919) % keys;
                black_box(step_06.get(&key(n)).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(2));
    targets = gets
}
criterion_main!(benches);
