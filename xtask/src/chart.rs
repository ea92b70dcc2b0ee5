//! A line chart of a benchmark's CSV results, as SVG text: what the book's
//! figures are (`book/src/generated/chart-*.svg`, listed in
//! `book_charts.rs`).
//!
//! Drawn with plotters' SVG backend and no font feature: plotters then
//! estimates each label's width from its length (for the legend's box and
//! the margins), and writes the text as SVG `<text>` in `sans-serif`, which
//! the reader's browser sets in whatever sans-serif font it has. No font
//! file is needed to build the book or to read it.
//!
//! - The chart sits on an opaque white card, as the hand-drawn diagrams in
//!   `book/src/images/` do, so that it reads the same in mdBook's light and
//!   dark themes.
//! - Ticks sit where the data is (the x values measured) or on round values
//!   (decades on a log axis), never where plotters' spacing falls: a reader
//!   compares a point with the table beside it.
//! - The same CSV gives the same bytes: no timestamps, no random ids, the
//!   series in the order the chart lists them (CI compares the files).

use std::ops::Range;
use std::path::Path;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::element::{DashedPathElement, Drawable, PointCollection};
use plotters::prelude::*;
use plotters_backend::DrawingErrorKind;

use crate::csv::Table;
use crate::error::{Error, Result};

/// How an axis maps values to positions.
#[derive(Clone, Copy, Debug)]
pub enum Scale {
    /// Evenly, from zero.
    Linear,
    /// By their logarithm: each factor of ten (or of four, between 1 and 4
    /// and 16) takes the same length, for values that span decades.
    Log,
    /// Percentiles by their number of nines: 90, 99 and 99.9 evenly apart,
    /// 100 (the maximum) one step past the last; the tail of a latency
    /// distribution, where a stall shows, gets most of the width.
    Nines,
}

/// One line (or set of points) of a chart.
#[derive(Debug)]
pub struct Series {
    /// The legend's text.
    pub label: &'static str,
    /// The column its y values come from.
    pub y: &'static str,
    /// The rows it takes: those whose columns hold these values.
    pub rows: &'static [(&'static str, &'static str)],
    /// How its points are drawn.
    pub mark: Mark,
    /// Its colour, an index into the palette: series that measure the same
    /// thing (one key, before and after a merge) share one.
    pub colour: usize,
    /// Where its points sit instead of at their x values: a position of
    /// its own (in the x column's unit) and the tick's text there, for a
    /// measurement that is not a point of the x axis (a store after its
    /// merge, beside the stores before it).
    pub at: Option<(f64, &'static str)>,
}

/// How a series' points are drawn.
#[derive(Clone, Copy, Debug)]
pub enum Mark {
    /// Dots joined by a line: a measurement against the x axis.
    Line,
    /// Rings joined by a line: as `Line`, for a series whose points may
    /// sit on another's dots, which then show inside the rings.
    LineRings,
    /// A dashed line without dots: a yardstick measured once and drawn
    /// across (the disk's own sync rate), not a result of the thing tested.
    Reference,
    /// Triangles, unjoined: a lone measurement to compare with a line's
    /// point (a store after its merge).
    Points,
    /// Larger hollow triangles, unjoined: as `Points`, for one that may sit
    /// on another's triangle, which then shows inside.
    HollowPoints,
}

/// A chart of one CSV file.
#[derive(Debug)]
pub struct Chart {
    /// The SVG's name: `chart-<name>.svg`.
    pub name: &'static str,
    /// The CSV's name in `book/measurements/`.
    pub csv: &'static str,
    /// The column of the x values, and the x axis's title (with its unit).
    pub x: &'static str,
    pub x_title: &'static str,
    pub x_scale: Scale,
    /// The y axis's title (with its unit).
    pub y_title: &'static str,
    pub y_scale: Scale,
    /// How many of the y column's units make one of the axis's: 1000 for an
    /// axis in ms of a column in µs, so the chart speaks the unit its
    /// chapter's table and text use.
    pub y_per_unit: f64,
    pub series: &'static [Series],
    /// Which corner the legend takes: the one the lines leave free.
    pub legend: SeriesLabelPosition,
}

/// The chart's size in pixels; the book's column is about 750 wide.
const SIZE: (u32, u32) = (720, 420);

/// The series' colours, in order: the diagrams' blue and red, then a green
/// and an orange, all dark enough for white and told apart by hue.
const PALETTE: [RGBColor; 4] = [
    RGBColor(0x3b, 0x5b, 0x86),
    RGBColor(0xc6, 0x28, 0x28),
    RGBColor(0x2e, 0x7d, 0x32),
    RGBColor(0xef, 0x6c, 0x00),
];
const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);

