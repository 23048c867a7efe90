//! The tenant admin's page for units and processes (`/quan-tri/quy-trinh`): create or rename
//! units, put officials in them, and declare each procedure's process step by step in a plain
//! form (no JavaScript, no JSON). Every change goes through the same use case as its API.

use super::session::Visitor;
use crate::app::{catalog_admin, members, units};
use crate::auth::roles::Role;
use crate::error::{AppError, FieldError};
use crate::services::processes::{Budget, Process, Step, StepAction, StepRole, UnitCode};
use crate::tenancy::TenantSlug;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Deserialize;
use std::collections::HashMap;

/// Empty rows offered below the declared steps, to add more without JavaScript.
const BLANK_ROWS: usize = 2;

fn admin(v: &Visitor) -> Result<(), AppError> {
    if v.has(Role::TenantAdmin) {
        Ok(())
    } else {
        Err(v.user().err().unwrap_or(AppError::Forbidden))
    }
}

#[derive(Deserialize)]
pub struct Notice {
    ok: Option<String>,
}

/// `GET /quan-tri/quy-trinh`: units with their members, and the procedures' processes.
pub async fn page(v: Visitor, q: web::Query<Notice>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        let notice =
            q.ok.as_deref()
                .filter(|k| ["unit", "member", "removed", "process"].contains(k))
                .map(|k| v.t(&format!("units.done_{k}")));
        overview(&v, notice, vec![], StatusCode::OK).await
    }
    .await;
    v.respond(result)
}

async fn overview(
    v: &Visitor,
    notice: Option<String>,
    errors: Vec<minijinja::Value>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let user = v.user()?;
    let names: HashMap<uuid::Uuid, (String, String)> = members::members_of(&v.state, user)
        .await?
        .into_iter()
        .map(|m| (m.account, (m.name, m.email)))
        .collect();
    let list = units::list(user).await?;
    let unit_rows: Vec<_> = list
        .iter()
        .map(|u| {
            let members: Vec<_> = u
                .members
                .iter()
                .map(|m| {
                    let (name, email) = names.get(&m.account).cloned().unwrap_or_default();
                    context! { name, email, role => m.role.clone() }
                })
                .collect();
            context! { code => u.code.clone(), name_vi => u.name_vi.clone(),
            name_en => u.name_en.clone(), members }
        })
        .collect();
    let catalog = crate::app::procedures::cached_catalog(&v.state, &v.tenant).await?;
    let procedures: Vec<_> = catalog
        .procedures()
        .iter()
        .map(|p| {
            context! { code => p.code.clone(), name => p.name.clone(),
            steps => p.process.as_ref().map(|x| x.steps.len()) }
        })
        .collect();
    Ok(v.page_with(
        status,
        "admin_processes.html",
        context! { nav => "admin", notice, errors, units => unit_rows, procedures },
    ))
}

