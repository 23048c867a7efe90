//! The service index (Bộ chỉ số phục vụ người dân, doanh nghiệp, Decision 766/QĐ-TTg of 2022)
//! computed from dvc's own counters: six groups — publicity, progress, online service, online
//! payment, digitisation, satisfaction — each a share of what could be done, turned into points
//! with the decision's weights, with its formula in Vietnamese and English.
//!
//! Pure: counts in, figures out. A share with nothing to divide is absent (not zero, not one),
//! a group without any figure scores nothing and is left out of the total's maximum, so no
//! figure is ever invented.

use crate::services::catalog::Procedure;
use crate::services::stats::Counts;
use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

/// What a tenant's published catalog says about publicity and online levels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct CatalogFacts {
    /// Procedures published (active) on the portal.
    pub procedures: i64,
    /// Of those, published with complete information ([`is_complete`]).
    pub complete: i64,
    /// Of those, offered as a partial online service (một phần).
    pub partial_online: i64,
    /// Of those, offered as a full online service (toàn trình).
    pub full_online: i64,
}

impl CatalogFacts {
    pub fn of(procedures: &[Procedure]) -> Self {
        use crate::services::catalog::OnlineLevel;
        let mut f = Self::default();
        for p in procedures {
            f.procedures += 1;
            f.complete += i64::from(is_complete(p));
            match p.online_level {
                OnlineLevel::Partial => f.partial_online += 1,
                OnlineLevel::Full => f.full_online += 1,
            }
        }
        f
    }
}

impl std::ops::AddAssign for CatalogFacts {
    fn add_assign(&mut self, o: Self) {
        self.procedures += o.procedures;
        self.complete += o.complete;
        self.partial_online += o.partial_online;
        self.full_online += o.full_online;
    }
}

/// Published with complete information: a name, its field, a legal time limit, the documents
/// to hand in and its legal basis. The fee is always stated (0 đ means free), so it decides
/// nothing here.
pub fn is_complete(p: &Procedure) -> bool {
    !p.name.trim().is_empty()
        && !p.field.code.trim().is_empty()
        && p.processing_days > 0
        && p.fee_vnd >= 0
        && !p.documents.is_empty()
        && p.details.legal_basis.iter().any(|b| !b.trim().is_empty())
}

/// A month or a calendar year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month { year: i32, month: u32 },
    Year(i32),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("period: expected a month as YYYY-MM, e.g. 2026-11")]
    BadMonth,
    #[error("year: expected a year between 2000 and 2100")]
    BadYear,
    #[error("give either period (a month) or year, not both")]
    Both,
}

impl Period {
    /// From the query's `period=YYYY-MM` or `year=YYYY`; the month of `today` when neither.
    pub fn parse(
        period: Option<&str>,
        year: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, PeriodError> {
        let period = period.map(str::trim).filter(|s| !s.is_empty());
        let year = year.map(str::trim).filter(|s| !s.is_empty());
        match (period, year) {
            (Some(_), Some(_)) => Err(PeriodError::Both),
            (Some(p), None) => {
                let (y, m) = p.split_once('-').ok_or(PeriodError::BadMonth)?;
                let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                if y.len() != 4 || m.len() != 2 || !all_digits(y) || !all_digits(m) {
                    return Err(PeriodError::BadMonth);
                }
                let (year, month) = (
                    y.parse().map_err(|_| PeriodError::BadMonth)?,
                    m.parse().map_err(|_| PeriodError::BadMonth)?,
                );
                if !(2000..=2100).contains(&year) || !(1..=12).contains(&month) {
                    return Err(PeriodError::BadMonth);
                }
                Ok(Self::Month { year, month })
            }
            (None, Some(y)) => {
                let year: i32 = y.parse().map_err(|_| PeriodError::BadYear)?;
                if !(2000..=2100).contains(&year) || y.len() != 4 {
                    return Err(PeriodError::BadYear);
                }
                Ok(Self::Year(year))
            }
            (None, None) => Ok(Self::Month {
                year: today.year(),
                month: today.month(),
            }),
        }
    }

    /// `[from, to)` in Vietnam's calendar days.
    pub fn bounds(self) -> (NaiveDate, NaiveDate) {
        let first = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default();
        match self {
            Self::Month { year, month } => {
                let from = first(year, month);
                (from, from + Months::new(1))
            }
            Self::Year(y) => (first(y, 1), first(y + 1, 1)),
        }
    }

    /// `2026-11` or `2026`, as the query takes it.
    pub fn label(self) -> String {
        match self {
            Self::Month { year, month } => format!("{year:04}-{month:02}"),
            Self::Year(y) => format!("{y:04}"),
        }
    }

    pub fn is_month(self) -> bool {
        matches!(self, Self::Month { .. })
    }
}

/// One figure of a group: `numerator ÷ denominator`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Indicator {
    pub code: &'static str,
    pub name_vi: &'static str,
    pub name_en: &'static str,
    pub numerator: i64,
    pub denominator: i64,
    /// numerator ÷ denominator (0–1, four decimals); absent when the denominator is 0.
    pub share: Option<f64>,
    pub formula_vi: &'static str,
    pub formula_en: &'static str,
}

