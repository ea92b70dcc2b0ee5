//! What the live page (`cargo inspect DIR --serve`) costs on a big tree:
//! a directory of 1,000 tables (step 05, merging off), followed by the
//! inspector's own follower while the store flushes one table more at a
//! time. Its promise is a redraw within one second of a change on disk.
//!
//! The report prints, for the follower's first look (every table read) and
//! for the looks after each later flush (only the new table read, see
//! `inspect/src/cache.rs`): how long from the flush's return until the
//! timeline has the new frame (the kernel's event, the look, the summary
//! and the name of the change), how long drawing that frame as the page
//! fetches it takes (picture and summary), and the follower's CPU time per
//! flush (every look it made); then how many tables a
//! look after one more flush reads from disk. What the browser does with
//! the frame (one fetch, one SVG put in the page) is not in it.
//!
//! Not a criterion benchmark: each look is a change on disk, made once.
//! `cargo bench -p benchmarks --bench live_look` prints one table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use benchmarks::percentile;
use inspect::live::{self, Timeline};
use inspect::{TableCache, picture, summary};
use solution_05::{Options, Storage as _, Store};

/// The tables in the directory when the inspector starts.
const TABLES: usize = 1_000;
/// The flushes made while the inspector follows.
const FLUSHES: usize = 30;
/// Keys per table.
const KEYS: usize = 10;

/// The name of the follower's thread, to find its CPU time.
const FOLLOWER: &str = "follower";

/// The CPU time the follower's thread has used so far (user and system),
/// from `/proc/self/task/*/stat`, in the kernel's clock ticks (10 ms).
fn follower_cpu() -> Duration {
    for task in std::fs::read_dir("/proc/self/task").expect("Linux's /proc") {
        let task = task.unwrap().path();
        let name = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
        if name.trim() != FOLLOWER {
            continue;
        }
        let stat = std::fs::read_to_string(task.join("stat")).unwrap();
        // The fields after the name, which is in parentheses: utime and
        // stime are the 14th and 15th fields of the line, the 12th and 13th
        // after ")".
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<u64> = after_name
            .split_whitespace()
            .skip(11)
            .take(2)
            .map(|field| field.parse().unwrap())
            .collect();
        return Duration::from_millis(10 * (fields[0] + fields[1]));
    }
    panic!("no thread named {FOLLOWER}");
}

/// Writes one table's keys and flushes them: one more table.
fn flush_one_table(store: &Store, table: usize) {
    for n in 0..KEYS {
        store
            .set(&format!("country-{table:04}-{n:02}"), "capital")
            .unwrap();
    }
    store.flush().unwrap();
}

/// Waits until the timeline has seen more than `frames` frames; returns
/// when it noticed (at most `patience` from now).
fn wait_for_frame(timeline: &Timeline, frames: usize, patience: Duration) -> Instant {
    let mut seen = timeline.seen.subscribe();
    let deadline = Instant::now() + patience;
    while *seen.borrow_and_update() <= frames {
        assert!(
            Instant::now() < deadline,
            "no new frame within {patience:?}"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    Instant::now()
}

/// Draws frame `number` as the page fetches it: its picture and summary.
fn draw(timeline: &Timeline, number: usize) -> (Duration, usize) {
    let frame = timeline.frame(number).expect("the frame is kept");
    let tree = frame.tree.expect("the directory could be read");
    let started = Instant::now();
    let svg = picture::draw(&tree);
    let text = summary::render(&tree);
    let took = started.elapsed();
    assert!(text.contains("live table"), "{text}");
    (took, svg.len())
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that does not match skips.
    if std::env::args()
        .skip(1)
        .any(|arg| !arg.starts_with("--") && !"live_look".contains(arg.as_str()))
    {
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let options = Options {
        memtable_bytes: usize::MAX,
        compaction_threshold: usize::MAX,
        ..Options::default()
    };
    let store = Store::open(directory.path(), options).unwrap();
    for table in 0..TABLES {
        flush_one_table(&store, table);
    }

    let timeline = Arc::new(Timeline::new(directory.path(), None));
    let follower = Arc::clone(&timeline);
    let started = Instant::now();
    std::thread::Builder::new()
        .name(FOLLOWER.to_string())
        .spawn(move || live::follow(&follower))
        .unwrap();
    let first_look = wait_for_frame(&timeline, 0, Duration::from_secs(60)) - started;
    let (first_draw, first_svg) = draw(&timeline, 0);

    let mut looks = Vec::new();
    let mut draws = Vec::new();
    std::thread::sleep(Duration::from_millis(100));
    let cpu_before = follower_cpu();
    for flush in 0..FLUSHES {
        // Lets the follower settle, so each flush is a look of its own.
        std::thread::sleep(Duration::from_millis(100));
        let frames = *timeline.seen.borrow();
        flush_one_table(&store, TABLES + flush);
        let flushed = Instant::now();
        looks.push(wait_for_frame(&timeline, frames, Duration::from_secs(10)) - flushed);
        draws.push(draw(&timeline, frames).0);
    }
    std::thread::sleep(Duration::from_millis(100));
    let cpu_per_flush = (follower_cpu() - cpu_before) / FLUSHES as u32;
    let last = *timeline.seen.borrow() - 1;
    let tables_now = timeline
        .frame(last)
        .and_then(|frame| frame.tree.ok())
        .map_or(0, |tree| tree.tables.len());
    assert_eq!(
        tables_now,
        TABLES + FLUSHES,
        "the last frame has every table"
    );

    let median = |samples: &mut Vec<Duration>| percentile(samples, 50.0);
    let most = |samples: &mut Vec<Duration>| percentile(samples, 100.0);
    let ms = |duration: Duration| format!("{:.1} ms", duration.as_secs_f64() * 1000.0);
    println!("live_look: {TABLES} tables of {KEYS} keys (step 05), then {FLUSHES} flushes");
    println!("| look | until the frame is seen | drawing it (picture, summary) |");
    println!("|---|---|---|");
    println!(
        "| first (every table read; SVG {} KiB) | {} | {} |",
        first_svg / 1024,
        ms(first_look),
        ms(first_draw)
    );
    println!(
        "| after one flush, median of {FLUSHES} | {} | {} |",
        ms(median(&mut looks)),
        ms(median(&mut draws))
    );
    println!(
        "| after one flush, slowest | {} | {} |",
        ms(most(&mut looks)),
        ms(most(&mut draws))
    );
    println!(
        "the follower's CPU time per flush (its looks and the frame's naming): {}",
        ms(cpu_per_flush)
    );
    let mut cache = TableCache::default();
    timeline.read(&mut cache).unwrap();
    let before = cache.reads;
    flush_one_table(&store, TABLES + FLUSHES);
    timeline.read(&mut cache).unwrap();
    println!(
        "tables a look read from disk after one flush: {} of {}",
        cache.reads - before,
        TABLES + FLUSHES + 1
    );
    let slowest = most(&mut looks) + most(&mut draws);
    println!(
        "slowest redraw (seen + drawn): {} = {:.2} of the one-second promise",
        ms(slowest),
        slowest.as_secs_f64()
    );
}
