//! A model of what a power cut can leave of a directory, fed with the calls
//! a server made (see [`crate::strace`]).
//!
//! A file system keeps two things apart: what a process sees (every write,
//! every rename, at once) and what is on the disk. After a power cut only
//! the second is left. The model follows POSIX, not one file system's
//! kindness:
//!
//! - a file's bytes are durable once an `fsync` or `fdatasync` of it has
//!   returned; bytes written since may be lost, cut at any byte, or read
//!   back as zeros (the size reached the disk, the data did not);
//! - a name (a file created, renamed or removed; a directory made) is
//!   durable once its directory has been synced; until then each change of
//!   names may or may not have reached the disk, independently of the others
//!   (a rename is atomic: it happened or not);
//! - syncing a file says nothing of its name, and syncing a directory says
//!   nothing of its files' bytes.
//!
//! Only what is under `root` is modelled; `root` itself is taken as durable.
//!
//! A call the server's process died in (see [`crate::strace`]) may or may
//! not have happened. [`FileSystem::settle`] decides each one by what the
//! directory holds once the process is gone, and refuses to go on if no
//! choice explains it: a model that has lost track of the directory would
//! judge the store on images that could never be.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::strace::Call;

/// The files and directories under the root: what the server sees, what a
/// power cut keeps for sure, and the changes of names in between.
#[derive(Clone)]
pub struct FileSystem {
    root: PathBuf,
    /// Every file and directory ever made, by number.
    nodes: Vec<Node>,
    /// Paths (relative to the root) as the server sees them.
    names: BTreeMap<PathBuf, usize>,
    /// Paths as they are on the disk for sure.
    durable_names: BTreeMap<PathBuf, usize>,
    /// Changes of names not yet made durable, oldest first.
    pending: Vec<NameChange>,
    /// What each open file descriptor of the server refers to: its node and
    /// its offset. Descriptors that are not files under the root are absent.
    open: HashMap<i32, OpenFile>,
}

#[derive(Debug, Clone)]
struct Node {
    is_directory: bool,
    /// The bytes as the server sees them.
    written: Vec<u8>,
    /// The bytes on the disk for sure.
    synced: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct OpenFile {
    node: usize,
    offset: u64,
    append: bool,
}

/// A change of names, in the directory that holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameChange {
    /// A new name for a new node: a file created, a directory made.
    Create {
        path: PathBuf,
        node: usize,
    },
    Rename {
        from: PathBuf,
        to: PathBuf,
    },
    Remove {
        path: PathBuf,
    },
}

impl NameChange {
    /// The directory whose sync makes this change durable.
    fn directory(&self) -> &Path {
        let path = match self {
            NameChange::Create { path, .. } | NameChange::Remove { path } => path,
            NameChange::Rename { to, .. } => to,
        };
        path.parent().unwrap_or(Path::new(""))
    }

    /// Makes the change in `names`; a change whose name is not there (its
    /// creation did not reach the disk) changes nothing.
    fn apply(&self, names: &mut BTreeMap<PathBuf, usize>) {
        match self {
            NameChange::Create { path, node } => {
                names.insert(path.clone(), *node);
            }
            NameChange::Rename { from, to } => {
                if let Some(node) = names.remove(from) {
                    names.insert(to.clone(), node);
                }
            }
            NameChange::Remove { path } => {
                names.remove(path);
            }
        }
    }

    /// The paths it names: the one created or removed, or both of a rename.
    pub fn paths(&self) -> Vec<&Path> {
        match self {
            NameChange::Create { path, .. } | NameChange::Remove { path } => vec![path],
            NameChange::Rename { from, to } => vec![from, to],
        }
    }

    /// The change as a learner would say it.
    pub fn describe(&self) -> String {
        match self {
            NameChange::Create { path, .. } => format!("create {}", path.display()),
            NameChange::Rename { from, to } => {
                format!("rename {} to {}", from.display(), to.display())
            }
            NameChange::Remove { path } => format!("remove {}", path.display()),
        }
    }
}

