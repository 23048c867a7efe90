//! How long a text is in the units SMS is billed in, and Vietnamese without diacritics for the
//! providers (and handsets) that take only the GSM alphabet.
//!
//! A segment holds 160 characters of the GSM 03.38 alphabet (153 when the message is split, the
//! rest carrying the joining header) or 70 UTF-16 units otherwise (67 when split). One
//! character outside the alphabet — any Vietnamese letter with a tone mark — turns the whole
//! message into UCS-2, which more than halves what fits.

use unicode_normalization::UnicodeNormalization;

/// The alphabet the message is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// One character of the basic GSM table costs one septet; these of the extension table two.
const GSM_EXTENSION: &str = "^{}\\[~]|€\u{c}";
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

fn gsm_cost(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The alphabet a provider would use for `text`, and how many segments it bills.
pub fn segments(text: &str) -> (Encoding, usize) {
    let septets: Option<usize> = text.chars().map(gsm_cost).sum();
    let (encoding, units, single, multi) = match septets {
        Some(n) => (Encoding::Gsm7, n, 160, 153),
        None => (Encoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let count = if units <= single {
        1
    } else {
        units.div_ceil(multi)
    };
    (encoding, count)
}

/// Vietnamese written without tone marks and vowel marks, in the GSM alphabet: `Hồ sơ đã được
/// tiếp nhận` → `Ho so da duoc tiep nhan`. What no mark-stripping can bring into the alphabet
/// is spelled out (`₫` → `VND`) or replaced by `?`.
pub fn without_diacritics(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfd() {
        match c {
            // Combining marks: the tones and the breve, circumflex and horn.
            '\u{300}'..='\u{36f}' => {}
            'đ' => out.push('d'),
            'Đ' => out.push('D'),
            '₫' => out.push_str("VND"),
            '‘' | '’' => out.push('\''),
            '“' | '”' => out.push('"'),
            '–' | '—' => out.push('-'),
            '…' => out.push_str("..."),
            '\u{a0}' | '\t' => out.push(' '),
            c if c.is_ascii() || gsm_cost(c).is_some() => out.push(c),
            _ => out.push('?'),
        }
    }
    // NFD splits `é` into `e` + mark, so what survives is plain ASCII letters: recompose
    // nothing, there is nothing left to recompose.
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_loses_its_marks_and_fits_the_gsm_alphabet() {
        let s = "Hồ sơ ĐÃ được tiếp nhận; lệ phí 600.000 ₫ – “hẹn trả” 05/12…";
        let plain = without_diacritics(s);
        assert_eq!(
            plain,
            "Ho so DA duoc tiep nhan; le phi 600.000 VND - \"hen tra\" 05/12..."
        );
        assert_eq!(segments(&plain).0, Encoding::Gsm7);
        assert_eq!(segments(s).0, Encoding::Ucs2);
        // Every Vietnamese letter has a plain form.
        let letters = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ";
        let plain = without_diacritics(letters);
        assert!(plain.chars().all(|c| c.is_ascii_lowercase()), "{plain}");
        assert!(
            without_diacritics(&letters.to_uppercase())
                .chars()
                .all(|c| c.is_ascii_uppercase())
        );
        assert_eq!(without_diacritics("漢"), "?");
    }

    #[test]
    fn segments_follow_the_gsm_and_ucs2_limits() {
        let gsm = |n| "a".repeat(n);
        assert_eq!(segments(&gsm(160)), (Encoding::Gsm7, 1));
        assert_eq!(segments(&gsm(161)), (Encoding::Gsm7, 2));
        assert_eq!(segments(&gsm(306)), (Encoding::Gsm7, 2));
        assert_eq!(segments(&gsm(307)), (Encoding::Gsm7, 3));
        // Extension characters take two septets.
        assert_eq!(segments(&"€".repeat(80)), (Encoding::Gsm7, 1));
        assert_eq!(segments(&"€".repeat(81)), (Encoding::Gsm7, 2));
        let ucs = |n| "ồ".repeat(n);
        assert_eq!(segments(&ucs(70)), (Encoding::Ucs2, 1));
        assert_eq!(segments(&ucs(71)), (Encoding::Ucs2, 2));
        assert_eq!(segments(&ucs(134)), (Encoding::Ucs2, 2));
        assert_eq!(segments(&ucs(135)), (Encoding::Ucs2, 3));
        // One marked letter turns a GSM message into UCS-2.
        assert_eq!(segments(&format!("{}ồ", gsm(100))), (Encoding::Ucs2, 2));
    }
}
