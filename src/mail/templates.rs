//! Mail templates: every message as text and HTML, in Vietnamese and English, carrying the
//! tenant's name, colours and contact.
//!
//! A message template (`templates/mail/{key}.{locale}.txt`) defines three blocks: `subject`,
//! `body` (plain text, paragraphs separated by blank lines) and `action` (the label of the
//! button leading to `link`, when the payload has one). The text part is the body as written;
//! the HTML part is the body placed into `templates/mail/layout.html`, which HTML-escapes every
//! value, so a name holding markup stays text in both. A tenant may override any block per
//! template and language in its tenant file.

use crate::locale::Locale;
use minijinja::{Environment, UndefinedBehavior, Value, context};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Every message the platform sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKey {
    AccountVerification,
    PasswordReset,
    NewDeviceSignIn,
    RoleGranted,
    DossierReceived,
    SupplementRequested,
    ResultReady,
    PaymentDue,
    PaymentReceipt,
    OfficerDigest,
    TenantInvitation,
    CompletionRequested,
    DossierRefused,
    DossierDelayed,
    DossierTransferred,
    TemplateChanged,
    ComplaintCode,
    ComplaintAnswered,
    Test,
}

impl TemplateKey {
    pub const ALL: [TemplateKey; 19] = [
        Self::AccountVerification,
        Self::PasswordReset,
        Self::NewDeviceSignIn,
        Self::RoleGranted,
        Self::DossierReceived,
        Self::SupplementRequested,
        Self::ResultReady,
        Self::PaymentDue,
        Self::PaymentReceipt,
        Self::OfficerDigest,
        Self::TenantInvitation,
        Self::CompletionRequested,
        Self::DossierRefused,
        Self::DossierDelayed,
        Self::DossierTransferred,
        Self::TemplateChanged,
        Self::ComplaintCode,
        Self::ComplaintAnswered,
        Self::Test,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountVerification => "account_verification",
            Self::PasswordReset => "password_reset",
            Self::NewDeviceSignIn => "new_device_sign_in",
            Self::RoleGranted => "role_granted",
            Self::DossierReceived => "dossier_received",
            Self::SupplementRequested => "supplement_requested",
            Self::ResultReady => "result_ready",
            Self::PaymentDue => "payment_due",
            Self::PaymentReceipt => "payment_receipt",
            Self::OfficerDigest => "officer_digest",
            Self::TenantInvitation => "tenant_invitation",
            Self::CompletionRequested => "completion_requested",
            Self::DossierRefused => "dossier_refused",
            Self::DossierDelayed => "dossier_delayed",
            Self::DossierTransferred => "dossier_transferred",
            Self::TemplateChanged => "template_changed",
            Self::ComplaintCode => "complaint_code",
            Self::ComplaintAnswered => "complaint_answered",
            Self::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The blocks of one message, as a tenant may override them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

/// A tenant's overrides: template key → language → blocks.
pub type TenantOverrides = HashMap<String, HashMap<String, TemplateOverride>>;

/// What the templates know about the sending tenant.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Brand {
    /// Name in the message's language (Vietnamese when no English name).
    pub name: String,
    pub primary_color: String,
    pub accent_color: String,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub address: Option<String>,
}

impl Brand {
    pub fn platform(locale: Locale) -> Self {
        Self {
            name: match locale {
                Locale::Vi => "Cổng Dịch vụ công trực tuyến".into(),
                Locale::En => "Online Public Services Portal".into(),
            },
            ..Self::default()
        }
        .with_default_colors()
    }

    pub fn with_default_colors(mut self) -> Self {
        if self.primary_color.is_empty() {
            self.primary_color = "#a31d24".into();
        }
        if self.accent_color.is_empty() {
            self.accent_color = "#f2c230".into();
        }
        self
    }
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {0}: {1}")]
    Template(String, #[source] minijinja::Error),
    #[error("payload must be a JSON object")]
    Payload,
}

macro_rules! message_templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/mail/", $name)))),*]
    };
}

const MESSAGES: &[(&str, &str)] = message_templates!(
    "account_verification.vi.txt",
    "account_verification.en.txt",
    "password_reset.vi.txt",
    "password_reset.en.txt",
    "new_device_sign_in.vi.txt",
    "new_device_sign_in.en.txt",
    "role_granted.vi.txt",
    "role_granted.en.txt",
    "dossier_received.vi.txt",
    "dossier_received.en.txt",
    "supplement_requested.vi.txt",
    "supplement_requested.en.txt",
    "result_ready.vi.txt",
    "result_ready.en.txt",
    "payment_due.vi.txt",
    "payment_due.en.txt",
    "payment_receipt.vi.txt",
    "payment_receipt.en.txt",
    "officer_digest.vi.txt",
    "officer_digest.en.txt",
    "tenant_invitation.vi.txt",
    "tenant_invitation.en.txt",
    "completion_requested.vi.txt",
    "completion_requested.en.txt",
    "dossier_refused.vi.txt",
    "dossier_refused.en.txt",
    "dossier_delayed.vi.txt",
    "dossier_delayed.en.txt",
    "dossier_transferred.vi.txt",
    "dossier_transferred.en.txt",
    "template_changed.vi.txt",
    "template_changed.en.txt",
    "complaint_code.vi.txt",
    "complaint_code.en.txt",
    "complaint_answered.vi.txt",
    "complaint_answered.en.txt",
    "test.vi.txt",
    "test.en.txt",
);

