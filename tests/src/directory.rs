//! Copies of data directories, for tests that damage, merge or kill on a
//! copy and keep the original to compare with.

use std::fs;
use std::path::Path;

/// Copies every file of `from` into `to` (created if needed), but the
/// `LOCK` file, which belongs to whoever has `from` open. Nested folders
/// are not copied: a data directory has none (a test that adds one as
/// damage adds it to the copy).
pub fn copy_files(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|error| panic!("create {}: {error}", to.display()));
    for entry in
        fs::read_dir(from).unwrap_or_else(|error| panic!("list {}: {error}", from.display()))
    {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name == "LOCK" || !path.is_file() {
            continue;
        }
        fs::copy(&path, to.join(name))
            .unwrap_or_else(|error| panic!("copy {}: {error}", path.display()));
    }
}
