//! The QR code of a dossier's lookup page: the module matrix (from `qrcode`), drawn as an SVG
//! here and as vector squares in the PDF.

use qrcode::{Color, EcLevel, QrCode};
use std::fmt::Write as _;

/// Light modules around the code, as the standard asks.
pub(super) const QUIET: usize = 4;
/// The SVG's rendered size in CSS pixels.
const SVG_PX: usize = 120;

/// A square matrix of modules, `true` = dark.
pub(super) struct Matrix {
    pub width: usize,
    dark: Vec<bool>,
}

impl Matrix {
    /// The code of `text` at error-correction level M; `None` when it is too long for any
    /// QR version.
    pub fn encode(text: &str) -> Option<Self> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Some(Self { width, dark })
    }

    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.width + x]
    }

    /// Horizontal runs of dark modules: `(x, y, length)`.
    pub fn runs(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        (0..self.width).flat_map(move |y| {
            let mut out = Vec::new();
            let mut x = 0;
            while x < self.width {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.width && self.is_dark(x, y) {
                        x += 1;
                    }
                    out.push((start, y, x - start));
                } else {
                    x += 1;
                }
            }
            out
        })
    }
}

/// The QR code of `url` as an inline SVG element (no XML declaration; 120 px square; black
/// modules on white, with the quiet zone), safe to embed in HTML: it holds no text of `url`.
/// A `url` too long for a QR code yields the white square alone.
pub fn qr_svg(url: &str) -> String {
    let matrix = Matrix::encode(url);
    let side = matrix.as_ref().map_or(21, |m| m.width) + 2 * QUIET;
    let mut svg = String::with_capacity(8 * 1024);
    // Writing to a String cannot fail.
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" width=\"{SVG_PX}\" \
         height=\"{SVG_PX}\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\" \
         role=\"img\" aria-label=\"QR\">\
         <rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path fill=\"#000\" d=\""
    );
    if let Some(m) = &matrix {
        for (x, y, len) in m.runs() {
            let _ = write!(svg, "M{} {}h{len}v1h-{len}z", x + QUIET, y + QUIET);
        }
    }
    svg.push_str("\"/></svg>");
    svg
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use super::*;

    const URL: &str = "https://vixuyen.dvc.example.vn/tra-cuu?ma=000.00.24.H29-261207-0001";

    #[test]
    fn svg_is_one_well_formed_element_of_fixed_size() {
        let svg = qr_svg(URL);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<?xml"));
        assert!(svg.contains("width=\"120\" height=\"120\""));
        // No text of the URL, nor anything that would need escaping in HTML.
        assert!(!svg.contains("tra-cuu") && !svg.contains('&') && !svg.contains("style"));
        assert_eq!(svg.matches('<').count(), 4, "svg, rect, path, /svg: {svg}");
        assert_eq!(svg.matches('>').count(), 4);
        // The view box is the matrix plus the quiet zone on both sides.
        let m = Matrix::encode(URL).unwrap();
        let side = m.width + 2 * QUIET;
        assert!(svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")));
        assert_eq!((m.width - 17) % 4, 0, "a QR width is 17 + 4 × version");
    }

    #[test]
    fn path_draws_exactly_the_dark_modules() {
        let m = Matrix::encode(URL).unwrap();
        let svg = qr_svg(URL);
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut painted = vec![false; m.width * m.width];
        for seg in d.split('M').filter(|s| !s.is_empty()) {
            let (xy, rest) = seg.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let len: usize = rest.split('v').next().unwrap().parse().unwrap();
            let (x, y) = (
                x.parse::<usize>().unwrap() - QUIET,
                y.parse::<usize>().unwrap() - QUIET,
            );
            for i in x..x + len {
                assert!(!painted[y * m.width + i]);
                painted[y * m.width + i] = true;
            }
        }
        for y in 0..m.width {
            for x in 0..m.width {
                assert_eq!(painted[y * m.width + x], m.is_dark(x, y), "({x}, {y})");
            }
        }
        // The three finder patterns: dark 7×7 corners.
        for (x, y) in [(0, 0), (m.width - 7, 0), (0, m.width - 7)] {
            assert!(m.is_dark(x, y) && m.is_dark(x + 6, y + 6) && !m.is_dark(x + 1, y + 1));
        }
    }

    #[test]
    fn too_long_is_a_blank_square() {
        let long = "x".repeat(5000);
        assert!(Matrix::encode(&long).is_none());
        let svg = qr_svg(&long);
        assert!(svg.contains(" d=\"\""));
    }
}
