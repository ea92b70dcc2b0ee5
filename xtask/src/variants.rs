//! The one-hole variants: for each exercise of a chapter, a copy of the
//! solution in which only that exercise is a hole, all built and tested at
//! once in a scratch workspace.
//!
//! The starter opens every hole of a chapter together, so a test there may
//! fail because of another exercise's hole. A variant with a single hole
//! shows whether the tests of that exercise notice when only its answer is
//! missing; a hole that no test catches means the exercise is unchecked.
//!
//! The scratch workspace is `target/xtask/holes/NN/`: a `[workspace]` root
//! of its own (with the profiles of the real root, which cargo reads only
//! from a workspace root), a copy of the real `Cargo.lock` so that every
//! dependency has the same version, and one crate `hole-NN-M` per exercise.
//! It builds into the real `target/`, so the dependencies compiled for the
//! solution are reused. Files are rewritten only when they changed, so an
//! unchanged variant is not rebuilt.

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::files::{self, File};
use crate::layout::Layout;
use crate::markers::{ExerciseId, Located};
use crate::run::{self, TestRun};
use crate::starter::{self, Recipe, Solution};

/// The package name of exercise `id`'s variant of chapter `nn`.
pub fn package(nn: &str, id: ExerciseId) -> String {
    format!("hole-{nn}-{}", id.number)
}

/// The outcome of building and testing every variant of one chapter.
pub struct Variants {
    /// The test run of the whole scratch workspace, or the build errors.
    pub outcome: std::result::Result<TestRun, Vec<String>>,
    /// For each binary of the test run, the variant package it belongs to.
    pub package_of_binary: Vec<Option<String>>,
}

/// Writes the scratch workspace of `solution` with one variant per exercise
/// in `exercises`, builds it and runs its tests.
pub fn run(layout: &Layout, solution: &Solution, exercises: &[Located]) -> Result<Variants> {
    let nn = solution.chapter.nn();
    let dir = layout.scratch("holes").join(nn);
    files::create_dir_all(&dir)?;
    let mut members = Vec::new();
    for exercise in exercises {
        let id = exercise.region.id;
        let package = package(nn, id);
        let recipe = Recipe {
            package: &package,
            pick: &|region| region.id == id,
            rustfmt_root: None,
        };
        let (crate_files, _) = starter::build(solution, &recipe)?;
        files::update_tree(&dir.join(&package), &crate_files)?;
        members.push(package);
    }
    remove_old_variants(&dir, &members)?;
    write_root(layout, &dir, &members)?;

    // Build first, with cargo's JSON messages: they say which package each
    // test executable belongs to, which the test output alone does not tell
    // for integration tests (their binaries are named after the test file).
    let mut build = run::cargo(&dir);
    build
        .args([
            "test",
            "--workspace",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .env("CARGO_TARGET_DIR", &layout.target);
    run::for_parsing(&mut build);
    println!("  $ {} (in {})", run::describe(&build), dir.display());
    let built = run::capture(build)?;
    if !built.success {
        return Ok(Variants {
            outcome: Err(run::error_lines(&built.output, 20)),
            package_of_binary: Vec::new(),
        });
    }
    let executables = executables(&built.output);

    let mut test = run::cargo(&dir);
    test.args(["test", "--workspace", "--no-fail-fast"])
        .env("CARGO_TARGET_DIR", &layout.target);
    let tested = run::cargo_test(test)?;
    let package_of_binary = tested
        .report
        .binaries
        .iter()
        .map(|binary| {
            if let Some(name) = &binary.doc_crate {
                return Some(name.replace('_', "-"));
            }
            let file = binary.executable.as_ref()?;
            executables
                .iter()
                .find(|(executable, _)| executable == file)
                .map(|(_, package)| package.clone())
        })
        .collect();
    Ok(Variants {
        outcome: Ok(tested),
        package_of_binary,
    })
}

/// Deletes the crate directories of exercises that no longer exist, so a
/// renumbered exercise does not leave its old variant behind.
fn remove_old_variants(dir: &Path, members: &[String]) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|source| Error::io("list", dir, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::io("list", dir, source))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("hole-") && !members.contains(&name) {
            files::remove_dir_if_exists(&entry.path())?;
        }
    }
    Ok(())
}