/// Where the maximum (the 100th percentile) sits on a `Nines` axis: one
/// step past 99.99, the deepest percentile the benchmarks record.
const NINES_OF_MAX: f64 = 5.0;

/// Renders `chart` from `table`, read from `path` (which errors name).
pub fn render(chart: &Chart, path: &Path, table: &Table) -> Result<String> {
    let x_column = table.column(path, chart.x)?;
    let mut lines = Vec::new();
    for series in chart.series {
        let y_column = table.column(path, series.y)?;
        let mut filters = Vec::new();
        for (column, value) in series.rows {
            filters.push((table.column(path, column)?, *value));
        }
        let mut points = Vec::new();
        for (index, row) in table.rows.iter().enumerate() {
            if filters.iter().all(|(column, value)| row[*column] == *value) {
                // The header is line 1.
                let line = index + 2;
                let x = match series.at {
                    Some((x, _)) => x,
                    None => number(path, line, &row[x_column])?,
                };
                let y = number(path, line, &row[y_column])? / chart.y_per_unit;
                points.push((to_axis(chart.x_scale, x), to_axis(chart.y_scale, y)));
            }
        }
        if points.is_empty() {
            return Err(Error::Check(format!(
                "{}: no rows for the series `{}` of chart-{}.svg",
                path.display(),
                series.label,
                chart.name
            )));
        }
        lines.push(points);
    }
    let all = || lines.iter().flatten();
    let mut x_ticks: Vec<f64> = all().map(|(x, _)| *x).collect();
    x_ticks.sort_by(f64::total_cmp);
    x_ticks.dedup();
    let (x_low, x_high) = (x_ticks[0], x_ticks[x_ticks.len() - 1]);
    let pad = if x_high > x_low {
        (x_high - x_low) * 0.06
    } else {
        0.5
    };
    let mut y_ticks = y_ticks(chart.y_scale, all().map(|(_, y)| *y));
    // A legend at the bottom of a log axis gets a decade of its own, below
    // every measurement, so that it hides none of them.
    let legend_below = matches!(
        chart.legend,
        SeriesLabelPosition::LowerLeft
            | SeriesLabelPosition::LowerMiddle
            | SeriesLabelPosition::LowerRight
    );
    if legend_below && matches!(chart.y_scale, Scale::Log) {
        y_ticks.insert(0, y_ticks[0] - 1.0);
    }
    let (y_low, y_high) = (y_ticks[0], y_ticks[y_ticks.len() - 1]);

    let drawing_error = |error: String| {
        Error::Check(format!(
            "chart-{}.svg from {}: {error}",
            chart.name,
            path.display()
        ))
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|error| drawing_error(error.to_string()))?;
        let mut context = ChartBuilder::on(&root)
            .margin(18)
            .x_label_area_size(56)
            .y_label_area_size(84)
            .build_cartesian_2d(
                Axis {
                    range: (x_low - pad)..(x_high + pad),
                    ticks: x_ticks,
                },
                Axis {
                    range: y_low..y_high,
                    ticks: y_ticks,
                },
            )
            .map_err(|error| drawing_error(error.to_string()))?;
        // A series drawn at a position of its own names that tick itself.
        let own_ticks: Vec<(f64, &str)> = chart
            .series
            .iter()
            .filter_map(|series| series.at)
            .map(|(x, text)| (to_axis(chart.x_scale, x), text))
            .collect();
        let x_label = |value: &f64| {
            own_ticks
                .iter()
                .find(|(x, _)| (x - value).abs() < 1e-9)
                .map_or_else(
                    || axis_label(chart.x_scale, *value),
                    |(_, text)| text.to_string(),
                )
        };
        let y_label = |value: &f64| axis_label(chart.y_scale, *value);
        context
            .configure_mesh()
            .x_desc(chart.x_title)
            .y_desc(chart.y_title)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style(("sans-serif", 17).into_font().color(&TEXT))
            .axis_desc_style(("sans-serif", 18).into_font().color(&TEXT))
            .axis_style(TEXT)
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(|error| drawing_error(error.to_string()))?;
        for (series, points) in chart.series.iter().zip(&lines) {
            let colour = PALETTE[series.colour % PALETTE.len()];
            let error = |error: DrawingAreaErrorKind<_>| drawing_error(error.to_string());
            let drawn = match series.mark {
                Mark::Line | Mark::LineRings => {
                    context
                        .draw_series(LineSeries::new(points.clone(), colour.stroke_width(3)))
                        .map_err(error)?;
                    context
                        .draw_series(
                            points
                                .iter()
                                .map(|&point| Glyph::new(series.mark, colour, point)),
                        )
                        .map_err(error)?
                }
                Mark::Reference => context
                    .draw_series(DashedLineSeries::new(
                        points.clone(),
                        10,
                        6,
                        colour.stroke_width(2),
                    ))
                    .map_err(error)?,
                Mark::Points | Mark::HollowPoints => context
                    .draw_series(
                        points
                            .iter()
                            .map(|&point| Glyph::new(series.mark, colour, point)),
                    )
                    .map_err(error)?,
            };
            let mark = series.mark;
            drawn
                .label(series.label)
                .legend(move |(x, y)| legend_mark(mark, colour, (x, y)));
        }
        context
            .configure_series_labels()
            .position(chart.legend.clone())
            .margin(12)
            .legend_area_size(30)
            .label_font(("sans-serif", 17).into_font().color(&TEXT))
            .background_style(WHITE)
            .border_style(TEXT.mix(0.4))
            .draw()
            .map_err(|error| drawing_error(error.to_string()))?;
        root.present()
            .map_err(|error| drawing_error(error.to_string()))?;
    }
    Ok(svg)
}

