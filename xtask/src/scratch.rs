//! Scratch workspaces under `target/xtask/`: crates the xtask generates and
//! builds outside the real workspace (the one-hole variants of `exercises`,
//! the cross-step suites pointed at the starters for `check`).
//!
//! A scratch workspace is a `[workspace]` root of its own, with the profiles
//! of the real root (cargo reads profiles only from a workspace root) and a
//! copy of the real `Cargo.lock`, so that every dependency has the same
//! version. It builds into the real `target/`, so the dependencies compiled
//! for the workspace are reused. Files are rewritten only when they changed,
//! so an unchanged scratch crate is not rebuilt.

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::files::{self, File};
use crate::layout::Layout;

/// Writes the scratch workspace's `Cargo.toml` and `Cargo.lock`.
pub fn write_root(layout: &Layout, dir: &Path, members: &[String], header: &str) -> Result<()> {
    let root_manifest = files::read_string(&layout.root.join("Cargo.toml"))?;
    let members: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
    let manifest = format!(
        "{header}\n[workspace]\nresolver = \"3\"\nmembers = [{}]\n\n\
         # The rest of the real root manifest, for its profiles.\n{}",
        members.join(", "),
        without_workspace_table(&root_manifest)
    );
    let lock_path = layout.root.join("Cargo.lock");
    let lock = fs::read(&lock_path).map_err(|source| Error::io("read", &lock_path, source))?;
    // Cargo adds the scratch crates to the copied lock file and drops the real
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
}
