//! The slips of a dossier, assembled from what already exists: the dossier, its events (who
//! acted, when, with what note), the procedure's documents and the tenant's name and contact.
//! Nothing is stored for a slip: printed again, it says the same.

use crate::app::dossiers::{caller, scope};
use crate::auth::principal::Principal;
use crate::error::AppError;
use crate::locale::Locale;
use crate::services::catalog::{OnlineLevel, Procedure};
use crate::services::dossiers::store;
use crate::services::dossiers::{DossierCode, DossierDetail, EventView, Status};
use crate::services::slips::{Agency, DocumentLine, RecordRow, SlipData, SlipKind};
use crate::state::AppState;
use crate::tenancy::{CurrentTenant, Tenant};
use chrono::NaiveDate;

/// Which slips a dossier has now: the receipt once received, the completion request once
/// asked, the refusal once refused, the apology once its appointment moved, and always the
/// processing-control record.
pub fn available(d: &DossierDetail) -> Vec<SlipKind> {
    SlipKind::ALL
        .into_iter()
        .filter(|k| match k {
            SlipKind::Receipt => d.summary.received_at.is_some(),
            SlipKind::CompletionRequest => last_to(d, Status::Incomplete).is_some(),
            SlipKind::Refusal => d.summary.status == Status::Refused,
            SlipKind::Apology => last_extension(d).is_some(),
            SlipKind::ProcessingRecord => true,
            SlipKind::Result => false,
        })
        .collect()
}

/// A slip kind as the API and the pages name it: the portal's slug or the API's snake case.
pub fn parse_kind(s: &str) -> Option<SlipKind> {
    SlipKind::from_slug(s).or(match s {
        "receipt" => Some(SlipKind::Receipt),
        "completion_request" => Some(SlipKind::CompletionRequest),
        "refusal" => Some(SlipKind::Refusal),
        "apology" => Some(SlipKind::Apology),
        "processing_record" => Some(SlipKind::ProcessingRecord),
        _ => None,
    })
}

fn last_to(d: &DossierDetail, status: Status) -> Option<&EventView> {
    d.events
        .iter()
        .rev()
        .find(|e| e.to_status == status && e.from_status != Some(status))
}

fn last_extension(d: &DossierDetail) -> Option<(&EventView, NaiveDate, NaiveDate)> {
    d.events.iter().rev().find_map(|e| {
        let ext = e.details.get("extended")?;
        let day = |k: &str| ext.get(k)?.as_str()?.parse::<NaiveDate>().ok();
        Some((e, day("from")?, day("to")?))
    })
}

pub(crate) fn agency(state: &AppState, t: &Tenant, locale: Locale) -> Agency {
    let name = |t: &Tenant| match (locale, &t.name_en) {
        (Locale::En, Some(en)) => en.clone(),
        _ => t.name_vi.clone(),
    };
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    let contact = t.branding.get("contact");
    Agency {
        name: name(t),
        parent_name: t
            .parent_id
            .and_then(|p| state.registry.by_id(p))
            .map(|p| name(&p)),
        agency_id: t.agency_id.as_ref().map(|a| a.as_str().to_owned()),
        address: text(contact.and_then(|c| c.get("address"))),
        phone: text(contact.and_then(|c| c.get("phone"))),
        primary_color: text(t.branding.get("primary_color")).unwrap_or_default(),
    }
}

fn role_label(role: &str, locale: Locale) -> &'static str {
    match (role, locale) {
        ("applicant", Locale::Vi) => "Người nộp",
        ("applicant", Locale::En) => "Applicant",
        ("officer", Locale::Vi) => "Cán bộ",
        ("officer", Locale::En) => "Officer",
        ("leader", Locale::Vi) => "Lãnh đạo",
        ("leader", Locale::En) => "Leader",
        ("agency", Locale::Vi) => "Cơ quan liên thông",
        ("agency", Locale::En) => "Another agency",
        (_, Locale::Vi) => "Hệ thống",
        (_, Locale::En) => "System",
    }
}