const LAYOUT: &str = include_str!("../../templates/mail/layout.html");

pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    pub fn new() -> Self {
        let mut env = Environment::new();
        // A payload missing a value the template uses is an error, never an empty hole.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in MESSAGES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("built-in template {name}: {e}"));
        }
        // `.html` turns on HTML auto-escaping for the layout.
        env.add_template("layout.html", LAYOUT)
            .unwrap_or_else(|e| panic!("built-in layout: {e}"));
        Self { env }
    }

    /// Renders `key` in `locale` for `brand` with the payload's values; a tenant override
    /// replaces the built-in blocks it names.
    pub fn render(
        &self,
        key: TemplateKey,
        locale: Locale,
        brand: &Brand,
        payload: &serde_json::Value,
        overrides: Option<&TemplateOverride>,
    ) -> Result<Rendered, RenderError> {
        let payload = lift_secrets(payload)?;
        let payload = &payload;
        let name = format!("{}.{}.txt", key.as_str(), locale.as_str());
        let ctx = context! { tenant => brand, locale => locale.as_str(), ..Value::from_serialize(payload) };
        let err = |e| RenderError::Template(name.clone(), e);
        let template = self.env.get_template(&name).map_err(err)?;
        let mut captured = template.render_captured(&ctx).map_err(err)?;
        let mut block = |block: &str, custom: Option<&String>| match custom {
            Some(source) => self
                .env
                .render_str(source, &ctx)
                .map_err(|e| RenderError::Template(format!("{name} (override of {block})"), e)),
            None => captured
                .with_state_mut(|state| state.render_block(block))
                .map_err(err),
        };
        let o = overrides.cloned().unwrap_or_default();
        let subject = one_line(&block("subject", o.subject.as_ref())?);
        let body = tidy(&block("body", o.body.as_ref())?);
        let action = one_line(&block("action", o.action.as_ref())?);
        let link = payload.get("link").and_then(|l| l.as_str()).unwrap_or("");
        let paragraphs: Vec<Vec<&str>> = body.split("\n\n").map(|p| p.lines().collect()).collect();
        let footer = match locale {
            Locale::Vi => format!(
                "Thư này được gửi tự động từ {}. Vui lòng không trả lời thư này.",
                brand.name
            ),
            Locale::En => format!(
                "This message was sent automatically by {}. Please do not reply.",
                brand.name
            ),
        };
        let mut text = body.clone();
        if !link.is_empty() && !action.is_empty() {
            text.push_str(&format!("\n\n{action}: {link}"));
        }
        text.push_str(&format!("\n\n-- \n{footer}\n"));
        let html = self
            .env
            .get_template("layout.html")
            .and_then(|t| {
                t.render(context! {
                    tenant => brand,
                    lang => locale.as_str(),
                    subject => &subject,
                    paragraphs => paragraphs,
                    action => &action,
                    link => link,
                    footer => &footer,
                })
            })
            .map_err(|e| RenderError::Template("layout.html".into(), e))?;
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }

    /// Checks that an override compiles (used when a tenant file is applied).
    pub fn check_override(&self, o: &TemplateOverride) -> Result<(), minijinja::Error> {
        for source in [&o.subject, &o.body, &o.action].into_iter().flatten() {
            self.env.template_from_str(source)?;
        }
        Ok(())
    }
}

/// Values under `"secret"` (wiped from the outbox once sent) are used like any other value.
fn lift_secrets(payload: &serde_json::Value) -> Result<serde_json::Value, RenderError> {
    let mut map = payload.as_object().cloned().ok_or(RenderError::Payload)?;
    if let Some(serde_json::Value::Object(secret)) = map.remove("secret") {
        map.extend(secret);
    }
    Ok(serde_json::Value::Object(map))
}

/// Header-safe: control characters (CR, LF…) become spaces, runs of spaces collapse.
pub fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Trims each line and the whole, and keeps at most one blank line between paragraphs.
fn tidy(s: &str) -> String {
    let mut out = Vec::new();
    let mut blank = false;
    for line in s.lines().map(str::trim) {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push("");
            blank = false;
        }
        out.push(line);
    }
    out.join("\n")
}