fn messages(v: &Visitor, errors: &[FieldError]) -> Vec<minijinja::Value> {
    errors
        .iter()
        .map(|e| context! { message => super::citizen::message(e, v.locale) })
        .collect()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UnitForm {
    csrf: String,
    code: String,
    name_vi: String,
    name_en: String,
}

/// `POST /quan-tri/don-vi`: create or rename a unit.
pub async fn save_unit(v: Visitor, form: web::Form<UnitForm>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        v.check_csrf(&form.csrf)?;
        let body = units::UnitBody {
            code: form.code.clone(),
            name_vi: form.name_vi.clone(),
            name_en: Some(form.name_en.clone()),
        };
        match units::save_unit(v.user()?, body).await {
            Ok(_) => Ok(v.redirect("/quan-tri/quy-trinh?ok=unit")),
            Err(AppError::Invalid { errors }) => {
                let m = messages(&v, &errors);
                overview(&v, None, m, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UnitMemberForm {
    csrf: String,
    unit: String,
    email: String,
    role: String,
    remove: Option<String>,
}

/// `POST /quan-tri/don-vi/thanh-vien`: put an official in a unit, or take them out.
pub async fn member(v: Visitor, form: web::Form<UnitMemberForm>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        v.check_csrf(&form.csrf)?;
        let body = units::UnitMemberBody {
            email: form.email.clone(),
            role: form.role.clone(),
        };
        let done = if form.remove.is_some() {
            units::remove(&v.state, v.user()?, &form.unit, body)
                .await
                .map(|()| "removed")
        } else {
            units::add(&v.state, v.user()?, &form.unit, body)
                .await
                .map(|_| "member")
        };
        match done {
            Ok(k) => Ok(v.redirect(&format!("/quan-tri/quy-trinh?ok={k}"))),
            Err(AppError::Invalid { errors }) => {
                let m = messages(&v, &errors);
                overview(&v, None, m, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e @ (AppError::BadRequest { .. } | AppError::NotFound { .. })) => {
                let m = vec![context! { message => e.to_string() }];
                overview(&v, None, m, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => Err(e),
        }
    }
    .await;
    v.respond(result)
}

/// One row of the step form, as shown and as submitted.
#[derive(Debug, Clone, Default, serde::Serialize)]
struct Row {
    code: String,
    name_vi: String,
    name_en: String,
    unit: String,
    role: String,
    actions: Vec<&'static str>,
    amount: String,
    /// `days` or `hours`.
    per: String,
    transfer_to: String,
}

impl Row {
    fn of(s: &Step) -> Self {
        let (amount, per) = match s.budget {
            Budget::Days(d) => (d, "days"),
            Budget::Hours(h) => (h, "hours"),
        };
        Self {
            code: s.code.clone(),
            name_vi: s.name_vi.clone(),
            name_en: s.name_en.clone().unwrap_or_default(),
            unit: s.unit.to_string(),
            role: s.role.as_str().into(),
            actions: s.actions.iter().map(|a| a.as_str()).collect(),
            amount: amount.to_string(),
            per: per.into(),
            transfer_to: s
                .transfer_to
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }
    }

    fn blank() -> Self {
        Self {
            role: "officer".into(),
            per: "days".into(),
            ..Self::default()
        }
    }

    fn is_blank(&self) -> bool {
        self.code.trim().is_empty() && self.name_vi.trim().is_empty()
    }
}

/// Rows out of the submitted form (`s{i}_code`, `s{i}_action_forward`, …), in the order of
/// their `s{i}_order` numbers; blank rows dropped.
fn rows_of(form: &HashMap<String, String>) -> Vec<Row> {
    let field = |i: usize, k: &str| form.get(&format!("s{i}_{k}")).cloned().unwrap_or_default();
    let mut rows: Vec<(i64, usize, Row)> = (0..40)
        .filter(|i| form.contains_key(&format!("s{i}_code")))
        .map(|i| {
            let row = Row {
                code: field(i, "code").trim().to_owned(),
                name_vi: field(i, "name_vi").trim().to_owned(),
                name_en: field(i, "name_en").trim().to_owned(),
                unit: field(i, "unit"),
                role: field(i, "role"),
                actions: StepAction::ALL
                    .iter()
                    .map(|a| a.as_str())
                    .filter(|a| form.contains_key(&format!("s{i}_action_{a}")))
                    .collect(),
                amount: field(i, "amount").trim().to_owned(),
                per: field(i, "per"),
                transfer_to: field(i, "transfer_to").trim().to_owned(),
            };
            let order = field(i, "order").trim().parse().unwrap_or(i as i64 + 1);
            (order, i, row)
        })
        .filter(|(_, _, r)| !r.is_blank())
        .collect();
    rows.sort_by_key(|(order, i, _)| (*order, *i));
    rows.into_iter().map(|(_, _, r)| r).collect()
}

/// The process the rows describe, or one message per row that does not read.
fn process_of(rows: &[Row]) -> Result<Process, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let mut steps = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let n = i + 1;
        let unit = UnitCode::parse(&r.unit);
        let role = StepRole::parse(&r.role);
        let amount: Option<u16> = r.amount.parse().ok().filter(|a| *a > 0);
        let transfer_to = match r.transfer_to.as_str() {
            "" => Ok(None),
            t => TenantSlug::parse(t).map(Some),
        };
        let bad_code = r.code.is_empty()
            || r.code.len() > 40
            || !r
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if bad_code {
            errors.push((
                format!("Bước {n}: mã bước gồm a–z, 0–9 và dấu gạch nối"),
                format!("Step {n}: the code is a–z, 0–9 and hyphens"),
            ));
        }
        if r.name_vi.is_empty() || r.name_vi.chars().count() > 200 {
            errors.push((
                format!("Bước {n}: tên bước là bắt buộc"),
                format!("Step {n}: a name is required"),
            ));
        }
        if amount.is_none() {
            errors.push((
                format!("Bước {n}: thời gian là một số nguyên dương"),
                format!("Step {n}: the time is a positive whole number"),
            ));
        }
        let (Ok(unit), Some(role), Some(amount), Ok(transfer_to)) =
            (unit, role, amount, transfer_to)
        else {
            errors.push((
                format!("Bước {n}: chọn đơn vị, vai trò và cơ quan nhận hợp lệ"),
                format!("Step {n}: choose a valid unit, role and receiving tenant"),
            ));
            continue;
        };
        steps.push(Step {
            code: r.code.clone(),
            name_vi: r.name_vi.clone(),
            name_en: (!r.name_en.is_empty()).then(|| r.name_en.clone()),
            unit,
            role,
            actions: StepAction::ALL
                .into_iter()
                .filter(|a| r.actions.contains(&a.as_str()))
                .collect(),
            budget: if r.per == "hours" {
                Budget::Hours(amount)
            } else {
                Budget::Days(amount)
            },
            transfer_to,
        });
    }
    if errors.is_empty() {
        Ok(Process { steps })
    } else {
        Err(errors)
    }
}

/// `GET /quan-tri/quy-trinh/{code}`: the procedure's steps in a form.
pub async fn editor(v: Visitor, path: web::Path<String>) -> HttpResponse {
    let result = async {
        admin(&v)?;
        let catalog = crate::app::procedures::cached_catalog(&v.state, &v.tenant).await?;
        let p = catalog
            .procedures()
            .iter()
            .find(|p| p.code.as_str() == path.as_str())
            .ok_or(AppError::NotFound { what: "procedure" })?;
        let rows: Vec<Row> = p
            .process
            .iter()
            .flat_map(|x| x.steps.iter().map(Row::of))
            .collect();
        editor_page(&v, &path, rows, vec![], StatusCode::OK).await
    }
    .await;
    v.respond(result)
}

async fn editor_page(
    v: &Visitor,
    code: &str,
    mut rows: Vec<Row>,
    errors: Vec<minijinja::Value>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let catalog = crate::app::procedures::cached_catalog(&v.state, &v.tenant).await?;
    let p = catalog
        .procedures()
        .iter()
        .find(|p| p.code.as_str() == code)
        .ok_or(AppError::NotFound { what: "procedure" })?;
    let units: Vec<_> = units::list(v.user()?)
        .await?
        .into_iter()
        .map(|u| (u.code, u.name_vi))
        .collect();
    let declared = p.process.is_some();
    rows.extend(std::iter::repeat_n(Row::blank(), BLANK_ROWS));
    Ok(v.page_with(
        status,
        "admin_process.html",
        context! {
            nav => "admin", errors, units, declared,
            code => p.code.clone(), name => p.name.clone(), days => p.processing_days,
            rows => minijinja::Value::from_serialize(&rows),
            actions => StepAction::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        },
    ))
}

/// `POST /quan-tri/quy-trinh/{code}`: save the steps (or, with `clear`, the fixed path).
pub async fn save_process(
    v: Visitor,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let result = async {
        admin(&v)?;
        v.check_csrf(form.get("csrf").map_or("", String::as_str))?;
        let rows = rows_of(&form);
        let process = if form.contains_key("clear") {
            Ok(None)
        } else {
            process_of(&rows).map(Some)
        };
        let refused = match process {
            Ok(process) => {
                match catalog_admin::set_process(&v.state, v.user()?, &path, process).await {
                    Ok(()) => return Ok(v.redirect("/quan-tri/quy-trinh?ok=process")),
                    Err(AppError::Invalid { errors }) => messages(&v, &errors),
                    Err(e) => return Err(e),
                }
            }
            Err(errors) => errors
                .into_iter()
                .map(|(vi, en)| context! { message => if v.locale == crate::locale::Locale::En { en } else { vi } })
                .collect(),
        };
        editor_page(&v, &path, rows, refused, StatusCode::UNPROCESSABLE_ENTITY).await
    }
    .await;
    v.respond(result)
}
