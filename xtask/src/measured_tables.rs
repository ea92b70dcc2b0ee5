//! Checks that each table of measurements in the book is the run it names.
//!
//! A "Measured" section says that "the run kept in
//! `book/measurements/<bench>.csv` gave:" and shows a Markdown table typed
//! from that file. The chart beside it is drawn from the file by `cargo
//! xtask book`, so it cannot drift from it; the table can, when the
//! benchmark is run again and the file replaced. So the first table after
//! such a line must agree with the file(s) the line names: every time in
//! it (`481.6 µs`, `18.46 ms`) is a value of a `*_us` column, rounded as
//! written, and every count written with a thousands separator (`3,735`)
//! is a value of the file. Row labels (the first column), ratios and other
//! derived numbers are left alone.

use std::fs;
use std::path::Path;

use crate::csv::Table;
use crate::error::{Error, Result};

/// The values of the files a table comes from.
#[derive(Default)]
struct Measured {
    /// Every value of a `*_us` column, in microseconds.
    micros: Vec<f64>,
    /// Every value of any column that is a number.
    numbers: Vec<f64>,
}

/// Problems, as `page:line: …`, for every table of measurements on `page`
/// (its text is `text`, its name in the messages `shown`); CSV paths are
/// taken from the workspace `root`.
pub fn problems(root: &Path, text: &str, shown: &Path) -> Result<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut problems = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        if !line.contains("gave") {
            continue;
        }
        let files = csv_paths(line);
        if files.is_empty() {
            continue;
        }
        let measured = read(root, &files)?;
        let Some(start) = (at + 1..lines.len()).find(|&i| lines[i].starts_with('|')) else {
            problems.push(format!(
                "{}:{}: no table follows this line",
                shown.display(),
                at + 1
            ));
            continue;
        };
        let rows = lines[start..]
            .iter()
            .take_while(|row| row.starts_with('|'))
            .enumerate()
            // The header, then the `|---|` line.
            .skip(2);
        for (offset, row) in rows {
            for cell in row
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .skip(1)
            {
                if !measured.holds(cell) {
                    problems.push(format!(
                        "{}:{}: `{cell}` is not a value of {} (a benchmark run again? copy the table from the same run)",
                        shown.display(),
                        start + offset + 1,
                        files.join(", ")
                    ));
                }
            }
        }
    }
    Ok(problems)
}

/// The `book/measurements/*.csv` paths named in backticks on `line`.
fn csv_paths(line: &str) -> Vec<String> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .filter(|quoted| quoted.starts_with("book/measurements/") && quoted.ends_with(".csv"))
        .map(str::to_string)
        .collect()
}

/// Reads the values of `files`.
fn read(root: &Path, files: &[String]) -> Result<Measured> {
    let mut measured = Measured::default();
    for file in files {
        let path = root.join(file);
        let text = fs::read_to_string(&path).map_err(|source| Error::io("read", &path, source))?;
        let table = Table::parse(&path, &text)?;
        for row in &table.rows {
            for (name, value) in table.header.iter().zip(row) {
                let Ok(number) = value.parse::<f64>() else {
                    continue;
                };
                measured.numbers.push(number);
                if name.ends_with("_us") {
                    measured.micros.push(number);
                }
            }
        }
    }
    Ok(measured)
}

impl Measured {
    /// Whether `cell` is a value of the files as written, or a cell this
    /// check leaves alone.
    fn holds(&self, cell: &str) -> bool {
        // The book keeps a unit with its number by a non-breaking space.
        if let Some((number, unit)) = cell.split_once([' ', '\u{a0}']) {
            let per_micro = match unit {
                "ns" => 0.001,
                "µs" => 1.0,
                "ms" => 1000.0,
                _ => return true,
            };
            let Some((value, decimals)) = written(number) else {
                return true;
            };
            return self
                .micros
                .iter()
                .any(|micros| rounds_to(micros / per_micro, value, decimals));
        }
        if !cell.contains(',') {
            return true;
        }
        let Some((value, decimals)) = written(&cell.replace(',', "")) else {
            return true;
        };
        self.numbers
            .iter()
            .any(|number| rounds_to(*number, value, decimals))
    }
}

/// The number `text` and how many decimals it is written with, or `None`
/// if it is not a plain number.
fn written(text: &str) -> Option<(f64, usize)> {
    let value = text.parse::<f64>().ok()?;
    let decimals = text.split_once('.').map_or(0, |(_, after)| after.len());
    Some((value, decimals))
}

/// Whether `exact`, rounded to `decimals` places, is `shown` (a tie may go
/// either way).
fn rounds_to(exact: f64, shown: f64, decimals: usize) -> bool {
    let half_unit = 0.5 / 10f64.powi(decimals as i32);
    (exact - shown).abs() <= half_unit * (1.0 + 1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured() -> Measured {
        Measured {
            micros: vec![481.58, 18462.58, 332.90],
            numbers: vec![481.58, 18462.58, 332.90, 3735.0, 16.0],
        }
    }

    #[test]
    fn times_and_counts_are_found_as_rounded() {
        let measured = measured();
        for cell in [
            "481.6 µs",
            "18.46 ms",
            "18.5 ms",
            "333 µs",
            "3,735",
            "0.5×",
            "16",
        ] {
            assert!(measured.holds(cell), "{cell}");
        }
        for cell in ["481.5 µs", "14.31 ms", "3,736", "0.47 ms"] {
            assert!(!measured.holds(cell), "{cell}");
        }
    }

    #[test]
    fn a_table_from_another_run_is_a_problem() {
        let root = std::env::temp_dir().join(format!("xtask-measured-{}", std::process::id()));
        fs::create_dir_all(root.join("book/measurements")).unwrap();
        fs::write(
            root.join("book/measurements/compaction.csv"),
            "tables_flushed,get_mean_us\n16,18462.58\n1,1120.40\n",
        )
        .unwrap();
        let page = "The run kept in `book/measurements/compaction.csv` gave:\n\n\
                    | tables | GET |\n|---|---|\n| 16 | 14.31 ms |\n| 1 | 1.12 ms |\n";
        let found = problems(&root, page, Path::new("ch05.md")).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("ch05.md:5: `14.31 ms`"), "{found:?}");
        let fixed = page.replace("14.31 ms", "18.46 ms");
        assert!(
            problems(&root, &fixed, Path::new("ch05.md"))
                .unwrap()
                .is_empty()
        );
        fs::remove_dir_all(&root).unwrap();
    }
}
