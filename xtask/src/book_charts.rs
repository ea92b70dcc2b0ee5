//! The book's charts: which benchmark's CSV each one draws, and how.
//!
//! Each CSV in `book/measurements/` is what a benchmark wrote when run with
//! `LITTLE_KV_RESULTS=book/measurements` (see `bench/src/lib.rs`); the
//! chapters quote the same files. `book_generated.rs` renders every chart
//! here into `book/src/generated/chart-<name>.svg`, so a new measurement
//! and its chart land in the same commit, and `cargo xtask book --check`
//! fails while they disagree.

use plotters::chart::SeriesLabelPosition;

use crate::chart::{Chart, Mark, Scale, Series};

/// Where the CSVs live, relative to the root.
pub const MEASUREMENTS: &str = "book/measurements";

/// Every chart of the book, in chapter order.
pub const CHARTS: &[Chart] = &[
    // Chapter 4: how far into the tail a flush reaches.
    Chart {
        name: "flush-latency",
        csv: "flush_latency.csv",
        x: "percentile",
        x_title: "percentile of 20,000 PUTs (one more nine per step)",
        x_scale: Scale::Nines,
        y_title: "PUT latency (µs, log scale)",
        y_scale: Scale::Log,
        series: &[
            Series {
                label: "step 03, flushing inline",
                y: "latency_us",
                rows: &[("setup", "step 03, flushing inline")],
                mark: Mark::Line,
            },
            Series {
                label: "step 04, tree shaker flushing",
                y: "latency_us",
                rows: &[("setup", "step 04, shaker flushing")],
                mark: Mark::Line,
            },
            Series {
                label: "step 03, no flush",
                y: "latency_us",
                rows: &[("setup", "step 03, no flush")],
                mark: Mark::Line,
            },
            Series {
                label: "step 04, no flush",
                y: "latency_us",
                rows: &[("setup", "step 04, no flush")],
                mark: Mark::Line,
            },
        ],
        // Below the lines: every PUT at p99 and above takes over a
        // microsecond, and step 03's jump at p99 crosses the upper left.
        legend: SeriesLabelPosition::LowerRight,
    },
    // Chapter 5: an absent key pays for every table; a merge pays it back.
    Chart {
        name: "compaction",
        csv: "compaction.csv",
        x: "tables_flushed",
        x_title: "tables flushed, each overwriting all 10,000 keys (log scale)",
        x_scale: Scale::Log,
        y_title: "mean GET (µs)",
        y_scale: Scale::Linear,
        series: &[
            Series {
                label: "absent key",
                y: "get_mean_us",
                rows: &[("key", "absent"), ("merged", "no")],
                mark: Mark::Line,
            },
            Series {
                label: "present key",
                y: "get_mean_us",
                rows: &[("key", "present"), ("merged", "no")],
                mark: Mark::Line,
            },
            Series {
                label: "absent key, 16 tables merged into 1",
                y: "get_mean_us",
                rows: &[("key", "absent"), ("merged", "yes")],
                mark: Mark::Points,
            },
        ],
        legend: SeriesLabelPosition::UpperLeft,
    },
    // Chapter 6: the scan grows with the table, the indexed GET does not.
    Chart {
        name: "sparse-index",
        csv: "sparse_index.csv",
        x: "keys",
        x_title: "keys in the table (log scale)",
        x_scale: Scale::Log,
        y_title: "mean GET (µs, log scale)",
        y_scale: Scale::Log,
        series: &[
            Series {
                label: "step 05: read from the first line",
                y: "get_mean_us",
                rows: &[("step", "05")],
                mark: Mark::Line,
            },
            Series {
                label: "step 06: read the block the index names",
                y: "get_mean_us",
                rows: &[("step", "06")],
                mark: Mark::Line,
            },
        ],
        legend: SeriesLabelPosition::MiddleRight,
    },
    // Chapter 7: group commit over HTTP, against what the disk allows one
    // writer that syncs alone.
    Chart {
        name: "http-durable-puts",
        csv: "http_durable_puts.csv",
        x: "clients",
        x_title: "clients, one keep-alive connection each (log scale)",
        x_scale: Scale::Log,
        y_title: "durable PUTs per second",
        y_scale: Scale::Linear,
        series: &[
            Series {
                label: "step 07 over HTTP, group commit",
                y: "puts_per_s",
                rows: &[],
                mark: Mark::Line,
            },
            Series {
                label: "the disk: fdatasyncs per second, one thread",
                y: "disk_syncs_per_s",
                rows: &[],
                mark: Mark::Reference,
            },
        ],
        legend: SeriesLabelPosition::UpperLeft,
    },
    // Chapter 7: durable writes against fjall, in the engine, no HTTP.
    Chart {
        name: "versus-fjall-durable",
        csv: "versus_fjall-100000.csv",
        x: "threads",
        x_title: "threads writing at once (log scale)",
        x_scale: Scale::Log,
        y_title: "durable writes per second",
        y_scale: Scale::Linear,
        series: &[
            Series {
                label: "step 07 (group commit)",
                y: "ops_per_s",
                rows: &[("workload", "durable writes"), ("engine", "step 07")],
                mark: Mark::Line,
            },
            Series {
                label: "fjall (insert, then persist)",
                y: "ops_per_s",
                rows: &[("workload", "durable writes"), ("engine", "fjall")],
                mark: Mark::Line,
            },
        ],
        legend: SeriesLabelPosition::UpperLeft,
    },
];
