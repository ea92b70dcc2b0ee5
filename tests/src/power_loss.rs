//! The power-loss check: what a power cut at any moment of a recorded run
//! could leave on the disk, opened, and compared with what was promised.
//!
//! `kill -9` cannot test durability: the process dies, the kernel keeps its
//! page cache, and every byte written is still there, synced or not. A
//! power cut loses what was not synced. So the check works as ALICE and
//! CrashMonkey do:
//!
//! 1. record a workload against the real server under strace
//!    ([`crate::strace`]): every file-system call, every answer to a client
//!    (found by the client's port), and the server's log;
//! 2. replay the calls in a model of the disk ([`crate::file_system`]) and,
//!    before every call that makes something durable or changes a name,
//!    build the crash images a power cut there could leave: unsynced bytes
//!    lost, torn, zeroed or kept, and any subset of the unsynced changes of
//!    names. A call the server died in (the `kill -9` lands in one now and
//!    then) may or may not have happened: what the directory holds once
//!    the process is gone decides ([`FileSystem::settle`]);
//! 3. open every distinct image with the step's store and read every key:
//!    each must hold what its last promised operation left, or what a later
//!    operation that had already reached the server would leave.
//!
//! What a step promises differs: from step 07 on, an answer 200 means
//! durable ([`Promise::WhenAnswered`]); in steps 03 to 06 a write is durable
//! once it is in a table, and a `clear` is durable when answered. Step 03
//! flushes on the writer's thread, so its `flushed` log line covers every
//! write answered before it ([`Promise::WhenFlushed`]); in steps 04 to 06
//! the shaker flushes in the background, and a `flushed` line says only
//! that one frozen memtable is in a table, not which writes it held, so
//! their promise is the line a graceful stop logs once everything is
//! flushed ([`Promise::WhenStopped`]).
//!
//! A failure names the crash point, the image, the key, and what was not
//! yet durable when the lost operation was promised: that is where a sync
//! is missing. When the image is one the store cannot open (a table cut
//! short, say), every key promised so far is unreadable: the failure names
//! the first few, and what was not durable at that cut. Either way it ends
//! with the sync to look at: the exercise whose answer holds it (a table's
//! file and name, exercise 3.3 in steps 03 and 04; the log's data, exercise
//! 7.3), else the function that owns it. A directory the store cannot open
//! before anything was promised names no key, so the check looks on for a
//! later power cut that breaks a promise, and reports the first one only if
//! none does. `cargo xtask sync-mutants` holds these messages to what the
//! book quotes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::client::{Response, kv_path, send_from};
use crate::file_system::{Entry, FileSystem, Image, NameChange, Unsynced, every_subset};
use crate::stores::Harness;
use crate::strace::Call;

/// One operation of the workload, as a client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put { key: String, value: String },
    Delete { key: String },
    Clear,
}

impl Op {
    fn touches(&self, key: &str) -> bool {
        match self {
            Op::Put { key: k, .. } | Op::Delete { key: k } => k == key,
            Op::Clear => true,
        }
    }

    /// What the operation leaves in a key it touches.
    fn leaves(&self) -> Option<String> {
        match self {
            Op::Put { value, .. } => Some(value.clone()),
            Op::Delete { .. } | Op::Clear => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Op::Put { key, value } => format!("PUT {key:?} = {:?}", shorten(value)),
            Op::Delete { key } => format!("DELETE {key:?}"),
            Op::Clear => "DELETE /clear".to_string(),
        }
    }
}

/// When a step promises that an operation survives a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Promise {
    /// When it is answered 200 (step 07: the log is synced first).
    WhenAnswered,
    /// When the server logs `flushed` after it, or for a `clear` when it is
    /// answered (step 03).
    WhenFlushed,
    /// When the server logs `stopped:` after it, at the end of a graceful
    /// stop that flushed everything, or for a `clear` when it is answered
    /// (steps 04 to 06).
    WhenStopped,
}

impl Promise {
    /// The server's log line that makes every answered write durable.
    fn log_line(self) -> Option<&'static str> {
        match self {
            Promise::WhenAnswered => None,
            Promise::WhenFlushed => Some(" flushed "),
            Promise::WhenStopped => Some(" stopped: "),
        }
    }
}

