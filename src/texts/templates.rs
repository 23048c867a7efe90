//! Text message templates: one short plain-text body per message and language
//! (`templates/texts/{key}.{locale}.txt`), rendered, written without diacritics where the
//! provider asks, and made to fit the segments the provider accepts.
//!
//! A text must fit: when it does not, the free-text values (a refusal's reason, the list of
//! missing papers, a procedure's name) are shortened with an ellipsis, longest first, because
//! the code, the date and the link are what the applicant acts on. A text that still does not
//! fit is an error, never a third segment billed.

use super::encoding::{Encoding, segments, without_diacritics};
use crate::locale::Locale;
use crate::mail::TemplateKey;
use minijinja::{Environment, UndefinedBehavior};

/// The messages that also go out as texts.
pub const TEXT_KEYS: [TemplateKey; 10] = [
    TemplateKey::DossierReceived,
    TemplateKey::SupplementRequested,
    TemplateKey::CompletionRequested,
    TemplateKey::PaymentDue,
    TemplateKey::ResultReady,
    TemplateKey::DossierRefused,
    TemplateKey::DossierDelayed,
    TemplateKey::ComplaintCode,
    TemplateKey::ComplaintAnswered,
    TemplateKey::Test,
];

macro_rules! text_templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/texts/", $name)))),*]
    };
}

const TEXTS: &[(&str, &str)] = text_templates!(
    "dossier_received.vi.txt",
    "dossier_received.en.txt",
    "supplement_requested.vi.txt",
    "supplement_requested.en.txt",
    "completion_requested.vi.txt",
    "completion_requested.en.txt",
    "payment_due.vi.txt",
    "payment_due.en.txt",
    "result_ready.vi.txt",
    "result_ready.en.txt",
    "dossier_refused.vi.txt",
    "dossier_refused.en.txt",
    "dossier_delayed.vi.txt",
    "dossier_delayed.en.txt",
    "complaint_code.vi.txt",
    "complaint_code.en.txt",
    "complaint_answered.vi.txt",
    "complaint_answered.en.txt",
    "test.vi.txt",
    "test.en.txt",
);

/// Values that may be shortened to make a text fit.
const SHORTENABLE: [&str; 6] = [
    "reason",
    "missing",
    "note",
    "answer",
    "procedure_name",
    "applicant_name",
];

/// What the provider accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRules {
    /// Write Vietnamese without diacritics (GSM alphabet only).
    pub plain: bool,
    /// The most segments one text may take.
    pub max_segments: usize,
}

/// A text ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedText {
    pub body: String,
    pub encoding: Encoding,
    pub segments: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("`{0}` has no text message template")]
    NoTemplate(String),
    #[error("text template {0}: {1}")]
    Template(String, #[source] minijinja::Error),
    #[error("payload must be a JSON object")]
    Payload,
    #[error("the text takes {segments} segments even shortened; the provider accepts {max}")]
    TooLong { segments: usize, max: usize },
}

pub struct TextRenderer {
    env: Environment<'static>,
    /// Per template, the shortenable values it shows (worked out once: it walks the template).
    shown: std::collections::HashMap<&'static str, Vec<&'static str>>,
}

impl Default for TextRenderer {
    fn default() -> Self {
        Self::new()
    }
}

impl TextRenderer {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        // Plain text: nothing is HTML here.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        let mut shown = std::collections::HashMap::new();
        for (name, source) in TEXTS {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("built-in text template {name}: {e}"));
            let used = env
                .get_template(name)
                .map(|t| t.undeclared_variables(false))
                .unwrap_or_default();
            shown.insert(
                *name,
                SHORTENABLE
                    .into_iter()
                    .filter(|k| used.contains(*k))
                    .collect(),
            );
        }
        Self { env, shown }
    }

    pub fn has(key: TemplateKey) -> bool {
        TEXT_KEYS.contains(&key)
    }

    pub fn render(
        &self,
        key: TemplateKey,
        locale: Locale,
        payload: &serde_json::Value,
        rules: TextRules,
    ) -> Result<RenderedText, TextError> {
        if !Self::has(key) {
            return Err(TextError::NoTemplate(key.as_str().to_owned()));
        }
        let mut values = flatten(payload)?;
        let name = format!("{}.{}.txt", key.as_str(), locale.as_str());
        let template = self
            .env
            .get_template(&name)
            .map_err(|e| TextError::Template(name.clone(), e))?;
        let ellipsis = if rules.plain { "..." } else { "…" };
        // Only what this text shows is worth cutting.
        let shortenable: &[&str] = self.shown.get(name.as_str()).map_or(&[], Vec::as_slice);
        let mut last = None;
        // Each round cuts the longest shortenable value by what is over; a few rounds settle it.
        for _ in 0..8 {
            let raw = template
                .render(&values)
                .map_err(|e| TextError::Template(name.clone(), e))?;
            let body = tidy(&raw, rules.plain);
            let (encoding, count) = segments(&body);
            if count <= rules.max_segments {
                return Ok(RenderedText {
                    body,
                    encoding,
                    segments: count,
                });
            }
            let over = units(&body, encoding) - capacity(encoding, rules.max_segments);
            last = Some(count);
            if !shorten_longest(&mut values, shortenable, over, ellipsis) {
                break;
            }
        }
        Err(TextError::TooLong {
            segments: last.unwrap_or(0),
            max: rules.max_segments,
        })
    }
}