/// One of the index's groups.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Group {
    pub code: &'static str,
    pub name_vi: &'static str,
    pub name_en: &'static str,
    /// The group's weight in the index (points out of 100).
    pub max_points: f64,
    /// Mean of the indicators that have a share (0–1); absent when none has.
    pub share: Option<f64>,
    /// share × max_points, two decimals; absent when the share is.
    pub points: Option<f64>,
    pub formula_vi: &'static str,
    pub formula_en: &'static str,
    pub indicators: Vec<Indicator>,
}

/// The index of a period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Index {
    pub groups: Vec<Group>,
    /// Sum of the groups' points.
    pub points: f64,
    /// Sum of the weights of the groups that have figures (the most `points` could be).
    pub max_points: f64,
    /// points ÷ max_points × 100, two decimals; absent when no group has figures.
    pub score: Option<f64>,
}

fn round(x: f64, places: i32) -> f64 {
    let k = 10f64.powi(places);
    (x * k).round() / k
}

fn share(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| round((n as f64 / d as f64).clamp(0.0, 1.0), 4))
}

struct Spec {
    code: &'static str,
    name_vi: &'static str,
    name_en: &'static str,
    formula_vi: &'static str,
    formula_en: &'static str,
}

fn indicator(s: Spec, numerator: i64, denominator: i64) -> Indicator {
    Indicator {
        code: s.code,
        name_vi: s.name_vi,
        name_en: s.name_en,
        numerator,
        denominator,
        share: share(numerator, denominator),
        formula_vi: s.formula_vi,
        formula_en: s.formula_en,
    }
}

fn group(s: Spec, max_points: f64, indicators: Vec<Indicator>) -> Group {
    let shares: Vec<f64> = indicators.iter().filter_map(|i| i.share).collect();
    let share =
        (!shares.is_empty()).then(|| round(shares.iter().sum::<f64>() / shares.len() as f64, 4));
    Group {
        code: s.code,
        name_vi: s.name_vi,
        name_en: s.name_en,
        max_points,
        share,
        points: share.map(|s| round(s * max_points, 2)),
        formula_vi: s.formula_vi,
        formula_en: s.formula_en,
        indicators,
    }
}

