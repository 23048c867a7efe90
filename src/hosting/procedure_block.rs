//! A procedure written back as its tenant-file block (`[[procedures]]` in TOML), for tenants
//! that keep their files as the source of truth: what the designer or an import made can be
//! pasted into the file, and applying that file then changes nothing. The form keeps its
//! field order (TOML tables here preserve it).

use crate::services::catalog::Procedure;
use serde_json::{Map, Value, json};

/// JSON to TOML: the shapes here have no nulls (optional members are left out before).
fn toml_of(v: &Value) -> Option<toml::Value> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64()?),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(a) => toml::Value::Array(a.iter().filter_map(toml_of).collect()),
        Value::Object(m) => toml::Value::Table(
            m.iter()
                .filter_map(|(k, v)| toml_of(v).map(|v| (k.clone(), v)))
                .collect(),
        ),
    })
}

/// The process in the file's shape: each step's names as `name = { vi, en }`.
fn process_json(p: &Procedure) -> Option<Value> {
    let process = serde_json::to_value(p.process.as_ref()?).ok()?;
    let steps: Vec<Value> = process["steps"]
        .as_array()?
        .iter()
        .map(|s| {
            let mut step = s.as_object().cloned().unwrap_or_default();
            let vi = step.remove("name_vi").unwrap_or(Value::Null);
            let en = step.remove("name_en").unwrap_or(Value::Null);
            let mut name = Map::new();
            name.insert("vi".into(), vi);
            if !en.is_null() {
                name.insert("en".into(), en);
            }
            let mut out = Map::new();
            out.insert("code".into(), step.remove("code").unwrap_or(Value::Null));
            out.insert("name".into(), Value::Object(name));
            out.extend(step);
            Value::Object(out)
        })
        .collect();
    Some(json!({ "steps": steps }))
}

/// The `[[procedures]]` block of `p`, `active` as stored.
pub fn to_toml(p: &Procedure, active: bool) -> String {
    let mut m = Map::new();
    m.insert("code".into(), json!(p.code));
    m.insert("field".into(), json!(p.field.code));
    let mut name = Map::new();
    name.insert("vi".into(), json!(p.name));
    if let Some(en) = &p.name_en {
        name.insert("en".into(), json!(en));
    }
    m.insert("name".into(), Value::Object(name));
    m.insert("online_level".into(), json!(p.online_level.as_str()));
    m.insert("processing_days".into(), json!(p.processing_days));
    m.insert("fee_vnd".into(), json!(p.fee_vnd));
    m.insert("active".into(), json!(active));
    m.insert("decide_role".into(), json!(p.decide_role.as_str()));
    m.insert(
        "pay_before_processing".into(),
        json!(p.pay_before_processing),
    );
    if p.template {
        m.insert("template".into(), json!(true));
    }
    if !p.details.legal_basis.is_empty() {
        m.insert("legal_basis".into(), json!(p.details.legal_basis));
    }
    if let Some(c) = &p.details.conditions {
        m.insert("conditions".into(), json!(c));
    }
    if !p.details.form_templates.is_empty() {
        m.insert("form_templates".into(), json!(p.details.form_templates));
    }
    if p.fee_rule != crate::services::payments::FeeRule::default() {
        m.insert("fee_rule".into(), json!(p.fee_rule));
    }
    // A tenant's own documents: in a file, an adopted procedure's local ones sit under
    // `[[inherit]]`, so they are written as plain documents here.
    let documents: Vec<Value> = p
        .documents
        .iter()
        .map(|d| {
            let mut v = json!(d);
            if let Some(o) = v.as_object_mut() {
                o.remove("local");
            }
            v
        })
        .collect();
    m.insert("documents".into(), Value::Array(documents));
    if let Some(process) = process_json(p) {
        m.insert("process".into(), process);
    }
    if p.form_schema.as_object().is_some_and(|o| !o.is_empty()) {
        m.insert("form_schema".into(), p.form_schema.clone());
    }
    let block = json!({ "procedures": [Value::Object(m)] });
    let table = toml_of(&block).unwrap_or(toml::Value::Table(toml::Table::new()));
    toml::to_string(&table).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_block_reads_back_as_the_same_procedure() {
        use crate::services::catalog::design::Design;
        use crate::services::forms::builder::{FieldKind, FormField, parse_choices};
        let mut d = Design::blank("Cấp phép thử", "viec-lam");
        let mut pick = FormField::new("hinh_thuc", FieldKind::Choice, "Hình thức");
        pick.choices = parse_choices("Toàn thời gian\nBán thời gian");
        d.add_field(None, FormField::new("ten", FieldKind::Text, "Tên"));
        d.add_field(None, pick);
        let p = d.as_procedure(
            "1.000001",
            crate::services::catalog::FieldRef {
                code: "viec-lam".into(),
                name: "Việc làm".into(),
                name_en: None,
            },
        );
        let block = super::to_toml(&p, true);
        assert!(block.starts_with("[[procedures]]"), "{block}");
        let file = format!(
            "slug = \"thu\"\ncode = \"THU\"\nkind = \"province\"\nname = {{ vi = \"Thử\" }}\n\
             [[fields]]\ncode = \"viec-lam\"\nname = {{ vi = \"Việc làm\" }}\n{block}"
        );
        let parsed = crate::hosting::files::parse(std::path::Path::new("thu.toml"), &file)
            .expect("the block is a valid tenant file part");
        let spec = parsed.spec.procedures[0].get_ref();
        assert!(crate::hosting::plan::diff_procedure(&p, spec).is_empty());
        let names: Vec<String> = spec.form_schema_json().unwrap()["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(names, ["ten", "hinh_thuc"], "the field order survives");
    }
}
