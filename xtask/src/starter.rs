//! Builds a starter crate in memory from a solution crate: the files of
//! `solutions/NN-name/` with some exercise regions turned into holes and the
//! crate renamed.
//!
//! `sync` uses it with every region of the crate's own chapter and the name
//! `step-NN`; `exercises` uses it with one region at a time and the name
//! `hole-NN-M`. Keeping one code path for both means the variant that
//! `exercises` tests is exactly the starter minus the other holes.
//!
//! Text files (valid UTF-8 without NUL bytes) are renamed and lose their
//! mdBook anchor lines; other files are copied byte for byte. A `.rs` file
//! that got a hole or lost an anchor is run through rustfmt when asked,
//! because `cargo fmt --all --check` covers the starters too. A crate with
//! holes gets the starter's lint table (see `holes.rs`).
//!
//! A test that needs an exercise it does not test carries a marker right
//! above its attributes, one line per exercise: `// needs: exercise 7.3`.
//! Where that exercise is a hole, the markers become
//! `#[ignore = "needs exercise 7.3 (book chapter 7): `cargo xtask check 07`
//! runs it"]`, so that a starter fails only in its exercise tests; elsewhere
//! they are dropped. `needs.rs` has the rules and the checks.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::files::{self, File};
use crate::holes;
use crate::layout::{Chapter, Layout};
use crate::markers::{self, ExerciseId, Located, Region};
use crate::needs;

/// A solution crate read from disk, with its exercise regions.
#[derive(Debug)]
pub struct Solution {
    pub chapter: Chapter,
    pub files: Vec<File>,
    /// The regions of each `.rs` file, by path inside the crate.
    pub regions: BTreeMap<PathBuf, Vec<Region>>,
}

impl Solution {
    /// Every region of the crate, with its path relative to the root, in
    /// file order.
    pub fn located(&self) -> Vec<Located> {
        let dir = self.chapter.solution_dir();
        let mut located = Vec::new();
        for (path, regions) in &self.regions {
            for region in regions {
                located.push(Located {
                    path: dir.join(path),
                    region: region.clone(),
                });
            }
        }
        located
    }

    /// The regions of the crate's own chapter, sorted by id: the exercises
    /// that its starter hands to the learner.
    pub fn exercises(&self) -> Vec<Located> {
        let mut own: Vec<Located> = self
            .located()
            .into_iter()
            .filter(|located| located.region.id.chapter == self.chapter.chapter)
            .collect();
        own.sort_by_key(|located| located.region.id);
        own
    }
}

/// Reads the given solutions and checks their markers. All marker problems
/// of all crates are reported together, so one run shows every mistake.
pub fn load(layout: &Layout, chapters: &[Chapter]) -> Result<Vec<Solution>> {
    let mut solutions = Vec::new();
    let mut problems = Vec::new();
    for chapter in chapters {
        let dir = layout.root.join(chapter.solution_dir());
        let files = files::read_tree(&dir)?;
        check_package_name(&dir, &files, chapter)?;
        let mut regions = BTreeMap::new();
        for file in &files {
            if file.path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let Some(text) = as_text(&file.contents) else {
                continue;
            };
            match markers::parse(&chapter.solution_dir().join(&file.path), text) {
                Ok(found) if found.is_empty() => {}
                Ok(found) => {
                    regions.insert(file.path.clone(), found);
                }
                Err(found) => problems.extend(found),
            }
        }
        let solution = Solution {
            chapter: chapter.clone(),
            files,
            regions,
        };
        problems.extend(markers::check_crate(chapter.chapter, &solution.located()));
        let known: BTreeSet<ExerciseId> = solution
            .located()
            .iter()
            .map(|located| located.region.id)
            .collect();
        for file in &solution.files {
            if let Some(text) = as_text(&file.contents)
                && file.path.extension().is_some_and(|ext| ext == "rs")
            {
                let path = chapter.solution_dir().join(&file.path);
                problems.extend(needs::check(&path, text, &known));
            }
        }
        solutions.push(solution);
    }
    if problems.is_empty() {
        Ok(solutions)
    } else {
        Err(Error::Markers(problems))
    }
}

/// The renaming relies on the package being called `solution-NN`; a crate
/// named otherwise would silently keep its name in the starter.
fn check_package_name(dir: &Path, files: &[File], chapter: &Chapter) -> Result<()> {
    let manifest = files
        .iter()
        .find(|file| file.path == Path::new("Cargo.toml"))
        .and_then(|file| as_text(&file.contents))
        .unwrap_or_default();
    let expected = format!("name = \"{}\"", chapter.solution_package());
    if manifest.lines().any(|line| line.trim() == expected) {
        Ok(())
    } else {
        Err(Error::Check(format!(
            "{}: expected the line `{expected}` (the package of {} must be named after its chapter)",
            dir.join("Cargo.toml").display(),
            chapter.solution_dir().display()
        )))
    }
}

/// The contents as text, if they are text: UTF-8 with no NUL byte.
fn as_text(contents: &[u8]) -> Option<&str> {
    std::str::from_utf8(contents)
        .ok()
        .filter(|text| !text.contains('\0'))
}