/// What each event was, as the record's step column says it.
fn step_of(e: &EventView, locale: Locale) -> String {
    let text = |k: &str| e.details.get(k).and_then(|v| v.as_str());
    // A hand-over inside a declared process names the steps and units.
    if let Some(step) = text("step") {
        let vi = locale == Locale::Vi;
        return match (text("to_step"), text("opinion_from"), text("opinion_of")) {
            (Some(to), _, _) => format!("{step} → {to}"),
            (_, Some(unit), _) if vi => format!("{step}: xin ý kiến {unit}"),
            (_, Some(unit), _) => format!("{step}: opinion asked of {unit}"),
            (_, _, Some(unit)) if vi => format!("{step}: ý kiến của {unit}"),
            (_, _, Some(unit)) => format!("{step}: opinion of {unit}"),
            _ if vi => format!("{step}: {}", e.to_status.label_vi()),
            _ => format!("{step}: {}", e.to_status.label_en()),
        };
    }
    let same = e.from_status == Some(e.to_status);
    match (same, locale) {
        (true, Locale::Vi) if e.details.get("extended").is_some() => {
            "Hẹn lại ngày trả kết quả".into()
        }
        (true, Locale::En) if e.details.get("extended").is_some() => "New appointment".into(),
        (true, Locale::Vi) => "Phân công xử lý".into(),
        (true, Locale::En) => "Assigned".into(),
        (false, Locale::Vi) => e.to_status.label_vi().into(),
        (false, Locale::En) => e.to_status.label_en().into(),
    }
}

/// Each event held the dossier until the next one: the processing-control record. The steps
/// another agency took while it held the dossier (liên thông) are rows of their own, named by
/// that agency.
fn record(d: &DossierDetail, locale: Locale) -> Vec<RecordRow> {
    let mut rows: Vec<RecordRow> = d
        .events
        .iter()
        .map(|e| RecordRow {
            step: step_of(e, locale),
            actor: match &e.actor_name {
                Some(name) => format!("{name} — {}", role_label(&e.actor_role, locale)),
                None => role_label(&e.actor_role, locale).to_owned(),
            },
            from: e.at,
            until: None,
            note: e.note.clone(),
        })
        .collect();
    for t in &d.transfers {
        let agency = match locale {
            Locale::En => t.to_name_en.as_deref().unwrap_or(&t.to_name_vi),
            Locale::Vi => &t.to_name_vi,
        };
        for m in &t.progress {
            let status = match locale {
                Locale::En => m.status.label_en(),
                Locale::Vi => m.status.label_vi(),
            };
            let step = match (locale, &m.step_vi, &m.step_en) {
                (Locale::En, _, Some(en)) => Some(en.as_str()),
                (_, vi, _) => vi.as_deref(),
            };
            rows.push(RecordRow {
                step: step.map_or_else(|| status.to_owned(), |s| format!("{status} — {s}")),
                actor: agency.to_owned(),
                from: m.at,
                until: None,
                note: None,
            });
        }
    }
    // Stable: an event and a step of the other agency at the same instant keep their order.
    rows.sort_by_key(|r| r.from);
    let starts: Vec<_> = rows.iter().map(|r| r.from).collect();
    for (i, r) in rows.iter_mut().enumerate() {
        r.until = starts.get(i + 1).copied();
    }
    rows
}

fn documents(d: &DossierDetail, p: Option<&Procedure>, locale: Locale) -> Vec<DocumentLine> {
    let name_of = |i: Option<i32>| {
        let doc = i
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| p?.documents.get(i));
        match (doc, locale) {
            (Some(doc), Locale::En) => doc.name_en.clone().unwrap_or_else(|| doc.name.clone()),
            (Some(doc), Locale::Vi) => doc.name.clone(),
            (None, Locale::Vi) => "Giấy tờ khác".into(),
            (None, Locale::En) => "Other documents".into(),
        }
    };
    let mut lines: Vec<(Option<i32>, DocumentLine)> = Vec::new();
    for a in &d.attachments {
        match lines.iter_mut().find(|(i, _)| *i == a.document_index) {
            Some((_, line)) => line.files += 1,
            None => lines.push((
                a.document_index,
                DocumentLine {
                    name: name_of(a.document_index),
                    files: 1,
                },
            )),
        }
    }
    lines.into_iter().map(|(_, l)| l).collect()
}

