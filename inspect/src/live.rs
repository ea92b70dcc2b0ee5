//! Following a directory while a server changes it: a look at every change,
//! and the frames of the timeline that `--serve` shows.
//!
//! The idea: the kernel tells us when a file in the directory is created,
//! written, renamed or removed (inotify, through `notify`), and only then
//! do we look again. A flush is several such events within a millisecond:
//! the table written under `.tmp` and renamed, then the MANIFEST the same
//! way. So:
//! - events on a `.tmp` are ignored: the rename that ends the write is the
//!   change;
//! - a table or the MANIFEST renamed into place is the moment a flush or a
//!   merge takes effect: we look at once, so that two flushes close
//!   together are two frames;
//! - after any other event we wait until the directory has been quiet for
//!   [`QUIET`] (at most [`AT_MOST`]), and look once;
//! - a look that catches the store half-way (a server holds `LOCK`, and a
//!   `.tmp` is there, or a table the MANIFEST does not name yet, or one a
//!   merge has dropped but not yet removed, or a log a flush has left
//!   behind or a start not yet named) is put off until the next event,
//!   for at most [`BUSY`]: a frame shows the tree between two steps of the
//!   store, not in the middle of one.
//!
//! A look reads only the tables that changed (`cache.rs`), and answers
//! every event that came before it began: a flush is a dozen events, and
//! one look each would read the directory a dozen times. A look whose
//! summary is the one before shows nothing new and makes no frame; any
//! other becomes a frame, named by `history.rs`.
//!
//! With nothing changing, the follower thread sleeps in a blocking receive
//! and the web server in `epoll`: no timer, no rereading (a test counts
//! the kernel's switches to an idle inspector's threads: none). The one
//! poll is for a directory that is not there (yet, or any more): once a
//! second, one `stat`, until it is there to watch.
//!
//! Shortcuts, and what they cost:
//! - the inspector's own reads open files, which the kernel reports too:
//!   those events (`Access`) are dropped, or each look would cause the
//!   next. A server that starts on a directory it has used before opens
//!   `LOCK` and may change nothing else, so its start shows at the next
//!   look; its stop shows at once (closing a file opened for writing is
//!   reported);
//! - the timeline keeps the last [`KEPT`] frames, and each frame its tree
//!   (the tables themselves are shared between frames, see `cache.rs`).
//!
//! Invariants:
//! - frames are numbered from 0 in the order they were seen, and a number
//!   always means the same frame;
//! - the follower only reads: every file is opened read-only (see
//!   `tree_reader.rs`).

use std::collections::VecDeque;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecursiveMode, Watcher};
use solution_07::format::MANIFEST;

use crate::cache::TableCache;
use crate::{Lock, Step, Tree, history, summary};

/// How long the directory must be quiet before we look.
pub const QUIET: Duration = Duration::from_millis(30);
/// How long a stream of events may put a look off: a server busy with
/// PUTs still gets a frame this often.
pub const AT_MOST: Duration = Duration::from_millis(250);
/// How long a look caught in the middle of a flush or merge is put off.
pub const BUSY: Duration = Duration::from_millis(500);
/// How often to look for a directory that is not there.
const MISSING_POLL: Duration = Duration::from_secs(1);
/// How many frames the timeline keeps.
pub const KEPT: usize = 1000;

/// One point of the timeline: the directory as one look saw it.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Its number, from 0.
    pub number: usize,
    /// When it was seen, in milliseconds since the inspector started.
    pub at_ms: u64,
    /// What changed since the frame before.
    pub changes: Vec<String>,
    /// The tree, or why the directory could not be read.
    pub tree: Result<Arc<Tree>, String>,
}

/// The timeline, shared between the follower and the web server.
pub struct Timeline {
    pub directory: PathBuf,
    pub step: Option<Step>,
    started: Instant,
    /// When this inspector started, in milliseconds since 1970: a page
    /// that reconnects to another inspector (restarted) starts its
    /// timeline again.
    pub run: u64,
    inner: Mutex<Frames>,
    /// The number of frames seen so far, for the page's event streams.
    pub seen: tokio::sync::watch::Sender<usize>,
}