/// The client side of a recorded workload: the operations in the order
/// they were sent, each with the client's port.
#[derive(Default)]
pub struct Workload {
    sent: Mutex<Vec<(Op, u16)>>,
}

impl Workload {
    pub fn new() -> Arc<Workload> {
        Arc::new(Workload::default())
    }

    /// Sends `op` to the server at `addr` and returns its answer.
    pub async fn send(&self, addr: SocketAddr, op: Op) -> Response {
        let (method, path, body) = match &op {
            Op::Put { key, value } => ("PUT", kv_path(key), value.clone()),
            Op::Delete { key } => ("DELETE", kv_path(key), String::new()),
            Op::Clear => ("DELETE", "/clear".to_string(), String::new()),
        };
        let sent = &self.sent;
        let record = |port| sent.lock().unwrap().push((op.clone(), port));
        send_from(addr, method, &path, body.as_bytes(), record)
            .await
            .unwrap_or_else(|error| panic!("{method} {path}: {error}"))
    }

    fn operations(&self) -> Vec<(Op, u16)> {
        self.sent.lock().unwrap().clone()
    }
}

/// How many crash points and images a check went through.
#[derive(Debug)]
pub struct Summary {
    pub calls: usize,
    pub crash_points: usize,
    pub images: usize,
    pub promised: usize,
}

/// One run of the server under strace, from its start until its process
/// was gone (killed, or stopped).
pub struct Run {
    /// What the test put under the root just before the run: on the disk
    /// for sure.
    pub added: Image,
    /// The server's calls, as [`crate::strace::parse`] read them.
    pub calls: Vec<Call>,
    /// What was under the root once the process was gone, before the test
    /// added anything: it decides the calls the process died in.
    pub left: Image,
}

/// The calls of `run` that returned, in order.
fn completed(run: &Run) -> Vec<&Call> {
    run.calls.iter().filter(|call| !call.cut_short).collect()
}

/// Checks every crash image of recorded runs. `root` is the directory the
/// trace was taken in: the server's working directory is `root/data`.
/// `runs` are the server's runs in order, each after the last was killed
/// or stopped.
pub fn check<S: Harness>(
    root: &Path,
    runs: &[Run],
    workload: &Workload,
    promise: Promise,
    memtable_bytes: usize,
) -> Result<Summary, String> {
    let operations = workload.operations();
    let keys: BTreeSet<String> = operations
        .iter()
        .filter_map(|(op, _)| match op {
            Op::Put { key, .. } | Op::Delete { key } => Some(key.clone()),
            Op::Clear => None,
        })
        .collect();
    let calls: Vec<&Call> = runs.iter().flat_map(completed).collect();
    // Where each run ends in `calls`.
    let ends: Vec<usize> = runs
        .iter()
        .scan(0, |end, run| {
            *end += completed(run).len();
            Some(*end)
        })
        .collect();
    let mut timeline = Timeline::new(&operations);
    let mut fs = FileSystem::new(root);
    if let Some(first) = runs.first() {
        fs.add_durable(&first.added);
    }
    let mut crash_points = 0;
    // What each distinct image read back, so that an image that many crash
    // points leave is opened once.
    let mut reads: HashMap<Image, Read> = HashMap::new();
    let mut promised_at: HashMap<usize, String> = HashMap::new();
    let step = step_of(S::NAME);
    // A directory the store cannot open before anything was promised: a
    // failure, but one that names no key. It is reported only if no later
    // power cut breaks a promise made by then (see [`Broken::names_a_key`]).
    let mut first_unkeyed: Option<(String, String)> = None;

    for index in 0..=calls.len() {
        for (run, _) in ends.iter().enumerate().filter(|&(_, &end)| end == index) {
            // The process is gone: what it died in is decided by what it
            // left, before the next run starts (or the last cut is made).
            let cut_short: Vec<&Call> = runs[run].calls.iter().filter(|c| c.cut_short).collect();
            fs.settle(&cut_short, &runs[run].left);
            if let Some(next) = runs.get(run + 1) {
                timeline.restart();
                fs.add_durable(&next.added);
            }
        }
        let call = calls.get(index).copied();
        if call.is_none_or(changes_what_is_durable) {
            crash_points += 1;
            let allowed = timeline.allowed(&keys);
            for kept in subsets(fs.pending().len()) {
                for unsynced in Unsynced::ALL {
                    let image = fs.image(&kept, unsynced);
                    let read = reads.entry(image).or_insert_with_key(|image| {
                        open_and_read::<S>(image, &keys, memtable_bytes)
                    });
                    let Some(broken) = judge(read, &allowed) else {
                        continue;
                    };
                    let when = match call {
                        Some(call) => format!("just before call {index}, {}", describe(call, root)),
                        None => "at the end of the run".to_string(),
                    };
                    let report = format!(
                        "a power cut {when} can leave a directory that breaks the promise:\n\
                         the image: {}\n{}",
                        describe_image(fs.pending(), &kept, unsynced),
                        broken.explain(step, &fs, &operations, promise, &promised_at)
                    );
                    if broken.names_a_key() {
                        return Err(match first_unkeyed {
                            Some((_, earlier)) => format!("{report}\n{earlier}"),
                            None => report,
                        });
                    }
                    first_unkeyed.get_or_insert_with(|| {
                        let note = format!(
                            "(Earlier, before anything was promised, a power cut {when} \
                             leaves a directory the store does not open.)"
                        );
                        (report, note)
                    });
                }
            }
        }
        let Some(call) = call else { break };
        fs.apply(call);
        for op in timeline.follow(call, promise) {
            promised_at.insert(op, not_durable(step, &fs, &operations[op].0, index));
        }
    }
    if let Some((report, _)) = first_unkeyed {
        return Err(report);
    }
    Ok(Summary {
        calls: calls.len(),
        crash_points,
        images: reads.len(),
        promised: promised_at.len(),
    })
}