/// How a crash image treats the bytes written to a file since its last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unsynced {
    /// All lost: the file holds what was synced.
    Lost,
    /// The first half kept, the rest lost: a write torn in the middle.
    Torn,
    /// The length kept, the bytes zeros.
    Zeroed,
    /// All kept (what `kill -9` leaves).
    Kept,
}

impl Unsynced {
    pub const ALL: [Unsynced; 4] = [
        Unsynced::Lost,
        Unsynced::Torn,
        Unsynced::Zeroed,
        Unsynced::Kept,
    ];
}

/// One entry of a crash image: a directory, or a file with its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entry {
    Directory,
    File(Vec<u8>),
}

/// What a power cut can leave: every path under the root and what it holds.
pub type Image = BTreeMap<PathBuf, Entry>;

impl FileSystem {
    pub fn new(root: &Path) -> FileSystem {
        let mut fs = FileSystem {
            root: root.to_path_buf(),
            nodes: Vec::new(),
            names: BTreeMap::new(),
            durable_names: BTreeMap::new(),
            pending: Vec::new(),
            open: HashMap::new(),
        };
        // The root is the empty path, there from the start.
        let root_node = fs.new_node(true);
        fs.names.insert(PathBuf::new(), root_node);
        fs.durable_names.insert(PathBuf::new(), root_node);
        fs
    }

    /// Adds what was under the root before the recorded run, all of it on
    /// the disk for sure: each path (relative to the root) a directory or a
    /// file with its bytes. Parents come before their children.
    pub fn add_durable(&mut self, before: &Image) {
        for (path, entry) in before {
            let node = self.new_node(matches!(entry, Entry::Directory));
            if let Entry::File(bytes) = entry {
                self.nodes[node].written = bytes.clone();
                self.nodes[node].synced = bytes.clone();
            }
            self.names.insert(path.clone(), node);
            self.durable_names.insert(path.clone(), node);
        }
    }

    /// Follows one call. Calls on anything outside the root are ignored; a
    /// call the model does not know on a file under the root panics, so
    /// that the check never passes on a model that is wrong.
    pub fn apply(&mut self, call: &Call) {
        if call.result < 0 {
            return;
        }
        match call.name.as_str() {
            "openat" | "open" | "creat" => self.open_file(call),
            "accept" | "accept4" => {
                self.open.remove(&(call.result as i32));
            }
            "write" | "writev" => {
                if let Some((fd, file)) = self.file_of(call) {
                    let offset = if file.append {
                        self.nodes[file.node].written.len() as u64
                    } else {
                        file.offset
                    };
                    let bytes = call.written();
                    self.write_at(file.node, offset, &bytes);
                    self.open.get_mut(&fd).expect("just found").offset =
                        offset + bytes.len() as u64;
                }
            }
            "pwrite64" => {
                if let Some((_, file)) = self.file_of(call) {
                    let offset = call.last_number().expect("pwrite64 has an offset");
                    let bytes = call.written();
                    self.write_at(file.node, offset as u64, &bytes);
                }
            }
            "ftruncate" => {
                if let Some((_, file)) = self.file_of(call) {
                    // `set_len`: the new length, as the second argument.
                    let length = call.last_number().expect("ftruncate has a length");
                    let length = usize::try_from(length).expect("a length fits usize");
                    self.nodes[file.node].written.resize(length, 0);
                }
            }
            "lseek" => {
                if let Some((fd, _)) = self.file_of(call) {
                    self.open.get_mut(&fd).expect("just found").offset = call.result as u64;
                }
            }
            "fsync" | "fdatasync" => {
                if let Some((_, file)) = self.file_of(call) {
                    self.sync(file.node);
                }
            }
            "rename" | "renameat" | "renameat2" => {
                let paths = self.paths_of(call);
                if let [Some(from), Some(to)] = paths.as_slice() {
                    let node = self.names.remove(from).expect("renamed a path we know");
                    self.names.insert(to.clone(), node);
                    self.pending.push(NameChange::Rename {
                        from: from.clone(),
                        to: to.clone(),
                    });
                }
            }
            "unlink" | "unlinkat" | "rmdir" => {
                if let [Some(path)] = self.paths_of(call).as_slice() {
                    self.names.remove(path);
                    self.pending.push(NameChange::Remove { path: path.clone() });
                }
            }
            "mkdir" | "mkdirat" => {
                if let [Some(path)] = self.paths_of(call).as_slice() {
                    let node = self.new_node(true);
                    self.names.insert(path.clone(), node);
                    self.pending.push(NameChange::Create {
                        path: path.clone(),
                        node,
                    });
                }
            }
            "sendto" | "sendmsg" => {}
            other => {
                let touches_root =
                    self.file_of(call).is_some() || self.paths_of(call).iter().any(Option::is_some);
                assert!(
                    !touches_root,
                    "the power-loss model does not know `{other}`, called on a file under {}: \
                     teach it (tests/src/file_system.rs)",
                    self.root.display()
                );
            }
        }
    }

