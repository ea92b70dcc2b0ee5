//! Step 07's two layers, measured.
//!
//! The report prints durable PUT throughput (every PUT acknowledged only
//! once its log record is synced) from 1, 8 and 64 threads at once: with one
//! thread each PUT pays a whole `fdatasync`; with more, group commit shares
//! each sync among the writers waiting for it. Criterion then measures GETs
//! of absent keys in a store of 16 tables, in step 06 (no filters) and step
//! 07 (filters first). Table `NN` holds `table-NN:key-…`, and the absent key
//! `table-NN:absent-…` sorts after the keys of the tables before `NN` and
//! before those of `NN` and the tables after it, so it is in no table's
//! range: step 06's index rules out the tables whose first key comes after
//! it, and reads the last block of each table before `NN` (7.5 tables on
//! average, `NN` cycling through 0 to 15).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use benchmarks::{micros, percentile};
use criterion::{Criterion, criterion_group, criterion_main};
use solution_06::Storage as _;
use solution_07::Storage as _;

const PUTS_PER_RUN: usize = 20_000;

fn report_durable_puts() {
    println!("durable PUTs of 100-byte values (step 07, group commit):");
    let value = "v".repeat(100);
    for threads in [1, 8, 64] {
        let directory = tempfile::tempdir().unwrap();
        let store = Arc::new(
            solution_07::Store::open(directory.path(), solution_07::Options::default()).unwrap(),
        );
        // One thread alone pays a sync per PUT: fewer PUTs keep the run short.
        let per_thread = if threads == 1 {
            2_000
        } else {
            PUTS_PER_RUN / threads
        };
        let started = Instant::now();
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                let (store, value) = (Arc::clone(&store), value.clone());
                std::thread::spawn(move || {
                    let mut latencies = Vec::with_capacity(per_thread);
                    for n in 0..per_thread {
                        let began = Instant::now();
                        store
                            .set(&format!("thread-{thread:02}:key-{n:06}"), &value)
                            .unwrap();
                        latencies.push(began.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies: Vec<Duration> = workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect();
        let elapsed = started.elapsed();
        println!(
            "  {threads:>2} threads: {:>8.0} PUTs/s  p50 {:>10}  p99 {:>10}  {:>5.1} PUTs per sync",
            latencies.len() as f64 / elapsed.as_secs_f64(),
            micros(percentile(&mut latencies, 50.0)),
            micros(percentile(&mut latencies, 99.0)),
            latencies.len() as f64 / store.log_syncs() as f64,
        );
    }
}

/// Sixteen tables of 2,000 keys each, the same in both steps.
fn fill(set: impl Fn(&str, &str), flush: impl Fn()) {
    for table in 0..16 {
        for n in 0..2_000 {
            set(
                &format!("table-{table:02}:key-{n:05}"),
                "a value of some length",
            );
        }
        flush();
    }
}

fn absent_gets(c: &mut Criterion) {
    report_durable_puts();
    let mut group = c.benchmark_group("get_absent_key_16_tables");
    let directory = tempfile::tempdir().unwrap();
    let options = solution_06::Options {
        memtable_bytes: usize::MAX,
        compaction_threshold: usize::MAX,
        ..Default::default()
    };
    let step_06 = solution_06::Store::open(directory.path(), options).unwrap();
    fill(
        |key, value| step_06.set(key, value).unwrap(),
        || step_06.flush().unwrap(),
    );
    let mut n = 0;
    group.bench_function("step_06_no_filter", |b| {
        b.iter(|| {
            n += 1;
            black_box(
                step_06
                    .get(&format!("table-{:02}:absent-{n}", n % 16))
                    .unwrap(),
            )
        })
    });
    let directory = tempfile::tempdir().unwrap();
    let options = solution_07::Options {
        memtable_bytes: usize::MAX,
        compaction_threshold: usize::MAX,
        ..Default::default()
    };
    let step_07 = solution_07::Store::open(directory.path(), options).unwrap();
    fill(
        |key, value| step_07.set(key, value).unwrap(),
        || step_07.flush().unwrap(),
    );
    group.bench_function("step_07_bloom_filter", |b| {
        b.iter(|| {
            n += 1;
            black_box(
                step_07
                    .get(&format!("table-{:02}:absent-{n}", n % 16))
                    .unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
    targets = absent_gets
}
criterion_main!(benches);
