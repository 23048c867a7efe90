//! Telling an applicant: one notice, sent on each channel the person wants and can be reached
//! on — e-mail, SMS, Zalo — as outbox rows in the transaction of the change that owes it.
//!
//! An account chooses its channels ([`Preferences`]); an applicant without an account (a
//! dossier taken at the one-stop desk) gets e-mail if one was given and texts to the phone.

use crate::db::schema::notification_preferences as np;
use crate::locale::Locale;
use crate::mail::outbox::NewMail;
use crate::mail::{Email, TemplateKey};
use crate::texts::outbox::NewText;
use crate::texts::templates::TextRenderer;
use crate::texts::{Channel, MobileNumber};
use diesel::prelude::*;
use uuid::Uuid;

/// Which text channels this deployment sends (from `[texts]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TextPolicy {
    pub sms: bool,
    /// Messages that have a registered Zalo template.
    pub zalo: Vec<TemplateKey>,
}

impl TextPolicy {
    pub fn from_settings(t: &crate::config::TextSettings) -> Self {
        Self {
            sms: t.enabled,
            zalo: if t.enabled {
                t.zalo_templates
                    .keys()
                    .filter_map(|k| TemplateKey::parse(k))
                    .collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// The channels a person wants notices on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Preferences {
    pub email: bool,
    pub sms: bool,
    pub zalo: bool,
}

impl Default for Preferences {
    /// E-mail and SMS; Zalo is asked for.
    fn default() -> Self {
        Self {
            email: true,
            sms: true,
            zalo: false,
        }
    }
}

impl Preferences {
    pub fn from_channels(channels: &[Channel]) -> Self {
        Self {
            email: channels.contains(&Channel::Email),
            sms: channels.contains(&Channel::Sms),
            zalo: channels.contains(&Channel::Zalo),
        }
    }

    pub fn channels(self) -> Vec<Channel> {
        [
            (self.email, Channel::Email),
            (self.sms, Channel::Sms),
            (self.zalo, Channel::Zalo),
        ]
        .into_iter()
        .filter_map(|(on, c)| on.then_some(c))
        .collect()
    }
}

pub fn preferences(conn: &mut PgConnection, account: Uuid) -> QueryResult<Preferences> {
    let stored: Option<Vec<String>> = np::table
        .find(account)
        .select(np::channels)
        .first(conn)
        .optional()?;
    Ok(stored.map_or_else(Preferences::default, |names| {
        let channels: Vec<Channel> = names.iter().filter_map(|n| n.parse().ok()).collect();
        Preferences::from_channels(&channels)
    }))
}

pub fn set_preferences(
    conn: &mut PgConnection,
    account: Uuid,
    prefs: Preferences,
) -> QueryResult<()> {
    let names: Vec<&str> = prefs.channels().iter().map(|c| c.as_str()).collect();
    diesel::insert_into(np::table)
        .values((np::account_id.eq(account), np::channels.eq(&names)))
        .on_conflict(np::account_id)
        .do_update()
        .set((np::channels.eq(&names), np::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .map(drop)
}

/// One notice to an applicant.
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    pub tenant_id: Uuid,
    pub template: TemplateKey,
    pub locale: Locale,
    pub account: Option<Uuid>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub payload: serde_json::Value,
    /// Unique per notice; each channel's row adds its own suffix.
    pub key: String,
}

/// Queues the notice on every channel that applies. Returns the channels it went to.
pub fn applicant(
    conn: &mut PgConnection,
    policy: &TextPolicy,
    n: &Notice<'_>,
) -> QueryResult<Vec<Channel>> {
    let wants = match n.account {
        Some(a) => preferences(conn, a)?,
        None => Preferences::default(),
    };
    let mut queued = Vec::new();
    if wants.email
        && let Some(to) = n.email.and_then(|e| Email::parse(e).ok())
    {
        crate::mail::outbox::enqueue(
            conn,
            &NewMail {
                tenant_id: Some(n.tenant_id),
                template: n.template,
                locale: n.locale,
                recipient: to,
                payload: n.payload.clone(),
                idempotency_key: n.key.clone(),
            },
        )?;
        queued.push(Channel::Email);
    }
    // A contact number that is not a mobile (a landline) cannot take a text.
    let Some(mobile) = n.phone.and_then(|p| MobileNumber::parse(p).ok()) else {
        return Ok(queued);
    };
    for (channel, on) in [
        (
            Channel::Sms,
            wants.sms && policy.sms && TextRenderer::has(n.template),
        ),
        (
            Channel::Zalo,
            wants.zalo && policy.zalo.contains(&n.template),
        ),
    ] {
        if !on {
            continue;
        }
        crate::texts::outbox::enqueue(
            conn,
            &NewText {
                tenant_id: Some(n.tenant_id),
                channel,
                template: n.template,
                locale: n.locale,
                recipient: mobile.clone(),
                payload: n.payload.clone(),
                idempotency_key: format!("{}:{}", n.key, channel.as_str()),
            },
        )?;
        queued.push(channel);
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_round_trip_through_their_channels() {
        for email in [false, true] {
            for sms in [false, true] {
                for zalo in [false, true] {
                    let p = Preferences { email, sms, zalo };
                    assert_eq!(Preferences::from_channels(&p.channels()), p);
                }
            }
        }
        assert_eq!(
            Preferences::default().channels(),
            [Channel::Email, Channel::Sms]
        );
    }
}