/// What an image read back: every key's value, or why it could not be read.
type Read = Result<BTreeMap<String, Option<String>>, String>;

/// For each key: the operation whose result it must hold (if one was
/// promised), and every result it may hold.
type Allowed = Vec<(String, Option<usize>, BTreeSet<Option<String>>)>;

/// How an image breaks the promise.
enum Broken<'a> {
    /// The store does not open (the error, with the image's directory left
    /// out of its paths): every key promised so far is unreadable, oldest
    /// promise first.
    DoesNotOpen {
        error: &'a str,
        promised: Vec<(&'a str, usize)>,
    },
    /// Keys that hold what no operation that reached the server left,
    /// and the operation each was promised to hold (if any).
    Wrong(Vec<(&'a str, &'a Option<String>, Option<usize>)>),
}

/// How many keys a message names before "and N more".
const KEYS_NAMED: usize = 3;

/// What is wrong with what an image read back, if anything.
fn judge<'a>(read: &'a Read, allowed: &'a Allowed) -> Option<Broken<'a>> {
    let values = match read {
        Err(error) => {
            let mut promised: Vec<(&str, usize)> = allowed
                .iter()
                .filter_map(|(key, op, _)| Some((key.as_str(), (*op)?)))
                .collect();
            promised.sort_by_key(|&(key, op)| (op, key));
            return Some(Broken::DoesNotOpen { error, promised });
        }
        Ok(values) => values,
    };
    let wrong: Vec<_> = allowed
        .iter()
        .filter(|(key, _, allowed)| !allowed.contains(&values[key]))
        .map(|(key, promised, _)| (key.as_str(), &values[key], *promised))
        .collect();
    (!wrong.is_empty()).then_some(Broken::Wrong(wrong))
}

