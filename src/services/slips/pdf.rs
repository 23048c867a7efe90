//! The slip on A4: [`compose`]'s layout placed into pages of drawing operations (wrapping text
//! and breaking long tables over pages), then drawn with krilla, which embeds subsets of the
//! fonts with their ToUnicode maps so the text can be copied and searched.

use super::qr::{Matrix, QUIET};
use super::text::{FONTS, Face, Fonts};
use super::{Block, Composed, SlipData, SlipError, compose};
use chrono::{Datelike, Timelike};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime as PdfDateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use unicode_normalization::UnicodeNormalization;

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 62.0;
const RIGHT: f32 = 42.0;
const TOP: f32 = 42.0;
const BOTTOM: f32 = 50.0;
const WIDTH: f32 = PAGE_W - LEFT - RIGHT;

const BODY: f32 = 10.5;
const BODY_LH: f32 = 15.0;
const SMALL: f32 = 9.0;
const SMALL_LH: f32 = 12.0;
const CELL_PAD: f32 = 4.0;
const QR_SIZE: f32 = 92.0;

const BLACK: Rgb = Rgb(0, 0, 0);
const GREY: Rgb = Rgb(90, 90, 90);
const HEADER_FILL: Rgb = Rgb(230, 230, 230);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rgb(u8, u8, u8);

impl Rgb {
    /// `#rrggbb` (already validated by `compose`), else black.
    fn parse(hex: &str) -> Self {
        let channel = |i: usize| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        };
        match (channel(1), channel(3), channel(5)) {
            (Some(r), Some(g), Some(b)) if hex.len() == 7 => Self(r, g, b),
            _ => BLACK,
        }
    }

    fn fill(self) -> Fill {
        Fill {
            paint: rgb::Color::new(self.0, self.1, self.2).into(),
            opacity: NormalizedF32::ONE,
            rule: krilla::paint::FillRule::default(),
        }
    }
}

/// One drawing operation, in points from the page's top left.
#[derive(Debug, Clone)]
enum Op {
    /// `y` is the baseline; `text` is NFC.
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        color: Rgb,
        text: String,
    },
    Fill {
        rect: (f32, f32, f32, f32),
        color: Rgb,
    },
    Frame {
        rect: (f32, f32, f32, f32),
        width: f32,
    },
    Qr {
        x: f32,
        y: f32,
        size: f32,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Center,
}

/// Pages being laid out and the cursor on the last one.
struct Layout<'f> {
    fonts: &'f Fonts,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// The label column of every `Fields` block, so their values line up.
    label_w: f32,
}