struct Frames {
    frames: VecDeque<Frame>,
    /// The summary of the last frame, to tell whether a look is new.
    last_summary: Option<String>,
    seen: usize,
}

impl Timeline {
    /// An empty timeline for `directory`, read as `step` (or as detected).
    pub fn new(directory: &Path, step: Option<Step>) -> Timeline {
        Timeline {
            directory: directory.to_path_buf(),
            step,
            started: Instant::now(),
            run: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_millis() as u64),
            inner: Mutex::new(Frames {
                frames: VecDeque::new(),
                last_summary: None,
                seen: 0,
            }),
            seen: tokio::sync::watch::Sender::new(0),
        }
    }

    fn frames(&self) -> MutexGuard<'_, Frames> {
        self.inner
            .lock()
            .expect("a thread panicked while it held the timeline (a bug in live.rs)")
    }

    /// The frame `number`, if it is still kept.
    pub fn frame(&self, number: usize) -> Option<Frame> {
        let frames = self.frames();
        let first = frames.frames.front()?.number;
        frames.frames.get(number.checked_sub(first)?).cloned()
    }

    /// The frames from `number` on (those still kept).
    pub fn frames_from(&self, number: usize) -> Vec<Frame> {
        let frames = self.frames();
        frames
            .frames
            .iter()
            .filter(|frame| frame.number >= number)
            .cloned()
            .collect()
    }

    /// Looks at the directory once, through `cache`.
    pub fn read(&self, cache: &mut TableCache) -> crate::Result<Tree> {
        Tree::read_cached(&self.directory, self.step, cache)
    }

    /// Adds `read`, a look at the directory, as a frame if it shows
    /// something new; says whether it did.
    pub fn record(&self, read: crate::Result<Tree>) -> bool {
        let at_ms = self.started.elapsed().as_millis() as u64;
        let (tree, summary) = match read {
            Ok(tree) => {
                let summary = summary::render(&tree);
                (Ok(Arc::new(tree)), summary)
            }
            Err(error) => {
                let why = format!("{error}; waiting for it to appear");
                (Err(why.clone()), why)
            }
        };
        let mut frames = self.frames();
        if frames.last_summary.as_ref() == Some(&summary) {
            return false;
        }
        let before = frames
            .frames
            .back()
            .and_then(|frame| frame.tree.clone().ok());
        let changes = match (&before, &tree) {
            (Some(before), Ok(after)) => history::changes(before, after),
            (None, Ok(after)) if frames.seen == 0 => history::first_look(after),
            (None, Ok(after)) => {
                let mut changes = vec!["the directory is there".to_string()];
                changes.extend(history::first_look(after));
                changes
            }
            (_, Err(why)) => vec![why.clone()],
        };
        let number = frames.seen;
        frames.frames.push_back(Frame {
            number,
            at_ms,
            changes,
            tree,
        });
        if frames.frames.len() > KEPT {
            frames.frames.pop_front();
        }
        frames.last_summary = Some(summary);
        frames.seen += 1;
        let seen = frames.seen;
        drop(frames);
        self.seen.send_replace(seen);
        true
    }
}

/// What the watcher reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Signal {
    /// A file changed: look once the directory is quiet.
    Change,
    /// A table or the MANIFEST was renamed into place, the moment a flush
    /// or a merge takes effect: look at once, so that two flushes close
    /// together are two frames.
    Commit,
}