    /// Decides the calls the server's process died in (`cut_short`, in the
    /// order strace printed them): applies the fewest of them that make
    /// what the server sees equal `found`, the directory as it was read
    /// once the process had gone. The fewest, so that a sync the process
    /// died in, which changes nothing one can see, counts as not done.
    ///
    /// # Panics
    ///
    /// If no choice of them gives `found`: the model has lost track of the
    /// directory, and no image it builds from here can be trusted.
    pub fn settle(&mut self, cut_short: &[&Call], found: &Image) {
        let mut choices: Vec<Vec<bool>> = every_subset(cut_short.len());
        choices.sort_by_key(|applied| applied.iter().filter(|&&a| a).count());
        for applied in &choices {
            let mut candidate = self.clone();
            for (call, _) in cut_short.iter().zip(applied).filter(|(_, a)| **a) {
                candidate.apply(call);
            }
            if candidate.seen() == *found {
                *self = candidate;
                return;
            }
        }
        let seen = self.seen();
        let differences: Vec<String> = seen
            .keys()
            .chain(found.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|path| seen.get(*path) != found.get(*path))
            .map(|path| {
                let what = |entry: Option<&Entry>| match entry {
                    None => "nothing".to_string(),
                    Some(Entry::Directory) => "a directory".to_string(),
                    Some(Entry::File(bytes)) => format!("{} bytes", bytes.len()),
                };
                format!(
                    "{}: the model has {}, the directory {}",
                    path.display(),
                    what(seen.get(path)),
                    what(found.get(path))
                )
            })
            .collect();
        let calls: Vec<String> = cut_short
            .iter()
            .map(|call| format!("{}({})", call.name, call.args))
            .collect();
        panic!(
            "the power-loss model has lost track of the directory: no choice of the calls \
             the server died in ({}) explains what it holds:\n  {}\n\
             teach the model what the trace does not show (tests/src/file_system.rs)",
            if calls.is_empty() {
                "none".to_string()
            } else {
                calls.join(", ")
            },
            differences.join("\n  ")
        );
    }

    /// Everything under the root as the server sees it (the root left out).
    pub fn seen(&self) -> Image {
        self.names
            .iter()
            .filter(|(path, _)| !path.as_os_str().is_empty())
            .map(|(path, &node)| {
                let node = &self.nodes[node];
                let entry = if node.is_directory {
                    Entry::Directory
                } else {
                    Entry::File(node.written.clone())
                };
                (path.clone(), entry)
            })
            .collect()
    }

    /// The changes of names not yet durable, oldest first.
    pub fn pending(&self) -> &[NameChange] {
        &self.pending
    }

