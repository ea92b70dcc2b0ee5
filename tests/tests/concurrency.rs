//! Readers and writers at once, while the store flushes under them.
//!
//! Writers overwrite their keys with ever larger values; readers read the
//! same keys over and over. The memtable is tiny, so flushes (inline in step
//! 03, by the tree shaker from step 04 on) happen all the time. No reader may
//! ever see a key go back to an older value, or vanish once it was seen: that
//! would be a read that fell between the memtable and its table.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use cross_step_tests::for_steps;
use cross_step_tests::stores::Harness;

const WRITERS: usize = 2;
const READERS: usize = 2;
const KEYS_PER_WRITER: usize = 16;
const ROUNDS: usize = 40;

fn key(writer: usize, n: usize) -> String {
    format!("writer-{writer}:key-{n:02}")
}

/// Values sort like the rounds that wrote them.
fn value(round: usize) -> String {
    format!("round-{round:04}")
}

fn reads_never_go_back_in_time<S: Harness + Sync>() {
    let directory = tempfile::tempdir().unwrap();
    let store = S::open(directory.path());
    let writing = AtomicBool::new(true);
    thread::scope(|scope| {
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                scope.spawn(|| {
                    let mut last_seen = vec![None::<String>; WRITERS * KEYS_PER_WRITER];
                    let mut reads = 0;
                    while writing.load(Ordering::Acquire) || reads == 0 {
                        for writer in 0..WRITERS {
                            for n in 0..KEYS_PER_WRITER {
                                let seen = store.get(&key(writer, n));
                                let last = &mut last_seen[writer * KEYS_PER_WRITER + n];
                                assert!(
                                    seen >= *last,
                                    "{}: {} went back from {last:?} to {seen:?}",
                                    S::NAME,
                                    key(writer, n)
                                );
                                *last = seen;
                                reads += 1;
                            }
                        }
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let store = &store;
                scope.spawn(move || {
                    for round in 0..ROUNDS {
                        for n in 0..KEYS_PER_WRITER {
                            store.set(&key(writer, n), &value(round));
                        }
                    }
                })
            })
            .collect();
        // The readers stop only when `writing` is false, so it must be set
        // even when a writer panicked (a store that fails its writes), or
        // the test would wait for the readers forever instead of failing.
        let written: Vec<_> = writers.into_iter().map(|writer| writer.join()).collect();
        writing.store(false, Ordering::Release);
        for reader in readers {
            reader.join().expect("a reader panicked");
        }
        for outcome in written {
            if let Err(panic) = outcome {
                std::panic::resume_unwind(panic);
            }
        }
    });
    let store = store.reopen(directory.path());
    for writer in 0..WRITERS {
        for n in 0..KEYS_PER_WRITER {
            assert_eq!(
                store.get(&key(writer, n)),
                Some(value(ROUNDS - 1)),
                "{}",
                S::NAME
            );
        }
    }
}

for_steps! {
    reads_never_go_back_in_time::<S>();
    solution_03_reads_never_go_back_in_time: solution_03::Store,
    solution_04_reads_never_go_back_in_time: solution_04::Store,
    solution_05_reads_never_go_back_in_time: solution_05::Store,
    solution_06_reads_never_go_back_in_time: solution_06::Store,
    solution_07_reads_never_go_back_in_time: solution_07::Store,
}
