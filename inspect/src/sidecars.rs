//! The files beside a table, its index (`.idx`, step 06 on) and its bloom
//! filter (`.bloom`, step 07), each loaded as the store loads it: the check
//! line first (`checked_body`), then the body's own parser.
//!
//! The idea: the store treats a sidecar that is missing or does not check
//! out as something to rebuild, not as damage, and so does a lookup here:
//! it then uses the index or filter that the store would rebuild from the
//! table ([`rebuilt_index`], [`rebuilt_filter`]), built by the store's own
//! `Index::note_line` and `BloomFilter::from_hashes`. `verify` still
//! reports it, with the line and the reason.
//!
//! Invariants:
//! - a sidecar is [`Sidecar::Sound`] exactly when the store would use it:
//!   its check line names the table's size and its body's checksum, and its
//!   parser accepts the body.

use std::fs;
use std::io;
use std::path::Path;

use solution_07::format::{BloomFilter, Index, bloom_hash, checked_body};

use crate::Problem;
use crate::table::TableFile;

/// A sidecar as found beside its table.
#[derive(Debug, Clone)]
pub enum Sidecar<T> {
    /// There is none: the store builds it from the table at open.
    Missing,
    /// It is there but the store would not use it, and why.
    Damaged(Problem),
    /// The store would use it.
    Sound(T),
}

impl<T> Sidecar<T> {
    /// The sidecar, if the store would use it.
    pub fn sound(&self) -> Option<&T> {
        match self {
            Sidecar::Sound(sidecar) => Some(sidecar),
            _ => None,
        }
    }
}

/// The name of the sidecar with `extension` of the table `table`:
/// `000003.idx` for `000003.sst`.
pub fn name_for(table: &str, extension: &str) -> String {
    let stem = table.strip_suffix(".sst").unwrap_or(table);
    format!("{stem}.{extension}")
}

/// Loads the index of `table` from `directory`.
pub fn index(directory: &Path, table: &TableFile) -> Sidecar<Index> {
    load(directory, table, "idx", |body| {
        Index::parse(body, table.bytes)
    })
}

/// Loads the bloom filter of `table` from `directory`.
pub fn filter(directory: &Path, table: &TableFile) -> Sidecar<BloomFilter> {
    load(directory, table, "bloom", BloomFilter::parse)
}

fn load<T>(
    directory: &Path,
    table: &TableFile,
    extension: &str,
    parse: impl FnOnce(&str) -> Result<T, (usize, String)>,
) -> Sidecar<T> {
    let name = name_for(&table.name, extension);
    let text = match fs::read(directory.join(&name)) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Sidecar::Missing,
        Err(error) => return Sidecar::Damaged(Problem::of(&name, format!("cannot read: {error}"))),
    };
    let Ok(text) = String::from_utf8(text) else {
        return Sidecar::Damaged(Problem::of(&name, "not UTF-8"));
    };
    // As in `sidecar::load`: the check line is line 1, the body's lines
    // count from 2.
    let body = match checked_body(&text, table.bytes) {
        Ok(body) => body,
        Err(reason) => return Sidecar::Damaged(Problem::at(&name, 1, reason)),
    };
    match parse(body) {
        Ok(parsed) => Sidecar::Sound(parsed),
        Err((line, reason)) => Sidecar::Damaged(Problem::at(&name, line + 1, reason)),
    }
}

/// The index the writer makes for `table`'s lines, as `sidecar::rebuild`
/// makes it (only the good lines count: the store would stop at a bad one).
pub fn rebuilt_index(table: &TableFile) -> Index {
    let mut index = Index::new();
    for line in &table.lines {
        index.note_line(&line.key, line.offset, line.number);
    }
    index.finish(table.bytes);
    index
}

/// The filter the writer makes for `table`'s keys.
pub fn rebuilt_filter(table: &TableFile) -> BloomFilter {
    let hashes: Vec<u64> = table
        .lines
        .iter()
        .map(|line| bloom_hash(&line.key))
        .collect();
    BloomFilter::from_hashes(&hashes)
}

/// The false-positive rate a filter of `bits` bits and `hashes` hash
/// functions is expected to have with `keys` keys in it: the textbook
/// `(1 - e^(-k n / m))^k`, which `bloom.rs` sizes its filters by.
pub fn expected_false_positive_rate(filter: &BloomFilter) -> f64 {
    let (bits, hashes, keys) = (
        filter.bit_count() as f64,
        f64::from(filter.hash_count()),
        filter.key_count() as f64,
    );
    (1.0 - (-hashes * keys / bits).exp()).powf(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table;

    #[test]
    fn a_damaged_sidecar_names_its_line() {
        let directory = tempfile::tempdir().unwrap();
        let table = table::parse("000001.sst", "a→1\n".as_bytes());
        assert!(matches!(index(directory.path(), &table), Sidecar::Missing));
        fs::write(directory.path().join("000001.idx"), "check 5 00000000\n").unwrap();
        let Sidecar::Damaged(problem) = index(directory.path(), &table) else {
            panic!("a wrong size is damage");
        };
        assert_eq!(problem.line, Some(1));
        assert!(problem.reason.contains("table of 5 bytes"), "{problem:?}");
    }

    #[test]
    fn a_filter_sized_for_one_percent_expects_about_that() {
        let keys: Vec<String> = (0..1000).map(|n| format!("k{n:04}")).collect();
        let lines: String = keys.iter().map(|key| format!("{key}→v\n")).collect();
        let table = table::parse("000001.sst", lines.as_bytes());
        let rate = expected_false_positive_rate(&rebuilt_filter(&table));
        assert!((0.005..0.015).contains(&rate), "{rate}");
    }
}