/// Writes the scratch workspace's `Cargo.toml` and `Cargo.lock`.
fn write_root(layout: &Layout, dir: &Path, members: &[String]) -> Result<()> {
    let root_manifest = files::read_string(&layout.root.join("Cargo.toml"))?;
    let members: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
    let manifest = format!(
        "# Generated by `cargo xtask exercises`; not part of the little-kv workspace.\n\
         # One crate per exercise: the solution with only that exercise's hole.\n\
         [workspace]\nresolver = \"3\"\nmembers = [{}]\n\n\
         # The rest of the real root manifest, for its profiles.\n{}",
        members.join(", "),
        without_workspace_table(&root_manifest)
    );
    let lock_path = layout.root.join("Cargo.lock");
    let lock = fs::read(&lock_path).map_err(|source| Error::io("read", &lock_path, source))?;
    // Cargo adds the variants to the copied lock file and drops the real
    // members; copying it afresh each time keeps every version pinned to the
    // real workspace's.
    let root_files = [
        File {
            path: "Cargo.toml".into(),
            contents: manifest.into_bytes(),
            mode: 0o644,
        },
        File {
            path: "Cargo.lock".into(),
            contents: lock,
            mode: 0o644,
        },
    ];
    for file in &root_files {
        let path = dir.join(&file.path);
        let unchanged = fs::read(&path).is_ok_and(|old| old == file.contents);
        if !unchanged {
            fs::write(&path, &file.contents).map_err(|source| Error::io("write", &path, source))?;
        }
    }
    Ok(())
}

/// The manifest without its `[workspace]` table (the header and the lines up
/// to the next table), which would name members that are not here.
fn without_workspace_table(manifest: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            skipping = trimmed == "[workspace]";
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The `(executable file name, package directory)` pairs that cargo's JSON
/// build messages report, e.g. `("hole_03_2-1a2b", "hole-03-2")`.
fn executables(json_lines: &str) -> Vec<(String, String)> {
    json_lines
        .lines()
        .filter(|line| line.starts_with("{\"reason\":\"compiler-artifact\""))
        .filter_map(|line| {
            let executable = json_string(line, "executable")?;
            let manifest = json_string(line, "manifest_path")?;
            let package = Path::new(&manifest).parent()?.file_name()?;
            let file = Path::new(&executable).file_name()?;
            Some((
                file.to_string_lossy().into_owned(),
                package.to_string_lossy().into_owned(),
            ))
        })
        .collect()
}

/// The value of the string field `key` in one line of JSON; `None` when it
/// is missing or not a string (cargo writes `"executable":null` for a
/// library). Enough JSON for cargo's messages, without a parser dependency.
fn json_string(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut value = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            _ => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_table_is_dropped_and_profiles_kept() {
        let manifest = "# top\n[workspace]\nresolver = \"3\"\nmembers = [\n  \"a\",\n]\n\n\
                        [profile.dev]\n[profile.dev.package.\"*\"]\nopt-level = 2\n";
        assert_eq!(
            without_workspace_table(manifest),
            "# top\n[profile.dev]\n[profile.dev.package.\"*\"]\nopt-level = 2\n"
        );
    }

    #[test]
    fn executables_are_mapped_to_their_package() {
        let json = concat!(
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/hole-01-1#0.1.0","manifest_path":"/w/hole-01-1/Cargo.toml","target":{"kind":["lib"]},"executable":null,"fresh":true}"#,
            "\n",
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/hole-01-2#0.1.0","manifest_path":"/w/hole-01-2/Cargo.toml","target":{"kind":["test"]},"executable":"/t/debug/deps/http-9f8e","fresh":false}"#,
            "\n",
            "   Compiling hole-01-2 v0.1.0\n",
            r#"{"reason":"build-finished","success":true}"#,
        );
        assert_eq!(
            executables(json),
            vec![("http-9f8e".to_string(), "hole-01-2".to_string())]
        );
    }

    #[test]
    fn json_strings_are_unescaped() {
        assert_eq!(
            json_string(r#"{"a":"x\"y\\z"}"#, "a").as_deref(),
            Some(r#"x"y\z"#)
        );
        assert_eq!(json_string(r#"{"a":null}"#, "a"), None);
    }
}