impl Broken<'_> {
    /// Whether the failure names a key: one that holds the wrong value, or
    /// one promised before the store stopped opening. A directory the store
    /// cannot open before anything was promised names none, so the check
    /// looks on for a later power cut that does.
    fn names_a_key(&self) -> bool {
        match self {
            Broken::DoesNotOpen { promised, .. } => !promised.is_empty(),
            Broken::Wrong(_) => true,
        }
    }

    /// The failure as a learner reads it: the keys, what was not durable
    /// (when the lost operation was promised, or at this cut when the store
    /// does not open), and the sync to look at.
    fn explain(
        &self,
        step: u32,
        fs: &FileSystem,
        operations: &[(Op, u16)],
        promise: Promise,
        promised_at: &HashMap<usize, String>,
    ) -> String {
        let promised_as = match promise {
            Promise::WhenAnswered => "answered 200",
            Promise::WhenFlushed => "flushed",
            Promise::WhenStopped => "stopped with everything flushed",
        };
        match self {
            Broken::DoesNotOpen { error, promised } => {
                let mut text = format!("the store does not open: {error}\n");
                if promised.is_empty() {
                    text.push_str("Nothing was promised durable yet, but a store that cannot open loses everything.");
                } else {
                    let keys: Vec<&str> = promised.iter().map(|&(key, _)| key).collect();
                    let _ = write!(
                        text,
                        "So every key promised durable ({promised_as}) is unreadable: {}.",
                        name_keys(&keys)
                    );
                }
                let files = fs.unsynced_files(b"");
                let names = fs.pending();
                let _ = write!(
                    text,
                    "\nAt this cut, not yet durable:{}",
                    list(&files, names)
                );
                let named = |path: &Path| error.contains(&*path.to_string_lossy());
                let _ = write!(text, "\n{}", hint(step, &files, names, named));
                text
            }
            Broken::Wrong(wrong) => {
                let &(key, value, promised) = &wrong[0];
                let mut text = format!(
                    "key {key:?} holds {:?}, but ",
                    value.as_deref().map(shorten)
                );
                match promised {
                    Some(op) => {
                        let _ = write!(
                            text,
                            "{} was promised durable ({promised_as}).",
                            operations[op].0.describe()
                        );
                    }
                    None => text.push_str("no operation that reached the server left that."),
                }
                if wrong.len() > 1 {
                    let others: Vec<&str> = wrong[1..].iter().map(|&(key, _, _)| key).collect();
                    let _ = write!(
                        text,
                        "\nOther keys wrong in this image: {}.",
                        name_keys(&others)
                    );
                }
                if let Some(when) = promised.and_then(|op| promised_at.get(&op)) {
                    let _ = write!(text, "\n{when}");
                }
                text
            }
        }
    }
}

/// The first few of `keys`, quoted: `"c0-k1", "c0-k2", "c0-k3" and 5 more`.
fn name_keys(keys: &[&str]) -> String {
    let named: Vec<String> = keys
        .iter()
        .take(KEYS_NAMED)
        .map(|key| format!("{key:?}"))
        .collect();
    match keys.len().saturating_sub(KEYS_NAMED) {
        0 => named.join(", "),
        more => format!("{} and {more} more", named.join(", ")),
    }
}

/// The step a harness's name ends with: `solution-03` → 3.
fn step_of(name: &str) -> u32 {
    let digits: String = name
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<char>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().unwrap_or(0)
}

/// Whether a power cut just before `call` can differ from one just after
/// the call before: it syncs, or changes a name.
fn changes_what_is_durable(call: &Call) -> bool {
    matches!(
        call.name.as_str(),
        "fsync"
            | "fdatasync"
            | "rename"
            | "renameat"
            | "renameat2"
            | "unlink"
            | "unlinkat"
            | "rmdir"
            | "mkdir"
            | "mkdirat"
    ) || (call.name.starts_with("open") && call.has_flag("O_CREAT"))
}

/// The subsets of `count` pending changes of names a crash image may keep:
/// all of them while there are few, else none, all, every prefix, every
/// "all but one" and every "only one".
fn subsets(count: usize) -> Vec<Vec<bool>> {
    if count <= 5 {
        return every_subset(count);
    }
    let mut subsets = BTreeSet::new();
    for n in 0..=count {
        subsets.insert((0..count).map(|i| i < n).collect::<Vec<bool>>());
    }
    for skipped in 0..count {
        subsets.insert((0..count).map(|i| i != skipped).collect());
        subsets.insert((0..count).map(|i| i == skipped).collect());
    }
    subsets.into_iter().collect()
}

