//! Who carries a text: the sandbox (files a developer or a test reads), a brandname SMS
//! gateway over HTTP, and Zalo's notification service.
//!
//! The HTTP gateway speaks the JSON shape Vietnamese brandname gateways expose (eSMS-style:
//! `ApiKey`, `SecretKey`, `Phone`, `Content`, `Brandname`, `SmsType`, `IsUnicode`, `RequestId`,
//! `CallbackUrl`; the answer's `CodeResult` is `100` when accepted, with the `SMSID` its
//! delivery reports will name). `RequestId` is the outbox row, so a gateway that deduplicates
//! sees a retry after a crash as the same message.

use super::encoding::Encoding;
use super::{Channel, MobileNumber};
use crate::mail::transport::SendFailure;
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::time::Duration;

/// One text, ready to go.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The outbox row: the request id providers deduplicate on.
    pub id: i64,
    pub channel: Channel,
    pub to: MobileNumber,
    /// SMS: the brandname shown as sender.
    pub sender: String,
    /// SMS: the rendered text.
    pub body: String,
    pub encoding: Encoding,
    /// Zalo: the registered template and its values.
    pub zalo_template: Option<String>,
    pub zalo_data: serde_json::Map<String, serde_json::Value>,
}

impl Outgoing {
    fn request_id(&self) -> String {
        format!("dvc-{}", self.id)
    }
}

/// A service that takes texts. `Ok` carries the provider's reference for the text.
#[allow(async_fn_in_trait)]
pub trait TextProvider {
    async fn send(&self, text: &Outgoing) -> Result<String, SendFailure>;
}

/// Writes each text as `{dir}/{channel}-{id}.json`; nothing leaves the machine. Writing the
/// same row twice overwrites one file, as a deduplicating gateway would.
pub struct Sandbox {
    pub dir: PathBuf,
}

impl Sandbox {
    /// Every text the sandbox wrote under `dir`, as written (none when it wrote nothing yet).
    pub fn read_all(dir: &std::path::Path) -> Vec<serde_json::Value> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| {
                let path = e.ok()?.path();
                if path.extension()? != "json" {
                    return None;
                }
                serde_json::from_slice(&std::fs::read(path).ok()?).ok()
            })
            .collect()
    }
}

impl TextProvider for Sandbox {
    async fn send(&self, text: &Outgoing) -> Result<String, SendFailure> {
        let record = serde_json::json!({
            "id": text.id,
            "channel": text.channel,
            "to": text.to,
            "sender": text.sender,
            "body": text.body,
            "zalo_template": text.zalo_template,
            "zalo_data": text.zalo_data,
            "at": chrono::Utc::now(),
        });
        let path = self
            .dir
            .join(format!("{}-{}.json", text.channel.as_str(), text.id));
        let write = || -> std::io::Result<()> {
            // Written beside, then renamed in: a reader never sees half a file, and a listing
            // of the directory never sees an entry renamed under it.
            let staging = self.dir.join(".staging");
            std::fs::create_dir_all(&staging)?;
            let tmp = staging.join(format!("{}-{}.json", text.channel.as_str(), text.id));
            std::fs::write(&tmp, serde_json::to_vec_pretty(&record)?)?;
            std::fs::rename(&tmp, &path)
        };
        write()
            .map_err(|e| SendFailure::Transient(format!("sandbox {}: {e}", self.dir.display())))?;
        Ok(text.request_id())
    }
}

/// A brandname SMS gateway over HTTP.
pub struct BrandnameGateway {
    pub client: awc::Client,
    pub url: String,
    pub api_key: Option<SecretString>,
    pub secret_key: Option<SecretString>,
    /// Where the gateway sends delivery reports.
    pub callback_url: Option<String>,
}

/// The gateway's answer.
#[derive(Debug, serde::Deserialize)]
struct GatewayAnswer {
    #[serde(rename = "CodeResult")]
    code: serde_json::Value,
    #[serde(rename = "SMSID", default)]
    sms_id: Option<serde_json::Value>,
    #[serde(rename = "ErrorMessage", default)]
    error: Option<String>,
}

/// Gateway codes worth trying again: its own trouble (`99`), an empty balance (`103`) that an
/// operator will top up, a throttle (`146`). Every other code (bad number, unregistered
/// brandname, rejected content) would be refused again.
const GATEWAY_RETRYABLE: [&str; 3] = ["99", "103", "146"];