/// How to build one starter-like crate from a solution.
pub struct Recipe<'a> {
    /// The package name to give the crate, e.g. `step-03` or `hole-03-2`.
    pub package: &'a str,
    /// Which regions become holes.
    pub pick: &'a dyn Fn(&Region) -> bool,
    /// Run rustfmt on files that got holes (the workspace root, for its
    /// `rustfmt.toml`), or leave them as generated.
    pub rustfmt_root: Option<&'a Path>,
}

/// The files of the crate that `recipe` describes, and how many holes it has.
pub fn build(solution: &Solution, recipe: &Recipe) -> Result<(Vec<File>, usize)> {
    let nn = solution.chapter.nn();
    let mut holes_made = 0;
    let mut out = Vec::with_capacity(solution.files.len());
    let holes: BTreeSet<ExerciseId> = solution
        .located()
        .iter()
        .filter(|located| (recipe.pick)(&located.region))
        .map(|located| located.region.id)
        .collect();
    for file in &solution.files {
        let Some(text) = as_text(&file.contents) else {
            out.push(file.clone());
            continue;
        };
        let regions = solution
            .regions
            .get(&file.path)
            .map_or(&[][..], Vec::as_slice);
        let punched = holes::punch(text, regions, recipe.pick);
        if punched.is_some() {
            holes_made += regions
                .iter()
                .filter(|region| (recipe.pick)(region))
                .count();
        }
        let punched = punched.as_deref().unwrap_or(text);
        let is_rust = file.path.extension().is_some_and(|ext| ext == "rs");
        let resolved = is_rust
            .then(|| needs::resolve(punched, |id| holes.contains(&id), nn))
            .flatten();
        let punched = resolved.as_deref().unwrap_or(punched);
        let stripped = holes::strip_anchors(punched);
        let changed = stripped.is_some() || punched != text;
        let renamed =
            holes::rename_crate(stripped.as_deref().unwrap_or(punched), nn, recipe.package);
        // A hole's `todo!` line can be longer than the answer's lines, and a
        // dropped anchor can leave two blank lines: only rustfmt knows.
        let text = match recipe.rustfmt_root {
            Some(root) if changed && is_rust => {
                let origin = solution.chapter.solution_dir().join(&file.path);
                rustfmt(root, &renamed, &origin)?
            }
            _ => renamed,
        };
        out.push(File {
            path: file.path.clone(),
            contents: text.into_bytes(),
            mode: file.mode,
        });
    }
    if holes_made > 0 {
        add_starter_lints(&mut out, &solution.chapter)?;
    }
    Ok((out, holes_made))
}

/// Appends [`holes::STARTER_LINTS`] to the crate's `Cargo.toml`.
fn add_starter_lints(files: &mut [File], chapter: &Chapter) -> Result<()> {
    let manifest = files
        .iter_mut()
        .find(|file| file.path == Path::new("Cargo.toml"))
        .ok_or_else(|| {
            Error::Check(format!(
                "{} has no Cargo.toml",
                chapter.solution_dir().display()
            ))
        })?;
    let text = String::from_utf8_lossy(&manifest.contents);
    // A second `[lints]` table would make the manifest invalid; a solution
    // that needs lints of its own needs this code to merge them.
    if text
        .lines()
        .any(|line| line.trim_start().starts_with("[lints"))
    {
        return Err(Error::Check(format!(
            "{}: the starter's lint table cannot be added to a manifest that has one",
            chapter.solution_dir().join("Cargo.toml").display()
        )));
    }
    manifest
        .contents
        .extend_from_slice(holes::STARTER_LINTS.as_bytes());
    Ok(())
}

/// Formats `text` with rustfmt through stdin, so only this text is touched
/// (given a path, rustfmt would also follow `mod` declarations into other
/// files). `origin` names the solution file in error messages.
fn rustfmt(root: &Path, text: &str, origin: &Path) -> Result<String> {
    let program = "rustfmt";
    let mut child = Command::new(program)
        .args(["--edition", "2024", "--config-path"])
        .arg(root.join("rustfmt.toml"))
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::Spawn {
            program: program.into(),
            source,
        })?;
    // rustfmt reads all of stdin before it writes, so writing first and
    // reading after cannot deadlock.
    let mut stdin = child.stdin.take().ok_or_else(|| Error::Tool {
        program: program.into(),
        message: "its stdin was not captured".into(),
    })?;
    stdin
        .write_all(text.as_bytes())
        .map_err(|source| Error::Spawn {
            program: program.into(),
            source,
        })?;
    drop(stdin);
    let output = child.wait_with_output().map_err(|source| Error::Spawn {
        program: program.into(),
        source,
    })?;
    if !output.status.success() {
        return Err(Error::Tool {
            program: program.into(),
            message: format!(
                "cannot format the starter made from {}:\n{}",
                origin.display(),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    String::from_utf8(output.stdout).map_err(|_| Error::Tool {
        program: program.into(),
        message: format!("printed non-UTF-8 text for {}", origin.display()),
    })
}
