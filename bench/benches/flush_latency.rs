//! PUT latency while flushes happen: step 03, where the write that fills the
//! memtable also writes it to disk, against step 04, where the tree shaker
//! does that in the background.
//!
//! The report runs the same paced workload against both steps, once with a
//! small memtable (a flush every ~70 PUTs) and once with a memtable that
//! never fills, and prints the latency percentiles of each PUT. The pace
//! (one PUT every 25 µs) is below what the shaker can flush on these
//! machines, as a server's would be: a writer that outruns the disk waits in
//! either step, and then the comparison says nothing. Criterion then
//! measures unpaced PUT throughput for both.
//!
//! With `LITTLE_KV_RESULTS` set (see the crate docs), the report also
//! writes `flush_latency.csv`: for each setup, its latency at a ladder of
//! percentiles, the data of the book's latency chart in chapter 4.

use std::hint::black_box;
use std::time::{Duration, Instant};

use benchmarks::{Results, micros, micros_cell, percentile};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use solution_03::Storage as _;
use solution_04::Storage as _;

const PUTS: usize = 20_000;
const PACE: Duration = Duration::from_micros(25);
const SMALL_MEMTABLE: usize = 8 * 1024;
const NEVER_FULL: usize = usize::MAX;
/// The percentiles the CSV records: each step a "nine" further into the
/// tail, where a flush that blocks a writer shows, and the maximum.
const LADDER: [f64; 6] = [50.0, 90.0, 99.0, 99.9, 99.99, 100.0];

/// The `n`th key: 16 bytes, in no particular order.
fn key(n: usize) -> String {
    format!(
        "key-{:012}",
        (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % 1_000_000_000_000
    )
}

/// Runs the paced workload through `put`, returning each PUT's latency.
fn paced_puts(put: impl Fn(&str, &str)) -> Vec<Duration> {
    let value = "v".repeat(100);
    let mut latencies = Vec::with_capacity(PUTS);
    let start = Instant::now();
    for n in 0..PUTS {
        // Spin rather than sleep: a sleep's granularity is coarser than the pace.
        let due = start + PACE * n as u32;
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        let key = key(n);
        let began = Instant::now();
        put(&key, &value);
        latencies.push(began.elapsed());
    }
    latencies
}

fn report_line(name: &str, latencies: &mut [Duration], results: &mut Results) -> Duration {
    for percent in LADDER {
        results.row(vec![
            name.to_string(),
            percent.to_string(),
            micros_cell(percentile(latencies, percent)),
        ]);
    }
    let p99 = percentile(latencies, 99.0);
    println!(
        "{name:<28} p50 {:>10}  p99 {:>10}  p99.9 {:>10}  max {:>10}",
        micros(percentile(latencies, 50.0)),
        micros(p99),
        micros(percentile(latencies, 99.9)),
        micros(percentile(latencies, 100.0)),
    );
    p99
}

fn report() {
    println!("PUT latency, {PUTS} PUTs of 100-byte values, one every {PACE:?}:");
    let mut p99 = Vec::new();
    let mut results = Results::new("flush_latency", &["setup", "percentile", "latency_us"]);
    for memtable_bytes in [NEVER_FULL, SMALL_MEMTABLE] {
        let directory = tempfile::tempdir().unwrap();
        let options = solution_03::Options { memtable_bytes };
        let store = solution_03::Store::open(directory.path(), options).unwrap();
        let mut latencies = paced_puts(|key, value| store.set(key, value).unwrap());
        let name = if memtable_bytes == NEVER_FULL {
            "step 03, no flush"
        } else {
            "step 03, flushing inline"
        };
        p99.push(report_line(name, &mut latencies, &mut results));
    }
    for memtable_bytes in [NEVER_FULL, SMALL_MEMTABLE] {
        let directory = tempfile::tempdir().unwrap();
        let options = solution_04::Options {
            memtable_bytes,
            ..Default::default()
        };
        let store = solution_04::Store::open(directory.path(), options).unwrap();
        let mut latencies = paced_puts(|key, value| store.set(key, value).unwrap());
        let name = if memtable_bytes == NEVER_FULL {
            "step 04, no flush"
        } else {
            "step 04, shaker flushing"
        };
        p99.push(report_line(name, &mut latencies, &mut results));
        store.flush().unwrap();
    }
    let ratio = |flushing: Duration, quiet: Duration| flushing.as_secs_f64() / quiet.as_secs_f64();
    println!(
        "p99 with flushes / p99 without: step 03 {:.1}x, step 04 {:.1}x",
        ratio(p99[1], p99[0]),
        ratio(p99[3], p99[2])
    );
    results
        .write_if_asked()
        .expect("write flush_latency's results");
}

fn throughput(c: &mut Criterion) {
    report();
    let value = "v".repeat(100);
    let mut group = c.benchmark_group("put_while_flushing");
    group.throughput(Throughput::Elements(1));
    // A fresh store for every sample: each table keeps its file open, and
    // one store taking every iteration of the run would hold thousands of
    // tables, and as many open files, by the end of it.
    group.bench_function("step_03", |b| {
        b.iter_custom(|iterations| {
            let directory = tempfile::tempdir().unwrap();
            let options = solution_03::Options {
                memtable_bytes: SMALL_MEMTABLE,
            };
            let store = solution_03::Store::open(directory.path(), options).unwrap();
            let start = Instant::now();
            for n in 0..iterations {
                store.set(black_box(&key(n as usize)), &value).unwrap();
            }
            start.elapsed()
        })
    });
    group.bench_function("step_04", |b| {
        b.iter_custom(|iterations| {
            let directory = tempfile::tempdir().unwrap();
            let options = solution_04::Options {
                memtable_bytes: SMALL_MEMTABLE,
                ..Default::default()
            };
            let store = solution_04::Store::open(directory.path(), options).unwrap();
            let start = Instant::now();
            for n in 0..iterations {
                store.set(black_box(&key(n as usize)), &value).unwrap();
            }
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
    targets = throughput
}
criterion_main!(benches);