    /// The files whose bytes are not all durable, with how many bytes are
    /// not, and whether `needle` is among those bytes.
    pub fn unsynced_files(&self, needle: &[u8]) -> Vec<(PathBuf, usize, bool)> {
        let mut files = Vec::new();
        for (path, &node) in &self.names {
            let node = &self.nodes[node];
            if node.is_directory || node.written == node.synced {
                continue;
            }
            let range = unsynced_range(node);
            let unsynced = &node.written
                [range.start.min(node.written.len())..range.end.min(node.written.len())];
            let holds = !needle.is_empty() && unsynced.windows(needle.len()).any(|w| w == needle);
            files.push((path.clone(), range.len(), holds));
        }
        files
    }

    /// The image a power cut leaves if, of the pending changes of names,
    /// exactly those in `kept` reached the disk, and each file's unsynced
    /// bytes are treated as `unsynced` says.
    pub fn image(&self, kept: &[bool], unsynced: Unsynced) -> Image {
        let mut names = self.durable_names.clone();
        for (change, &keep) in self.pending.iter().zip(kept) {
            if keep {
                change.apply(&mut names);
            }
        }
        let mut image = Image::new();
        for (path, &node) in names
            .iter()
            .filter(|(path, _)| !path.as_os_str().is_empty())
        {
            // A name inside a directory that is not there is not there.
            let reachable = path
                .ancestors()
                .skip(1)
                .take_while(|a| !a.as_os_str().is_empty())
                .all(|ancestor| names.contains_key(ancestor));
            if !reachable {
                continue;
            }
            let node = &self.nodes[node];
            let entry = if node.is_directory {
                Entry::Directory
            } else {
                Entry::File(bytes_after_cut(node, unsynced))
            };
            image.insert(path.clone(), entry);
        }
        image
    }

    fn open_file(&mut self, call: &Call) {
        let fd = call.result as i32;
        if !call.cut_short {
            self.open.remove(&fd);
        }
        let Some(Some(path)) = self.paths_of(call).into_iter().next() else {
            return;
        };
        let node = match self.names.get(&path) {
            Some(&node) => {
                if call.has_flag("O_TRUNC") {
                    self.nodes[node].written.clear();
                }
                node
            }
            None if call.has_flag("O_CREAT") || call.name == "creat" => {
                let node = self.new_node(false);
                self.names.insert(path.clone(), node);
                self.pending.push(NameChange::Create { path, node });
                node
            }
            None => return,
        };
        if call.cut_short {
            // Its descriptor never came back, and its process is gone.
            return;
        }
        self.open.insert(
            fd,
            OpenFile {
                node,
                offset: 0,
                append: call.has_flag("O_APPEND"),
            },
        );
    }

    fn new_node(&mut self, is_directory: bool) -> usize {
        self.nodes.push(Node {
            is_directory,
            written: Vec::new(),
            synced: Vec::new(),
        });
        self.nodes.len() - 1
    }

    fn write_at(&mut self, node: usize, offset: u64, bytes: &[u8]) {
        let written = &mut self.nodes[node].written;
        let start = usize::try_from(offset).expect("an offset fits usize");
        if written.len() < start + bytes.len() {
            written.resize(start + bytes.len(), 0);
        }
        written[start..start + bytes.len()].copy_from_slice(bytes);
    }

    /// An fsync or fdatasync: a file's bytes, or a directory's names.
    fn sync(&mut self, node: usize) {
        let node_data = &mut self.nodes[node];
        node_data.synced = node_data.written.clone();
        if !node_data.is_directory {
            return;
        }
        // The directory's own path; the root is "".
        let directory = self
            .names
            .iter()
            .find(|&(_, &n)| n == node)
            .map(|(path, _)| path.clone());
        let Some(directory) = directory else {
            return;
        };
        let (now_durable, still_pending): (Vec<_>, Vec<_>) = self
            .pending
            .drain(..)
            .partition(|change| change.directory() == directory);
        for change in &now_durable {
            change.apply(&mut self.durable_names);
        }
        self.pending = still_pending;
    }