/// What was not durable when `op` was promised: where a sync is missing if
/// it is lost.
fn not_durable(step: u32, fs: &FileSystem, op: &Op, call: usize) -> String {
    let needle = match op {
        Op::Put { key, .. } | Op::Delete { key } => key.as_bytes(),
        Op::Clear => b"",
    };
    let files = fs.unsynced_files(needle);
    let names = fs.pending();
    format!(
        "When it was promised (call {call}), not yet durable:{}\n{}",
        list(&files, names),
        hint(step, &files, names, |_| false)
    )
}

/// Files with bytes not yet synced, and changes of names whose directory
/// was not synced since, one per line.
fn list(files: &[(PathBuf, usize, bool)], names: &[NameChange]) -> String {
    let mut text = String::new();
    if files.is_empty() && names.is_empty() {
        text.push_str(" nothing.");
    }
    for (path, bytes, holds) in files {
        let _ = write!(
            text,
            "\n  - {bytes} bytes written to {} since its last sync{}",
            path.display(),
            if *holds { " (they hold the key)" } else { "" }
        );
    }
    for change in names {
        let _ = write!(
            text,
            "\n  - {} (its directory not synced since)",
            change.describe()
        );
    }
    text
}

/// Which sync to look at, from what was not durable: first a file that
/// holds the key or that `named` picks (the file an error names), then a
/// change of names the error names, then any change of names, then any
/// file. The sync is named by the exercise whose answer holds it, else by
/// the function that owns it, in step `step`.
fn hint(
    step: u32,
    files: &[(PathBuf, usize, bool)],
    names: &[NameChange],
    named: impl Fn(&Path) -> bool,
) -> String {
    let focused = files
        .iter()
        .filter(|(path, _, holds)| *holds || named(path))
        .find_map(|(path, _, _)| file_sync(step, path));
    let name_named = names
        .iter()
        .filter(|change| change.paths().iter().any(|path| named(path)))
        .find_map(|change| name_sync(step, change));
    let any_name = names.iter().find_map(|change| name_sync(step, change));
    let any_file = files.iter().find_map(|(path, _, _)| file_sync(step, path));
    if let Some(hint) = focused.or(name_named).or(any_name).or(any_file) {
        hint
    } else if !files.is_empty() {
        "Is each file synced before the store relies on it?".to_string()
    } else if !names.is_empty() {
        "Is the directory synced (files::sync_directory) after a file is created, \
         renamed or removed in it?"
            .to_string()
    } else {
        "Everything was durable then: is something removed or renamed later without \
         the directory being synced in between?"
            .to_string()
    }
}

/// The sync that makes the bytes of the file at `path` durable, in step
/// `step`: an exercise's, or the function's that owns it.
fn file_sync(step: u32, path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy();
    let name = name.strip_suffix(".tmp").unwrap_or(&name);
    if name.ends_with(".wal") && step >= 7 {
        Some(
            "Is the log synced (sync_data) before a write is answered? \
             (exercise 7.3, `Wal::sync_batch`)"
                .to_string(),
        )
    } else if name.ends_with(".sst") {
        Some(format!(
            "Is the table's file synced (sync_all) before it is renamed into place? ({})",
            table_writer(step)
        ))
    } else if name == "MANIFEST" {
        Some(
            "Is the manifest's file synced (sync_all) before it is renamed into place? \
             (`files::write_atomically`)"
                .to_string(),
        )
    } else {
        None
    }
}

