//! Server-rendered, accessible SVG charts for the leader dashboard.
//!
//! No JavaScript, and the page CSP forbids inline styles, so every colour comes from
//! the stylesheet through class names (`chart`, `chart-bar`, `chart-bar-alt`,
//! `chart-axis`, `chart-grid`, `chart-label`, `chart-value`); the markup carries only
//! geometry plus `text-anchor` (layout, not colour; CSP does not cover attributes).
//! Layout assumes the stylesheet sets chart text to about 12px: inside an SVG that is
//! 12 user units, so text scales with the `viewBox` like everything else.
//!
//! Numbers go through the caller's formatter (`fmt`) so they follow the locale
//! ("1.234" in Vietnamese); coordinates are rounded to 1 decimal.
//!
//! `role="img"` hides the inner text from screen readers, so callers should put the key
//! figures in `desc`. Values that are negative, NaN or infinite are drawn as 0: these
//! charts show counts and shares, and a stray NaN must never reach the markup.
//! Output is deterministic (same input, same string) so it can be cached and snapshot-tested.

use std::fmt::Write;

/// One labelled value (a month, a field of procedures, ...).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Series<'a> {
    pub label: &'a str,
    pub value: f64,
}

/// Smallest of 1, 2, 2.5, 5, 10 × 10^k that is ≥ `v`, for round axis ends.
/// Zero, negative and non-finite input give 1.0 so an axis can always be drawn.
pub fn nice_max(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let (mantissa, base) = split(v);
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|&s| mantissa <= s * (1.0 + 1e-9))
        .unwrap_or(10.0);
    let nice = step * base;
    // Near f64::MAX the rounded-up value overflows; an unround axis beats an infinite one.
    if nice.is_finite() && nice >= v {
        nice
    } else {
        v
    }
}

/// `v = mantissa × base`, mantissa in [1, 10), base a power of ten. The fix-ups absorb
/// `log10` landing a hair off an exact power.
fn split(v: f64) -> (f64, f64) {
    let mut k = v.log10().floor() as i32;
    if v / 10f64.powi(k) >= 10.0 {
        k += 1;
    }
    if v / 10f64.powi(k) < 1.0 {
        k -= 1;
    }
    let base = 10f64.powi(k);
    (v / base, base)
}

/// Gridline intervals for a nice max: 4 for 2×10^k (steps of 5), else 5, so ticks stay round.
fn divisions(max: f64) -> usize {
    if (split(max).0 - 2.0).abs() < 1e-9 {
        4
    } else {
        5
    }
}

/// Axis end for the data: integer data (counts) gets at least 5 so ticks are whole numbers
/// rather than "0,2 0,4 ..." dossiers.
fn axis_max(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(0.0, f64::max);
    if values.iter().all(|v| v.fract() == 0.0) {
        nice_max(max.max(5.0))
    } else {
        nice_max(max)
    }
}

fn clean(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 { v } else { 0.0 }
}