impl TextProvider for BrandnameGateway {
    async fn send(&self, text: &Outgoing) -> Result<String, SendFailure> {
        let secret = |s: &Option<SecretString>| {
            s.as_ref()
                .map(|s| s.expose_secret().to_owned())
                .unwrap_or_default()
        };
        let body = serde_json::json!({
            "ApiKey": secret(&self.api_key),
            "SecretKey": secret(&self.secret_key),
            "Phone": text.to.national(),
            "Content": text.body,
            "Brandname": text.sender,
            // Customer care: the kind of brandname message a notice is.
            "SmsType": "2",
            "IsUnicode": if text.encoding == Encoding::Ucs2 { "1" } else { "0" },
            "RequestId": text.request_id(),
            "CallbackUrl": self.callback_url,
        });
        let answer: GatewayAnswer = post_json(&self.client, &self.url, &[], &body).await?;
        let code = scalar(&answer.code);
        if code == "100" {
            return answer
                .sms_id
                .as_ref()
                .map(scalar)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| SendFailure::Transient("gateway accepted without an SMSID".into()));
        }
        let message = format!(
            "gateway code {code}: {}",
            answer.error.as_deref().unwrap_or("no message")
        );
        Err(if GATEWAY_RETRYABLE.contains(&code.as_str()) {
            SendFailure::Transient(message)
        } else {
            SendFailure::Permanent(message)
        })
    }
}

/// Zalo's notification service (ZNS): a registered template filled with values, sent to the
/// Zalo account of a phone number.
pub struct ZaloNotifications {
    pub client: awc::Client,
    pub url: String,
    pub access_token: Option<SecretString>,
}

#[derive(Debug, serde::Deserialize)]
struct ZaloAnswer {
    error: i64,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

impl TextProvider for ZaloNotifications {
    async fn send(&self, text: &Outgoing) -> Result<String, SendFailure> {
        let Some(template) = &text.zalo_template else {
            return Err(SendFailure::Permanent(
                "no Zalo template for this message".into(),
            ));
        };
        let token = self
            .access_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned())
            .unwrap_or_default();
        let body = serde_json::json!({
            "phone": text.to.international(),
            "template_id": template,
            "template_data": text.zalo_data,
            "tracking_id": text.request_id(),
        });
        let answer: ZaloAnswer = post_json(
            &self.client,
            &self.url,
            &[("access_token", token.as_str())],
            &body,
        )
        .await?;
        if answer.error == 0 {
            return answer
                .data
                .as_ref()
                .and_then(|d| d.get("msg_id"))
                .map(scalar)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| SendFailure::Transient("Zalo accepted without a msg_id".into()));
        }
        let message = format!(
            "Zalo error {}: {}",
            answer.error,
            answer.message.as_deref().unwrap_or("no message")
        );
        // -124: the access token expired, which an operator (or its refresh) will mend.
        Err(if answer.error == -124 {
            SendFailure::Transient(message)
        } else {
            SendFailure::Permanent(message)
        })
    }
}

/// POSTs JSON and reads a JSON answer. A refused connection, a timeout, a 5xx or a 429 is
/// worth trying again; any other 4xx means the request itself is wrong.
async fn post_json<T: serde::de::DeserializeOwned>(
    client: &awc::Client,
    url: &str,
    headers: &[(&str, &str)],
    body: &serde_json::Value,
) -> Result<T, SendFailure> {
    let mut request = client.post(url);
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    let mut response = request
        .send_json(body)
        .await
        .map_err(|e| SendFailure::Transient(format!("{url}: {e}")))?;
    let status = response.status();
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(SendFailure::Transient(format!(
            "provider answered HTTP {status}"
        )));
    }
    if !status.is_success() {
        let text = response.body().limit(512).await.unwrap_or_default();
        return Err(SendFailure::Permanent(format!(
            "provider answered HTTP {status}: {}",
            String::from_utf8_lossy(&text).trim()
        )));
    }
    response
        .json::<T>()
        .limit(64 * 1024)
        .await
        .map_err(|e| SendFailure::Transient(format!("unreadable provider answer: {e}")))
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn http_client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish()
}

/// The providers configured for each text channel.
pub enum AnyProvider {
    Sandbox(Sandbox),
    Gateway(BrandnameGateway),
    Zalo(ZaloNotifications),
}

impl TextProvider for AnyProvider {
    async fn send(&self, text: &Outgoing) -> Result<String, SendFailure> {
        match self {
            Self::Sandbox(p) => p.send(text).await,
            Self::Gateway(p) => p.send(text).await,
            Self::Zalo(p) => p.send(text).await,
        }
    }
}