/// The sync of the directory that makes `change` durable, in step `step`.
fn name_sync(step: u32, change: &NameChange) -> Option<String> {
    let file_name = |path: &Path| {
        path.file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let (what, owner) = match change {
        NameChange::Rename { to, .. } if file_name(to).ends_with(".sst") => {
            ("a table is renamed into place", table_writer(step))
        }
        NameChange::Rename { to, .. } if file_name(to) == "MANIFEST" => (
            "the manifest is renamed into place",
            "`manifest::write`".to_string(),
        ),
        NameChange::Create { path, .. } if file_name(path).ends_with(".wal") => {
            ("a new log is created", "`wal::create_file`".to_string())
        }
        NameChange::Remove { path } if file_name(path).ends_with(".sst") && step <= 4 => {
            ("a table is removed", "`Store::clear`".to_string())
        }
        NameChange::Create { path, .. } if file_name(path) == "data" => {
            let owner = if step <= 4 {
                "`Store::open`"
            } else {
                "`recovery::recover`"
            };
            ("the data directory is made", owner.to_string())
        }
        _ => return None,
    };
    Some(format!(
        "Is the directory synced (files::sync_directory) after {what}? ({owner})"
    ))
}

/// Where a table's file and name are synced in step `step`: exercise 3.3's
/// answer in steps 03 and 04, `TableWriter::finish` from step 05 on.
fn table_writer(step: u32) -> String {
    if step <= 4 {
        "exercise 3.3, `sstable::write`".to_string()
    } else {
        "`TableWriter::finish`".to_string()
    }
}

/// How an image was made, for a failure report.
fn describe_image(pending: &[NameChange], kept: &[bool], unsynced: Unsynced) -> String {
    let bytes = match unsynced {
        Unsynced::Lost => "bytes written since each file's last sync lost",
        Unsynced::Torn => "bytes written since each file's last sync cut in half",
        Unsynced::Zeroed => "bytes written since each file's last sync read as zeros",
        Unsynced::Kept => "every byte written kept",
    };
    if pending.is_empty() {
        return format!("{bytes}; every name durable");
    }
    let changes: Vec<String> = pending
        .iter()
        .zip(kept)
        .map(|(change, &keep)| {
            format!(
                "{} ({})",
                change.describe(),
                if keep { "reached the disk" } else { "lost" }
            )
        })
        .collect();
    format!(
        "{bytes}; of the changes of names not yet synced: {}",
        changes.join(", ")
    )
}

/// A call as a learner reads it: `fdatasync(000002.wal)`.
fn describe(call: &Call, root: &Path) -> String {
    let shown = |path: &str| {
        let path = Path::new(path);
        path.strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    let mut names: Vec<String> = Vec::new();
    if let Some((_, is)) = call.fd() {
        names.push(shown(&is));
    }
    if !matches!(call.name.as_str(), "write" | "writev" | "pwrite64") {
        names.extend(
            call.strings()
                .iter()
                .map(|bytes| shown(&String::from_utf8_lossy(bytes))),
        );
    }
    format!("{}({})", call.name, names.join(", "))
}

/// Writes `image` to a fresh directory, opens the store in its `data`, and
/// reads every key. A panic while reading is an error too.
fn open_and_read<S: Harness>(
    image: &Image,
    keys: &BTreeSet<String>,
    memtable_bytes: usize,
) -> Result<BTreeMap<String, Option<String>>, String> {
    let root = tempfile::tempdir().expect("a temporary directory");
    for (path, entry) in image {
        let path = root.path().join(path);
        match entry {
            Entry::Directory => std::fs::create_dir_all(&path).expect("make a directory"),
            Entry::File(bytes) => std::fs::write(&path, bytes).expect("write a file"),
        }
    }
    let directory = root.path().join("data");
    let read = std::panic::catch_unwind(|| {
        let store = S::try_open(&directory, memtable_bytes)?;
        Ok(keys
            .iter()
            .map(|key| (key.clone(), store.get(key)))
            .collect())
    });
    let read = read.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(format!("it panicked: {message}"))
    });
    // Paths as the image names them (`data/000001.sst`), not under the
    // temporary directory this image was written to.
    let prefix = format!("{}/", root.path().display());
    read.map_err(|error| error.replace(&prefix, ""))
}

/// The operations as the server saw them: which reached it, which were
/// answered, which are promised durable.
struct Timeline<'a> {
    operations: &'a [(Op, u16)],
    /// For each client port, its operations in the order sent, and how many
    /// of them have been accepted.
    by_port: HashMap<u16, (Vec<usize>, usize)>,
    /// The operation each open connection carries, until it is answered.
    in_progress: HashMap<u16, usize>,
    accepted: Vec<bool>,
    answered: Vec<bool>,
    promised: Vec<bool>,
    /// Answered in a run that ended before they were promised: the process
    /// took them along (a memtable not yet flushed), so no later run can
    /// promise them.
    abandoned: Vec<bool>,
}