impl<'f> Layout<'f> {
    fn face(&self, bold: bool) -> &'f Face {
        if bold {
            &self.fonts.bold
        } else {
            &self.fonts.regular
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `height` more points fit on this one.
    fn ensure(&mut self, height: f32) {
        if self.y + height > PAGE_H - BOTTOM && self.y > TOP {
            self.new_page();
        }
    }

    /// Wrapped text in the column `x..x + width`, its first line's top at `top`; returns the
    /// height used. Does not move the cursor or break pages.
    #[allow(clippy::too_many_arguments)] // a text run's plain parameters
    fn text_at(
        &mut self,
        text: &str,
        (x, width): (f32, f32),
        top: f32,
        (size, line_height): (f32, f32),
        bold: bool,
        align: Align,
        color: Rgb,
    ) -> f32 {
        let face = self.face(bold);
        let lines = face.wrap(text, size, width);
        // The baseline sits one ascent below the line's top, centred in the line height.
        let baseline0 = top + (line_height - size) / 2.0 + face.ascent * size * 0.92;
        let mut y = baseline0;
        for line in &lines {
            let w = face.width(line, size);
            let lx = match align {
                Align::Left => x,
                Align::Center => x + (width - w) / 2.0,
            };
            if !line.is_empty() {
                self.ops().push(Op::Text {
                    x: lx,
                    y,
                    size,
                    bold,
                    color,
                    text: line.clone(),
                });
            }
            y += line_height;
        }
        line_height * lines.len() as f32
    }

    /// How many lines `text` wraps to in `width`.
    fn line_count(&self, text: &str, size: f32, width: f32, bold: bool) -> usize {
        self.face(bold).wrap(text, size, width).len()
    }

    /// A paragraph at the cursor, broken over pages line by line.
    fn paragraph(&mut self, text: &str, (x, width): (f32, f32), size: f32, lh: f32, bold: bool) {
        let lines = self.face(bold).wrap(text, size, width);
        for line in lines {
            self.ensure(lh);
            let y = self.y;
            self.text_at(&line, (x, width), y, (size, lh), bold, Align::Left, BLACK);
            self.y += lh;
        }
    }

    fn header(&mut self, c: &Composed) {
        let top = self.y;
        let left_w = 215.0;
        let right_x = LEFT + left_w + 8.0;
        let right_w = WIDTH - left_w - 8.0;
        let mut y = top;
        let n = c.agency_lines.len();
        for (i, line) in c.agency_lines.iter().enumerate() {
            let bold = i + 1 == n;
            y += self.text_at(
                line,
                (LEFT, left_w),
                y,
                (10.0, 13.0),
                bold,
                Align::Center,
                BLACK,
            );
        }
        let mid = LEFT + left_w / 2.0;
        self.ops().push(Op::Fill {
            rect: (mid - 30.0, y + 2.0, 60.0, 0.7),
            color: BLACK,
        });
        let left_bottom = y + 4.0;

        let mut y = top;
        y += self.text_at(
            &c.motto[0],
            (right_x, right_w),
            y,
            (10.0, 13.0),
            true,
            Align::Center,
            BLACK,
        );
        let motto2_w = self.fonts.bold.width(&nfc(&c.motto[1]), 10.5);
        y += self.text_at(
            &c.motto[1],
            (right_x, right_w),
            y,
            (10.5, 14.0),
            true,
            Align::Center,
            BLACK,
        );
        let mid = right_x + right_w / 2.0;
        self.ops().push(Op::Fill {
            rect: (mid - motto2_w / 2.0, y, motto2_w, 0.7),
            color: BLACK,
        });
        let right_bottom = y + 2.0;
        self.y = left_bottom.max(right_bottom) + 10.0;
        if !c.accent.is_empty() {
            let y = self.y;
            self.ops().push(Op::Fill {
                rect: (LEFT, y, WIDTH, 1.2),
                color: Rgb::parse(&c.accent),
            });
        }
        self.y += 16.0;
    }

    fn title(&mut self, c: &Composed) {
        let h = self.line_count(&c.title, 14.0, WIDTH, true) as f32 * 18.0;
        self.ensure(h + 40.0);
        let y = self.y;
        self.y += self.text_at(
            &c.title,
            (LEFT, WIDTH),
            y,
            (14.0, 18.0),
            true,
            Align::Center,
            BLACK,
        );
        if let Some(sub) = &c.subtitle {
            let y = self.y;
            self.y += self.text_at(
                sub,
                (LEFT, WIDTH),
                y,
                (11.0, 15.0),
                false,
                Align::Center,
                BLACK,
            );
        }
        self.y += 12.0;
    }

    fn fields(&mut self, rows: &[(String, String)]) {
        let label_w = self.label_w;
        let value_x = LEFT + label_w;
        let value_w = WIDTH - label_w;
        for (label, value) in rows {
            let label = format!("{label}:");
            let lines = self
                .line_count(&label, BODY, label_w - 6.0, false)
                .max(self.line_count(value, BODY, value_w, true));
            let h = lines as f32 * BODY_LH;
            if h > PAGE_H - TOP - BOTTOM {
                // A value longer than a page: a label line and the value as a paragraph.
                self.paragraph(&label, (LEFT, WIDTH), BODY, BODY_LH, false);
                self.paragraph(value, (value_x, value_w), BODY, BODY_LH, true);
                continue;
            }
            self.ensure(h);
            let y = self.y;
            self.text_at(
                &label,
                (LEFT, label_w - 6.0),
                y,
                (BODY, BODY_LH),
                false,
                Align::Left,
                BLACK,
            );
            self.text_at(
                value,
                (value_x, value_w),
                y,
                (BODY, BODY_LH),
                true,
                Align::Left,
                BLACK,
            );
            self.y += h;
        }
    }

    fn list(&mut self, heading: &str, items: &[String]) {
        self.ensure(BODY_LH * 2.0);
        self.paragraph(heading, (LEFT, WIDTH), BODY, BODY_LH, true);
        let indent = 22.0;
        for (i, item) in items.iter().enumerate() {
            let lines = self.face(false).wrap(item, BODY, WIDTH - indent);
            for (j, line) in lines.iter().enumerate() {
                self.ensure(BODY_LH);
                let y = self.y;
                if j == 0 {
                    self.text_at(
                        &format!("{}.", i + 1),
                        (LEFT + 4.0, indent - 4.0),
                        y,
                        (BODY, BODY_LH),
                        false,
                        Align::Left,
                        BLACK,
                    );
                }
                self.text_at(
                    line,
                    (LEFT + indent, WIDTH - indent),
                    y,
                    (BODY, BODY_LH),
                    false,
                    Align::Left,
                    BLACK,
                );
                self.y += BODY_LH;
            }
        }
    }

    /// Column widths: each column's natural width if all fit, else its header or longest word
    /// plus a share of the rest in proportion to how much more it would like.
    fn columns(&self, headers: &[String], rows: &[Vec<String>]) -> Vec<f32> {
        let n = headers.len().max(1);
        let pad = 2.0 * CELL_PAD + 1.0;
        let mut natural = vec![0.0_f32; n];
        let mut min = vec![0.0_f32; n];
        let cells =
            std::iter::once((headers, true)).chain(rows.iter().map(|r| (r.as_slice(), false)));
        for (row, bold) in cells {
            for (i, cell) in row.iter().enumerate().take(n) {
                let face = self.face(bold);
                let cell = nfc(cell);
                natural[i] = natural[i].max(face.width(&cell, SMALL) + pad);
                // A header stays on one line if it can; a cell breaks between words.
                let word = if bold {
                    face.width(&cell, SMALL)
                } else {
                    cell.split_whitespace()
                        .map(|w| face.width(w, SMALL))
                        .fold(0.0_f32, f32::max)
                };
                min[i] = min[i].max((word + pad).min(WIDTH / n as f32 * 2.0));
            }
        }
        let total: f32 = natural.iter().sum();
        if total <= WIDTH {
            return natural.iter().map(|w| w * WIDTH / total).collect();
        }
        let min_total: f32 = min.iter().sum();
        if min_total >= WIDTH {
            return min.iter().map(|w| w * WIDTH / min_total).collect();
        }
        let want: f32 = natural.iter().zip(&min).map(|(a, b)| a - b).sum();
        natural
            .iter()
            .zip(&min)
            .map(|(nat, m)| m + (nat - m) / want * (WIDTH - min_total))
            .collect()
    }

    fn row_height(&self, cells: &[String], widths: &[f32], bold: bool) -> f32 {
        let lines = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| self.line_count(c, SMALL, w - 2.0 * CELL_PAD, bold))
            .max()
            .unwrap_or(1);
        lines as f32 * SMALL_LH + 2.0 * CELL_PAD
    }

