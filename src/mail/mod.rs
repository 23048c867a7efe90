//! Notification email that is never lost: an outbox written in the same transaction as the
//! change, a worker that claims rows with `FOR UPDATE SKIP LOCKED` and sends them over SMTP,
//! and branded bilingual templates.

pub mod address;
pub mod backoff;
pub mod channel;
pub mod outbox;
pub mod templates;
pub mod transport;
pub mod worker;

pub use address::Email;
pub use channel::Channel;
pub use templates::TemplateKey;