impl<'a> Timeline<'a> {
    fn new(operations: &'a [(Op, u16)]) -> Timeline<'a> {
        let mut by_port: HashMap<u16, (Vec<usize>, usize)> = HashMap::new();
        for (index, (_, port)) in operations.iter().enumerate() {
            by_port.entry(*port).or_default().0.push(index);
        }
        Timeline {
            operations,
            by_port,
            in_progress: HashMap::new(),
            accepted: vec![false; operations.len()],
            answered: vec![false; operations.len()],
            promised: vec![false; operations.len()],
            abandoned: vec![false; operations.len()],
        }
    }

    /// Follows one call of the server; returns the operations it made
    /// promised.
    fn follow(&mut self, call: &Call, promise: Promise) -> Vec<usize> {
        if call.result < 0 {
            return Vec::new();
        }
        if call.name.starts_with("accept") {
            let Some(port) = call.result_is.as_deref().and_then(client_port) else {
                return Vec::new();
            };
            if let Some((ops, next)) = self.by_port.get_mut(&port)
                && let Some(&op) = ops.get(*next)
            {
                *next += 1;
                self.accepted[op] = true;
                self.in_progress.insert(port, op);
            }
            return Vec::new();
        }
        let is_write = matches!(
            call.name.as_str(),
            "write" | "writev" | "sendto" | "sendmsg"
        );
        let Some((_, is)) = call.fd().filter(|_| is_write) else {
            return Vec::new();
        };
        if let Some(port) = client_port(&is) {
            let written = call.written();
            let Some(status) = written.strip_prefix(b"HTTP/1.1 ") else {
                return Vec::new();
            };
            let Some(op) = self.in_progress.remove(&port) else {
                return Vec::new();
            };
            self.answered[op] = true;
            let ok = status.starts_with(b"200");
            let durable_now = match promise {
                Promise::WhenAnswered => ok,
                Promise::WhenFlushed | Promise::WhenStopped => {
                    ok && self.operations[op].0 == Op::Clear
                }
            };
            if durable_now {
                return self.promise_answered();
            }
        } else if let Some(line) = promise.log_line()
            && is.starts_with("pipe:")
            && String::from_utf8_lossy(&call.written()).contains(line)
        {
            return self.promise_answered();
        }
        Vec::new()
    }

    /// A new server process starts: what the last one answered but did not
    /// promise is gone with it.
    fn restart(&mut self) {
        for op in 0..self.operations.len() {
            self.abandoned[op] |= self.answered[op] && !self.promised[op];
        }
        self.in_progress.clear();
    }

    /// Promises every answered operation not promised yet.
    fn promise_answered(&mut self) -> Vec<usize> {
        let mut now = Vec::new();
        for op in 0..self.operations.len() {
            if self.answered[op] && !self.promised[op] && !self.abandoned[op] {
                self.promised[op] = true;
                now.push(op);
            }
        }
        now
    }

    /// For each key: its last promised operation, and what it may hold.
    #[allow(clippy::type_complexity)]
    fn allowed(
        &self,
        keys: &BTreeSet<String>,
    ) -> Vec<(String, Option<usize>, BTreeSet<Option<String>>)> {
        keys.iter()
            .map(|key| {
                let touching: Vec<usize> = (0..self.operations.len())
                    .filter(|&op| self.operations[op].0.touches(key))
                    .collect();
                let promised = touching.iter().rev().copied().find(|&op| self.promised[op]);
                let mut allowed = BTreeSet::new();
                allowed.insert(promised.and_then(|op| self.operations[op].0.leaves()));
                for &op in &touching {
                    if promised.is_none_or(|p| op > p) && self.accepted[op] {
                        allowed.insert(self.operations[op].0.leaves());
                    }
                }
                (key.clone(), promised, allowed)
            })
            .collect()
    }
}

/// The client's port of a server-side TCP connection:
/// `TCP:[127.0.0.1:8080->127.0.0.1:41572]` → 41572.
fn client_port(is: &str) -> Option<u16> {
    let inside = is.strip_prefix("TCP:[")?.strip_suffix(']')?;
    let (_, peer) = inside.split_once("->")?;
    peer.rsplit(':').next()?.parse().ok()
}

/// A long value, shortened for a message.
fn shorten(value: &str) -> String {
    if value.len() <= 40 {
        return value.to_string();
    }
    let cut = (0..=40)
        .rev()
        .find(|&i| value.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}… ({} bytes)", &value[..cut], value.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_port_is_read_from_the_connection() {
        assert_eq!(
            client_port("TCP:[127.0.0.1:18777->127.0.0.1:41572]"),
            Some(41572)
        );
        assert_eq!(client_port("TCP:[127.0.0.1:18777]"), None);
    }