    fn table_row(&mut self, cells: &[String], widths: &[f32], bold: bool) {
        let h = self.row_height(cells, widths, bold);
        let y = self.y;
        let mut x = LEFT;
        for (i, w) in widths.iter().enumerate() {
            if bold {
                self.ops().push(Op::Fill {
                    rect: (x, y, *w, h),
                    color: HEADER_FILL,
                });
            }
            self.ops().push(Op::Frame {
                rect: (x, y, *w, h),
                width: 0.6,
            });
            if let Some(cell) = cells.get(i) {
                self.text_at(
                    cell,
                    (x + CELL_PAD, w - 2.0 * CELL_PAD),
                    y + CELL_PAD,
                    (SMALL, SMALL_LH),
                    bold,
                    Align::Left,
                    BLACK,
                );
            }
            x += w;
        }
        self.y += h;
    }

    /// A table; a row that does not fit goes to a new page, under the header repeated.
    fn table(&mut self, headers: &[String], rows: &[Vec<String>]) {
        let widths = self.columns(headers, rows);
        let header_h = self.row_height(headers, &widths, true);
        let first_h = rows
            .first()
            .map_or(0.0, |r| self.row_height(r, &widths, false));
        self.ensure(header_h + first_h);
        self.table_row(headers, &widths, true);
        for row in rows {
            let h = self.row_height(row, &widths, false);
            if self.y + h > PAGE_H - BOTTOM {
                self.new_page();
                self.table_row(headers, &widths, true);
            }
            self.table_row(row, &widths, false);
        }
    }