/// Top-level values as strings (a list of missing papers joined by commas), so every value can
/// be measured and shortened.
fn flatten(
    payload: &serde_json::Value,
) -> Result<serde_json::Map<String, serde_json::Value>, TextError> {
    let mut object = payload.as_object().cloned().ok_or(TextError::Payload)?;
    // Secrets (a verification code) are values like any other here; the outbox wipes them
    // once sent.
    if let Some(serde_json::Value::Object(secret)) = object.remove("secret") {
        object.extend(secret);
    }
    Ok(object
        .iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::Array(items) => serde_json::Value::String(
                    items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect())
}

/// One line, single spaces, and without diacritics when asked.
fn tidy(raw: &str, plain: bool) -> String {
    let one_line = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if plain {
        without_diacritics(&one_line)
    } else {
        one_line
    }
}

fn units(body: &str, encoding: Encoding) -> usize {
    match encoding {
        Encoding::Gsm7 => {
            body.chars().count() + body.chars().filter(|c| "^{}\\[~]|€".contains(*c)).count()
        }
        Encoding::Ucs2 => body.encode_utf16().count(),
    }
}

fn capacity(encoding: Encoding, max_segments: usize) -> usize {
    match (encoding, max_segments) {
        (Encoding::Gsm7, 1) => 160,
        (Encoding::Gsm7, n) => 153 * n,
        (Encoding::Ucs2, 1) => 70,
        (Encoding::Ucs2, n) => 67 * n,
    }
}

/// Cuts the longest shortenable value by `over` characters (and the ellipsis); false when none
/// is long enough to cut.
fn shorten_longest(
    values: &mut serde_json::Map<String, serde_json::Value>,
    shortenable: &[&str],
    over: usize,
    ellipsis: &str,
) -> bool {
    const KEEP_AT_LEAST: usize = 12;
    let longest = shortenable
        .iter()
        .filter_map(|k| {
            let n = values.get(*k)?.as_str()?.chars().count();
            (n > KEEP_AT_LEAST).then_some((*k, n))
        })
        .max_by_key(|(_, n)| *n);
    let Some((key, len)) = longest else {
        return false;
    };
    let keep = len
        .saturating_sub(over + ellipsis.chars().count())
        .max(KEEP_AT_LEAST);
    let text = values[key].as_str().unwrap_or_default();
    let cut: String = text.chars().take(keep).collect();
    let cut = format!("{}{ellipsis}", cut.trim_end_matches([' ', ',', ';', '.']));
    values.insert(key.to_owned(), serde_json::Value::String(cut));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const UNICODE: TextRules = TextRules {
        plain: false,
        max_segments: 2,
    };
    const PLAIN: TextRules = TextRules {
        plain: true,
        max_segments: 2,
    };

    fn received() -> serde_json::Value {
        json!({"dossier_code": "HNI-261207-0042", "due_date": "14/12/2026",
               "link": "https://ha-noi.dichvucong.localhost/h/HNI-261207-0042",
               "applicant_name": "Trần Thị Bình", "procedure_name": "Cấp giấy phép lao động"})
    }

    #[test]
    fn a_receipt_reads_the_same_in_both_languages_and_fits() {
        let r = TextRenderer::new();
        let vi = r
            .render(
                TemplateKey::DossierReceived,
                Locale::Vi,
                &received(),
                UNICODE,
            )
            .unwrap();
        assert_eq!(
            vi.body,
            "Hồ sơ HNI-261207-0042 đã được tiếp nhận, hẹn trả kết quả 14/12/2026. \
             Tra cứu: https://ha-noi.dichvucong.localhost/h/HNI-261207-0042"
        );
        assert_eq!((vi.encoding, vi.segments), (Encoding::Ucs2, 2));
        let plain = r
            .render(TemplateKey::DossierReceived, Locale::Vi, &received(), PLAIN)
            .unwrap();
        assert!(
            plain
                .body
                .starts_with("Ho so HNI-261207-0042 da duoc tiep nhan, hen tra ket qua")
        );
        assert_eq!((plain.encoding, plain.segments), (Encoding::Gsm7, 1));
        let en = r
            .render(
                TemplateKey::DossierReceived,
                Locale::En,
                &received(),
                UNICODE,
            )
            .unwrap();
        assert!(
            en.body
                .starts_with("Application HNI-261207-0042 was received; result due 14/12/2026.")
        );
    }

    #[test]
    fn a_long_reason_is_shortened_and_the_code_and_link_kept() {
        let r = TextRenderer::new();
        let reason = "Hồ sơ không thuộc thẩm quyền giải quyết của Sở vì người lao động làm việc \
                      tại khu công nghiệp, đề nghị nộp tại Ban quản lý các khu công nghiệp và \
                      khu chế xuất thành phố theo quy định tại Nghị định 219/2025/NĐ-CP";
        let mut p = received();
        p["reason"] = json!(reason);
        for rules in [UNICODE, PLAIN] {
            let t = r
                .render(TemplateKey::DossierRefused, Locale::Vi, &p, rules)
                .unwrap();
            assert!(t.segments <= 2, "{t:?}");
            assert!(t.body.contains("HNI-261207-0042"));
            assert!(
                t.body
                    .ends_with("https://ha-noi.dichvucong.localhost/h/HNI-261207-0042")
            );
            assert!(
                t.body.contains(if rules.plain { "..." } else { "…" }),
                "{}",
                t.body
            );
        }
        // A missing-papers list is joined, then shortened the same way.
        p["missing"] = json!(["Giấy chứng nhận sức khỏe", "Phiếu lý lịch tư pháp"]);
        let t = r
            .render(TemplateKey::SupplementRequested, Locale::En, &p, UNICODE)
            .unwrap();
        assert!(t.segments <= 2, "{t:?}");
        assert!(
            t.body.contains("needs: Giấy chứng nhận sức khỏe, Phiếu"),
            "{}",
            t.body
        );
        assert!(t.body.contains("….") && t.body.ends_with("/h/HNI-261207-0042"));
    }

    #[test]
    fn a_text_that_cannot_fit_is_refused_not_split_further() {
        let r = TextRenderer::new();
        let mut p = received();
        // The link is not shortenable.
        p["link"] = json!(format!("https://example.vn/{}", "x".repeat(400)));
        let e = r
            .render(TemplateKey::DossierReceived, Locale::En, &p, UNICODE)
            .unwrap_err();
        assert!(matches!(e, TextError::TooLong { max: 2, .. }), "{e}");
        assert!(matches!(
            r.render(TemplateKey::PasswordReset, Locale::Vi, &p, UNICODE),
            Err(TextError::NoTemplate(_))
        ));
    }

    #[test]
    fn every_text_template_renders_in_both_languages() {
        let r = TextRenderer::new();
        let p = json!({"dossier_code": "X-1", "due_date": "01/01/2027", "link": "https://x.vn/h/X-1",
            "missing": ["A"], "amount": "600.000 ₫", "outcome": "chấp thuận", "reason": "R",
            "old_due_date": "01/01/2027", "new_due_date": "08/01/2027", "sender": "DVC",
            "complaint_code": "PAKN-261207-0001", "secret": {"code": "482913"},
            "answer": "Sở đã giải quyết hồ sơ. ".repeat(20)});
        for key in TEXT_KEYS {
            for locale in Locale::ALL {
                let t = r.render(key, locale, &p, PLAIN).unwrap();
                assert!(t.segments <= 2 && !t.body.is_empty(), "{key:?} {locale:?}");
                assert!(!t.body.contains("{{"), "{}", t.body);
            }
        }
    }
}