/// Vertical bars, e.g. dossiers per month (up to ~24 points), with a nice y axis,
/// gridlines, tick labels, x labels under the bars and each value above its bar.
/// The view box widens with the number and length of labels, so keep labels short ("T1/25").
/// Zero values draw no bar but keep their label; all-zero or empty data shows `empty`.
pub fn columns(
    id: &str,
    title: &str,
    desc: &str,
    points: &[Series],
    fmt: &dyn Fn(f64) -> String,
    empty: &str,
) -> String {
    const H: f64 = 300.0;
    const TOP: f64 = 20.0;
    const BOTTOM: f64 = 30.0;
    const RIGHT: f64 = 16.0;
    let plot_h = H - TOP - BOTTOM;
    let base_y = TOP + plot_h;

    let values: Vec<f64> = points.iter().map(|p| clean(p.value)).collect();
    let has_data = values.iter().any(|&v| v > 0.0);
    let max = axis_max(&values);
    let div = divisions(max);
    let ticks: Vec<(f64, String)> = (0..=div)
        .map(|i| (i as f64 / div as f64, fmt(max * i as f64 / div as f64)))
        .collect();
    let tick_w = ticks.iter().map(|t| t.1.chars().count()).max().unwrap_or(1);
    let left = if has_data {
        (12.0 + 7.0 * tick_w as f64).max(40.0)
    } else {
        16.0
    };
    // Widen rather than truncate: every x label gets room for itself (~7 units a character).
    let label_w = points
        .iter()
        .map(|p| p.label.chars().count())
        .max()
        .unwrap_or(0);
    let min_slot = (8.0 + 7.0 * label_w as f64).max(40.0);
    let w = (left + RIGHT + min_slot * points.len() as f64).max(640.0);
    let plot_w = w - left - RIGHT;

    let mut svg = Svg::open(id, title, desc, w, H);
    if has_data {
        for (frac, label) in &ticks {
            let y = base_y - plot_h * frac;
            if *frac > 0.0 {
                svg.line("chart-grid", left, y, w - RIGHT, y);
            }
            svg.text("chart-label", left - 6.0, y + 4.0, Some("end"), label);
        }
    }
    svg.line("chart-axis", left, TOP, left, base_y);
    svg.line("chart-axis", left, base_y, w - RIGHT, base_y);

    let slot = if points.is_empty() {
        plot_w
    } else {
        plot_w / points.len() as f64
    };
    for (i, (p, &v)) in points.iter().zip(&values).enumerate() {
        let cx = left + slot * (i as f64 + 0.5);
        svg.open_item(&format!("{}: {}", p.label, fmt(v)));
        if has_data {
            // Divide first so huge values cannot overflow; tiny non-zero ones stay visible.
            let h = if v > 0.0 {
                (plot_h * (v / max)).max(1.0)
            } else {
                0.0
            };
            if h > 0.0 {
                svg.rect("chart-bar", cx - slot * 0.3, base_y - h, slot * 0.6, h);
            }
            svg.text("chart-value", cx, base_y - h - 4.0, Some("middle"), &fmt(v));
        }
        svg.text("chart-label", cx, base_y + 18.0, Some("middle"), p.label);
        svg.close_item();
    }
    if !has_data {
        svg.text(
            "chart-label",
            left + plot_w / 2.0,
            TOP + plot_h / 2.0,
            Some("middle"),
            empty,
        );
    }
    svg.finish()
}

/// Horizontal bars, e.g. dossiers per field of procedures (up to ~15 rows). Category
/// labels sit on the left, cut at 28 characters with "…"; the full label and value stay
/// in the row's `<title>` as a tooltip. Zero values keep their label; no data shows `empty`.
pub fn bars(
    id: &str,
    title: &str,
    desc: &str,
    points: &[Series],
    fmt: &dyn Fn(f64) -> String,
    empty: &str,
) -> String {
    const W: f64 = 640.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 28.0;
    const ROW: f64 = 28.0;
    const BAR: f64 = 18.0;
    const MAX_LABEL: usize = 28;

    let values: Vec<f64> = points.iter().map(|p| clean(p.value)).collect();
    let has_data = values.iter().any(|&v| v > 0.0);
    let max = axis_max(&values);
    let div = divisions(max);
    let labels: Vec<String> = points
        .iter()
        .map(|p| truncate(p.label, MAX_LABEL))
        .collect();
    let shown: Vec<String> = values.iter().map(|&v| fmt(v)).collect();

    let label_w = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let left = (16.0 + 7.0 * label_w as f64).max(24.0);
    let value_w = shown.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let right = (16.0 + 7.0 * value_w as f64).max(48.0);
    let plot_w = W - left - right;
    let plot_h = ROW * points.len().max(2) as f64;
    let h = TOP + plot_h + BOTTOM;
    let base_y = TOP + plot_h;

    let mut svg = Svg::open(id, title, desc, W, h);
    if has_data {
        for i in 0..=div {
            let frac = i as f64 / div as f64;
            let x = left + plot_w * frac;
            if i > 0 {
                svg.line("chart-grid", x, TOP, x, base_y);
            }
            svg.text(
                "chart-label",
                x,
                base_y + 18.0,
                Some("middle"),
                &fmt(max * frac),
            );
        }
    }
    svg.line("chart-axis", left, TOP, left, base_y);

    for (i, p) in points.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let mid = y + ROW / 2.0;
        svg.open_item(&format!("{}: {}", p.label, shown[i]));
        svg.text(
            "chart-label",
            left - 8.0,
            mid + 4.0,
            Some("end"),
            &labels[i],
        );
        if has_data {
            let v = values[i];
            let bw = if v > 0.0 {
                (plot_w * (v / max)).max(1.0)
            } else {
                0.0
            };
            if bw > 0.0 {
                svg.rect("chart-bar", left, mid - BAR / 2.0, bw, BAR);
            }
            svg.text("chart-value", left + bw + 6.0, mid + 4.0, None, &shown[i]);
        }
        svg.close_item();
    }
    if !has_data {
        svg.text(
            "chart-label",
            left + plot_w / 2.0,
            TOP + plot_h / 2.0 + 4.0,
            Some("middle"),
            empty,
        );
    }
    svg.finish()
}

