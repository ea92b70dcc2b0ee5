//! The benchmarks' CSV results, read: a header line, then one line per
//! measurement, as `bench/src/lib.rs` writes them.
//!
//! A small reader rather than the `csv` crate, because every `cargo xtask`
//! command compiles this crate first and the files are ours: no comments,
//! no blank lines inside, fields quoted only when they hold a comma or a
//! quote (a quote inside a quoted field is doubled, as in RFC 4180), no
//! newline inside a field. A line with the wrong number of fields is an
//! error that names the file and the line.

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
        let problem = |line: usize, message: String| {
            Error::Check(format!("{}:{line}: {message}", path.display()))
        };
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(index, line)| (index + 1, line));
        let header = match lines.next() {
            Some((line, text)) => fields(text).map_err(|message| problem(line, message))?,
            None => return Err(problem(1, "empty file, expected a header line".into())),
        };
        let mut rows = Vec::new();
        for (line, text) in lines {
            let row = fields(text).map_err(|message| problem(line, message))?;
            if row.len() != header.len() {
                return Err(problem(
                    line,
                    format!(
                        "{} fields, but the header has {} ({})",
                        row.len(),
                        header.len(),
                        header.join(",")
                    ),
                ));
            }
            rows.push(row);
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

/// The fields of one line.
fn fields(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field is not closed".into()),
                }
            }
            if !matches!(chars.peek(), None | Some(',')) {
                return Err("a quoted field must end at a comma or the line's end".into());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '"' {
                    return Err("a quote inside a field that is not quoted".into());
                }
                field.push(c);
                chars.next();
            }
        }
        fields.push(field);
        if chars.next().is_none() {
            return Ok(fields);
        }
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
