//! What the benchmarks share: latency percentiles, byte counts, and the
//! CSV files the book's charts are drawn from.
//!
//! Run them with `cargo bench -p benchmarks`. Each benchmark prints a short
//! report (the numbers the book quotes) before criterion's own measurements.
//!
//! # Results for the book
//!
//! With `LITTLE_KV_RESULTS=book/measurements` set, the benchmarks that the
//! book charts (`flush_latency`, `compaction`, `sparse_index`,
//! `http_durable_puts`, `versus_fjall`) also write their report as
//! `book/measurements/<bench>.csv` (`versus_fjall-<keys>.csv`), replacing the file of an earlier run:
//!
//! ```sh
//! LITTLE_KV_RESULTS=book/measurements cargo bench -p benchmarks --bench compaction
//! cargo xtask book --build   # redraws book/src/generated/chart-*.svg from the CSVs
//! ```
//!
//! A relative directory is taken from the workspace root (cargo runs a
//! benchmark in `bench/`, which is not where anyone reads the path from).
//! Without the variable nothing is written, so that a plain `cargo bench`
//! leaves the checked-in measurements, and the tree, as they are.
//!
//! A CSV has one header line, then one line per measurement, nothing else:
//! no comments, units in the column names (`p99_us`, `puts_per_s`), fields
//! quoted only when they hold a comma or a quote (RFC 4180). The book cites
//! the run through the file: ratios it quotes come from one file, measured
//! on the same machine in the same run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The environment variable that names the directory for the CSV results.
pub const RESULTS_VARIABLE: &str = "LITTLE_KV_RESULTS";

/// One benchmark's results as a CSV table, written only when asked (see the
/// module docs).
pub struct Results {
    name: String,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Results {
    /// An empty table named `name` (the benchmark's, or the benchmark's and
    /// its parameter's: the file's name without `.csv`) with these column
    /// names.
    pub fn new(name: impl Into<String>, header: &[&'static str]) -> Results {
        Results {
            name: name.into(),
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds one line; it must have a cell per column.
    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(
            cells.len(),
            self.header.len(),
            "a {} row needs a cell per column of {:?}",
            self.name,
            self.header
        );
        self.rows.push(cells);
    }

    /// The table as CSV text.
    pub fn to_csv(&self) -> String {
        let mut text = String::new();
        let header: Vec<String> = self.header.iter().map(|name| name.to_string()).collect();
        for line in std::iter::once(&header).chain(&self.rows) {
            let fields: Vec<String> = line.iter().map(|field| csv_field(field)).collect();
            text.push_str(&fields.join(","));
            text.push('\n');
        }
        text
    }

    /// Writes `<name>.csv` into the directory that `LITTLE_KV_RESULTS`
    /// names, if it is set, and says so; returns the path written.
    pub fn write_if_asked(&self) -> std::io::Result<Option<PathBuf>> {
        let Some(directory) = std::env::var_os(RESULTS_VARIABLE) else {
            return Ok(None);
        };
        let directory = workspace_root().join(directory);
        let path = directory.join(format!("{}.csv", self.name));
        let with_path = |error: std::io::Error| {
            std::io::Error::new(error.kind(), format!("{}: {error}", path.display()))
        };
        std::fs::create_dir_all(&directory).map_err(with_path)?;
        std::fs::write(&path, self.to_csv()).map_err(with_path)?;
        println!("results written to {}", path.display());
        Ok(Some(path))
    }
}

/// The workspace's root: the parent of this crate's directory.
fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ sits inside the workspace")
}

/// A CSV field, quoted (and its quotes doubled) only if it needs it.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// A duration in microseconds with two decimals, for a CSV cell.
pub fn micros_cell(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1e6)
}

/// The mean time of one call of `operation`, which is called for at least
/// `budget` and at least 10 times: enough calls that the clock's resolution
/// and one slow call do not decide the mean, few enough that a 15 ms GET
/// does not make the run take minutes.
pub fn mean_time(budget: Duration, mut operation: impl FnMut()) -> Duration {
    let started = Instant::now();
    let mut calls: u32 = 0;
    while calls < 10 || started.elapsed() < budget {
        operation();
        calls += 1;
    }
    started.elapsed() / calls
}

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
    fn results_are_csv_with_a_header_and_quoted_fields_only_where_needed() {
        let mut results = Results::new("example", &["setup", "p50_us"]);
        results.row(vec!["step 03, no flush".into(), "0.70".into()]);
        results.row(vec![
            "say \"hi\"".into(),
            micros_cell(Duration::from_nanos(1_234)),
        ]);
        assert_eq!(
            results.to_csv(),
            "setup,p50_us\n\"step 03, no flush\",0.70\n\"say \"\"hi\"\"\",1.23\n"
        );
    }

    #[test]
    fn this_process_has_written_something() {
        let before = bytes_written_by_this_process();
        std::fs::write(tempfile::NamedTempFile::new().unwrap().path(), [0u8; 4096]).unwrap();
        assert!(bytes_written_by_this_process() >= before + 4096);
    }
}