/// The index from a period's counters (of one tenant or summed over a roll-up) and the
/// catalogs' facts. Weights as Decision 766 gives them: publicity 18, progress 20, online
/// service 12, online payment 10, digitisation 22, satisfaction 18 (100 in all).
pub fn compute(c: &Counts, catalog: &CatalogFacts) -> Index {
    const GROUP_FORMULA_VI: &str = "Điểm nhóm = trung bình các tỷ lệ có số liệu × điểm tối đa";
    const GROUP_FORMULA_EN: &str = "Group points = mean of the shares with data × maximum points";
    let g = |code, name_vi, name_en| Spec {
        code,
        name_vi,
        name_en,
        formula_vi: GROUP_FORMULA_VI,
        formula_en: GROUP_FORMULA_EN,
    };
    let groups = vec![
        group(
            g(
                "publicity",
                "Công khai, minh bạch",
                "Publicity and transparency",
            ),
            18.0,
            vec![indicator(
                Spec {
                    code: "complete_procedures",
                    name_vi: "Thủ tục công khai đầy đủ thông tin",
                    name_en: "Procedures published with complete information",
                    formula_vi: "Số thủ tục công bố đủ tên, lĩnh vực, thời hạn giải quyết, phí, thành phần hồ sơ và căn cứ pháp lý ÷ số thủ tục đang công bố",
                    formula_en: "Procedures published with name, field, time limit, fee, required documents and legal basis ÷ procedures published",
                },
                catalog.complete,
                catalog.procedures,
            )],
        ),
        group(
            g("progress", "Tiến độ giải quyết", "Progress"),
            20.0,
            vec![indicator(
                Spec {
                    code: "on_time",
                    name_vi: "Hồ sơ giải quyết đúng hạn",
                    name_en: "Dossiers decided on time",
                    formula_vi: "Số hồ sơ giải quyết đúng hạn ÷ số hồ sơ đã giải quyết trong kỳ",
                    formula_en: "Dossiers decided by their due date ÷ dossiers decided in the period",
                },
                c.resolved_on_time,
                c.resolved,
            )],
        ),
        group(
            g("online_service", "Dịch vụ trực tuyến", "Online service"),
            12.0,
            vec![
                indicator(
                    Spec {
                        code: "full_online_procedures",
                        name_vi: "Thủ tục cung cấp dịch vụ công trực tuyến toàn trình",
                        name_en: "Procedures offered fully online",
                        formula_vi: "Số thủ tục trực tuyến toàn trình ÷ số thủ tục đang công bố",
                        formula_en: "Procedures offered fully online ÷ procedures published",
                    },
                    catalog.full_online,
                    catalog.procedures,
                ),
                indicator(
                    Spec {
                        code: "received_online",
                        name_vi: "Hồ sơ tiếp nhận trực tuyến",
                        name_en: "Dossiers received online",
                        formula_vi: "Số hồ sơ tiếp nhận trực tuyến ÷ số hồ sơ tiếp nhận (trực tuyến, trực tiếp, bưu chính)",
                        formula_en: "Dossiers received online ÷ dossiers received (online, at the desk, by post)",
                    },
                    c.received_online,
                    c.received,
                ),
            ],
        ),
        group(
            g("online_payment", "Thanh toán trực tuyến", "Online payment"),
            10.0,
            vec![indicator(
                Spec {
                    code: "paid_online",
                    name_vi: "Hồ sơ có phí được thanh toán trực tuyến",
                    name_en: "Dossiers with a fee paid online",
                    formula_vi: "Số hồ sơ đã giải quyết có phí được thanh toán trực tuyến ÷ số hồ sơ đã giải quyết có phí",
                    formula_en: "Dossiers decided with a fee that was paid online ÷ dossiers decided with a fee",
                },
                c.resolved_paid_online,
                c.resolved_with_fee,
            )],
        ),
        group(
            g("digitisation", "Số hóa hồ sơ, kết quả", "Digitisation"),
            22.0,
            vec![
                indicator(
                    Spec {
                        code: "dossiers_digitised",
                        name_vi: "Hồ sơ giấy được số hóa",
                        name_en: "Paper dossiers digitised",
                        formula_vi: "Số hồ sơ được số hóa giấy tờ khi tiếp nhận ÷ số hồ sơ tiếp nhận trực tiếp hoặc qua bưu chính",
                        formula_en: "Dossiers whose papers were scanned at receipt ÷ dossiers received at the desk or by post",
                    },
                    c.received_digitised,
                    c.received_counter + c.received_postal,
                ),
                indicator(
                    Spec {
                        code: "results_electronic",
                        name_vi: "Kết quả giải quyết điện tử",
                        name_en: "Electronic results",
                        formula_vi: "Số kết quả điện tử đã cấp (kể cả bản giấy được số hóa, trừ kết quả bị thu hồi) ÷ số hồ sơ đã giải quyết",
                        formula_en: "Electronic results issued (paper results digitised included, revoked ones excluded) ÷ dossiers decided",
                    },
                    c.results_issued,
                    c.resolved,
                ),
            ],
        ),
        group(
            g("satisfaction", "Mức độ hài lòng", "Satisfaction"),
            18.0,
            vec![
                indicator(
                    Spec {
                        code: "rating",
                        name_vi: "Đánh giá của người dân, doanh nghiệp",
                        name_en: "Ratings by citizens and businesses",
                        formula_vi: "Tổng số điểm đánh giá ÷ (5 × số lượt đánh giá)",
                        formula_en: "Sum of ratings ÷ (5 × number of ratings)",
                    },
                    c.rating_sum,
                    5 * c.rating_count,
                ),
                indicator(
                    Spec {
                        code: "complaints_on_time",
                        name_vi: "Phản ánh, kiến nghị được trả lời đúng hạn",
                        name_en: "Complaints answered on time",
                        formula_vi: "Số phản ánh, kiến nghị trả lời đúng hạn ÷ số phản ánh, kiến nghị đã trả lời trong kỳ",
                        formula_en: "Complaints answered within their deadline ÷ complaints answered in the period",
                    },
                    c.complaints_answered_on_time,
                    c.complaints_answered,
                ),
            ],
        ),
    ];
    let points = round(groups.iter().filter_map(|g| g.points).sum(), 2);
    let max_points = groups
        .iter()
        .filter(|g| g.points.is_some())
        .map(|g| g.max_points)
        .sum::<f64>();
    Index {
        score: (max_points > 0.0).then(|| round(points / max_points * 100.0, 2)),
        groups,
        points,
        max_points,
    }
}