    /// The open file a call's first argument refers to, if it is one under
    /// the root.
    fn file_of(&self, call: &Call) -> Option<(i32, OpenFile)> {
        let (fd, is) = call.fd()?;
        self.relative(&is)?;
        let file = *self.open.get(&fd)?;
        Some((fd, file))
    }

    /// The paths a call names, relative to the root (`None` for one outside
    /// it).
    fn paths_of(&self, call: &Call) -> Vec<Option<PathBuf>> {
        let base = call.directory_argument().map(PathBuf::from);
        call.strings()
            .iter()
            .map(|bytes| {
                let path = PathBuf::from(String::from_utf8_lossy(bytes).into_owned());
                let path = match (&base, path.is_absolute()) {
                    (Some(base), false) => base.join(path),
                    _ => path,
                };
                self.relative(&path.display().to_string())
            })
            .collect()
    }

    /// `path` relative to the root, if it is under it. The root itself is
    /// the empty path.
    fn relative(&self, path: &str) -> Option<PathBuf> {
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        Path::new(path)
            .strip_prefix(&self.root)
            .ok()
            .map(Path::to_path_buf)
    }
}

/// Every subset of `count` things, as which of them are in it.
pub fn every_subset(count: usize) -> Vec<Vec<bool>> {
    (0..1u32 << count)
        .map(|bits| (0..count).map(|i| bits & (1 << i) != 0).collect())
        .collect()
}

/// Reads what is under `root` now, as an image (the root left out): what a
/// model of the same directory must see.
pub fn read_tree(root: &Path) -> std::io::Result<Image> {
    let mut image = Image::new();
    let mut directories = vec![root.to_path_buf()];
    while let Some(directory) = directories.pop() {
        for entry in std::fs::read_dir(&directory)? {
            let path = entry?.path();
            let relative = path
                .strip_prefix(root)
                .expect("a path read under the root")
                .to_path_buf();
            if path.is_dir() {
                image.insert(relative, Entry::Directory);
                directories.push(path);
            } else {
                image.insert(relative, Entry::File(std::fs::read(&path)?));
            }
        }
    }
    Ok(image)
}

/// Where a file's written bytes differ from its synced ones: from the first
/// that differs to the last (a shorter file reads as zeros past its end).
fn unsynced_range(node: &Node) -> Range<usize> {
    let (written, synced) = (&node.written, &node.synced);
    let byte = |bytes: &[u8], at: usize| bytes.get(at).copied().unwrap_or(0);
    let longest = written.len().max(synced.len());
    let first = (0..longest)
        .find(|&at| byte(written, at) != byte(synced, at))
        .unwrap_or(longest);
    let last = (first..longest)
        .rev()
        .find(|&at| byte(written, at) != byte(synced, at))
        .map_or(first, |at| at + 1);
    first..last
}

