//! `picture`: the tree as an SVG. Each live table is a bar over the part
//! of the key range it covers, stacked by age with the newest on top (the
//! order a read looks in them), with a tick per key and tombstones in red;
//! the manifest, the logs a start replays and the other files are listed
//! beside.
//!
//! The x axis is the rank of a key among all the keys of the live tables,
//! not its bytes: keys are text, and ranks keep every key visible. Every
//! key is named above the bars while their names fit side by side (a few
//! keys, as in the book's figures); past that, only the first and the last.
//!
//! Invariants:
//! - the same directory gives the same bytes: no time, no random ids, the
//!   `svg` crate writes attributes sorted;
//! - it has its own light background, like the book's diagrams, so that it
//!   reads the same in the book's light and dark themes.

use std::collections::BTreeSet;

use solution_07::Entry;
use svg::Document;
use svg::node::element::{Line as SvgLine, Rectangle, Text, Title};

use crate::summary::{plural, shown};
use crate::tree::Tree;

const WIDTH: f64 = 720.0;
/// Where the bars start and end.
const LEFT: f64 = 110.0;
const RIGHT: f64 = 480.0;
/// Where the list of files starts.
const LIST: f64 = 500.0;
/// A table's row: its bar, and its counts under the bar, nearer to their
/// own bar than to the next one.
const ROW: f64 = 42.0;
const TOP: f64 = 56.0;
/// How far a bar reaches past its first and last key, so that the ticks
/// at its ends stand clear of its border.
const PAD: f64 = 8.0;
/// The width of a character of a key's name (12 px sans-serif), a little
/// more than the average, so that names that fit by it do fit.
const CHAR_WIDTH: f64 = 7.5;

/// The SVG of `tree`, as text.
pub fn draw(tree: &Tree) -> String {
    let keys: BTreeSet<&str> = tree
        .tables
        .iter()
        .flat_map(|table| table.file.lines.iter().map(|line| line.key.as_str()))
        .collect();
    let keys: Vec<&str> = keys.into_iter().collect();
    let x = |key: &str| {
        let rank = keys.partition_point(|other| *other < key) as f64;
        let span = (keys.len().max(2) - 1) as f64;
        LEFT + (RIGHT - LEFT) * rank / span
    };
    let list = list_lines(tree);
    let rows = tree.tables.len().max(1) as f64;
    let height = (TOP + rows * ROW + 30.0).max(TOP + list.len() as f64 * 18.0 + 20.0);
    let mut document = Document::new()
        .set("width", WIDTH)
        .set("height", height)
        .set("viewBox", (0.0, 0.0, WIDTH, height))
        .set("font-family", "sans-serif")
        .set("font-size", 13)
        .add(Title::new(format!(
            "The tables of a step {} data directory",
            tree.step
        )))
        .add(
            Rectangle::new()
                .set("class", "background")
                .set("width", WIDTH)
                .set("height", height)
                .set("rx", 8)
                .set("fill", "#ffffff"),
        )
        .add(
            text(
                14.0,
                24.0,
                &format!("step {}: live tables, newest on top", tree.step),
            )
            .set("font-weight", "bold"),
        );
    let widest = keys.iter().map(|key| shown(key).chars().count()).max();
    let spacing = (RIGHT - LEFT) / (keys.len().max(2) - 1) as f64;
    let fits = spacing >= widest.unwrap_or(0) as f64 * CHAR_WIDTH + 12.0;
    for (at, key) in keys.iter().enumerate() {
        let first_or_last = at == 0 || at + 1 == keys.len();
        if !first_or_last && !fits {
            continue;
        }
        // The first name starts at its key and the last ends at its key, so
        // that both stay over the bars; the others are centred on theirs.
        let anchor = match at {
            0 => "start",
            _ if at + 1 == keys.len() => "end",
            _ => "middle",
        };
        document = document.add(
            text(x(key), 42.0, &shown(key))
                .set("font-size", 12)
                .set("fill", "#555555")
                .set("text-anchor", anchor),
        );
    }
    if tree.tables.is_empty() {
        document = document.add(text(LEFT, TOP + 20.0, "no table yet"));
    }
    for (row, table) in tree.tables.iter().enumerate() {
        let y = TOP + row as f64 * ROW;
        let file = &table.file;
        document = document.add(text(14.0, y + 17.0, &file.name));
        let (Some(first), Some(last)) = (file.lines.first(), file.lines.last()) else {
            continue;
        };
        let (start, end) = (x(&first.key), x(&last.key));
        document = document.add(
            Rectangle::new()
                .set("x", start - PAD)
                .set("y", y + 4.0)
                .set("width", end - start + 2.0 * PAD)
                .set("height", 18.0)
                .set("rx", 4)
                .set("fill", "#eef3fb")
                .set("stroke", "#4a6fa5"),
        );
        for line in &file.lines {
            let (color, top) = match line.entry {
                Entry::Tombstone => ("#c0392b", y + 1.0),
                Entry::Value(_) => ("#4a6fa5", y + 8.0),
            };
            let tick = SvgLine::new()
                .set("x1", x(&line.key))
                .set("x2", x(&line.key))
                .set("y1", top)
                .set("y2", y + 18.0)
                .set("stroke", color)
                .set("stroke-width", 2);
            document = document.add(tick);
        }
        let count = format!(
            "{}, {}",
            plural(file.lines.len(), "entry", "entries"),
            plural(file.tombstones(), "tombstone", "tombstones")
        );
        document = document.add(
            text(LEFT, y + 35.0, &count)
                .set("font-size", 11)
                .set("fill", "#555555"),
        );
    }
    let legend_y = TOP + rows * ROW + 16.0;
    document = document
        .add(
            text(LEFT, legend_y, "blue tick: a value")
                .set("font-size", 12)
                .set("fill", "#4a6fa5"),
        )
        .add(
            text(LEFT + 140.0, legend_y, "tall red tick: a tombstone")
                .set("font-size", 12)
                .set("fill", "#c0392b"),
        );
    for (at, line) in list.iter().enumerate() {
        let y = TOP + at as f64 * 18.0;
        let bold = !line.starts_with("  ");
        let mut item = text(LIST, y, line).set("font-size", 12);
        if bold {
            item = item.set("font-weight", "bold");
        }
        document = document.add(item);
    }
    format!("{document}\n")
}

/// The files listed beside the bars.
fn list_lines(tree: &Tree) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(names) = &tree.manifest {
        lines.push("MANIFEST (oldest first)".to_string());
        lines.extend(names.iter().map(|name| format!("  {name}")));
    }
    if tree.step.has_filter_and_logs() {
        lines.push("logs (newest first)".to_string());
        for log in &tree.logs {
            lines.push(format!(
                "  {}: {}",
                log.name,
                plural(log.writes(), "record", "records")
            ));
        }
        if tree.logs.is_empty() {
            lines.push("  none".to_string());
        }
    }
    if !tree.others.is_empty() {
        lines.push("other files".to_string());
        lines.extend(tree.others.iter().map(|other| format!("  {}", other.name)));
    }
    lines
}

fn text(x: f64, y: f64, content: &str) -> Text {
    Text::new(content)
        .set("x", x)
        .set("y", y)
        .set("fill", "#222222")
}
