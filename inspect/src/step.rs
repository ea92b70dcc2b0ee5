//! Which step wrote a data directory, and so which of its files that step
//! reads.
//!
//! The idea: each step adds a kind of file and leaves the older kinds
//! readable as they were (the table lines of 03 are the lines of 07, the
//! manifest of 05 is that of 07 but for 07's log line), so the newest kind
//! of file present says the step: a `.wal` or a `.bloom` is 07, an `.idx`
//! 06, a `MANIFEST` 05, tables alone 03 or 04 (whose files are the same:
//! 04 only flushes on another thread). What the
//! step changes is what is *read*: step 03 ignores a `MANIFEST`, step 05 an
//! `.idx`, step 06 a `.bloom`, and each looks a key up its own way.
//!
//! Invariants:
//! - detection looks only at file names, so it never fails;
//! - `--step` overrides it, and the output always says which step it
//!   assumed and why.

use crate::{Error, Result};

/// A step from 03 to 07.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Step(u8);

impl Step {
    /// The step `number`, if it is one with files on disk (03 to 07).
    pub fn new(number: u8) -> Result<Step> {
        if (3..=7).contains(&number) {
            Ok(Step(number))
        } else {
            Err(Error::UnknownStep(number))
        }
    }

    /// The step's number.
    pub fn number(self) -> u8 {
        self.0
    }

    /// Whether the step keeps a `MANIFEST` (05 on).
    pub fn has_manifest(self) -> bool {
        self.0 >= 5
    }

    /// Whether the step keeps an `.idx` beside each table (06 on).
    pub fn has_index(self) -> bool {
        self.0 >= 6
    }

    /// Whether the step keeps a `.bloom` beside each table and `.wal` logs
    /// (07).
    pub fn has_filter_and_logs(self) -> bool {
        self.0 >= 7
    }

    /// Guesses the step from the names of the files in a directory, and
    /// says why.
    pub fn detect<'a>(names: impl IntoIterator<Item = &'a str> + Clone) -> (Step, &'static str) {
        let any = |extension: &str| {
            names
                .clone()
                .into_iter()
                .any(|name| name.ends_with(extension))
        };
        if any(".wal") || any(".bloom") {
            (Step(7), "found .bloom or .wal files")
        } else if any(".idx") {
            (Step(6), "found .idx files and no .bloom")
        } else if names.clone().into_iter().any(|name| name == "MANIFEST") {
            (Step(5), "found a MANIFEST and no .idx")
        } else if any(".sst") {
            (
                Step(3),
                "found tables and no MANIFEST (03 and 04 write the same files)",
            )
        } else {
            (Step(7), "found no table yet, so assumed the last step")
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{:02}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_kind_of_file_says_the_step() {
        let step = |names: &[&str]| Step::detect(names.iter().copied()).0.number();
        assert_eq!(step(&["000001.sst"]), 3);
        assert_eq!(step(&["000001.sst", "MANIFEST"]), 5);
        assert_eq!(step(&["000001.sst", "000001.idx", "MANIFEST"]), 6);
        assert_eq!(step(&["000001.sst", "000001.bloom", "000001.idx"]), 7);
        assert_eq!(step(&["MANIFEST", "000002.wal"]), 7);
        assert_eq!(step(&[]), 7);
    }

    #[test]
    fn only_steps_with_files_are_known() {
        assert!(Step::new(2).is_err());
        assert!(Step::new(8).is_err());
        assert_eq!(Step::new(6).unwrap().to_string(), "06");
    }
}