/// The index as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the
/// diacritics): one line per indicator, then one per group and the total.
pub fn csv(tenant: &str, period: &str, index: &Index) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    }
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
    let mut out = String::from(
        "\u{feff}tenant,period,group,indicator,name_vi,name_en,numerator,denominator,share,points,max_points,formula_vi,formula_en\r\n",
    );
    for g in &index.groups {
        for i in &g.indicators {
            let row = [
                field(tenant),
                field(period),
                g.code.to_owned(),
                i.code.to_owned(),
                field(i.name_vi),
                field(i.name_en),
                i.numerator.to_string(),
                i.denominator.to_string(),
                opt(i.share),
                String::new(),
                String::new(),
                field(i.formula_vi),
                field(i.formula_en),
            ];
            out.push_str(&row.join(","));
            out.push_str("\r\n");
        }
        let row = [
            field(tenant),
            field(period),
            g.code.to_owned(),
            String::new(),
            field(g.name_vi),
            field(g.name_en),
            String::new(),
            String::new(),
            opt(g.share),
            opt(g.points),
            g.max_points.to_string(),
            field(g.formula_vi),
            field(g.formula_en),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    let row = [
        field(tenant),
        field(period),
        "total".to_owned(),
        String::new(),
        "Tổng điểm".to_owned(),
        "Total".to_owned(),
        String::new(),
        String::new(),
        opt(index.score.map(|s| s / 100.0)),
        index.points.to_string(),
        index.max_points.to_string(),
        field("Tổng điểm các nhóm có số liệu"),
        field("Sum of the points of the groups with data"),
    ];
    out.push_str(&row.join(","));
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::catalog::OnlineLevel;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn find<'a>(i: &'a Index, group: &str) -> &'a Group {
        i.groups.iter().find(|g| g.code == group).unwrap()
    }

    fn procedure(level: OnlineLevel, days: i32, documents: usize, basis: &[&str]) -> Procedure {
        use crate::services::catalog::{Details, FieldRef};
        Procedure {
            code: "1.000105".into(),
            name: "Cấp giấy phép lao động".into(),
            name_en: None,
            field: FieldRef {
                code: "viec-lam".into(),
                name: "Việc làm".into(),
                name_en: None,
            },
            online_level: level,
            processing_days: days,
            fee_vnd: 0,
            documents: (0..documents)
                .map(|i| {
                    serde_json::from_value(serde_json::json!({ "name": format!("Giấy tờ {i}") }))
                        .unwrap()
                })
                .collect(),
            form_schema: serde_json::json!({}),
            decide_role: crate::services::dossiers::workflow::DecideRole::Leader,
            inherited_from: None,
            fee_rule: Default::default(),
            pay_before_processing: false,
            process: None,
            details: Details {
                legal_basis: basis.iter().map(|b| (*b).to_owned()).collect(),
                ..Details::default()
            },
            template: false,
            adopted_version: None,
            search_text: String::new(),
        }
    }

    #[test]
    fn complete_information_needs_time_limit_documents_and_legal_basis() {
        use OnlineLevel::{Full, Partial};
        let law = ["Nghị định 152/2020/NĐ-CP"];
        let all = [
            procedure(Full, 5, 2, &law),
            procedure(Partial, 5, 1, &law),
            procedure(Full, 5, 0, &law),   // no documents
            procedure(Partial, 5, 2, &[]), // no legal basis
            procedure(Partial, 5, 2, &[" "]),
            procedure(Full, 0, 2, &law), // no time limit
        ];
        assert_eq!(
            all.iter().map(is_complete).collect::<Vec<_>>(),
            [true, true, false, false, false, false]
        );
        assert_eq!(
            CatalogFacts::of(&all),
            CatalogFacts {
                procedures: 6,
                complete: 2,
                partial_online: 3,
                full_online: 3,
            }
        );
    }

    #[test]
    fn weights_add_up_to_one_hundred() {
        let i = compute(&Counts::default(), &CatalogFacts::default());
        assert_eq!(i.groups.len(), 6);
        assert_eq!(i.groups.iter().map(|g| g.max_points).sum::<f64>(), 100.0);
    }

    #[test]
    fn nothing_to_count_invents_nothing() {
        let i = compute(&Counts::default(), &CatalogFacts::default());
        assert!(
            i.groups
                .iter()
                .all(|g| g.share.is_none() && g.points.is_none())
        );
        assert_eq!((i.points, i.max_points, i.score), (0.0, 0.0, None));
    }

    #[test]
    fn each_group_is_its_shares_times_its_weight() {
        let c = Counts {
            received: 10,
            received_online: 6,
            received_counter: 3,
            received_postal: 1,
            received_digitised: 2,
            resolved: 8,
            resolved_on_time: 6,
            results_issued: 4,
            resolved_with_fee: 4,
            resolved_paid_online: 1,
            rating_sum: 18,
            rating_count: 4,
            ..Counts::default()
        };
        let cat = CatalogFacts {
            procedures: 4,
            complete: 3,
            partial_online: 2,
            full_online: 2,
        };
        let i = compute(&c, &cat);
        assert_eq!(find(&i, "publicity").points, Some(13.5)); // 0.75 × 18
        assert_eq!(find(&i, "progress").points, Some(15.0)); // 0.75 × 20
        // (2/4 + 6/10) / 2 = 0.55 × 12
        assert_eq!(find(&i, "online_service").share, Some(0.55));
        assert_eq!(find(&i, "online_service").points, Some(6.6));
        assert_eq!(find(&i, "online_payment").points, Some(2.5));
        // (2/4 + 4/8) / 2 = 0.5 × 22
        assert_eq!(find(&i, "digitisation").points, Some(11.0));
        // ratings 18/20 = 0.9; no complaint answered: that indicator is absent, not zero.
        let s = find(&i, "satisfaction");
        assert_eq!(s.indicators[1].share, None);
        assert_eq!(s.share, Some(0.9));
        assert_eq!(s.points, Some(16.2));
        assert_eq!(i.max_points, 100.0);
        assert!((i.points - 64.8).abs() < 1e-9, "{}", i.points);
        assert_eq!(i.score, Some(64.8));
    }

    #[test]
    fn complaints_count_once_answered() {
        let c = Counts {
            complaints_received: 5,
            complaints_answered: 4,
            complaints_answered_on_time: 3,
            ..Counts::default()
        };
        let i = compute(&c, &CatalogFacts::default());
        let s = find(&i, "satisfaction");
        assert_eq!(s.indicators[1].share, Some(0.75));
        assert_eq!(s.share, Some(0.75));
        // Only satisfaction has figures: the maximum is its weight alone.
        assert_eq!(i.max_points, 18.0);
        assert_eq!(i.score, Some(75.0));
    }

    #[test]
    fn shares_never_pass_one() {
        // A result issued this month for a dossier decided last month.
        let c = Counts {
            resolved: 1,
            resolved_on_time: 1,
            results_issued: 3,
            ..Counts::default()
        };
        let i = compute(&c, &CatalogFacts::default());
        assert_eq!(find(&i, "digitisation").indicators[1].share, Some(1.0));
    }

    #[test]
    fn periods_parse_strictly() {
        let today = day(2026, 12, 9);
        assert_eq!(
            Period::parse(None, None, today),
            Ok(Period::Month {
                year: 2026,
                month: 12
            })
        );
        let nov = Period::parse(Some("2026-11"), None, today).unwrap();
        assert_eq!(nov.bounds(), (day(2026, 11, 1), day(2026, 12, 1)));
        assert_eq!(nov.label(), "2026-11");
        let dec = Period::parse(Some("2026-12"), Some(""), today).unwrap();
        assert_eq!(dec.bounds(), (day(2026, 12, 1), day(2027, 1, 1)));
        let y = Period::parse(None, Some("2026"), today).unwrap();
        assert_eq!(y.bounds(), (day(2026, 1, 1), day(2027, 1, 1)));
        assert_eq!(y.label(), "2026");
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-11",
            "2026/11",
            "x",
            "2026-11-01",
            "+202-11",
        ] {
            assert_eq!(
                Period::parse(Some(bad), None, today),
                Err(PeriodError::BadMonth),
                "{bad}"
            );
        }
        for bad in ["1999", "3000", "20266", "abcd", "-2026"] {
            assert_eq!(
                Period::parse(None, Some(bad), today),
                Err(PeriodError::BadYear),
                "{bad}"
            );
        }
        assert_eq!(
            Period::parse(Some("2026-11"), Some("2026"), today),
            Err(PeriodError::Both)
        );
    }

    #[test]
    fn csv_has_a_line_per_indicator_group_and_total() {
        let c = Counts {
            received: 2,
            received_online: 1,
            received_counter: 1,
            ..Counts::default()
        };
        let i = compute(&c, &CatalogFacts::default());
        let text = csv("ha-noi", "2026-11", &i);
        let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
        let indicators: usize = i.groups.iter().map(|g| g.indicators.len()).sum();
        assert_eq!(lines.len(), 1 + indicators + i.groups.len() + 1);
        assert!(text.starts_with('\u{feff}'));
        assert!(
            lines.iter().any(
                |l| l.starts_with("ha-noi,2026-11,online_service,received_online,")
                    && l.contains(",1,2,0.5,")
            ),
            "{text}"
        );
        // A formula with a comma is quoted.
        assert!(text.contains(
            "\"Dossiers received online ÷ dossiers received (online, at the desk, by post)\""
        ));
    }
}