/// A file's bytes after a power cut that treats its unsynced bytes as
/// `unsynced` says. The unsynced bytes are those from the first that
/// differs from the synced file to the last (an append, or a write into
/// the zeros a file was made with); a cut keeps the first half of them (an
/// append ends there; a write into the zeros keeps the file's length), and
/// zeroed ones read as zeros to the newer length.
fn bytes_after_cut(node: &Node, unsynced: Unsynced) -> Vec<u8> {
    let (written, synced) = (&node.written, &node.synced);
    if unsynced == Unsynced::Kept || written == synced {
        return written.clone();
    }
    if unsynced == Unsynced::Lost {
        return synced.clone();
    }
    let byte = |bytes: &[u8], at: usize| bytes.get(at).copied().unwrap_or(0);
    let Range {
        start: first,
        end: last,
    } = unsynced_range(node);
    let mut bytes: Vec<u8> = (0..written.len()).map(|at| byte(synced, at)).collect();
    if unsynced == Unsynced::Torn {
        let kept = first + (last - first) / 2;
        // A file cut shorter since its last sync (reopened with O_TRUNC over
        // a leftover) has unsynced bytes past its new end: only the written
        // ones can be kept.
        let end = kept.min(written.len());
        if first < end {
            bytes[first..end].copy_from_slice(&written[first..end]);
        }
        if first >= synced.len() {
            // An append torn: the file ends where the write was cut.
            bytes.truncate(kept);
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strace::parse;

    /// `text` as strace would print it (paths and strings escaped).
    fn trace(lines: &[&str]) -> String {
        lines
            .iter()
            .map(|line| format!("1 {line}\n"))
            .collect::<String>()
    }

    fn hex(text: &str) -> String {
        text.bytes().map(|b| format!("\\x{b:02x}")).collect()
    }

    fn run(lines: &[String]) -> FileSystem {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let mut fs = FileSystem::new(Path::new("/r"));
        for call in parse(&trace(&lines)) {
            fs.apply(&call);
        }
        fs
    }

    fn file(image: &Image, path: &str) -> Option<Vec<u8>> {
        match image.get(Path::new(path)) {
            Some(Entry::File(bytes)) => Some(bytes.clone()),
            _ => None,
        }
    }

    #[test]
    fn a_synced_file_without_a_synced_name_is_lost_and_then_kept() {
        let (a, r) = (hex("/r/a"), hex("/r"));
        let mut lines = vec![
            format!("openat(AT_FDCWD<{r}>, \"{a}\", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3<{a}>"),
            format!("write(3<{a}>, \"{}\", 4) = 4", hex("abcd")),
            format!("fdatasync(3<{a}>) = 0"),
        ];
        let fs = run(&lines);
        assert_eq!(fs.pending().len(), 1);
        assert_eq!(file(&fs.image(&[false], Unsynced::Lost), "a"), None);
        assert_eq!(
            file(&fs.image(&[true], Unsynced::Lost), "a").as_deref(),
            Some(&b"abcd"[..])
        );
        lines.push(format!("openat(AT_FDCWD<{r}>, \"{r}\", O_RDONLY) = 4<{r}>"));
        lines.push(format!("fsync(4<{r}>) = 0"));
        lines.push(format!("write(3<{a}>, \"{}\", 4) = 4", hex("efgh")));
        let fs = run(&lines);
        assert!(fs.pending().is_empty());
        let lost = fs.image(&[], Unsynced::Lost);
        assert_eq!(file(&lost, "a").as_deref(), Some(&b"abcd"[..]));
        let torn = fs.image(&[], Unsynced::Torn);
        assert_eq!(file(&torn, "a").as_deref(), Some(&b"abcdef"[..]));
        let zeroed = fs.image(&[], Unsynced::Zeroed);
        assert_eq!(file(&zeroed, "a").as_deref(), Some(&b"abcd\0\0\0\0"[..]));
        assert_eq!(fs.unsynced_files(b"fg"), [(PathBuf::from("a"), 4, true)]);
    }

    #[test]
    fn a_synced_file_reopened_shorter_tears_within_its_new_length() {
        // A leftover of a crash, synced, then made again with O_TRUNC and a
        // shorter text: its unsynced bytes reach past the new end.
        let (a, r) = (hex("/r/a"), hex("/r"));
        let fs = run(&[
            format!("openat(AT_FDCWD<{r}>, \"{a}\", O_WRONLY|O_CREAT, 0666) = 3<{a}>"),
            format!("write(3<{a}>, \"{}\", 8) = 8", hex("leftover")),
            format!("fsync(3<{a}>) = 0"),
            format!("openat(AT_FDCWD<{r}>, \"{r}\", O_RDONLY) = 4<{r}>"),
            format!("fsync(4<{r}>) = 0"),
            format!("openat(AT_FDCWD<{r}>, \"{a}\", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 5<{a}>"),
            format!("write(5<{a}>, \"{}\", 3) = 3", hex("new")),
        ]);
        let torn = file(&fs.image(&[], Unsynced::Torn), "a").unwrap();
        assert_eq!(torn, b"new", "the new text, as far as it goes");
        let zeroed = file(&fs.image(&[], Unsynced::Zeroed), "a").unwrap();
        assert_eq!(zeroed, b"lef");
    }

    #[test]
    fn a_rename_is_durable_only_once_its_directory_is_synced() {
        let (t, a, r) = (hex("/r/a.tmp"), hex("/r/a"), hex("/r"));
        let fs = run(&[
            format!("openat(AT_FDCWD<{r}>, \"{a}\", O_WRONLY|O_CREAT, 0666) = 3<{a}>"),
            format!("write(3<{a}>, \"{}\", 3) = 3", hex("old")),
            format!("fsync(3<{a}>) = 0"),
            format!("openat(AT_FDCWD<{r}>, \"{r}\", O_RDONLY) = 4<{r}>"),
            format!("fsync(4<{r}>) = 0"),
            format!("openat(AT_FDCWD<{r}>, \"{t}\", O_WRONLY|O_CREAT, 0666) = 5<{t}>"),
            format!("write(5<{t}>, \"{}\", 3) = 3", hex("new")),
            format!("fsync(5<{t}>) = 0"),
            format!("rename(\"{t}\", \"{a}\") = 0"),
        ]);
        assert_eq!(fs.pending().len(), 2);
        let neither = fs.image(&[false, false], Unsynced::Lost);
        assert_eq!(file(&neither, "a").as_deref(), Some(&b"old"[..]));
        let both = fs.image(&[true, true], Unsynced::Lost);
        assert_eq!(file(&both, "a").as_deref(), Some(&b"new"[..]));
        assert_eq!(file(&both, "a.tmp"), None);
        // The rename without the creation of its source: nothing moves.
        let rename_only = fs.image(&[false, true], Unsynced::Lost);
        assert_eq!(file(&rename_only, "a").as_deref(), Some(&b"old"[..]));
    }

    #[test]
    fn a_file_in_a_directory_whose_name_is_not_durable_is_not_there() {
        let (d, f, r) = (hex("/r/d"), hex("/r/d/f"), hex("/r"));
        let fs = run(&[
            format!("mkdir(\"{d}\", 0777) = 0"),
            format!("openat(AT_FDCWD<{r}>, \"{f}\", O_WRONLY|O_CREAT, 0666) = 3<{f}>"),
            format!("openat(AT_FDCWD<{r}>, \"{d}\", O_RDONLY) = 4<{d}>"),
            format!("fsync(4<{d}>) = 0"),
        ]);
        assert_eq!(fs.pending().len(), 1, "the directory's own name is pending");
        assert!(fs.image(&[false], Unsynced::Kept).is_empty());
        assert_eq!(fs.image(&[true], Unsynced::Kept).len(), 2);
    }

    /// A manifest replaced (written, synced, renamed over the old one) by
    /// a process whose `rename` was cut short by `kill -9`, and `left`:
    /// what the test found in the directory afterwards.
    fn a_manifest_renamed_as_the_process_died() -> (Vec<String>, Image) {
        let (m, t, r) = (hex("/r/MANIFEST"), hex("/r/MANIFEST.tmp"), hex("/r"));
        let lines = vec![
            format!("openat(AT_FDCWD<{r}>, \"{m}\", O_WRONLY|O_CREAT, 0666) = 3<{m}>"),
            format!("write(3<{m}>, \"{}\", 3) = 3", hex("old")),
            format!("fsync(3<{m}>) = 0"),
            format!("openat(AT_FDCWD<{r}>, \"{r}\", O_RDONLY) = 4<{r}>"),
            format!("fsync(4<{r}>) = 0"),
            format!("openat(AT_FDCWD<{r}>, \"{t}\", O_WRONLY|O_CREAT, 0666) = 5<{t}>"),
            format!("write(5<{t}>, \"{}\", 3) = 3", hex("new")),
            format!("fsync(5<{t}>) = 0"),
            format!("rename(\"{t}\", \"{m}\") = ?"),
        ];
        let left = Image::from([(PathBuf::from("MANIFEST"), Entry::File(b"new".to_vec()))]);
        (lines, left)
    }

    /// Follows `lines`, settling the calls cut short by `left`.
    fn run_and_settle(lines: &[String], left: &Image) -> FileSystem {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let calls = parse(&trace(&lines));
        let mut fs = FileSystem::new(Path::new("/r"));
        for call in calls.iter().filter(|call| !call.cut_short) {
            fs.apply(call);
        }
        let cut_short: Vec<&Call> = calls.iter().filter(|call| call.cut_short).collect();
        fs.settle(&cut_short, left);
        fs
    }

    #[test]
    fn a_rename_the_process_died_in_counts_if_the_directory_shows_it() {
        // What the CI caught: the restart reads the new manifest, syncs the
        // directory and removes a table the old one names. A model that
        // dropped the rename kept the old manifest durable, and judged the
        // store by an image that could never be.
        let (lines, left) = a_manifest_renamed_as_the_process_died();
        let fs = run_and_settle(&lines, &left);
        assert_eq!(fs.seen(), left);
        let renamed = fs.pending().iter().any(|change| {
            *change
                == NameChange::Rename {
                    from: "MANIFEST.tmp".into(),
                    to: "MANIFEST".into(),
                }
        });
        assert!(renamed, "the rename is pending: {:?}", fs.pending());
        let mut fs = fs;
        let r = hex("/r");
        for call in parse(&trace(&[
            &format!("openat(AT_FDCWD<{r}>, \"{r}\", O_RDONLY) = 6<{r}>"),
            &format!("fsync(6<{r}>) = 0"),
        ])) {
            fs.apply(&call);
        }
        let image = fs.image(&[], Unsynced::Lost);
        assert_eq!(file(&image, "MANIFEST").as_deref(), Some(&b"new"[..]));
    }

    #[test]
    fn a_call_the_process_died_in_counts_as_not_done_if_the_directory_does_not_show_it() {
        let (lines, _) = a_manifest_renamed_as_the_process_died();
        let left = Image::from([
            (PathBuf::from("MANIFEST"), Entry::File(b"old".to_vec())),
            (PathBuf::from("MANIFEST.tmp"), Entry::File(b"new".to_vec())),
        ]);
        let fs = run_and_settle(&lines, &left);
        assert_eq!(fs.seen(), left);
        assert_eq!(fs.pending().len(), 1, "only the temporary file's creation");
    }

    #[test]
    fn a_sync_the_process_died_in_counts_as_not_done() {
        let (a, r) = (hex("/r/a"), hex("/r"));
        let lines = vec![
            format!("openat(AT_FDCWD<{r}>, \"{a}\", O_WRONLY|O_CREAT, 0666) = 3<{a}>"),
            format!("write(3<{a}>, \"{}\", 3) = 3", hex("abc")),
            format!("fsync(3<{a}>) = ?"),
        ];
        let left = Image::from([(PathBuf::from("a"), Entry::File(b"abc".to_vec()))]);
        let fs = run_and_settle(&lines, &left);
        assert_eq!(fs.unsynced_files(b"abc"), [(PathBuf::from("a"), 3, true)]);
    }

    #[test]
    #[should_panic(expected = "the power-loss model has lost track of the directory")]
    fn a_directory_no_choice_explains_stops_the_check() {
        let (lines, mut left) = a_manifest_renamed_as_the_process_died();
        left.insert(PathBuf::from("stray"), Entry::File(Vec::new()));
        run_and_settle(&lines, &left);
    }
}