    fn footer(&mut self, c: &Composed) {
        let caption_h = SMALL_LH * 3.0;
        let right_x = LEFT + WIDTH * 0.5;
        let right_w = WIDTH * 0.5;
        let signer_h = BODY_LH * 3.0 + 48.0;
        self.ensure((QR_SIZE + caption_h).max(signer_h) + 10.0);
        self.y += 6.0;
        let top = self.y;
        // Right: place and date, what the signer signs as, room for the signature, the name.
        let mut y = top;
        y += self.text_at(
            &c.place_date,
            (right_x, right_w),
            y,
            (BODY, BODY_LH),
            false,
            Align::Center,
            BLACK,
        );
        y += self.text_at(
            &c.signer_label,
            (right_x, right_w),
            y,
            (BODY, BODY_LH),
            true,
            Align::Center,
            BLACK,
        );
        y += 48.0;
        if let Some(name) = &c.signer {
            y += self.text_at(
                name,
                (right_x, right_w),
                y,
                (BODY, BODY_LH),
                true,
                Align::Center,
                BLACK,
            );
        }
        // Left: the QR code, its caption and the address it holds.
        let qr_x = LEFT;
        self.ops().push(Op::Qr {
            x: qr_x,
            y: top,
            size: QR_SIZE,
        });
        let text_w = WIDTH * 0.45;
        let mut ly = top + QR_SIZE + 2.0;
        ly += self.text_at(
            &c.qr_caption,
            (qr_x, text_w),
            ly,
            (SMALL, SMALL_LH),
            true,
            Align::Left,
            BLACK,
        );
        ly += self.text_at(
            &c.lookup_url,
            (qr_x, text_w),
            ly,
            (7.5, 9.5),
            false,
            Align::Left,
            GREY,
        );
        self.y = y.max(ly) + 8.0;
        if !c.contact.is_empty() {
            self.ensure(SMALL_LH);
            let y = self.y;
            self.y += self.text_at(
                &c.contact,
                (LEFT, WIDTH),
                y,
                (8.0, 10.5),
                false,
                Align::Left,
                GREY,
            );
        }
    }

    fn page_numbers(&mut self) {
        let n = self.pages.len();
        if n < 2 {
            return;
        }
        for i in 0..n {
            let text = format!("{}/{n}", i + 1);
            let w = self.fonts.regular.width(&text, 8.0);
            self.pages[i].push(Op::Text {
                x: PAGE_W - RIGHT - w,
                y: PAGE_H - BOTTOM / 2.0,
                size: 8.0,
                bold: false,
                color: GREY,
                text,
            });
        }
    }
}

fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// The slip's pages as drawing operations.
fn layout(c: &Composed, fonts: &Fonts) -> Vec<Vec<Op>> {
    let longest = c
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Fields { rows } => Some(rows),
            _ => None,
        })
        .flatten()
        .map(|(label, _)| fonts.regular.width(&nfc(&format!("{label}:")), BODY))
        .fold(0.0_f32, f32::max);
    let mut l = Layout {
        fonts,
        pages: vec![Vec::new()],
        y: TOP,
        label_w: (longest + 8.0).min(WIDTH * 0.42),
    };
    l.header(c);
    l.title(c);
    for block in &c.blocks {
        match block {
            Block::Paragraph { text } => {
                l.paragraph(text, (LEFT, WIDTH), BODY, BODY_LH, false);
            }
            Block::Fields { rows } => l.fields(rows),
            Block::List { heading, items } => l.list(heading, items),
            Block::Table { headers, rows } => l.table(headers, rows),
        }
        l.y += 7.0;
    }
    l.footer(c);
    l.page_numbers();
    l.pages
}

fn rect(x: f32, y: f32, w: f32, h: f32) -> Option<krilla::geom::Path> {
    let mut pb = PathBuilder::new();
    pb.push_rect(Rect::from_xywh(x, y, w, h)?);
    pb.finish()
}

