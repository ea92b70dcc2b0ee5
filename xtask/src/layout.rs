//! Where things are: the workspace root, the target directory, and the
//! solution and step crates with their chapter numbers.
//!
//! Every command works from the same picture of the workspace, so the naming
//! rules live here once: `solutions/NN-name/` holds package `solution-NN`
//! (library `solution_NN`) for book chapter NN, and `steps/NN-name/` holds
//! its generated starter, package `step-NN`. A solution directory is found by
//! listing `solutions/`, never from a fixed list, so a new chapter needs no
//! change to the xtask.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The workspace root and the target directory that cargo builds into.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    pub target: PathBuf,
}

impl Layout {
    /// Finds the workspace: the xtask crate sits directly under the root, so
    /// this works from whatever directory `cargo xtask` was started in.
    pub fn discover() -> Result<Layout> {
        // `cargo run` tells the program where its manifest is. The path
        // compiled in is only a fallback: cargo does not rebuild the xtask
        // when the workspace moves, so it may name the old place.
        let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        let root = manifest_dir
            .parent()
            .ok_or_else(|| Error::Check(format!("{} has no parent", manifest_dir.display())))?
            .to_path_buf();
        // Cargo resolves a relative CARGO_TARGET_DIR against the directory it
        // was started in, which is also ours.
        let target = match env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => {
                let dir = PathBuf::from(dir);
                if dir.is_absolute() {
                    dir
                } else {
                    env::current_dir()
                        .map_err(|source| Error::io("read the current directory", ".", source))?
                        .join(dir)
                }
            }
            _ => root.join("target"),
        };
        Ok(Layout { root, target })
    }

    /// The xtask's own scratch space, `target/xtask/<what>`.
    pub fn scratch(&self, what: &str) -> PathBuf {
        self.target.join("xtask").join(what)
    }

    /// Every solution crate, sorted by chapter.
    pub fn solutions(&self) -> Result<Vec<Chapter>> {
        self.chapters("solutions")
    }

    /// Every step crate that exists on disk, sorted by chapter.
    pub fn steps(&self) -> Result<Vec<Chapter>> {
        self.chapters("steps")
    }

    fn chapters(&self, parent: &str) -> Result<Vec<Chapter>> {
        let dir = self.root.join(parent);
        let mut found = Vec::new();
        let entries = fs::read_dir(&dir).map_err(|source| Error::io("list", &dir, source))?;
        for entry in entries {
            let entry = entry.map_err(|source| Error::io("list", &dir, source))?;
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(chapter) = chapter_of_dir(&name) else {
                return Err(Error::Check(format!(
                    "{}: expected a directory named NN-name (two-digit chapter, a dash, a name)",
                    path.display()
                )));
            };
            // A crate someone is creating right now may not have its manifest
            // yet; cargo would not build it either, so we pass over it.
            if !path.join("Cargo.toml").is_file() {
                eprintln!("note: skipping {parent}/{name}: it has no Cargo.toml yet");
                continue;
            }
            found.push(Chapter {
                chapter,
                dir_name: name,
            });
        }
        found.sort_by(|a, b| (a.chapter, &a.dir_name).cmp(&(b.chapter, &b.dir_name)));
        for pair in found.windows(2) {
            if pair[0].chapter == pair[1].chapter {
                return Err(Error::Check(format!(
                    "{parent}/{} and {parent}/{} have the same chapter number",
                    pair[0].dir_name, pair[1].dir_name
                )));
            }
        }
        Ok(found)
    }
}

/// One chapter's crate directory name, shared by its solution and its step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chapter {
    /// The book chapter, e.g. 3 for `03-sstable`.
    pub chapter: u32,
    /// The directory name, e.g. `03-sstable`.
    pub dir_name: String,
}

impl Chapter {
    /// The two-digit form used in package names: `03`.
    pub fn nn(&self) -> &str {
        &self.dir_name[..2]
    }

    /// `solutions/03-sstable`, relative to the root.
    pub fn solution_dir(&self) -> PathBuf {
        Path::new("solutions").join(&self.dir_name)
    }

    /// `steps/03-sstable`, relative to the root.
    pub fn step_dir(&self) -> PathBuf {
        Path::new("steps").join(&self.dir_name)
    }

    /// `solution-03`.
    pub fn solution_package(&self) -> String {
        format!("solution-{}", self.nn())
    }

    /// `step-03`.
    pub fn step_package(&self) -> String {
        format!("step-{}", self.nn())
    }
}

/// The chapter number of a directory named `NN-name`, if it is one.
pub fn chapter_of_dir(name: &str) -> Option<u32> {
    let bytes = name.as_bytes();
    let well_formed = bytes.len() > 3
        && bytes[0].is_ascii_digit()
        && bytes[1].is_ascii_digit()
        && bytes[2] == b'-';
    if !well_formed {
        return None;
    }
    name[..2].parse().ok()
}

/// Picks the chapters named on the command line (`3`, `03` or `03-sstable`)
/// out of `all`; no names means all of them.
pub fn select(all: &[Chapter], names: &[String], what: &str) -> Result<Vec<Chapter>> {
    if names.is_empty() {
        return Ok(all.to_vec());
    }
    let mut picked = Vec::new();
    for name in names {
        let found = all.iter().find(|chapter| {
            chapter.dir_name == *name || name.parse::<u32>().ok() == Some(chapter.chapter)
        });
        match found {
            Some(chapter) if !picked.contains(chapter) => picked.push(chapter.clone()),
            Some(_) => {}
            None => {
                let known: Vec<&str> = all.iter().map(|c| c.dir_name.as_str()).collect();
                return Err(Error::Usage(format!(
                    "no {what} for chapter `{name}` (there are: {})",
                    known.join(", ")
                )));
            }
        }
    }
    Ok(picked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chapter_numbers_come_from_the_directory_name() {
        assert_eq!(chapter_of_dir("03-sstable"), Some(3));
        assert_eq!(chapter_of_dir("12-x"), Some(12));
        assert_eq!(chapter_of_dir("3-sstable"), None);
        assert_eq!(chapter_of_dir("03sstable"), None);
        assert_eq!(chapter_of_dir("03-"), None);
    }

    #[test]
    fn chapters_are_selected_by_number_or_name() {
        let all = vec![
            Chapter {
                chapter: 1,
                dir_name: "01-hashmap".into(),
            },
            Chapter {
                chapter: 2,
                dir_name: "02-memtable".into(),
            },
        ];
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(select(&all, &[], "solution").unwrap(), all);
        let picked = select(&all, &names(&["2", "01-hashmap", "02"]), "solution").unwrap();
        assert_eq!(picked, vec![all[1].clone(), all[0].clone()]);
        assert!(select(&all, &names(&["7"]), "solution").is_err());
    }
}
