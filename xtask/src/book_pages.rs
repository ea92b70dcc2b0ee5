//! The book's pages in reading order, and which pages make up a chapter.
//!
//! A chapter is step NN's page `book/src/chNN-*.md`, or several of them: a
//! chapter that teaches two layers of one step (chapter 7: bloom filters,
//! then the write-ahead log) has a short page of its own and one sub-page
//! per layer, `ch07-1-….md` and `ch07-2-….md`, all working in the same step
//! crate. The tools that look for an exercise's section, or number the
//! chapter's listings, read the chapter's pages as one text, in the order
//! `SUMMARY.md` lists them, which is the order a reader meets them in.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The Markdown pages under `src` in reading order: those `SUMMARY.md`
/// links to, in its order, then any it does not list (mdBook does not
/// render them, but they are still checked), sorted by name.
pub fn in_reading_order(src: &Path) -> Result<Vec<PathBuf>> {
    let summary_path = src.join("SUMMARY.md");
    let summary = fs::read_to_string(&summary_path)
        .map_err(|source| Error::io("read", &summary_path, source))?;
    let mut pages: Vec<PathBuf> = linked_pages(&summary)
        .into_iter()
        .map(|name| src.join(name))
        .collect();
    let mut unlisted = Vec::new();
    let entries = fs::read_dir(src).map_err(|source| Error::io("list", src, source))?;
    for entry in entries {
        let path = entry
            .map_err(|source| Error::io("list", src, source))?
            .path();
        if path.extension().is_some_and(|extension| extension == "md") && !pages.contains(&path) {
            unlisted.push(path);
        }
    }
    unlisted.sort();
    pages.retain(|page| page.exists());
    pages.extend(unlisted);
    Ok(pages)
}

/// The `.md` targets of the links in `SUMMARY.md`, in order, each once.
fn linked_pages(summary: &str) -> Vec<String> {
    let mut pages: Vec<String> = Vec::new();
    for line in summary.lines() {
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].trim();
            if target.ends_with(".md") && !pages.iter().any(|page| page == target) {
                pages.push(target.to_string());
            }
            rest = &after[end + 1..];
        }
    }
    pages
}

/// The chapter a page belongs to, as its listings are numbered: `7` for
/// `ch07-bloom-wal.md` and its sub-pages `ch07-1-….md`, `A` for the
/// appendix pages, otherwise the page's own name.
pub fn chapter_of(page: &Path) -> String {
    let stem = page
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or("");
    match stem.strip_prefix("ch") {
        Some(rest) => rest
            .split('-')
            .next()
            .and_then(|digits| digits.parse::<u32>().ok())
            .map_or_else(|| stem.to_string(), |number| number.to_string()),
        None if stem.starts_with("appendix") => "A".to_string(),
        None => stem.to_string(),
    }
}

/// Chapter `nn`'s pages (`chNN-*.md`), in reading order.
pub fn chapter_pages(pages: &[PathBuf], nn: &str) -> Vec<PathBuf> {
    let prefix = format!("ch{nn}-");
    pages
        .iter()
        .filter(|page| {
            page.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(&prefix))
        })
        .cloned()
        .collect()
}

/// The text of `pages` as one, each page closed by an empty `##` heading so
/// that a section never runs on into the next page.
pub fn joined_text(pages: &[PathBuf]) -> Result<String> {
    let mut text = String::new();
    for page in pages {
        text.push_str(&fs::read_to_string(page).map_err(|source| Error::io("read", page, source))?);
        text.push_str("\n## \n");
    }
    Ok(text)
}

/// How chapter `nn`'s pages are named in a message: the one page, or
/// `book/src/chNN-*.md` for several.
pub fn shown(pages: &[PathBuf], root: &Path, nn: &str) -> String {
    match pages {
        [page] => page
            .strip_prefix(root)
            .unwrap_or(page)
            .display()
            .to_string(),
        _ => format!("book/src/ch{nn}-*.md"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_links_give_the_reading_order() {
        let summary = "# Summary\n\n[Intro](introduction.md)\n- [Seven](ch07-bloom-wal.md)\n  \
                       - [Filters](ch07-1-bloom-filters.md)\n  - [Log](ch07-2-write-ahead-log.md)\n\
                       - [Intro again](introduction.md)\n---\n[Formats](appendix-formats.md)\n";
        assert_eq!(
            linked_pages(summary),
            [
                "introduction.md",
                "ch07-bloom-wal.md",
                "ch07-1-bloom-filters.md",
                "ch07-2-write-ahead-log.md",
                "appendix-formats.md"
            ]
        );
    }

    #[test]
    fn sub_pages_belong_to_their_chapter() {
        assert_eq!(chapter_of(Path::new("src/ch07-1-bloom-filters.md")), "7");
        assert_eq!(chapter_of(Path::new("src/ch07-bloom-wal.md")), "7");
        assert_eq!(chapter_of(Path::new("src/appendix-formats.md")), "A");
        assert_eq!(chapter_of(Path::new("src/setup.md")), "setup");
        let pages = [
            PathBuf::from("src/ch07-bloom-wal.md"),
            PathBuf::from("src/ch07-1-bloom-filters.md"),
            PathBuf::from("src/ch06-sparse-index.md"),
        ];
        assert_eq!(
            chapter_pages(&pages, "07"),
            [
                PathBuf::from("src/ch07-bloom-wal.md"),
                PathBuf::from("src/ch07-1-bloom-filters.md")
            ]
        );
    }
}