/// A4 PDF of the slip: fonts embedded as subsets with ToUnicode maps, the QR code of the
/// lookup page drawn as vector squares.
pub fn pdf(data: &SlipData) -> Result<Vec<u8>, SlipError> {
    let fonts = FONTS
        .as_ref()
        .ok_or_else(|| SlipError::Pdf("the embedded fonts could not be read".into()))?;
    let composed = compose(data);
    let matrix = Matrix::encode(&composed.lookup_url)
        .ok_or_else(|| SlipError::Qr(composed.lookup_url.clone()))?;
    let pages = layout(&composed, fonts);

    let mut doc = Document::new();
    let at = data.issued_at;
    let title = match &composed.subtitle {
        Some(sub) => format!("{} — {sub} — {}", composed.title, data.dossier_code),
        None => format!("{} — {}", composed.title, data.dossier_code),
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // calendar fields
    let created = PdfDateTime::new(u16::try_from(at.year()).unwrap_or(u16::MAX))
        .month(at.month() as u8)
        .day(at.day() as u8)
        .hour(at.hour() as u8)
        .minute(at.minute() as u8)
        .second(at.second() as u8)
        .utc_offset_hour(0);
    doc.set_metadata(
        Metadata::new()
            .title(nfc(&title))
            .language(data.locale.as_str().to_owned())
            .creator("dvc".to_owned())
            .creation_date(created),
    );
    let size = krilla::geom::Size::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| SlipError::Pdf("page size".into()))?;
    for ops in &pages {
        let mut page = doc.start_page_with(PageSettings::new(size));
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    bold,
                    color,
                    text,
                } => {
                    let face = if *bold { &fonts.bold } else { &fonts.regular };
                    surface.set_stroke(None);
                    surface.set_fill(Some(color.fill()));
                    surface.draw_glyphs(
                        Point::from_xy(*x, *y),
                        &face.shape(text),
                        face.font.clone(),
                        text,
                        *size,
                        false,
                    );
                }
                Op::Fill {
                    rect: (x, y, w, h),
                    color,
                } => {
                    if let Some(path) = rect(*x, *y, *w, *h) {
                        surface.set_stroke(None);
                        surface.set_fill(Some(color.fill()));
                        surface.draw_path(&path);
                    }
                }
                Op::Frame {
                    rect: (x, y, w, h),
                    width,
                } => {
                    if let Some(path) = rect(*x, *y, *w, *h) {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            width: *width,
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                    }
                }
                Op::Qr { x, y, size } => {
                    #[allow(clippy::cast_precision_loss)] // a QR code is at most 177 wide
                    let module = size / (matrix.width + 2 * QUIET) as f32;
                    let mut pb = PathBuilder::new();
                    for (mx, my, len) in matrix.runs() {
                        #[allow(clippy::cast_precision_loss)]
                        let r = Rect::from_xywh(
                            x + (mx + QUIET) as f32 * module,
                            y + (my + QUIET) as f32 * module,
                            len as f32 * module,
                            module,
                        );
                        if let Some(r) = r {
                            pb.push_rect(r);
                        }
                    }
                    if let Some(path) = pb.finish() {
                        surface.set_stroke(None);
                        surface.set_fill(Some(BLACK.fill()));
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| SlipError::Pdf(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use super::super::fixtures::data;
    use super::super::{RecordRow, SlipKind};
    use super::*;
    use crate::locale::Locale;
    use chrono::{TimeDelta, TimeZone, Utc};

    fn texts(pages: &[Vec<Op>]) -> Vec<(usize, String)> {
        pages
            .iter()
            .enumerate()
            .flat_map(|(i, ops)| {
                ops.iter().filter_map(move |op| match op {
                    Op::Text { text, .. } => Some((i, text.clone())),
                    _ => None,
                })
            })
            .collect()
    }

    #[test]
    fn every_kind_makes_a_one_page_pdf() {
        for kind in SlipKind::ALL {
            for lo in Locale::ALL {
                let bytes = pdf(&data(kind, lo)).unwrap();
                assert!(bytes.starts_with(b"%PDF-"), "{kind:?}");
                let pages = layout(&compose(&data(kind, lo)), FONTS.as_ref().unwrap());
                assert_eq!(pages.len(), 1, "{kind:?} {lo:?}");
            }
        }
    }

    #[test]
    fn everything_stays_inside_the_margins() {
        for kind in SlipKind::ALL {
            let pages = layout(&compose(&data(kind, Locale::En)), FONTS.as_ref().unwrap());
            for op in pages.iter().flatten() {
                if let Op::Text {
                    x,
                    y,
                    size,
                    bold,
                    text,
                    ..
                } = op
                {
                    let fonts = FONTS.as_ref().unwrap();
                    let face = if *bold { &fonts.bold } else { &fonts.regular };
                    let right = x + face.width(text, *size);
                    assert!(
                        *x >= LEFT - 0.01 && right <= PAGE_W - RIGHT + 0.01,
                        "{text}"
                    );
                    assert!(*y > TOP && *y < PAGE_H - BOTTOM / 3.0, "{text}");
                }
            }
        }
    }

    #[test]
    fn long_tables_continue_on_new_pages_with_their_header() {
        let mut d = data(SlipKind::ProcessingRecord, Locale::Vi);
        let start = Utc.with_ymd_and_hms(2026, 12, 7, 2, 0, 0).unwrap();
        d.record = (0..120)
            .map(|i| RecordRow {
                step: format!("Bước {i}"),
                actor: "Lê Thị Dung — Chuyên viên phòng Quản lý đô thị".into(),
                from: start + TimeDelta::hours(i),
                until: Some(start + TimeDelta::hours(i + 1)),
                note: (i % 3 == 0).then(|| "Ghi chú khá dài để phải xuống dòng trong ô".into()),
            })
            .collect();
        let pages = layout(&compose(&d), FONTS.as_ref().unwrap());
        assert!(pages.len() >= 3, "{} pages", pages.len());
        let t = texts(&pages);
        for p in 1..pages.len() - 1 {
            assert!(
                t.iter().any(|(i, s)| *i == p && s == "Bước xử lý"),
                "page {p} repeats the header"
            );
        }
        for i in 0..120 {
            let name = format!("Bước {i}");
            assert_eq!(t.iter().filter(|(_, s)| *s == name).count(), 1, "{name}");
        }
        let first = format!("1/{}", pages.len());
        assert!(t.iter().any(|(i, s)| *i == 0 && *s == first));
        let bytes = pdf(&d).unwrap();
        assert!(bytes.len() > 1000);
    }

    #[test]
    fn a_huge_url_is_an_error_not_a_panic() {
        let mut d = data(SlipKind::Receipt, Locale::Vi);
        d.lookup_url = "x".repeat(5000);
        assert!(matches!(pdf(&d), Err(SlipError::Qr(_))));
    }

    #[test]
    fn colours_parse() {
        assert_eq!(Rgb::parse("#9b1c1c"), Rgb(0x9b, 0x1c, 0x1c));
        assert_eq!(Rgb::parse(""), BLACK);
        assert_eq!(Rgb::parse("#12"), BLACK);
    }
}