/// The legend's sample of a series drawn as `mark`, left of its label.
fn legend_mark<Backend: DrawingBackend>(
    mark: Mark,
    colour: RGBColor,
    (x, y): (i32, i32),
) -> DynElement<'static, Backend, (i32, i32)> {
    match mark {
        Mark::Line | Mark::LineRings => Glyph {
            line: true,
            ..Glyph::new(mark, colour, (x + 12, y))
        }
        .into_dyn(),
        Mark::Reference => {
            DashedPathElement::new(vec![(x, y), (x + 24, y)], 10, 6, colour.stroke_width(2))
                .into_dyn()
        }
        Mark::Points | Mark::HollowPoints => Glyph::new(mark, colour, (x + 12, y)).into_dyn(),
    }
}

/// The mark of one point, drawn in pixels around it: a filled dot, a ring
/// around where a dot would be, a triangle, or a larger hollow one, so that
/// where two series' points meet both stay in sight. In the legend it may
/// carry its line's stroke through it. (Plotters' own markers fill even a
/// triangle given a stroke, and its composed elements carry the backend's
/// lifetime, which a legend's element may not.)
struct Glyph<Coord> {
    at: Coord,
    mark: Mark,
    colour: RGBColor,
    /// A stroke of the series' line through the mark, 24 pixels long.
    line: bool,
}

impl<Coord> Glyph<Coord> {
    fn new(mark: Mark, colour: RGBColor, at: Coord) -> Glyph<Coord> {
        Glyph {
            at,
            mark,
            colour,
            line: false,
        }
    }
}

impl<'a, Coord> PointCollection<'a, Coord> for &'a Glyph<Coord> {
    type Point = &'a Coord;
    type IntoIter = std::iter::Once<&'a Coord>;

    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<Coord, Backend: DrawingBackend> Drawable<Backend> for Glyph<Coord> {
    fn draw<I: Iterator<Item = (i32, i32)>>(
        &self,
        mut points: I,
        backend: &mut Backend,
        _: (u32, u32),
    ) -> std::result::Result<(), DrawingErrorKind<Backend::ErrorType>> {
        let Some((x, y)) = points.next() else {
            return Ok(());
        };
        let colour = self.colour;
        if self.line {
            backend.draw_line((x - 12, y), (x + 12, y), &colour.stroke_width(3))?;
        }
        // A triangle pointing up, `size` from its centre to its top corner.
        let triangle = |size: f64| {
            let (half_width, below) = (size * 0.866, size * 0.5);
            vec![
                (x, y - size as i32),
                (x + half_width.round() as i32, y + below.round() as i32),
                (x - half_width.round() as i32, y + below.round() as i32),
            ]
        };
        match self.mark {
            Mark::Line | Mark::Reference => backend.draw_circle((x, y), 5, &colour.filled(), true),
            Mark::LineRings => backend.draw_circle((x, y), 9, &colour.stroke_width(2), false),
            Mark::Points => backend.fill_polygon(triangle(9.0), &colour.filled()),
            Mark::HollowPoints => {
                let mut outline = triangle(16.0);
                outline.push(outline[0]);
                backend.draw_path(outline, &colour.stroke_width(2))
            }
        }
    }
}

