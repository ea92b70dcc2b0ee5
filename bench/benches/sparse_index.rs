//! GET latency against table size: step 05, which reads a table from its
//! first line, against step 06, which reads the one block its sparse index
//! points to. One table of 1,000, 10,000 or 100,000 keys with 100-byte
//! values; GETs of keys spread over the whole table.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use solution_05::Storage as _;
use solution_06::Storage as _;

fn key(n: usize) -> String {
    format!("key-{n:09}")
}

fn value() -> String {
    "v".repeat(100)
}

fn gets(c: &mut Criterion) {
    let mut group = c.benchmark_group("get_from_one_table");
    for keys in [1_000, 10_000, 100_000] {
        let directory = tempfile::tempdir().unwrap();
        let options = solution_05::Options {
            memtable_bytes: usize::MAX,
            compaction_threshold: usize::MAX,
            ..Default::default()
        };
        let step_05 = solution_05::Store::open(directory.path(), options).unwrap();
        for n in 0..keys {
            step_05.set(&key(n), &value()).unwrap();
        }
        step_05.flush().unwrap();
        let mut n = 0;
        group.bench_with_input(BenchmarkId::new("step_05_scan", keys), &keys, |b, &keys| {
            b.iter(|| {
                n = (n + 7919) % keys;
                black_box(step_05.get(&key(n)).unwrap())
            })
        });
        let directory = tempfile::tempdir().unwrap();
        let options = solution_06::Options {
            memtable_bytes: usize::MAX,
            compaction_threshold: usize::MAX,
            ..Default::default()
        };
        let step_06 = solution_06::Store::open(directory.path(), options).unwrap();
        for n in 0..keys {
            step_06.set(&key(n), &value()).unwrap();
        }
        step_06.flush().unwrap();
        group.bench_with_input(
            BenchmarkId::new("step_06_index", keys),
            &keys,
            |b, &keys| {
                b.iter(|| {
                    n = (n + 7919) % keys;
                    black_box(step_06.get(&key(n)).unwrap())
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(2));
    targets = gets
}
criterion_main!(benches);
