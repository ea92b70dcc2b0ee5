//! Peak memory of step 07 with a million keys, default flags: memory should
//! grow with the indexes and filters, not with the data. Writes 1,000,000
//! keys of 16 bytes with 100-byte values from 64 threads (group commit makes
//! that take seconds, not minutes), reopens the store, reads a sample back,
//! and prints the process's peak resident memory (`VmHWM`).
//!
//! Not a timing: `cargo bench -p benchmarks --bench memory` prints one line.

use std::sync::Arc;

use solution_07::{Options, Storage as _, Store};

const KEYS: usize = 1_000_000;
const THREADS: usize = 64;

/// The process's peak resident set size, in KiB, from `/proc/self/status`.
fn peak_resident_kib() -> u64 {
    let status =
        std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status (Linux only)");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches(" kB").trim().parse().ok())
        .expect("/proc/self/status has a VmHWM line")
}

fn main() {
    // `cargo bench` passes `--bench`; a plain run with a filter argument
    // that does not match "memory" skips this measurement.
    if std::env::args()
        .skip(1)
        .any(|arg| !arg.starts_with("--") && !"memory".contains(arg.as_str()))
    {
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(directory.path(), Options::default()).unwrap());
    let value = "v".repeat(100);
    let writers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (store, value) = (Arc::clone(&store), value.clone());
            std::thread::spawn(move || {
                for n in (thread..KEYS).step_by(THREADS) {
                    store.set(&format!("key-{n:012}"), &value).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    store.flush().unwrap();
    drop(store);
    let store = Store::open(directory.path(), Options::default()).unwrap();
    for n in (0..KEYS).step_by(9_973) {
        assert_eq!(
            store.get(&format!("key-{n:012}")).unwrap().as_deref(),
            Some(value.as_str())
        );
    }
    let on_disk: u64 = std::fs::read_dir(directory.path())
        .unwrap()
        .map(|entry| entry.unwrap().metadata().unwrap().len())
        .sum();
    println!(
        "{KEYS} keys, 100-byte values, default flags: {} MiB on disk, peak resident memory {} MiB",
        on_disk / (1024 * 1024),
        peak_resident_kib() / 1024
    );
}