/// An axis in positions (values already through `to_axis`) with its ticks
/// where we put them: plotters' own key points fall at round positions,
/// which on a log axis are not round values.
struct Axis {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let fraction = (value - self.range.start) / (self.range.end - self.range.start);
        limit.0 + (fraction * f64::from(limit.1 - limit.0)).round() as i32
    }

    /// The ticks, as the bold grid lines and the labels; no light lines.
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// Plotters asks for a default label; every chart sets its own formatter,
/// so this is never what a reader sees.
impl ValueFormatter<f64> for Axis {
    fn format(value: &f64) -> String {
        readable(*value)
    }
}

/// The number in a CSV cell, or an error naming the file and line.
fn number(path: &Path, line: usize, cell: &str) -> Result<f64> {
    cell.parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
        .ok_or_else(|| {
            Error::Check(format!(
                "{}:{line}: expected a number, found {cell:?}",
                path.display()
            ))
        })
}

/// Where `value` sits on an axis of `scale`.
fn to_axis(scale: Scale, value: f64) -> f64 {
    match scale {
        Scale::Linear => value,
        Scale::Log => value.max(f64::MIN_POSITIVE).log10(),
        Scale::Nines if value >= 100.0 => NINES_OF_MAX,
        Scale::Nines => -(1.0 - value / 100.0).log10(),
    }
}

/// The value at `position` on an axis of `scale`, as its tick reads.
fn axis_label(scale: Scale, position: f64) -> String {
    match scale {
        Scale::Linear => readable(position),
        Scale::Log => readable(10f64.powf(position)),
        Scale::Nines if (position - NINES_OF_MAX).abs() < 1e-9 => "max".to_string(),
        Scale::Nines => {
            let percent = 100.0 * (1.0 - 10f64.powf(-position));
            trim_zeros(format!("{percent:.4}"))
        }
    }
}

/// The y axis's ticks, from the lowest to the highest, spanning every value
/// in `positions`: decades on a log axis, round steps from zero otherwise.
fn y_ticks(scale: Scale, positions: impl Iterator<Item = f64>) -> Vec<f64> {
    let (low, high) = positions.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), y| {
        (low.min(y), high.max(y))
    });
    match scale {
        Scale::Log | Scale::Nines => {
            let (first, mut last) = (low.floor(), high.ceil());
            if last <= first {
                last = first + 1.0;
            }
            (first as i32..=last as i32).map(f64::from).collect()
        }
        Scale::Linear => {
            let step = round_step(high.max(f64::MIN_POSITIVE) / 5.0);
            let count = (high / step).ceil().max(1.0) as usize;
            (0..=count).map(|tick| tick as f64 * step).collect()
        }
    }
}

/// The smallest 1, 2 or 5 times a power of ten that is at least `rough`.
fn round_step(rough: f64) -> f64 {
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * power)
        .find(|step| *step >= rough * (1.0 - 1e-9))
        .unwrap_or(10.0 * power)
}

/// A number as a reader writes it: thousands separated by commas, at most
/// two decimals, no trailing zeros.
fn readable(value: f64) -> String {
    if value.abs() >= 1000.0 {
        let digits = format!("{:.0}", value.abs());
        let mut grouped = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        let sign = if value < 0.0 { "-" } else { "" };
        format!("{sign}{grouped}")
    } else {
        trim_zeros(format!("{value:.2}"))
    }
}

