//! The embedded fonts (DejaVu Sans and Sans Bold, `templates/fonts/`), parsed once: one glyph
//! per character from the font's cmap, advances from its hmtx, and a greedy word wrap.
//!
//! Text is NFC-normalised first: DejaVu has the precomposed Vietnamese letters (ễ, ộ, ữ…), so
//! every character maps to one glyph and the PDF's ToUnicode map gives the text back exactly.

use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};
use std::collections::HashMap;
use std::sync::LazyLock;
use unicode_normalization::UnicodeNormalization;

static REGULAR_TTF: &[u8] = include_bytes!("../../../templates/fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../../templates/fonts/DejaVuSans-Bold.ttf");

/// A face: krilla's handle (for embedding) and its metrics by character.
pub(super) struct Face {
    pub font: Font,
    /// Character → (glyph, advance in em).
    glyphs: HashMap<char, (u32, f32)>,
    /// The `.notdef` advance, for characters the font lacks.
    missing: f32,
    /// Ascender, in em (positive).
    pub ascent: f32,
}

impl Face {
    fn load(data: &'static [u8]) -> Option<Self> {
        let font_ref = FontRef::new(data).ok()?;
        let font_metrics = font_ref.metrics(Size::unscaled(), LocationRef::default());
        let upem = f32::from(font_metrics.units_per_em);
        let metrics = font_ref.glyph_metrics(Size::unscaled(), LocationRef::default());
        let glyphs = font_ref
            .charmap()
            .mappings()
            .filter_map(|(cp, gid)| {
                let ch = char::from_u32(cp)?;
                Some((ch, (gid.to_u32(), metrics.advance_width(gid)? / upem)))
            })
            .collect();
        let missing = metrics
            .advance_width(skrifa::GlyphId::NOTDEF)
            .unwrap_or_default()
            / upem;
        let ascent = font_metrics.ascent / upem;
        let font = Font::new(data.into(), 0)?;
        Some(Self {
            font,
            glyphs,
            missing,
            ascent,
        })
    }

    fn glyph(&self, ch: char) -> (u32, f32) {
        self.glyphs.get(&ch).copied().unwrap_or((0, self.missing))
    }

    /// The width of `text` at `size` points (`text` already NFC).
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).1).sum::<f32>() * size
    }

    /// One glyph per character, each covering its character's bytes (`text` already NFC).
    pub fn shape(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(i, ch)| {
                let (gid, advance) = self.glyph(ch);
                KrillaGlyph::new(
                    GlyphId::new(gid),
                    advance,
                    0.0,
                    0.0,
                    0.0,
                    i..i + ch.len_utf8(),
                    None,
                )
            })
            .collect()
    }

    /// Greedy word wrap of `text` (NFC-normalised here) into lines at most `max` points wide
    /// at `size`; a word wider than a line is broken between characters. Line breaks in
    /// `text` are kept; an empty text is one empty line.
    pub fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let text: String = text.nfc().collect();
        let space = self.glyph(' ').1 * size;
        let mut out = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            let mut width = 0.0;
            for word in paragraph.split_whitespace() {
                let w = self.width(word, size);
                if !line.is_empty() && width + space + w <= max {
                    line.push(' ');
                    line.push_str(word);
                    width += space + w;
                    continue;
                }
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                if w <= max {
                    line.push_str(word);
                    width = w;
                    continue;
                }
                // Longer than a line (a URL, a long code): break it between characters.
                width = 0.0;
                for ch in word.chars() {
                    let cw = self.glyph(ch).1 * size;
                    if !line.is_empty() && width + cw > max {
                        out.push(std::mem::take(&mut line));
                        width = 0.0;
                    }
                    line.push(ch);
                    width += cw;
                }
            }
            out.push(line);
        }
        out
    }
}

pub(super) struct Fonts {
    pub regular: Face,
    pub bold: Face,
}

/// The fonts, parsed on first use; `None` only if the embedded files were corrupt (a test
/// proves they are not).
pub(super) static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| {
    Some(Fonts {
        regular: Face::load(REGULAR_TTF)?,
        bold: Face::load(BOLD_TTF)?,
    })
});

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use super::*;

    fn fonts() -> &'static Fonts {
        FONTS.as_ref().unwrap()
    }

    #[test]
    fn fonts_parse_and_cover_vietnamese() {
        let f = fonts();
        for face in [&f.regular, &f.bold] {
            for ch in "ĂÂĐÊÔƠƯăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ".chars()
            {
                assert!(face.glyphs.contains_key(&ch), "{ch}");
            }
            assert!(face.ascent > 0.5 && face.ascent < 1.2);
        }
        assert!(f.bold.width("Hoà", 10.0) > f.regular.width("Hoà", 10.0));
    }

    #[test]
    fn wrap_is_greedy_and_fits() {
        let f = &fonts().regular;
        let text = "Bản sao giấy chứng nhận quyền sử dụng đất và tài sản gắn liền với đất";
        let lines = f.wrap(text, 10.0, 120.0);
        assert!(lines.len() > 2);
        assert_eq!(lines.join(" "), text);
        for (i, l) in lines.iter().enumerate() {
            assert!(f.width(l, 10.0) <= 120.0, "{l}");
            if let Some(next) = lines.get(i + 1) {
                let first = next.split(' ').next().unwrap();
                assert!(
                    f.width(&format!("{l} {first}"), 10.0) > 120.0,
                    "not greedy: {l}"
                );
            }
        }
    }

    #[test]
    fn wrap_breaks_long_words_keeps_newlines_and_composes() {
        let f = &fonts().regular;
        let url = "https://example.vn/".to_owned() + &"a".repeat(80);
        let lines = f.wrap(&url, 10.0, 100.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), url);
        assert_eq!(f.wrap("a\nb", 10.0, 100.0), ["a", "b"]);
        assert_eq!(f.wrap("", 10.0, 100.0), [""]);
        // "Hoà" written with a combining grave accent comes out precomposed.
        assert_eq!(f.wrap("Hoa\u{300}", 10.0, 100.0), ["Hoà"]);
    }

    #[test]
    fn shaping_maps_each_character_to_its_bytes() {
        let f = &fonts().regular;
        let glyphs = f.shape("Hoà");
        assert_eq!(glyphs.len(), 3);
        assert_eq!(glyphs[2].text_range, 2..4);
        assert!(glyphs.iter().all(|g| g.glyph_id.to_u32() != 0));
    }
}
