//! The gateway protocol (pure), modelled on Vietnamese card/QR gateways: the browser is sent to
//! a hosted payment page with signed query parameters; the gateway answers with signed
//! parameters twice — server to server (IPN) and on the browser's way back (return URL) — and
//! answers signed status queries and refunds. The signature is HMAC-SHA512 over the parameters
//! sorted by name, `name=value` URL-encoded and joined with `&`, the signature itself excluded.

use hmac::{Hmac, Mac};
use sha2::Sha512;
use std::collections::BTreeMap;

pub const HASH: &str = "secure_hash";

/// Parameters in canonical (sorted) order.
pub type Params = BTreeMap<String, String>;

fn canonical(params: &Params) -> String {
    params
        .iter()
        .filter(|(k, _)| k.as_str() != HASH)
        .map(|(k, v)| {
            format!(
                "{}={}",
                url::form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>(),
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn mac(secret: &[u8], params: &Params) -> Hmac<Sha512> {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret).expect("any key length");
    mac.update(canonical(params).as_bytes());
    mac
}

/// Adds the signature to `params`.
pub fn sign(secret: &[u8], params: &mut Params) {
    params.remove(HASH);
    let tag = mac(secret, params).finalize().into_bytes();
    params.insert(HASH.into(), crate::services::text::hex(&tag));
}

/// True when the parameters carry a valid signature by `secret` (constant-time compare).
pub fn verify(secret: &[u8], params: &Params) -> bool {
    let Some(hex) = params.get(HASH) else {
        return false;
    };
    // Parameters are decoded text: anything but 128 ASCII hex digits is refused before slicing.
    if hex.len() != 128 || !hex.is_ascii() {
        return false;
    }
    let Ok(tag) = (0..64)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
    else {
        return false;
    };
    mac(secret, params).verify_slice(&tag).is_ok()
}

/// The query string of signed parameters.
pub fn query_string(params: &Params) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish()
}

/// Response codes, as gateways of this kind use them.
pub mod code {
    pub const SUCCESS: &str = "00";
    pub const CANCELLED: &str = "24";
    pub const DECLINED: &str = "51";
}

/// What a verified gateway message says about one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub merchant: String,
    pub reference: String,
    /// In đồng (the wire carries đồng × 100, as these gateways do).
    pub amount_vnd: i64,
    pub response_code: String,
    pub transaction_no: String,
    pub bank_code: String,
}

impl Notification {
    pub fn succeeded(&self) -> bool {
        self.response_code == code::SUCCESS
    }

    /// Reads the fields of a message whose signature was already checked.
    pub fn from_params(p: &Params) -> Option<Self> {
        let wire: i64 = p.get("amount")?.parse().ok()?;
        if wire <= 0 || wire % 100 != 0 {
            return None;
        }
        Some(Self {
            merchant: p.get("merchant")?.clone(),
            reference: p.get("txn_ref")?.clone(),
            amount_vnd: wire / 100,
            response_code: p.get("response_code")?.clone(),
            transaction_no: p.get("transaction_no").cloned().unwrap_or_default(),
            bank_code: p.get("bank_code").cloned().unwrap_or_default(),
        })
    }

    pub fn to_params(&self) -> Params {
        Params::from([
            ("merchant".into(), self.merchant.clone()),
            ("txn_ref".into(), self.reference.clone()),
            ("amount".into(), (self.amount_vnd * 100).to_string()),
            ("response_code".into(), self.response_code.clone()),
            ("transaction_no".into(), self.transaction_no.clone()),
            ("bank_code".into(), self.bank_code.clone()),
        ])
    }
}

/// The scheme and host of a URL (`http://localhost:8080`): where a gateway page or a return
/// address may send a form (the CSP's form targets).
pub fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Params {
        Notification {
            merchant: "HNI001".into(),
            reference: "HNI-P-0001".into(),
            amount_vnd: 600_000,
            response_code: "00".into(),
            transaction_no: "14000001".into(),
            bank_code: "NCB".into(),
        }
        .to_params()
    }

    #[test]
    fn signatures_cover_every_parameter() {
        let mut p = sample();
        sign(b"secret-a", &mut p);
        assert!(verify(b"secret-a", &p));
        assert!(!verify(b"secret-b", &p));
        for field in ["amount", "txn_ref", "response_code", "merchant"] {
            let mut t = p.clone();
            t.insert(field.into(), "1".into());
            assert!(!verify(b"secret-a", &t), "{field}");
        }
        let mut extra = p.clone();
        extra.insert("zz".into(), "x".into());
        assert!(!verify(b"secret-a", &extra));
        let mut none = p.clone();
        none.remove(HASH);
        assert!(!verify(b"secret-a", &none));
        // Multi-byte text of the right byte length must not panic.
        let mut odd = p.clone();
        odd.insert(HASH.into(), format!("aé{}", "a".repeat(125)));
        assert!(!verify(b"secret-a", &odd));
        assert_eq!(Notification::from_params(&p).unwrap().amount_vnd, 600_000);
    }

    #[test]
    fn amounts_are_whole_dong() {
        let mut p = sample();
        p.insert("amount".into(), "60000050".into());
        assert_eq!(Notification::from_params(&p), None);
        p.insert("amount".into(), "-100".into());
        assert_eq!(Notification::from_params(&p), None);
    }
}