fn pickup(agency: &Agency, p: Option<&Procedure>, locale: Locale) -> String {
    let desk = match (locale, &agency.address) {
        (Locale::Vi, Some(a)) => format!("Bộ phận một cửa — {a}"),
        (Locale::En, Some(a)) => format!("The one-stop desk — {a}"),
        (Locale::Vi, None) => "Bộ phận một cửa".into(),
        (Locale::En, None) => "The one-stop desk".into(),
    };
    match (p.map(|p| p.online_level), locale) {
        (Some(OnlineLevel::Full), Locale::Vi) => {
            format!("Trực tuyến trên Cổng dịch vụ công, hoặc tại {desk}")
        }
        (Some(OnlineLevel::Full), Locale::En) => {
            format!("Online on the public services portal, or at {desk}")
        }
        _ => desk,
    }
}

/// The public lookup of a dossier on its tenant's portal (the QR code on every slip).
pub fn lookup_url(state: &AppState, tenant: &CurrentTenant, code: &str) -> String {
    let server = &state.settings.server;
    format!(
        "{}/tra-cuu?ma={code}",
        tenant
            .tenant
            .portal_origin(&server.base_domain, &server.public_origin)
    )
}

/// The slip `kind` of a dossier the caller may see (its applicant or the tenant's officials);
/// "not found" for a slip the dossier does not have yet.
pub async fn slip(
    state: &AppState,
    principal: &Principal,
    code: DossierCode,
    kind: SlipKind,
    locale: Locale,
) -> Result<SlipData, AppError> {
    let tenant = principal.tenant.clone();
    let scope = scope(state, &tenant);
    let who = caller(principal);
    let now = state.now();
    let d = tenant
        .db
        .run(move |conn| Ok(store::detail(conn, &scope, &code, &who, now)?))
        .await?;
    if !available(&d).contains(&kind) {
        return Err(AppError::NotFound { what: "slip" });
    }
    let catalog = crate::app::procedures::cached_catalog(state, &tenant).await?;
    let procedure = catalog
        .procedures()
        .iter()
        .find(|p| p.code == d.summary.procedure_code);
    let agency = agency(state, &tenant.tenant, locale);
    let procedure_name = match (procedure, locale) {
        (Some(p), Locale::En) => p.name_en.clone().unwrap_or_else(|| p.name.clone()),
        _ => d.summary.procedure_name.clone(),
    };
    let mut slip = SlipData {
        kind,
        locale,
        pickup: pickup(&agency, procedure, locale),
        agency,
        dossier_code: d.summary.code.clone(),
        procedure_name,
        channel_label: match locale {
            Locale::Vi => d.channel.label_vi(),
            Locale::En => d.channel.label_en(),
        }
        .to_owned(),
        applicant_name: d.applicant_name.clone(),
        applicant_id_number: d.applicant_id_number.clone(),
        applicant_phone: d.applicant_phone.clone(),
        applicant_email: d.applicant_email.clone(),
        issued_at: now,
        officer_name: None,
        received_at: d.summary.received_at,
        due_date: d.summary.due_date,
        documents: documents(&d, procedure, locale),
        missing: vec![],
        note: None,
        reason: None,
        old_due_date: None,
        new_due_date: None,
        record: vec![],
        lookup_url: lookup_url(state, &tenant, &d.summary.code),
        result_number: None,
        answers: vec![],
    };
    // Each slip is dated and signed by the event it records.
    let event = match kind {
        SlipKind::Receipt => last_to(&d, Status::Received),
        SlipKind::CompletionRequest => last_to(&d, Status::Incomplete),
        SlipKind::Refusal => last_to(&d, Status::Refused),
        SlipKind::Apology => last_extension(&d).map(|(e, from, to)| {
            slip.old_due_date = Some(from);
            slip.new_due_date = Some(to);
            e
        }),
        SlipKind::ProcessingRecord => {
            slip.record = record(&d, locale);
            None
        }
        SlipKind::Result => None,
    };
    if let Some(e) = event {
        slip.issued_at = e.at;
        slip.officer_name.clone_from(&e.actor_name);
        match kind {
            SlipKind::CompletionRequest => {
                slip.missing = e
                    .details
                    .get("missing")
                    .and_then(|m| serde_json::from_value(m.clone()).ok())
                    .unwrap_or_default();
                slip.note.clone_from(&e.note);
            }
            SlipKind::Refusal | SlipKind::Apology => slip.reason.clone_from(&e.note),
            _ => {}
        }
    }
    Ok(slip)
}
