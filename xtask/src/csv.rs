//! The benchmarks' CSV results, read: a header line, then one line per
//! measurement, as `bench/src/lib.rs` writes them, parsed by the `csv`
//! crate (RFC 4180 quoting). A line with another number of fields than the
//! header is an error that names the file and the line.

use std::path::Path;

use crate::error::{Error, Result};

/// A CSV file's header and rows, every row as long as the header.
#[derive(Debug)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Parses `text`, read from `path` (which the errors name).
    pub fn parse(path: &Path, text: &str) -> Result<Table> {
        let problem = |line: u64, message: String| {
            Error::Check(format!("{}:{line}: {message}", path.display()))
        };
        // `flexible`: a row of another length is reported below, with the
        // header's columns, rather than as the crate's own error.
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let header: Vec<String> = match reader.headers() {
            Ok(header) if !header.is_empty() => header.iter().map(str::to_string).collect(),
            Ok(_) => return Err(problem(1, "empty file, expected a header line".into())),
            Err(error) => return Err(problem(1, error.to_string())),
        };
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|error| {
                let line = error.position().map_or(0, |position| position.line());
                problem(line, error.to_string())
            })?;
            let line = record.position().map_or(0, |position| position.line());
            if record.len() != header.len() {
                return Err(problem(
                    line,
                    format!(
                        "{} fields, but the header has {} ({})",
                        record.len(),
                        header.len(),
                        header.join(",")
                    ),
                ));
            }
            rows.push(record.iter().map(str::to_string).collect());
        }
        Ok(Table { header, rows })
    }

    /// The index of the column `name`, or an error naming `path` and the
    /// columns there are.
    pub fn column(&self, path: &Path, name: &str) -> Result<usize> {
        self.header
            .iter()
            .position(|column| column == name)
            .ok_or_else(|| {
                Error::Check(format!(
                    "{}: no column `{name}` (it has {})",
                    path.display(),
                    self.header.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_their_commas_and_quotes() {
        let table = Table::parse(
            Path::new("x.csv"),
            "setup,p50_us\n\"step 03, no flush\",0.70\n\"say \"\"hi\"\"\",\n",
        )
        .unwrap();
        assert_eq!(table.header, ["setup", "p50_us"]);
        assert_eq!(table.rows[0], ["step 03, no flush", "0.70"]);
        assert_eq!(table.rows[1], ["say \"hi\"", ""]);
    }

    #[test]
    fn a_short_line_is_an_error_naming_the_file_and_line() {
        let error = Table::parse(Path::new("x.csv"), "a,b\n1,2\n3\n").unwrap_err();
        assert!(
            error.to_string().starts_with("x.csv:3: 1 fields"),
            "{error}"
        );
    }
}