    /// A table written and renamed into place, its directory synced but
    /// its bytes never: what a `sync_all` left out of exercise 3.3 leaves.
    fn a_table_never_synced() -> FileSystem {
        let hex = |text: &str| -> String { text.bytes().map(|b| format!("\\x{b:02x}")).collect() };
        let (r, d) = (hex("/r"), hex("/r/data"));
        let (t, a) = (hex("/r/data/000001.sst.tmp"), hex("/r/data/000001.sst"));
        let lines = [
            format!("openat(AT_FDCWD<{r}>, \"{t}\", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3<{t}>"),
            format!("write(3<{t}>, \"{}\", 10) = 10", hex("c0-k1→v\n")),
            format!("rename(\"{t}\", \"{a}\") = 0"),
            format!("openat(AT_FDCWD<{r}>, \"{d}\", O_RDONLY) = 4<{d}>"),
            format!("fsync(4<{d}>) = 0"),
        ];
        let text: String = lines.iter().map(|line| format!("1 {line}\n")).collect();
        let mut fs = FileSystem::new(Path::new("/r"));
        fs.add_durable(&Image::from([(PathBuf::from("data"), Entry::Directory)]));
        for call in crate::strace::parse(&text) {
            fs.apply(&call);
        }
        fs
    }

    #[test]
    fn a_store_that_does_not_open_names_the_promised_keys_the_table_and_the_exercise() {
        let fs = a_table_never_synced();
        let operations = [(
            Op::Put {
                key: "c0-k1".into(),
                value: "v".into(),
            },
            1,
        )];
        let allowed: Allowed = vec![("c0-k1".into(), Some(0), BTreeSet::from([Some("v".into())]))];
        let read: Read =
            Err("data/000001.sst:1: the last line has no newline: the file was cut short".into());
        let broken = judge(&read, &allowed).expect("a store that does not open breaks the promise");
        assert!(broken.names_a_key());
        let text = broken.explain(3, &fs, &operations, Promise::WhenFlushed, &HashMap::new());
        assert!(text.contains("is unreadable: \"c0-k1\"."), "{text}");
        assert!(
            text.contains("bytes written to data/000001.sst since its last sync"),
            "{text}"
        );
        assert!(text.ends_with("(exercise 3.3, `sstable::write`)"), "{text}");
        let text = broken.explain(5, &fs, &operations, Promise::WhenStopped, &HashMap::new());
        assert!(text.ends_with("(`TableWriter::finish`)"), "{text}");
        let nothing_promised: Allowed = vec![("c0-k1".into(), None, BTreeSet::from([None]))];
        let broken = judge(&read, &nothing_promised).expect("still broken");
        assert!(!broken.names_a_key(), "no key was promised yet");
    }

    #[test]
    fn a_lost_write_to_the_log_points_at_exercise_7_3() {
        let pointer = hint(
            7,
            &[(PathBuf::from("data/000002.wal"), 40, true)],
            &[],
            |_| false,
        );
        assert!(
            pointer.ends_with("(exercise 7.3, `Wal::sync_batch`)"),
            "{pointer}"
        );
        let rename = NameChange::Rename {
            from: "data/000001.sst.tmp".into(),
            to: "data/000001.sst".into(),
        };
        let pointer = hint(3, &[], &[rename], |_| false);
        assert!(
            pointer.ends_with("(exercise 3.3, `sstable::write`)"),
            "{pointer}"
        );
    }

    #[test]
    fn few_pending_changes_give_every_subset_and_many_give_a_sample() {
        assert_eq!(subsets(2).len(), 4);
        assert_eq!(subsets(5).len(), 32);
        let many = subsets(8);
        assert!(many.contains(&vec![false; 8]) && many.contains(&vec![true; 8]));
        let only_the_last: Vec<bool> = (0..8).map(|i| i == 7).collect();
        assert!(many.contains(&only_the_last));
    }
}