/// What an event of the watcher means for us, if anything.
fn signal(event: &notify::Event) -> Option<Signal> {
    // Our own reads are reported as `Access`: each look would cause the
    // next. A file closed after writing is a change: the server's `LOCK` is
    // closed so when the server stops, and the kernel lets its lock go.
    if matches!(event.kind, EventKind::Access(kind) if kind != AccessKind::Close(AccessMode::Write))
    {
        return None;
    }
    let names = event
        .paths
        .iter()
        .filter_map(|path| path.file_name()?.to_str())
        // A `.tmp` is a write under way: its rename is the change.
        .filter(|name| !is_temporary(name));
    let mut signal = None;
    let arrived = matches!(
        event.kind,
        EventKind::Create(_)
            | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
    );
    for name in names {
        let committed = arrived && (name == MANIFEST || name.ends_with(".sst"));
        signal = Some(if committed {
            Signal::Commit
        } else {
            Signal::Change
        })
        .max(signal);
    }
    signal
}

fn is_temporary(name: &str) -> bool {
    name.ends_with(".tmp")
}

/// Whether `tree` is caught in the middle of a flush, a merge, a clear or
/// a start: a server holds the directory, and a file is there that it
/// is writing (`.tmp`) or about to make live or remove (a table, index or
/// filter the MANIFEST does not name; a log the MANIFEST no longer needs,
/// or that is not in the chain yet). Such a look is put off, for at most
/// [`BUSY`].
fn busy(tree: &Tree) -> bool {
    tree.lock == Some(Lock::Held)
        && tree.others.iter().any(|other| {
            let name = other.name.as_str();
            is_temporary(name)
                || (tree.step.has_manifest()
                    && [".sst", ".idx", ".bloom"]
                        .iter()
                        .any(|extension| name.ends_with(extension)))
                || (tree.step.has_filter_and_logs() && name.ends_with(".wal"))
        })
}

/// Follows the directory of `timeline` for ever: a look now, then one after
/// each change. Returns only if the watcher cannot be made.
pub fn follow(timeline: &Timeline) -> notify::Result<()> {
    let (sender, signals) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let signal = match event {
            Ok(event) => signal(&event),
            // An error (events lost, say): look again to be sure.
            Err(_) => Some(Signal::Change),
        };
        if let Some(signal) = signal {
            let _ = sender.send(signal);
        }
    })?;
    let mut cache = TableCache::default();
    // The inode of the directory we watch: a directory removed and made
    // again (`rm -rf data`) is another one, to be watched anew.
    let mut watched: Option<u64> = None;
    loop {
        let inode = std::fs::metadata(&timeline.directory)
            .ok()
            .map(|metadata| metadata.ino());
        if inode != watched {
            if watched.is_some() {
                let _ = watcher.unwatch(&timeline.directory);
            }
            watched = match watcher.watch(&timeline.directory, RecursiveMode::NonRecursive) {
                Ok(()) => inode,
                Err(_) => None,
            };
        }
        let first = Instant::now();
        loop {
            // Each signal already sent is of a change made before this look
            // begins, which it will see: one look answers them all.
            while signals.try_recv().is_ok() {}
            let read = timeline.read(&mut cache);
            let left = BUSY.saturating_sub(first.elapsed());
            if left.is_zero() || !read.as_ref().is_ok_and(busy) {
                timeline.record(read);
                break;
            }
            match signals.recv_timeout(left) {
                Ok(signal) => wait_for_quiet(&signals, signal),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
        let signal = if watched.is_some() {
            signals.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            signals.recv_timeout(MISSING_POLL)
        };
        match signal {
            Ok(signal) => wait_for_quiet(&signals, signal),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// After `first`, waits until the events stop for [`QUIET`] (at most
/// [`AT_MOST`]), or not at all for a [`Signal::Commit`].
fn wait_for_quiet(signals: &Receiver<Signal>, first: Signal) {
    let started = Instant::now();
    let mut signal = first;
    while signal == Signal::Change {
        let left = AT_MOST.saturating_sub(started.elapsed());
        match signals.recv_timeout(QUIET.min(left)) {
            Ok(next) if !left.is_zero() => signal = next,
            _ => return,
        }
    }
}
