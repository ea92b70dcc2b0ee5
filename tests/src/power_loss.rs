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
//!    names;
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
//! is missing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::client::{Response, kv_path, send_from};
use crate::file_system::{Entry, FileSystem, Image, NameChange, Unsynced};
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

/// Checks every crash image of a recorded run. `root` is the directory the
/// trace was taken in: the server's working directory is `root/data`.
/// `runs` are the server's calls, in order, one list per process (each
/// after the last was killed or stopped); `added[i]` is what the test put
/// under the root just before run `i` (on the disk for sure).
pub fn check<S: Harness>(
    root: &Path,
    added: &[Image],
    runs: &[Vec<Call>],
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
    let calls: Vec<&Call> = runs.iter().flatten().collect();
    // Where each run after the first starts.
    let restarts: Vec<usize> = runs
        .iter()
        .take(runs.len().saturating_sub(1))
        .scan(0, |start, run| {
            *start += run.len();
            Some(*start)
        })
        .collect();
    let mut timeline = Timeline::new(&operations);
    let mut fs = FileSystem::new(root);
    if let Some(first) = added.first() {
        fs.add_durable(first);
    }
    let mut crash_points = 0;
    // What each distinct image read back, so that an image that many crash
    // points leave is opened once.
    let mut reads: HashMap<Image, Read> = HashMap::new();
    let mut promised_at: HashMap<usize, String> = HashMap::new();

    for index in 0..=calls.len() {
        if let Some(run) = restarts.iter().position(|&start| start == index) {
            timeline.restart();
            if let Some(added) = added.get(run + 1) {
                fs.add_durable(added);
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
                    let Some(problem) = judge(read, &allowed, &operations, promise, &promised_at)
                    else {
                        continue;
                    };
                    let when = match call {
                        Some(call) => format!("just before call {index}, {}", describe(call, root)),
                        None => "at the end of the run".to_string(),
                    };
                    return Err(format!(
                        "a power cut {when} can leave a directory that breaks the promise:\n\
                         the image: {}\n{problem}",
                        describe_image(fs.pending(), &kept, unsynced)
                    ));
                }
            }
        }
        let Some(call) = call else { break };
        fs.apply(call);
        for op in timeline.follow(call, promise) {
            promised_at.insert(op, not_durable(&fs, &operations[op].0, index));
        }
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

/// What is wrong with what an image read back, if anything.
fn judge(
    read: &Read,
    allowed: &Allowed,
    operations: &[(Op, u16)],
    promise: Promise,
    promised_at: &HashMap<usize, String>,
) -> Option<String> {
    let values = match read {
        Err(error) => return Some(format!("the store does not open: {error}")),
        Ok(values) => values,
    };
    allowed.iter().find_map(|(key, promised, allowed)| {
        let value = &values[key];
        if allowed.contains(value) {
            return None;
        }
        let mut text = format!(
            "key {key:?} holds {:?}, but ",
            value.as_deref().map(shorten)
        );
        match promised {
            Some(op) => {
                let _ = write!(
                    text,
                    "{} was promised durable ({}).\n{}",
                    operations[*op].0.describe(),
                    match promise {
                        Promise::WhenAnswered => "answered 200",
                        Promise::WhenFlushed => "flushed",
                        Promise::WhenStopped => "stopped with everything flushed",
                    },
                    promised_at.get(op).map_or("", String::as_str)
                );
            }
            None => text.push_str("no operation that reached the server left that"),
        }
        Some(text)
    })
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
        return (0..1u32 << count)
            .map(|mask| (0..count).map(|bit| mask & (1 << bit) != 0).collect())
            .collect();
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
fn not_durable(fs: &FileSystem, op: &Op, call: usize) -> String {
    let needle = match op {
        Op::Put { key, .. } | Op::Delete { key } => key.as_bytes(),
        Op::Clear => b"",
    };
    let mut text = format!("When it was promised (call {call}), not yet durable:");
    let files = fs.unsynced_files(needle);
    let names = fs.pending();
    if files.is_empty() && names.is_empty() {
        text.push_str(" nothing.");
    }
    for (path, bytes, holds) in &files {
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
    let _ = write!(text, "\n{}", hint(&files, names));
    text
}

/// Which sync to look at, from what was not durable.
fn hint(files: &[(PathBuf, usize, bool)], names: &[NameChange]) -> String {
    let holding: Vec<&PathBuf> = files
        .iter()
        .filter(|(_, _, holds)| *holds)
        .map(|(path, _, _)| path)
        .collect();
    let is = |extension: &str| {
        holding
            .iter()
            .any(|path| path.extension().is_some_and(|e| e == extension))
    };
    if is("wal") {
        "Is the log synced (sync_data) before a write is answered? (exercise 7.3, \
         Wal::sync_loop)"
            .to_string()
    } else if is("sst") || is("tmp") {
        "Is the table's file synced (sync_all) before it is renamed into place? \
         (exercise 3.3, sstable::write)"
            .to_string()
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
    read.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(format!("it panicked: {message}"))
    })
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
