//! How a dossier reached the agency: online, handed in at the one-stop desk, or by post. The
//! statistics split by it, so the online share counts what really came online.

crate::db::text_enum! {
    /// The intake channel of a dossier.
    pub enum Channel("dossier channel") {
        Online = "online",
        Counter = "counter",
        Postal = "postal",
    }
}

impl Channel {
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Online => "Trực tuyến",
            Self::Counter => "Trực tiếp tại Bộ phận một cửa",
            Self::Postal => "Qua dịch vụ bưu chính",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Online => "Online",
            Self::Counter => "At the one-stop desk",
            Self::Postal => "By post",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_under_the_names_the_check_constraint_allows() {
        let names: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, ["online", "counter", "postal"]);
        assert_eq!("postal".parse::<Channel>(), Ok(Channel::Postal));
        assert!("fax".parse::<Channel>().is_err());
    }
}
