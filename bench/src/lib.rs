//! What the benchmarks share: latency percentiles and byte counts.
//!
//! Run them with `cargo bench -p benchmarks`. Each benchmark prints a short
//! report (the numbers the book quotes) before criterion's own measurements.

use std::time::Duration;

/// The `percent`th percentile of `samples` (sorted in place), e.g. 99.0.
pub fn percentile(samples: &mut [Duration], percent: f64) -> Duration {
    assert!(!samples.is_empty(), "no samples");
    samples.sort_unstable();
    let rank = (percent / 100.0 * (samples.len() - 1) as f64).round() as usize;
    samples[rank.min(samples.len() - 1)]
}

/// The bytes this process has passed to `write` and friends so far, from
/// `/proc/self/io` (`wchar`): what the store wrote, whatever the file system.
pub fn bytes_written_by_this_process() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").expect("read /proc/self/io (Linux only)");
    io.lines()
        .find_map(|line| line.strip_prefix("wchar: "))
        .and_then(|value| value.trim().parse().ok())
        .expect("/proc/self/io has a wchar line")
}

/// How many `fdatasync`s a second one thread gets from the disk under
/// `directory`, each after a 100-byte write into a file made 64 MiB long up
/// front (as step 07 makes its logs): the rate a store that syncs every
/// write on its own could reach at best, measured in the same run as the
/// store so that the two are compared on the same machine's mood.
pub fn disk_syncs_per_second(directory: &std::path::Path, syncs: usize) -> f64 {
    use std::io::Write;
    let path = directory.join("disk-sync-rate.dat");
    let mut file = std::fs::File::create(&path).expect("create the probe file");
    file.set_len(64 << 20).expect("preallocate the probe file");
    file.sync_all().expect("sync the probe file");
    let started = std::time::Instant::now();
    for _ in 0..syncs {
        file.write_all(&[b'x'; 100]).expect("write the probe file");
        file.sync_data().expect("sync the probe file");
    }
    let rate = syncs as f64 / started.elapsed().as_secs_f64();
    drop(file);
    let _ = std::fs::remove_file(&path);
    rate
}

/// A duration in microseconds with one decimal, for the reports.
pub fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_right_rank() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        assert_eq!(percentile(&mut samples, 50.0), Duration::from_micros(51));
        assert_eq!(percentile(&mut samples, 99.0), Duration::from_micros(99));
        assert_eq!(percentile(&mut samples, 100.0), Duration::from_micros(100));
    }

    #[test]
    fn this_process_has_written_something() {
        let before = bytes_written_by_this_process();
        std::fs::write(tempfile::NamedTempFile::new().unwrap().path(), [0u8; 4096]).unwrap();
        assert!(bytes_written_by_this_process() >= before + 4096);
    }
}
