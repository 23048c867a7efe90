//! The ways a notice reaches its recipient: every row of the outbox names one.

crate::db::text_enum! {
    /// How a message reaches its recipient (`platform.outbox.channel`).
    pub enum Channel("notification channel") {
        Email = "email",
        Sms = "sms",
        Zalo = "zalo",
    }
}
