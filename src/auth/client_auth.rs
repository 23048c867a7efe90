//! How a client proves itself at the token endpoint (OpenID Connect Core §9): public clients
//! (`none`, PKCE only), a shared secret (`client_secret_basic`, `client_secret_post`), or a JWT
//! signed with the client's own key (`private_key_jwt`, RFC 7523). A client uses exactly the
//! method it was registered with. Secrets are 256 random bits shown once and stored as SHA-256
//! (a random secret needs no slow hash). No I/O here: the caller fetches the client and keeps
//! used assertion ids.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Algorithms a client may sign its assertions with.
pub const ASSERTION_ALGORITHMS: [&str; 2] = ["RS256", "ES256"];

/// Every method, as discovery lists them.
pub const METHODS: [&str; 4] = [
    "none",
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMethod {
    #[default]
    None,
    SecretBasic,
    SecretPost,
    PrivateKeyJwt,
}

impl AuthMethod {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "client_secret_basic" => Self::SecretBasic,
            "client_secret_post" => Self::SecretPost,
            "private_key_jwt" => Self::PrivateKeyJwt,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        METHODS[self as usize]
    }

    pub fn uses_secret(self) -> bool {
        matches!(self, Self::SecretBasic | Self::SecretPost)
    }
}

/// A token request whose client authentication cannot be read (two client ids, two methods,
/// a broken `Basic` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed client authentication")]
pub struct Malformed;

/// A new client secret and the digest to store.
pub fn new_secret() -> (String, Vec<u8>) {
    super::accounts::new_token()
}

/// What a token request carries to authenticate its client.
#[derive(Debug, Clone, Default)]
pub struct Presented {
    /// From `Authorization: Basic`, already form-decoded (RFC 6749 §2.3.1).
    pub basic: Option<(String, String)>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub assertion_type: Option<String>,
    pub assertion: Option<String>,
}

impl Presented {
    /// Reads `Authorization: Basic …`; `Err` when the header is there but malformed.
    pub fn basic_from_header(value: Option<&str>) -> Result<Option<(String, String)>, Malformed> {
        let Some(v) = value else { return Ok(None) };
        let Some(encoded) = v.strip_prefix("Basic ") else {
            return Ok(None);
        };
        let decoded = STANDARD.decode(encoded.trim()).map_err(|_| Malformed)?;
        let text = String::from_utf8(decoded).map_err(|_| Malformed)?;
        let (id, secret) = text.split_once(':').ok_or(Malformed)?;
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Ok(Some((unescape(id), unescape(secret))))
    }

    /// The client the request names, wherever it names it; `Err` when two places disagree.
    pub fn client_id(&self) -> Result<Option<String>, Malformed> {
        let from_basic = self.basic.as_ref().map(|(id, _)| id.clone());
        match (&from_basic, &self.client_id) {
            (Some(a), Some(b)) if a != b => Err(Malformed),
            _ => Ok(from_basic.or_else(|| self.client_id.clone())),
        }
    }

    /// Which method the request used, as far as its shape tells.
    pub fn method(&self) -> Result<AuthMethod, Malformed> {
        let used = [
            self.basic.is_some(),
            self.client_secret.is_some(),
            self.assertion.is_some() || self.assertion_type.is_some(),
        ];
        Ok(match used {
            [false, false, false] => AuthMethod::None,
            [true, false, false] => AuthMethod::SecretBasic,
            [false, true, false] => AuthMethod::SecretPost,
            [false, false, true] => AuthMethod::PrivateKeyJwt,
            _ => return Err(Malformed),
        })
    }
}

/// Whether `secret` matches the stored digest (in constant time).
pub fn secret_matches(stored: &[u8], secret: &str) -> bool {
    let digest = Sha256::digest(secret.as_bytes());
    stored.len() == digest.len()
        && stored
            .iter()
            .zip(digest.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[derive(Debug, Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    jti: String,
    exp: i64,
}

/// An accepted assertion: its id must not be seen again before `exp`.
#[derive(Debug, PartialEq, Eq)]
pub struct Assertion {
    pub jti: String,
    pub exp: i64,
}

/// Longest an assertion may live: a client signs one per request.
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 300;

/// Checks a `private_key_jwt` assertion against the client's registered keys: signature with
/// a pinned algorithm, `iss` = `sub` = the client, `aud` one of `audiences` (the token
/// endpoint or the issuer), not expired, and not valid for longer than five minutes.
pub fn verify_assertion(
    jwks: &serde_json::Value,
    client_id: &str,
    audiences: &[&str],
    assertion: &str,
    now: i64,
) -> Result<Assertion, String> {
    let set: JwkSet = serde_json::from_value(jwks.clone()).map_err(|e| e.to_string())?;
    let header = jsonwebtoken::decode_header(assertion).map_err(|e| e.to_string())?;
    let alg = match header.alg {
        Algorithm::RS256 => Algorithm::RS256,
        Algorithm::ES256 => Algorithm::ES256,
        other => return Err(format!("algorithm {other:?} is not accepted")),
    };
    let jwk = match &header.kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
    .ok_or("no registered key matches the assertion's kid")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut v = Validation::new(alg);
    v.set_audience(audiences);
    v.set_issuer(&[client_id]);
    v.sub = Some(client_id.to_owned());
    v.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    v.leeway = 30;
    let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &v)
        .map_err(|e| e.to_string())?
        .claims;
    if claims.iss != client_id || claims.sub != client_id {
        return Err("iss and sub must be the client".into());
    }
    if claims.exp > now + MAX_ASSERTION_LIFETIME_SECS {
        return Err("the assertion lives too long".into());
    }
    if claims.jti.is_empty() || claims.jti.len() > 200 {
        return Err("jti is required".into());
    }
    Ok(Assertion {
        jti: claims.jti,
        exp: claims.exp,
    })
}

/// The digest under which a used assertion id is kept.
pub fn jti_key(client_id: &str, jti: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{client_id}\n{jti}").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded_and_shapes_tell_the_method() {
        let header = format!("Basic {}", STANDARD.encode("app%3Aone:s%2Bcret"));
        let basic = Presented::basic_from_header(Some(&header)).unwrap();
        assert_eq!(basic, Some(("app:one".into(), "s+cret".into())));
        assert!(Presented::basic_from_header(Some("Basic !!!")).is_err());
        assert_eq!(Presented::basic_from_header(Some("Bearer x")), Ok(None));

        let mut p = Presented {
            basic,
            ..Presented::default()
        };
        assert_eq!(p.method(), Ok(AuthMethod::SecretBasic));
        p.client_id = Some("other".into());
        assert!(p.client_id().is_err(), "two different client ids");
        p.client_secret = Some("x".into());
        assert!(p.method().is_err(), "two methods at once");
        assert_eq!(Presented::default().method(), Ok(AuthMethod::None));
    }

    #[test]
    fn secrets_match_only_their_digest() {
        let (secret, digest) = new_secret();
        assert!(secret_matches(&digest, &secret));
        assert!(!secret_matches(&digest, &format!("{secret}x")));
        assert!(!secret_matches(&[], &secret));
    }

    #[test]
    fn methods_round_trip() {
        for m in METHODS {
            assert_eq!(AuthMethod::parse(m).unwrap().as_str(), m);
        }
        assert!(AuthMethod::parse("client_secret_jwt").is_none());
    }
}
