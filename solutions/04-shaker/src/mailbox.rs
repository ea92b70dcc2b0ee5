//! The mailbox: how the tree shaker and the threads that wait for it
//! signal each other, without holding the store's lock.
//!
//! Threads wait for each other through a [`Mailbox`]: a counter, guarded by
//! a mutex, that ticks whenever the queue of frozen memtables changes, and a
//! condition variable to sleep on until it ticks. The shaker waits for work,
//! writers wait for room in the queue, and `flush` waits for the queue to
//! empty, all the same way: note the tick, look at the state, and if there
//! is nothing to do, sleep until the tick moves on.
//!
//! One exception, for speed: waking a sleeping thread costs the thread that
//! wakes it a system call, several microseconds on a virtual machine, more
//! than a whole PUT. So with nothing to do the shaker first *naps*: it looks
//! again every millisecond on its own, and a writer that freezes a memtable
//! only moves the clock on ([`Mailbox::memtable_frozen`]). Only after a tenth of a
//! second without work does the shaker sleep for good, and then the next
//! freeze wakes it.
//!
//! Shortcuts, and what they cost:
//! - one clock for every kind of change: a thread may wake for a change it
//!   does not wait for, look, and sleep again;
//! - a napping shaker wakes a thousand times a second for up to a tenth of
//!   a second after its last work.
//!
//! Invariants:
//! - a wait cannot miss a change: [`Mailbox::wait_after`] returns at once
//!   when the clock has moved past the tick the caller noted before it
//!   looked at the state;
//! - a stop or a failure ticks the clock and wakes every waiting thread;
//!   a failure, once recorded, is what every later look sees.
//!
//! Read alongside chapter 4 of the book, "The tree shaker".

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

// ANCHOR: mailbox
/// How the shaker and the threads that wait for it signal each other.
#[derive(Debug, Default)]
pub struct Mailbox {
    inner: Mutex<Letters>,
    ticked: Condvar,
}

/// What the mailbox's mutex guards.
#[derive(Debug, Default)]
struct Letters {
    /// Ticks whenever the frozen queue changes (or the shaker stops).
    ticks: u64,
    /// Set when the store is dropped: the shaker should stop.
    stopping: bool,
    /// Set when the shaker failed; the reason every later write answers.
    failure: Option<String>,
    /// Set while the shaker sleeps until woken (rather than napping).
    asleep: bool,
}
// ANCHOR_END: mailbox

/// How long the shaker naps before it looks for work again on its own.
const NAP: Duration = Duration::from_millis(1);

/// How many naps without work before the shaker sleeps until woken: a tenth
/// of a second, after which an idle store costs no wakeups at all.
const NAPS_BEFORE_SLEEP: u32 = 100;

impl Mailbox {
    /// A mailbox at tick 0, with no stop asked and no failure.
    pub fn new() -> Mailbox {
        Mailbox::default()
    }

    fn letters(&self) -> MutexGuard<'_, Letters> {
        // Nothing panics while holding this mutex: each use is a few lines
        // of plain assignments.
        self.inner.lock().expect("mailbox lock poisoned")
    }

    /// The current tick, to pass to [`Mailbox::wait_after`].
    pub fn now(&self) -> u64 {
        self.letters().ticks
    }

    /// Moves the clock on and wakes every waiting thread.
    pub fn tick(&self) {
        self.letters().ticks += 1;
        self.ticked.notify_all();
    }

    // ANCHOR: frozen
    /// Moves the clock on for a frozen memtable, and wakes the threads that
    /// wait only if the shaker sleeps: a napping shaker finds the memtable
    /// within a nap, and no other thread waits for a memtable to be frozen.
    pub fn memtable_frozen(&self) {
        let mut letters = self.letters();
        letters.ticks += 1;
        let asleep = letters.asleep;
        drop(letters);
        if asleep {
            self.ticked.notify_all();
        }
    }
    // ANCHOR_END: frozen

    /// Sleeps until the clock has moved past `seen`. Returns at once if it
    /// already has, so a tick between reading `seen` and calling this is
    /// never missed.
    pub fn wait_after(&self, seen: u64) {
        let mut letters = self.letters();
        while letters.ticks == seen {
            letters = self.ticked.wait(letters).expect("mailbox lock poisoned");
        }
    }

    // ANCHOR: rest
    /// Called by the shaker when it found nothing to do since the tick
    /// `seen`: waits until the clock moves past `seen`, napping at first (it
    /// looks again every [`NAP`] unasked) and after [`NAPS_BEFORE_SLEEP`]
    /// naps sleeping until woken.
    pub fn rest(&self, seen: u64) {
        let mut letters = self.letters();
        let mut naps = 0;
        while letters.ticks == seen {
            if naps < NAPS_BEFORE_SLEEP {
                let nap = self.ticked.wait_timeout(letters, NAP);
                letters = nap.expect("mailbox lock poisoned").0;
                naps += 1;
            } else {
                letters.asleep = true;
                letters = self.ticked.wait(letters).expect("mailbox lock poisoned");
            }
        }
        letters.asleep = false;
    }
    // ANCHOR_END: rest

    /// Asks the shaker to stop.
    pub fn stop(&self) {
        self.letters().stopping = true;
        self.tick();
    }

    pub fn stopping(&self) -> bool {
        self.letters().stopping
    }

    /// Records why the shaker stopped working and wakes every waiter.
    pub fn fail(&self, reason: String) {
        self.letters().failure = Some(reason);
        self.tick();
    }

    /// Why the shaker failed, if it did.
    pub fn failure(&self) -> Option<String> {
        self.letters().failure.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::thread;

    use super::*;

    #[test]
    fn a_wait_returns_once_the_clock_has_moved() {
        let mailbox = Arc::new(Mailbox::new());
        let seen = mailbox.now();
        let ticker = {
            let mailbox = Arc::clone(&mailbox);
            thread::spawn(move || mailbox.tick())
        };
        // Whether the tick lands before or during the wait, the wait ends.
        mailbox.wait_after(seen);
        ticker.join().unwrap();
        assert_eq!(mailbox.now(), seen + 1);
        // A wait on an old tick returns at once.
        mailbox.wait_after(seen);
    }

    #[test]
    fn a_failure_is_kept_and_wakes_waiters() {
        let mailbox = Mailbox::new();
        let seen = mailbox.now();
        mailbox.fail("disk full".into());
        mailbox.wait_after(seen);
        assert_eq!(mailbox.failure().as_deref(), Some("disk full"));
    }
}
