//! Reading and writing whole crate directories: every file with its bytes
//! and its permission bits.
//!
//! `sync` builds a starter as a list of files in memory and only then touches
//! `steps/`, so a marker error leaves the old starter in place instead of a
//! half-written one. The same list can be compared with what is on disk
//! (`sync --check`) or written only where it changed (the scratch workspaces,
//! whose unchanged files then keep their timestamps and are not rebuilt).
//!
//! Symbolic links are followed: the starter gets a plain copy of the file,
//! so that it still builds when a learner copies one step's folder out.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One file of a crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// The path inside the crate directory.
    pub path: PathBuf,
    pub contents: Vec<u8>,
    /// The permission bits (`0o644`, `0o755`, ...).
    pub mode: u32,
}

/// Reads every file under `dir`, sorted by path, leaving out a `target/`
/// directory at its top (a build made inside the crate is not part of it).
pub fn read_tree(dir: &Path) -> Result<Vec<File>> {
    let mut files = Vec::new();
    read_into(dir, Path::new(""), &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn read_into(root: &Path, relative: &Path, files: &mut Vec<File>) -> Result<()> {
    let dir = root.join(relative);
    let entries = fs::read_dir(&dir).map_err(|source| Error::io("list", &dir, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::io("list", &dir, source))?;
        let path = relative.join(entry.file_name());
        if path == Path::new("target") {
            continue;
        }
        let full = root.join(&path);
        let metadata = fs::metadata(&full).map_err(|source| Error::io("inspect", &full, source))?;
        if metadata.is_dir() {
            read_into(root, &path, files)?;
        } else {
            let contents = fs::read(&full).map_err(|source| Error::io("read", &full, source))?;
            files.push(File {
                path,
                contents,
                mode: metadata.permissions().mode() & 0o7777,
            });
        }
    }
    Ok(())
}

/// Deletes `dir` if it exists and writes `files` into a fresh one.
pub fn replace_tree(dir: &Path, files: &[File]) -> Result<()> {
    remove_dir_if_exists(dir)?;
    for file in files {
        write_file(&dir.join(&file.path), file)?;
    }
    Ok(())
}

/// Makes `dir` hold exactly `files`, rewriting only the files whose bytes or
/// mode differ, and deleting the rest (a `target/` at its top is kept).
pub fn update_tree(dir: &Path, files: &[File]) -> Result<()> {
    let existing = if dir.exists() {
        read_tree(dir)?
    } else {
        Vec::new()
    };
    for old in &existing {
        if !files.iter().any(|file| file.path == old.path) {
            let path = dir.join(&old.path);
            fs::remove_file(&path).map_err(|source| Error::io("delete", &path, source))?;
        }
    }
    for file in files {
        if !existing.contains(file) {
            write_file(&dir.join(&file.path), file)?;
        }
    }
    Ok(())
}

/// Writes one file with its mode, creating its parent directories.
pub fn write_file(path: &Path, file: &File) -> Result<()> {
    if let Some(parent) = path.parent() {
        create_dir_all(parent)?;
    }
    fs::write(path, &file.contents).map_err(|source| Error::io("write", path, source))?;
    fs::set_permissions(path, fs::Permissions::from_mode(file.mode))
        .map_err(|source| Error::io("set the permissions of", path, source))
}

/// Creates `dir` and its parents.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|source| Error::io("create directory", dir, source))
}

/// Deletes `dir` and everything in it; a missing `dir` is fine.
pub fn remove_dir_if_exists(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io("delete directory", dir, error))
        }
        _ => Ok(()),
    }
}

/// Reads a UTF-8 file, naming it on failure.
pub fn read_string(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|source| Error::io("read", path, source))
}

/// How two versions of a crate differ, file by file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TreeDiff {
    /// In `expected` but not on disk.
    pub missing: Vec<PathBuf>,
    /// On disk but not in `expected`.
    pub extra: Vec<PathBuf>,
    /// In both, with different bytes or permission bits.
    pub changed: Vec<PathBuf>,
}

/// Compares the files we expect with the files that are there.
pub fn compare(expected: &[File], actual: &[File]) -> TreeDiff {
    let mut diff = TreeDiff::default();
    for file in expected {
        match actual.iter().find(|other| other.path == file.path) {
            None => diff.missing.push(file.path.clone()),
            Some(other) if other != file => diff.changed.push(file.path.clone()),
            Some(_) => {}
        }
    }
    for file in actual {
        if !expected.iter().any(|other| other.path == file.path) {
            diff.extra.push(file.path.clone());
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, contents: &str, mode: u32) -> File {
        File {
            path: path.into(),
            contents: contents.into(),
            mode,
        }
    }

    #[test]
    fn compare_reports_missing_extra_and_changed_files() {
        let expected = [
            file("a", "1", 0o644),
            file("b", "2", 0o644),
            file("c", "3", 0o755),
        ];
        let actual = [
            file("b", "2", 0o644),
            file("c", "3", 0o644),
            file("d", "4", 0o644),
        ];
        let diff = compare(&expected, &actual);
        assert_eq!(diff.missing, vec![PathBuf::from("a")]);
        assert_eq!(diff.changed, vec![PathBuf::from("c")]);
        assert_eq!(diff.extra, vec![PathBuf::from("d")]);
        assert_eq!(compare(&expected, &expected), TreeDiff::default());
    }
}
