//! Delivery reports: what a provider posts back once the handset has (or has not) received a
//! text. Parsing is pure; [`super::outbox::record_delivery`] stores the outcome.
//!
//! The brandname gateway reports `{"SMSID": "…", "Status": "DELIVRD"}` with SMPP's delivery
//! states (`DELIVRD`; `UNDELIV`, `EXPIRED`, `REJECTD`, `DELETED` mean it never arrived;
//! `ACCEPTD`/`ENROUTE` are not final and are acknowledged without a change). Zalo reports the
//! event `user_received_message` with the message's `msg_id`.

use super::Channel;
use super::outbox::Delivery;

/// A report that changes what dvc knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub delivery_ref: String,
    pub outcome: Delivery,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the report is not JSON of the expected shape: {0}")]
    Shape(String),
    #[error("unknown delivery state `{0}`")]
    State(String),
}

/// `Ok(None)`: a valid report of a state that is not final.
pub fn parse(channel: Channel, body: &[u8]) -> Result<Option<Report>, ReportError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ReportError::Shape(e.to_string()))?;
    let text = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    match channel {
        Channel::Sms => {
            let reference = text(value.get("SMSID"))
                .ok_or_else(|| ReportError::Shape("`SMSID` is missing".into()))?;
            let state = text(value.get("Status"))
                .ok_or_else(|| ReportError::Shape("`Status` is missing".into()))?;
            let outcome = match state.to_ascii_uppercase().as_str() {
                "DELIVRD" => Some(Delivery::Delivered),
                "UNDELIV" | "EXPIRED" | "REJECTD" | "DELETED" => Some(Delivery::Undelivered),
                "ACCEPTD" | "ENROUTE" | "UNKNOWN" => None,
                _ => return Err(ReportError::State(state)),
            };
            Ok(outcome.map(|outcome| Report {
                delivery_ref: reference,
                outcome,
            }))
        }
        Channel::Zalo => {
            let event = text(value.get("event_name"))
                .ok_or_else(|| ReportError::Shape("`event_name` is missing".into()))?;
            if event != "user_received_message" {
                return Ok(None);
            }
            let reference = text(value.pointer("/message/msg_id"))
                .ok_or_else(|| ReportError::Shape("`message.msg_id` is missing".into()))?;
            Ok(Some(Report {
                delivery_ref: reference,
                outcome: Delivery::Delivered,
            }))
        }
        Channel::Email => Err(ReportError::Shape(
            "mail has no delivery reports here".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_reports_name_the_text_and_its_final_state() {
        let r = parse(
            Channel::Sms,
            br#"{"SMSID":"a1b2","Status":"DELIVRD","Phone":"0912345678"}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            r,
            Report {
                delivery_ref: "a1b2".into(),
                outcome: Delivery::Delivered
            }
        );
        let r = parse(Channel::Sms, br#"{"SMSID":12345,"Status":"expired"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.delivery_ref.as_str(), r.outcome),
            ("12345", Delivery::Undelivered)
        );
        assert_eq!(
            parse(Channel::Sms, br#"{"SMSID":"a","Status":"ACCEPTD"}"#),
            Ok(None)
        );
        assert!(matches!(
            parse(Channel::Sms, br#"{"SMSID":"a","Status":"LOST"}"#),
            Err(ReportError::State(_))
        ));
        assert!(matches!(
            parse(Channel::Sms, br#"{"Status":"DELIVRD"}"#),
            Err(ReportError::Shape(_))
        ));
        assert!(matches!(
            parse(Channel::Sms, b"SMSID=a"),
            Err(ReportError::Shape(_))
        ));
    }

    #[test]
    fn zalo_reports_receipt_and_ignores_other_events() {
        let body = br#"{"event_name":"user_received_message","message":{"msg_id":"z9"}}"#;
        assert_eq!(
            parse(Channel::Zalo, body).unwrap(),
            Some(Report {
                delivery_ref: "z9".into(),
                outcome: Delivery::Delivered
            })
        );
        assert_eq!(
            parse(Channel::Zalo, br#"{"event_name":"user_seen_message"}"#),
            Ok(None)
        );
    }
}
