//! Text helpers: folding for Vietnamese search ("Giấy phép lao động" and "giay phep lao dong"
//! match), and lowercase hex for digests and MACs.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lowercase hexadecimal of `bytes` (digests, MAC tags, checksums).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Lowercases, strips diacritics (including đ → d) and collapses whitespace.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match c {
            'đ' | 'Đ' => out.push('d'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// A search over folded text: every word of the query, in order, as a substring. The same
/// semantics as SQL `LIKE '%w1%w2%'` over the folded column (see [`SearchTerms::like_pattern`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

impl SearchTerms {
    /// `None` when the query holds no words.
    pub fn parse(query: &str) -> Option<Self> {
        let words: Vec<String> = fold(query)
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        (!words.is_empty()).then_some(Self(words))
    }

    pub fn matches(&self, folded_text: &str) -> bool {
        let mut rest = folded_text;
        for word in &self.0 {
            match rest.find(word.as_str()) {
                Some(at) => rest = &rest[at + word.len()..],
                None => return false,
            }
        }
        true
    }

    /// SQL LIKE pattern with `\` as escape character.
    pub fn like_pattern(&self) -> String {
        let mut p = String::from("%");
        for w in &self.0 {
            for c in w.chars() {
                if matches!(c, '%' | '_' | '\\') {
                    p.push('\\');
                }
                p.push(c);
            }
            p.push('%');
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_vietnamese() {
        assert_eq!(fold("Cấp giấy phép lao động"), "cap giay phep lao dong");
        assert_eq!(
            fold("ĐĂNG KÝ  hợp đồng\tcung ứng"),
            "dang ky hop dong cung ung"
        );
        assert_eq!(fold("Thành phố Hồ Chí Minh"), "thanh pho ho chi minh");
        assert_eq!(fold("  trợ cấp thất nghiệp "), "tro cap that nghiep");
    }

    #[test]
    fn search_terms_match_in_order() {
        let t = SearchTerms::parse("giấy phép LAO").unwrap();
        assert!(t.matches(&fold("Cấp giấy phép lao động cho người nước ngoài")));
        assert!(!t.matches(&fold("lao động giấy phép")));
        assert!(SearchTerms::parse("   ").is_none());
    }

    #[test]
    fn like_pattern_escapes_wildcards() {
        let t = SearchTerms::parse("100% a_b").unwrap();
        assert_eq!(t.like_pattern(), "%100\\%%a\\_b%");
    }

    proptest! {
        #[test]
        fn fold_is_idempotent_and_ascii_for_vietnamese(s in "[a-zA-ZàáảãạăắằẳẵặâấầẩẫậèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵđĐ ]{0,40}") {
            let f = fold(&s);
            prop_assert_eq!(fold(&f), f.clone());
            prop_assert!(f.is_ascii());
        }

        #[test]
        fn a_text_always_matches_its_own_words(s in "[a-zà-ỹđ ]{1,40}") {
            if let Some(t) = SearchTerms::parse(&s) {
                prop_assert!(t.matches(&fold(&s)));
            }
        }
    }
}
