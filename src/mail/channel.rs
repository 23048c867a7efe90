//! The ways a notice reaches its recipient: every row of the outbox names one.

crate::db::text_enum! {
    /// How a message reaches its recipient (`platform.outbox.channel`).
    pub enum Channel("notification channel") {
        Email = "email",
        Sms = "sms",
        Zalo = "zalo",
    }
}

impl Channel {
    /// The channels that carry texts to a mobile number.
    pub const TEXTS: [Channel; 2] = [Channel::Sms, Channel::Zalo];
}