fn trim_zeros(number: String) -> String {
    if number.contains('.') {
        number
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        number
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &str = "setup,percentile,latency_us\n\
                        \"step 03, flushing inline\",50,0.1\n\
                        \"step 03, flushing inline\",99,632.2\n\
                        \"step 03, flushing inline\",100,1172\n\
                        step 04 shaker,50,0.2\n\
                        step 04 shaker,99,0.8\n\
                        step 04 shaker,100,1352.6\n";

    const TINY_CHART: Chart = Chart {
        name: "tiny",
        csv: "tiny.csv",
        x: "percentile",
        x_title: "percentile",
        x_scale: Scale::Nines,
        y_title: "PUT latency (µs, log scale)",
        y_scale: Scale::Log,
        y_per_unit: 1.0,
        series: &[
            Series {
                label: "step 03 & its inline flush",
                y: "latency_us",
                rows: &[("setup", "step 03, flushing inline")],
                mark: Mark::Line,
                colour: 0,
                at: None,
            },
            Series {
                label: "step 04 <shaker>",
                y: "latency_us",
                rows: &[("setup", "step 04 shaker")],
                mark: Mark::Points,
                colour: 1,
                at: None,
            },
        ],
        legend: SeriesLabelPosition::UpperLeft,
    };

    fn tiny_svg() -> String {
        let path = Path::new("tiny.csv");
        render(&TINY_CHART, path, &Table::parse(path, TINY).unwrap()).unwrap()
    }

    /// Every element opened is closed, in order: the file is well formed
    /// as far as a browser's XML parser cares.
    fn assert_well_formed(svg: &str) {
        let mut open: Vec<&str> = Vec::new();
        let mut rest = svg.trim_start();
        if rest.starts_with("<?xml") {
            rest = &rest[rest.find("?>").unwrap() + 2..];
        }
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("an unclosed tag") + start;
            let tag = &rest[start + 1..end];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop(), Some(name.trim()), "mismatched </{name}>");
            } else if !tag.ends_with('/') && !tag.starts_with('!') {
                open.push(tag.split_whitespace().next().unwrap());
            }
            assert!(
                !rest[start + 1..end].contains('<'),
                "a `<` inside a tag: {tag}"
            );
            rest = &rest[end + 1..];
        }
        assert!(open.is_empty(), "unclosed elements: {open:?}");
        assert!(svg.trim_start().starts_with("<svg"), "{}", &svg[..40]);
    }

    #[test]
    fn a_chart_is_well_formed_svg_with_its_series_axes_and_card() {
        let svg = tiny_svg();
        assert_well_formed(&svg);
        // The labels, escaped as XML text.
        assert!(svg.contains("step 03 &amp; its inline flush"), "{svg}");
        assert!(svg.contains("step 04 &lt;shaker&gt;"), "{svg}");
        assert!(svg.contains("PUT latency (µs, log scale)"));
        // Ticks where the data is, and decades.
        for tick in ["50", "99", "max", "0.1", "1,000", "10,000"] {
            let text = format!(">\n{tick}\n</text>");
            assert!(svg.contains(&text), "no tick {tick} in {svg}");
        }
        // The opaque card first, under everything else.
        let card = svg.find("<rect").unwrap();
        assert!(svg[card..].starts_with("<rect x=\"0\" y=\"0\" width=\"720\" height=\"420\""));
        assert!(svg[card..card + 120].contains("fill=\"#FFFFFF\""), "{svg}");
    }

    #[test]
    fn the_same_csv_gives_the_same_bytes() {
        assert_eq!(tiny_svg(), tiny_svg());
    }

    #[test]
    fn a_series_with_no_rows_or_a_bad_number_names_the_file() {
        let path = Path::new("tiny.csv");
        let other = Table::parse(path, "setup,percentile,latency_us\nx,50,1\n").unwrap();
        let error = render(&TINY_CHART, path, &other).unwrap_err().to_string();
        assert!(error.contains("no rows for the series"), "{error}");
        let bad = TINY.replace("632.2", "fast");
        let error = render(&TINY_CHART, path, &Table::parse(path, &bad).unwrap())
            .unwrap_err()
            .to_string();
        assert_eq!(error, "tiny.csv:3: expected a number, found \"fast\"");
    }

    #[test]
    fn ticks_are_round_and_numbers_read_like_prose() {
        assert_eq!(
            y_ticks(Scale::Linear, [850.0, 14_310.0].into_iter()),
            [0.0, 5_000.0, 10_000.0, 15_000.0]
        );
        assert_eq!(
            y_ticks(Scale::Log, [-0.5, 2.2].into_iter()),
            [-1.0, 0.0, 1.0, 2.0, 3.0]
        );
        assert_eq!(readable(1_234_567.0), "1,234,567");
        assert_eq!(readable(2.50), "2.5");
        assert_eq!(
            axis_label(Scale::Nines, to_axis(Scale::Nines, 99.9)),
            "99.9"
        );
        assert_eq!(
            axis_label(Scale::Nines, to_axis(Scale::Nines, 100.0)),
            "max"
        );
    }
}
