//! SMTP delivery through lettre's pooled async transport.

use crate::config::{SmtpSettings, SmtpTls};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::time::Duration;

pub type Transport = AsyncSmtpTransport<Tokio1Executor>;

pub fn build(settings: &SmtpSettings) -> Result<Transport, lettre::transport::smtp::Error> {
    let builder = match settings.tls {
        SmtpTls::None => Transport::builder_dangerous(&settings.host),
        SmtpTls::Starttls => Transport::starttls_relay(&settings.host)?,
        SmtpTls::Tls => Transport::relay(&settings.host)?,
    };
    let mut builder = builder
        .port(settings.port)
        .timeout(Some(Duration::from_secs(settings.timeout_secs.max(1))))
        .pool_config(PoolConfig::new().max_size(settings.pool_size.max(1)));
    if let (Some(user), Some(pass)) = (&settings.username, &settings.password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            pass.expose_secret().to_owned(),
        ));
    }
    Ok(builder.build())
}

/// Why a send failed, for the retry decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendFailure {
    /// 4xx replies, timeouts, refused connections: try again later.
    Transient(String),
    /// 5xx replies: the server will never take this message.
    Permanent(String),
}

impl SendFailure {
    pub fn message(&self) -> &str {
        match self {
            Self::Transient(m) | Self::Permanent(m) => m,
        }
    }
}

pub async fn send(transport: &Transport, message: Message) -> Result<(), SendFailure> {
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(SendFailure::Permanent(e.to_string())),
        Err(e) => Err(SendFailure::Transient(e.to_string())),
    }
}
