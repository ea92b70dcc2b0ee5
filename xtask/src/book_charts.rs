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
        y_per_unit: 1.0,
        series: &[
            Series {
                label: "step 03, flushing inline",
                y: "latency_us",
                rows: &[("setup", "step 03, flushing inline")],
                mark: Mark::Line,
                colour: 0,
                at: None,
            },
            Series {
                label: "step 04, tree shaker flushing",
                y: "latency_us",
                rows: &[("setup", "step 04, shaker flushing")],
                mark: Mark::Line,
                colour: 1,
                at: None,
            },
            Series {
                label: "step 03, no flush",
                y: "latency_us",
                rows: &[("setup", "step 03, no flush")],
                mark: Mark::Line,
                colour: 2,
                at: None,
            },
            Series {
                label: "step 04, no flush",
                y: "latency_us",
                rows: &[("setup", "step 04, no flush")],
                mark: Mark::Line,
                colour: 3,
                at: None,
            },
        ],
        // Below the lines: every PUT at p99 and above takes over a
        // microsecond, and step 03's jump at p99 crosses the upper left.
        legend: SeriesLabelPosition::LowerRight,
    },
    // Chapter 5: an absent key pays for every table; a merge pays it back.
    // In ms, as the chapter's table and text. The merged store is not a
    // number of tables flushed: it has a place of its own at the right, and
    // its two keys, 0.02 ms apart, are a filled triangle inside a hollow one.
    Chart {
        name: "compaction",
        csv: "compaction.csv",
        x: "tables_flushed",
        x_title: "tables flushed, each overwriting all 10,000 keys (log scale)",
        x_scale: Scale::Log,
        y_title: "mean GET (ms)",
        y_scale: Scale::Linear,
        y_per_unit: 1000.0,
        series: &[
            Series {
                label: "absent key",
                y: "get_mean_us",
                rows: &[("key", "absent"), ("merged", "no")],
                mark: Mark::Line,
                colour: 0,
                at: None,
            },
            Series {
                label: "present key",
                y: "get_mean_us",
                rows: &[("key", "present"), ("merged", "no")],
                mark: Mark::LineRings,
                colour: 1,
                at: None,
            },
            Series {
                label: "absent key, the 16 tables merged",
                y: "get_mean_us",
                rows: &[("key", "absent"), ("merged", "yes")],
                mark: Mark::Points,
                colour: 0,
                at: Some((64.0, "16, merged")),
            },
            Series {
                label: "present key, the 16 tables merged",
                y: "get_mean_us",
                rows: &[("key", "present"), ("merged", "yes")],
                mark: Mark::HollowPoints,
                colour: 1,
                at: Some((64.0, "16, merged")),
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
        y_per_unit: 1.0,
        series: &[
            Series {
                label: "step 05: read from the first line",
                y: "get_mean_us",
                rows: &[("step", "05")],
                mark: Mark::Line,
                colour: 0,
                at: None,
            },
            Series {
                label: "step 06: read the block the index names",
                y: "get_mean_us",
                rows: &[("step", "06")],
                mark: Mark::Line,
                colour: 1,
                at: None,
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
        y_per_unit: 1.0,
        series: &[
            Series {
                label: "step 07 over HTTP, group commit",
                y: "puts_per_s",
                rows: &[],
                mark: Mark::Line,
                colour: 0,
                at: None,
            },
            Series {
                label: "the disk: fdatasync calls per second, one thread",
                y: "disk_syncs_per_s",
                rows: &[],
                mark: Mark::Reference,
                colour: 1,
                at: None,
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
        y_per_unit: 1.0,
        series: &[
            Series {
                label: "step 07 (group commit)",
                y: "ops_per_s",
                rows: &[("workload", "durable writes"), ("engine", "step 07")],
                mark: Mark::Line,
                colour: 0,
                at: None,
            },
            Series {
                label: "fjall (insert, then persist)",
                y: "ops_per_s",
                rows: &[("workload", "durable writes"), ("engine", "fjall")],
                // With one thread the two engines are 400 writes a second
                // apart: step 07's dot shows inside fjall's ring.
                mark: Mark::LineRings,
                colour: 1,
                at: None,
            },
        ],
        legend: SeriesLabelPosition::UpperLeft,
    },
];
