//! What a result is to the rest of dvc: where its PDF came from, how it is numbered, what an
//! officer and the applicant see of it, and what the public verification page may show.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

crate::db::text_enum! {
    /// Where the signed PDF came from.
    pub enum Origin("result origin") {
        /// Made by dvc from the procedure's form and the decision.
        Generated = "generated",
        /// Drafted elsewhere and attached by the official as a PDF.
        Uploaded = "uploaded",
        /// A result issued on paper, scanned (digitised) and signed as its electronic copy.
        PaperScan = "paper_scan",
    }
}

impl Origin {
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Generated => "Tạo từ mẫu của thủ tục",
            Self::Uploaded => "Tệp PDF do cán bộ đính kèm",
            Self::PaperScan => "Bản giấy đã số hoá",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Generated => "Generated from the procedure's template",
            Self::Uploaded => "PDF attached by the official",
            Self::PaperScan => "Paper result, digitised",
        }
    }
}

/// The register's number of the `seq`-th result of `year`: `00012/2026/KQ`.
pub fn number(seq: i32, year: i32) -> String {
    format!("{seq:05}/{year}/KQ")
}

/// A dossier's result as its applicant and the tenant's officials see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultView {
    /// Also the verification page's address.
    pub id: Uuid,
    pub number: String,
    pub origin: Origin,
    pub file_name: String,
    pub size_bytes: i64,
    /// SHA-256 of the signed PDF (hex).
    pub sha256: String,
    /// The signing certificate's subject.
    pub signer: String,
    pub issued_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_reason: Option<String>,
}

impl ResultView {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// What anyone holding the paper or the file may check: no personal data, no dossier code.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verification {
    pub number: String,
    /// The issuing agency (the tenant's name).
    pub issuer: String,
    pub procedure_code: String,
    pub procedure_name: String,
    pub issued_at: DateTime<Utc>,
    pub sha256: String,
    /// The signing certificate's subject and its validity.
    pub signer: String,
    pub certificate_not_after: DateTime<Utc>,
    pub status: ResultStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    Valid,
    Revoked,
}

/// Decision 766's digitisation figures for a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Digitisation {
    /// Dossiers received in the period.
    pub dossiers_received: i64,
    /// Of those, dossiers with at least one paper document scanned at the counter.
    pub dossiers_digitised: i64,
    /// Of those, received at the counter or by post (the ones that came on paper).
    pub dossiers_on_paper: i64,
    /// Results issued in the period (not revoked).
    pub results_issued: i64,
    /// Of those, electronic from the start (generated or attached as a PDF).
    pub results_electronic: i64,
    /// Of those, issued on paper and digitised.
    pub results_digitised: i64,
    /// Dossiers decided in the period (approved or rejected).
    pub dossiers_decided: i64,
}

impl Digitisation {
    /// Share of paper dossiers whose documents were digitised (0–1; 1 when none came on paper).
    pub fn dossier_rate(&self) -> f64 {
        ratio(self.dossiers_digitised, self.dossiers_on_paper)
    }

    /// Share of decided dossiers with a result in electronic form (issued so or digitised).
    pub fn result_rate(&self) -> f64 {
        ratio(self.results_issued, self.dossiers_decided)
    }
}

/// The figures of a year with their two rates, as the API answers them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DigitisationReport {
    pub year: i32,
    pub figures: Digitisation,
    /// [`Digitisation::dossier_rate`].
    pub dossier_rate: f64,
    /// [`Digitisation::result_rate`].
    pub result_rate: f64,
}

impl DigitisationReport {
    pub fn of(year: i32, figures: Digitisation) -> Self {
        Self {
            year,
            dossier_rate: figures.dossier_rate(),
            result_rate: figures.result_rate(),
            figures,
        }
    }
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        1.0
    } else {
        (part as f64 / whole as f64).min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_padded_and_carry_the_year() {
        assert_eq!(number(12, 2026), "00012/2026/KQ");
        assert_eq!(number(123_456, 2027), "123456/2027/KQ");
    }

    #[test]
    fn rates_are_shares_and_an_empty_period_counts_as_complete() {
        let d = Digitisation {
            dossiers_on_paper: 4,
            dossiers_digitised: 3,
            dossiers_decided: 10,
            results_issued: 5,
            ..Default::default()
        };
        assert!((d.dossier_rate() - 0.75).abs() < 1e-9);
        assert!((d.result_rate() - 0.5).abs() < 1e-9);
        assert!((Digitisation::default().dossier_rate() - 1.0).abs() < 1e-9);
    }
}