/// A single 100% bar showing `part` of `whole` (e.g. dossiers settled on time), with
/// "87,5% (175/200)" above it. The percentage goes through `fmt` after rounding to one
/// decimal; the bar is capped at 100% but the text shows the true figure. A `whole` that
/// is zero, negative or not finite shows `empty` instead of dividing by it.
pub fn share(
    id: &str,
    title: &str,
    desc: &str,
    part: f64,
    whole: f64,
    fmt: &dyn Fn(f64) -> String,
    empty: &str,
) -> String {
    const W: f64 = 640.0;
    const H: f64 = 60.0;
    const BAR_Y: f64 = 28.0;
    const BAR_H: f64 = 24.0;
    let (part, whole) = (clean(part), clean(whole));

    let mut svg = Svg::open(id, title, desc, W, H);
    svg.rect("chart-bar-alt", 0.0, BAR_Y, W, BAR_H);
    if whole > 0.0 {
        let pct = (part / whole * 1000.0).round() / 10.0;
        let filled = W * (part / whole).min(1.0);
        if filled > 0.0 {
            svg.rect("chart-bar", 0.0, BAR_Y, filled, BAR_H);
        }
        let text = format!("{}% ({}/{})", fmt(pct), fmt(part), fmt(whole));
        svg.text("chart-value", 0.0, 18.0, None, &text);
    } else {
        svg.text("chart-label", 0.0, 18.0, None, empty);
    }
    svg.finish()
}

/// Cuts to `max` characters including the trailing "…".
fn truncate(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        return label.to_owned();
    }
    let head: String = label.chars().take(max - 1).collect();
    format!("{}…", head.trim_end())
}

/// Element ids must be unique, predictable and safe in an attribute: keep [a-z0-9-],
/// lowercase ASCII letters, turn anything else into single dashes.
fn sanitize_id(id: &str) -> String {
    let mut out = String::new();
    for c in id.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "chart".to_owned()
    } else {
        out.to_owned()
    }
}

/// XML-escapes text and attribute values; drops control characters XML 1.0 forbids.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Coordinates rounded to 1 decimal, without "-0" or trailing ".0".
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 {
        "0".to_owned()
    } else if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// Minimal SVG writer; every write to a `String` is infallible, hence `let _`.
struct Svg {
    out: String,
}

