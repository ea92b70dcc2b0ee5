//! Checks that the Rust the book and `README.md` ask for is the Rust the
//! workspace needs.
//!
//! Each crate names the oldest Rust it builds with, `rust-version` in its
//! `Cargo.toml`, and a bare `cargo test` at the root builds every member
//! but the starters. "Setting up" (`book/src/setup.md`) and `README.md`
//! tell a reader which toolchain to install, "Rust 1.90 or later". A
//! figure lower than the highest `rust-version` sends a reader to an error
//! from cargo before the first exercise; so every `Rust 1.NN` those two
//! files write must be that highest version, and "Setting up" must write it.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::layout::Layout;

/// The files that tell a reader which Rust to install; the first must say it.
const STATED_IN: &[&str] = &["book/src/setup.md", "README.md"];

/// Problems, as `file:line: …`, for every Rust version the pages state that
/// is not the highest `rust-version` of the workspace's members.
pub fn problems(layout: &Layout) -> Result<Vec<String>> {
    let mut highest: Option<(Version, PathBuf)> = None;
    for manifest in member_manifests(&layout.root)? {
        let text =
            fs::read_to_string(&manifest).map_err(|source| Error::io("read", &manifest, source))?;
        if let Some(version) = rust_version(&text)
            && highest.as_ref().is_none_or(|(top, _)| version > *top)
        {
            highest = Some((version, manifest));
        }
    }
    let Some((needed, by)) = highest else {
        return Ok(Vec::new());
    };
    let by = by.strip_prefix(&layout.root).unwrap_or(&by).display();
    let mut problems = Vec::new();
    for (index, file) in STATED_IN.iter().enumerate() {
        let path = layout.root.join(file);
        let text = fs::read_to_string(&path).map_err(|source| Error::io("read", &path, source))?;
        let stated = stated_versions(&text);
        if index == 0 && stated.is_empty() {
            problems.push(format!(
                "{file}: does not say which Rust to install: `Rust {needed} or later` ({by} asks for {needed})"
            ));
        }
        for (line, version) in stated {
            if version != needed {
                problems.push(format!(
                    "{file}:{line}: says Rust {version}, but the workspace needs {needed} ({by} asks for it)"
                ));
            }
        }
    }
    Ok(problems)
}

/// A Rust version, `1.90` (a patch number, `1.90.1`, is kept too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Version(u32, u32, u32);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Version(major, minor, 0) => write!(f, "{major}.{minor}"),
            Version(major, minor, patch) => write!(f, "{major}.{minor}.{patch}"),
        }
    }
}

/// `1.90` or `1.90.1` at the start of `text`, and how many bytes it takes.
fn parse_version(text: &str) -> Option<(Version, usize)> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let token = text[..end].trim_end_matches('.');
    let mut parts = token.split('.').map(str::parse::<u32>);
    let major = parts.next()?.ok()?;
    let minor = parts.next()?.ok()?;
    let patch = match parts.next() {
        Some(patch) => patch.ok()?,
        None => 0,
    };
    Some((Version(major, minor, patch), token.len()))
}

/// The `rust-version` of a crate's manifest, if it has one.
fn rust_version(manifest: &str) -> Option<Version> {
    manifest.lines().find_map(|line| {
        let value = line.trim().strip_prefix("rust-version")?.trim_start();
        let value = value.strip_prefix('=')?.trim().trim_matches('"');
        parse_version(value).map(|(version, _)| version)
    })
}

/// Every `Rust 1.NN` in `text`, with its line number (from 1).
fn stated_versions(text: &str) -> Vec<(usize, Version)> {
    let mut found = Vec::new();
    for (at, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("Rust ") {
            rest = &rest[start + "Rust ".len()..];
            if let Some((version, length)) = parse_version(rest) {
                found.push((at + 1, version));
                rest = &rest[length..];
            }
        }
    }
    found
}

/// The `Cargo.toml` of every member the root manifest lists, `dir/*`
/// patterns expanded to the folders under `dir` that hold one.
fn member_manifests(root: &Path) -> Result<Vec<PathBuf>> {
    let path = root.join("Cargo.toml");
    let text = fs::read_to_string(&path).map_err(|source| Error::io("read", &path, source))?;
    let mut manifests = Vec::new();
    for member in members(&text) {
        match member.strip_suffix("/*") {
            Some(parent) => {
                let dir = root.join(parent);
                let entries =
                    fs::read_dir(&dir).map_err(|source| Error::io("list", &dir, source))?;
                let mut found = Vec::new();
                for entry in entries {
                    let entry = entry.map_err(|source| Error::io("list", &dir, source))?;
                    let manifest = entry.path().join("Cargo.toml");
                    if manifest.is_file() {
                        found.push(manifest);
                    }
                }
                found.sort();
                manifests.extend(found);
            }
            None => manifests.push(root.join(member).join("Cargo.toml")),
        }
    }
    Ok(manifests)
}

/// The entries of the root manifest's `members = [...]`, on one line or many.
fn members(manifest: &str) -> Vec<String> {
    let Some(start) = manifest
        .lines()
        .position(|line| line.trim_start().starts_with("members"))
    else {
        return Vec::new();
    };
    let mut list = String::new();
    for line in manifest.lines().skip(start) {
        let line = line.split('#').next().unwrap_or_default();
        list.push_str(line);
        if line.contains(']') {
            break;
        }
    }
    let inside = list
        .split_once('[')
        .and_then(|(_, after)| after.split_once(']'))
        .map_or("", |(inside, _)| inside);
    inside
        .split(',')
        .map(|entry| entry.trim().trim_matches('"').to_string())
        .filter(|entry| !entry.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_manifests_and_prose() {
        let manifest = "[package]\nname = \"x\"\nedition = \"2024\"\nrust-version = \"1.88\"\n";
        assert_eq!(rust_version(manifest), Some(Version(1, 88, 0)));
        assert_eq!(rust_version("[package]\nname = \"x\"\n"), None);
        let prose =
            "You need stable Rust 1.90 or later.\nmdBook needs 1.88; Rust 1.85.1, and Rust itself.";
        assert_eq!(
            stated_versions(prose),
            [(1, Version(1, 90, 0)), (2, Version(1, 85, 1))]
        );
        assert!(Version(1, 90, 0) > Version(1, 89, 3));
        assert_eq!(Version(1, 90, 0).to_string(), "1.90");
    }

    #[test]
    fn members_are_read_on_one_line_or_many() {
        let one = "[workspace]\nmembers = [\"solutions/*\", \"tests\", \"bench\"] # all\n";
        assert_eq!(members(one), ["solutions/*", "tests", "bench"]);
        let many =
            "[workspace]\nmembers = [\n  \"a/*\", # the steps\n  \"b\",\n]\nexclude = [\"wip\"]\n";
        assert_eq!(members(many), ["a/*", "b"]);
    }

    /// The workspace as it stands: what "Setting up" says is what it needs.
    #[test]
    fn this_workspace_states_the_rust_it_needs() {
        let layout = Layout::discover().unwrap();
        assert_eq!(problems(&layout).unwrap(), Vec::<String>::new());
    }
}