impl Svg {
    fn open(id: &str, title: &str, desc: &str, w: f64, h: f64) -> Self {
        let id = sanitize_id(id);
        let mut out = String::new();
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {} {}\" \
             preserveAspectRatio=\"xMidYMid meet\" role=\"img\" \
             aria-labelledby=\"{id}-title {id}-desc\">\
             <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
            num(w),
            num(h),
            escape(title),
            escape(desc),
        );
        Svg { out }
    }

    fn line(&mut self, class: &str, x1: f64, y1: f64, x2: f64, y2: f64) {
        let _ = write!(
            self.out,
            "<line class=\"{class}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            num(x1),
            num(y1),
            num(x2),
            num(y2)
        );
    }

    fn rect(&mut self, class: &str, x: f64, y: f64, w: f64, h: f64) {
        let _ = write!(
            self.out,
            "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
            num(x),
            num(y),
            num(w),
            num(h)
        );
    }

    fn text(&mut self, class: &str, x: f64, y: f64, anchor: Option<&str>, s: &str) {
        let _ = write!(
            self.out,
            "<text class=\"{class}\" x=\"{}\" y=\"{}\"",
            num(x),
            num(y)
        );
        if let Some(a) = anchor {
            let _ = write!(self.out, " text-anchor=\"{a}\"");
        }
        let _ = write!(self.out, ">{}</text>", escape(s));
    }

    /// A group per data item so its `<title>` works as a tooltip for the whole row/column.
    fn open_item(&mut self, tooltip: &str) {
        let _ = write!(self.out, "<g><title>{}</title>", escape(tooltip));
    }

    fn close_item(&mut self) {
        self.out.push_str("</g>");
    }

    fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vietnamese-style formatting: "." groups thousands, "," marks decimals.
    fn vi(v: f64) -> String {
        let neg = v < 0.0;
        let r = (v.abs() * 10.0).round() / 10.0;
        let int = r.trunc() as u64;
        let digits = int.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push('.');
            }
            grouped.push(c);
        }
        let frac = ((r - r.trunc()) * 10.0).round() as u64;
        let sign = if neg { "-" } else { "" };
        if frac == 0 {
            format!("{sign}{grouped}")
        } else {
            format!("{sign}{grouped},{frac}")
        }
    }

    fn s(label: &str, value: f64) -> Series<'_> {
        Series { label, value }
    }

    const EMPTY: &str = "Chưa có số liệu / No data yet";

    /// Tag-balance checker: every element closes in order, attributes are quoted,
    /// and `&` only starts an entity. Enough to catch broken markup or escaping.
    fn assert_well_formed(xml: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = xml;
        assert!(xml.starts_with("<svg "), "{xml}");
        while let Some(lt) = rest.find('<') {
            check_text(&rest[..lt]);
            let gt = rest[lt..].find('>').expect("unclosed tag") + lt;
            let tag = &rest[lt + 1..gt];
            assert!(!tag.contains('<'), "'<' inside tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else {
                let self_closing = tag.ends_with('/');
                let body = tag.trim_end_matches('/');
                let name = body.split_whitespace().next().expect("empty tag");
                assert_eq!(body.matches('"').count() % 2, 0, "unbalanced quotes: {tag}");
                for attr in body[name.len()..].split('"').step_by(2) {
                    let a = attr.trim();
                    assert!(
                        a.is_empty() || a.ends_with('='),
                        "unquoted attribute: {tag}"
                    );
                }
                body.split('"').skip(1).step_by(2).for_each(check_text);
                if !self_closing {
                    stack.push(name.to_owned());
                }
            }
            rest = &rest[gt + 1..];
            if stack.is_empty() {
                assert!(rest.is_empty(), "content after root: {rest}");
            }
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }

    fn check_text(t: &str) {
        assert!(!t.contains('>') && !t.contains('<'), "raw bracket in {t:?}");
        for (i, _) in t.match_indices('&') {
            let ent = &t[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                    .iter()
                    .any(|e| ent.starts_with(e)),
                "bare & in {t:?}"
            );
        }
    }

    fn assert_clean(svg: &str) {
        assert_well_formed(svg);
        for bad in [
            "NaN",
            "inf",
            "style=",
            "<style",
            "<script",
            "width=\"-",
            "height=\"-",
        ] {
            assert!(!svg.contains(bad), "found {bad:?} in {svg}");
        }
        assert!(svg.contains("viewBox=\"0 0 "));
        assert!(svg.contains("preserveAspectRatio=\"xMidYMid meet\""));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        // Scales with its container: no fixed size on the root.
        let root = &svg[..svg.find('>').unwrap()];
        assert!(
            !root.contains(" width=") && !root.contains(" height="),
            "{root}"
        );
    }

    fn count(hay: &str, needle: &str) -> usize {
        hay.matches(needle).count()
    }

    /// Heights of every `chart-bar` rect, in order.
    fn rect_heights(svg: &str) -> Vec<f64> {
        svg.split("<rect class=\"chart-bar\"")
            .skip(1)
            .map(|r| {
                let h = r.split("height=\"").nth(1).unwrap();
                h[..h.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    fn all_charts(id: &str, title: &str, points: &[Series]) -> Vec<String> {
        let total: f64 = points.iter().map(|p| p.value).sum();
        let first = points.first().map_or(0.0, |p| p.value);
        vec![
            columns(id, title, "mô tả", points, &vi, EMPTY),
            bars(id, title, "mô tả", points, &vi, EMPTY),
            share(id, title, "mô tả", first, total, &vi, EMPTY),
        ]
    }

    #[test]
    fn nice_max_steps() {
        let cases = [
            (0.0, 1.0),
            (-5.0, 1.0),
            (f64::NAN, 1.0),
            (f64::INFINITY, 1.0),
            (1.0, 1.0),
            (1.01, 2.0),
            (2.0, 2.0),
            (2.1, 2.5),
            (2.5, 2.5),
            (3.0, 5.0),
            (5.0, 5.0),
            (7.0, 10.0),
            (10.0, 10.0),
            (11.0, 20.0),
            (99.0, 100.0),
            (100.0, 100.0),
            (120.0, 200.0),
            (240.0, 250.0),
            (1000.0, 1000.0),
            (1001.0, 2000.0),
            (12_345.0, 20_000.0),
            (0.3, 0.5),
            (0.07, 0.1),
            (0.001, 0.001),
        ];
        for (v, want) in cases {
            let got = nice_max(v);
            assert!(
                (got - want).abs() < want * 1e-12,
                "nice_max({v}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn nice_max_never_overflows() {
        assert_eq!(nice_max(f64::MAX), f64::MAX);
        assert!(nice_max(f64::MIN_POSITIVE) >= f64::MIN_POSITIVE);
        for svg in all_charts("a", "t", &[s("a", f64::MAX), s("b", 1.0)]) {
            assert_clean(&svg);
            assert!(count(&svg, "<rect class=\"chart-bar\"") >= 1);
        }
    }

    #[test]
    fn tiny_values_stay_visible() {
        let svg = columns("a", "t", "d", &[s("a", 1000.0), s("b", 0.001)], &vi, EMPTY);
        assert_eq!(rect_heights(&svg), [250.0, 1.0]);
    }

    #[test]
    fn nice_max_is_an_upper_bound() {
        let mut v = 0.0123;
        while v < 1e7 {
            let n = nice_max(v);
            assert!(n >= v && n <= v * 2.0 + 1e-9, "{v} -> {n}");
            v *= 1.37;
        }
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(divisions(20.0), 4);
        assert_eq!(divisions(2.0), 4);
        assert_eq!(divisions(25.0), 5);
        assert_eq!(divisions(100.0), 5);
        assert_eq!(divisions(500.0), 5);
        // Integer data never gets fractional ticks.
        assert_eq!(axis_max(&[1.0, 2.0]), 5.0);
        assert_eq!(axis_max(&[0.4, 0.2]), 0.5);
        let svg = columns("c", "t", "d", &[s("T1", 2.0)], &vi, EMPTY);
        assert!(
            !svg.contains(",5</text>") && svg.contains(">5</text>"),
            "{svg}"
        );
    }

    #[test]
    fn escapes_all_text() {
        let nasty = "A<b>&\"c'";
        let points = [s(nasty, 3.0), s("x", 1.0)];
        for svg in all_charts("id", nasty, &points) {
            assert_clean(&svg);
            assert!(svg.contains("A&lt;b&gt;&amp;&quot;c&#39;"), "{svg}");
            assert!(!svg.contains(nasty));
        }
        // Escaping also covers desc, the empty text and formatter output.
        let f = |_: f64| "<1&2>".to_owned();
        let svg = columns("x", "t", "<d>", &[s("a", 1.0)], &f, EMPTY);
        assert_clean(&svg);
        assert!(svg.contains("<desc id=\"x-desc\">&lt;d&gt;</desc>"));
        assert!(svg.contains("&lt;1&amp;2&gt;"));
        let svg = bars("x", "t", "d", &[], &vi, "a & b");
        assert_clean(&svg);
        assert!(svg.contains(">a &amp; b</text>"));
    }

    #[test]
    fn control_characters_are_dropped() {
        let svg = columns("x", "a\u{1}b", "d", &[s("c\u{0}d", 1.0)], &vi, EMPTY);
        assert_clean(&svg);
        assert!(svg.contains(">ab</title>") && svg.contains(">cd</text>"));
    }

    #[test]
    fn one_bar_per_non_zero_point() {
        let points = [
            s("T1", 5.0),
            s("T2", 0.0),
            s("T3", 12.0),
            s("T4", -3.0),
            s("T5", f64::NAN),
            s("T6", 1.0),
        ];
        for svg in [
            columns("a", "t", "d", &points, &vi, EMPTY),
            bars("a", "t", "d", &points, &vi, EMPTY),
        ] {
            assert_clean(&svg);
            assert_eq!(count(&svg, "<rect class=\"chart-bar\""), 3, "{svg}");
            // Zero bars keep their label and their group.
            for l in ["T1", "T2", "T3", "T4", "T5", "T6"] {
                assert!(svg.contains(&format!(">{l}</text>")), "{l} missing");
            }
            assert_eq!(count(&svg, "<g>"), 6);
            assert!(!svg.contains(EMPTY));
        }
    }

    #[test]
    fn tallest_bar_fills_plot_when_max_is_nice() {
        let points = [s("T1", 100.0), s("T2", 50.0), s("T3", 25.0)];
        let svg = columns("a", "t", "d", &points, &vi, EMPTY);
        assert_eq!(rect_heights(&svg), [250.0, 125.0, 62.5]);
        // The tallest bar starts exactly at the plot top, where the top gridline is.
        assert!(svg.contains("\" y=\"20\" width="), "{svg}");
        assert!(svg.contains("<line class=\"chart-grid\" x1=\"40\" y1=\"20\""));
        let svg = bars("a", "t", "d", &points, &vi, EMPTY);
        let widths: Vec<f64> = svg
            .split("<rect class=\"chart-bar\"")
            .skip(1)
            .map(|r| {
                let w = r.split("width=\"").nth(1).unwrap();
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(widths.len(), 3);
        assert!(
            (widths[0] - 2.0 * widths[1]).abs() < 0.11 && widths[0] > 300.0,
            "{widths:?}"
        );
    }

    #[test]
    fn values_and_ticks_use_caller_format() {
        let svg = columns(
            "a",
            "t",
            "d",
            &[s("T1", 1234.0), s("T2", 2000.0)],
            &vi,
            EMPTY,
        );
        assert!(svg.contains(">1.234</text>"));
        assert!(svg.contains(">2.000</text>"));
        // Axis 0..2.000 in 4 steps of 500: five tick labels, four gridlines.
        for t in ["0", "500", "1.000", "1.500"] {
            assert!(
                svg.contains(&format!(" text-anchor=\"end\">{t}</text>")),
                "tick {t}"
            );
        }
        assert_eq!(count(&svg, "class=\"chart-grid\""), 4);
    }

    #[test]
    fn empty_and_zero_data_show_message_without_nan() {
        let zero = [s("T1", 0.0), s("T2", 0.0)];
        let weird = [
            s("T1", f64::NAN),
            s("T2", f64::NEG_INFINITY),
            s("T3", f64::INFINITY),
        ];
        for points in [&[][..], &zero[..], &weird[..]] {
            for svg in [
                columns("a", "t", "d", points, &vi, EMPTY),
                bars("a", "t", "d", points, &vi, EMPTY),
            ] {
                assert_clean(&svg);
                assert_eq!(count(&svg, EMPTY), 1, "{svg}");
                assert!(svg.contains("class=\"chart-axis\""));
                assert_eq!(count(&svg, "<rect"), 0);
                assert_eq!(count(&svg, "chart-grid"), 0);
            }
        }
        for (part, whole) in [
            (0.0, 0.0),
            (5.0, 0.0),
            (f64::NAN, f64::NAN),
            (1.0, -4.0),
            (1.0, f64::INFINITY),
        ] {
            let svg = share("a", "t", "d", part, whole, &vi, EMPTY);
            assert_clean(&svg);
            assert_eq!(count(&svg, EMPTY), 1, "{svg}");
            assert_eq!(count(&svg, "<rect class=\"chart-bar\""), 0);
        }
    }

    #[test]
    fn share_shows_percentage_and_caps_bar() {
        let svg = share("ontime", "Đúng hạn", "d", 175.0, 200.0, &vi, EMPTY);
        assert_clean(&svg);
        assert!(svg.contains(">87,5% (175/200)</text>"), "{svg}");
        assert!(svg.contains("<rect class=\"chart-bar\" x=\"0\" y=\"28\" width=\"560\""));
        assert!(svg.contains("<rect class=\"chart-bar-alt\" x=\"0\" y=\"28\" width=\"640\""));
        let over = share("o", "t", "d", 300.0, 200.0, &vi, EMPTY);
        assert!(over.contains(">150%"));
        assert!(over.contains("class=\"chart-bar\" x=\"0\" y=\"28\" width=\"640\""));
        let none = share("n", "t", "d", 0.0, 200.0, &vi, EMPTY);
        assert!(none.contains(">0% (0/200)</text>"));
        assert_eq!(count(&none, "<rect class=\"chart-bar\""), 0);
        let third = share("n", "t", "d", 1.0, 3.0, &vi, EMPTY);
        assert!(third.contains(">33,3% (1/3)</text>"));
    }

    #[test]
    fn long_labels_truncate_with_full_title() {
        let long = "Lĩnh vực đăng ký kinh doanh và đầu tư nước ngoài";
        let svg = bars(
            "a",
            "t",
            "d",
            &[s(long, 4.0), s("Hộ tịch", 2.0)],
            &vi,
            EMPTY,
        );
        assert_clean(&svg);
        let cut = truncate(long, 28);
        assert_eq!(cut.chars().count(), 28);
        assert!(cut.ends_with('…') && long.starts_with(cut.trim_end_matches('…')));
        assert!(svg.contains(&format!("<g><title>{long}: 4</title>")));
        assert!(svg.contains(&format!(">{cut}</text>")));
        assert!(svg.contains(">Hộ tịch</text>"));
        assert_eq!(truncate("ngắn", 28), "ngắn");
        // Counted in characters, not bytes: Vietnamese letters take 2–3 bytes each.
        assert_eq!(
            truncate("Đất đai, xây dựng, nhà ở", 24),
            "Đất đai, xây dựng, nhà ở"
        );
        assert_eq!(truncate(&"x".repeat(28), 28), "x".repeat(28));
        assert_eq!(truncate("abc def", 5), "abc…");
    }

    #[test]
    fn ids_are_sanitized_and_wired() {
        assert_eq!(sanitize_id("Hồ sơ/Tháng 2025"), "h-s-th-ng-2025");
        assert_eq!(sanitize_id("--A__b--"), "a-b");
        assert_eq!(sanitize_id("\"><script>"), "script");
        assert_eq!(sanitize_id(""), "chart");
        assert_eq!(sanitize_id("ồ"), "chart");
        for svg in all_charts("Hồ sơ \"x\"", "t", &[s("a", 1.0)]) {
            assert_clean(&svg);
            assert!(
                svg.contains("aria-labelledby=\"h-s-x-title h-s-x-desc\""),
                "{svg}"
            );
            assert!(svg.contains("<title id=\"h-s-x-title\">t</title>"));
            assert!(svg.contains("<desc id=\"h-s-x-desc\">mô tả</desc>"));
        }
    }

    #[test]
    fn only_stylesheet_classes_are_used() {
        let allowed = [
            "chart",
            "chart-bar",
            "chart-bar-alt",
            "chart-axis",
            "chart-grid",
            "chart-label",
            "chart-value",
        ];
        let points: Vec<Series> = (0..24).map(|i| s("T", f64::from(i * 7))).collect();
        for svg in all_charts("a", "t", &points) {
            assert_clean(&svg);
            for c in svg.split("class=\"").skip(1) {
                let name = &c[..c.find('"').unwrap()];
                assert!(allowed.contains(&name), "unknown class {name}");
            }
            for attr in [" fill=", " stroke=", " font-size=", " color="] {
                assert!(!svg.contains(attr), "{attr}");
            }
        }
    }

    #[test]
    fn many_points_widen_the_view_box() {
        let few: Vec<Series> = (0..6).map(|i| s("T", f64::from(i))).collect();
        let many: Vec<Series> = (0..24).map(|i| s("T", f64::from(i))).collect();
        let svg_few = columns("a", "t", "d", &few, &vi, EMPTY);
        let svg_many = columns("a", "t", "d", &many, &vi, EMPTY);
        assert!(svg_few.contains("viewBox=\"0 0 640 300\""));
        let vb = svg_many.split("viewBox=\"0 0 ").nth(1).unwrap();
        let w: f64 = vb.split(' ').next().unwrap().parse().unwrap();
        assert!(w >= 24.0 * 40.0, "{w}");
        // Long x labels widen the slots instead of overlapping.
        let long: Vec<Series> = (0..12).map(|_| s("T12/2025", 1.0)).collect();
        let svg_long = columns("a", "t", "d", &long, &vi, EMPTY);
        let xs: Vec<f64> = svg_long
            .split("class=\"chart-label\" x=\"")
            .skip(1)
            .filter(|t| t.contains(">T12/2025<"))
            .map(|t| t[..t.find('"').unwrap()].parse().unwrap())
            .collect();
        assert_eq!(xs.len(), 12);
        assert!(xs.windows(2).all(|p| p[1] - p[0] >= 8.0 * 7.0), "{xs:?}");
    }

    #[test]
    fn output_is_deterministic() {
        let points = [s("T1", 1.5), s("T2", 7.25), s("T3", 3.0)];
        assert_eq!(all_charts("a", "t", &points), all_charts("a", "t", &points));
    }

    #[test]
    fn coordinates_have_one_decimal() {
        assert_eq!(num(1.0 / 3.0), "0.3");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(-0.01), "0");
        assert_eq!(num(62.45), "62.5");
        let svg = columns(
            "a",
            "t",
            "d",
            &[s("a", 1.0), s("b", 2.0), s("c", 3.0)],
            &vi,
            EMPTY,
        );
        for attr in svg.split(['x', 'y']).filter_map(|p| p.strip_prefix("=\"")) {
            let v = &attr[..attr.find('"').unwrap()];
            let decimals = v.split('.').nth(1).map_or(0, str::len);
            assert!(decimals <= 1, "{v}");
        }
    }

    #[test]
    fn checker_rejects_broken_markup() {
        for bad in [
            "<svg a=\"1\"><g></svg>",
            "<svg a=\"1\">a & b</svg>",
            "<svg a=\"1\"><text x=1>t</text></svg>",
        ] {
            assert!(
                std::panic::catch_unwind(|| assert_well_formed(bad)).is_err(),
                "{bad}"
            );
        }
        assert_well_formed(
            "<svg a=\"1\"><g><text x=\"1\">a &amp; b</text></g><line x1=\"0\"/></svg>",
        );
    }
}
