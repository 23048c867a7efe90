//! Access tokens: JWTs with `typ: at+jwt` (RFC 9068), ES256 with `kid`, short-lived.
//!
//! Verification pins everything an attacker could try to choose: the algorithm (ES256 only, so
//! `none` and HMAC-with-the-public-key fail), the key (by `kid`, from our own keyring), the
//! `typ` (an ID token is not an access token), issuer, audience, expiry and not-before; numeric
//! dates must be numbers.

use super::keys::{KeyError, Keyring};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Claims of an access token. `aud` names one tenant; `roles` are that tenant's only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: Uuid,
    pub aud: String,
    pub client_id: String,
    /// SSO session id: revoking it revokes every token it issued.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: Uuid,
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("token type is not {ACCESS_TOKEN_TYP}")]
    WrongType,
    #[error("token algorithm is not accepted")]
    WrongAlgorithm,
    #[error("token signed by an unknown key")]
    UnknownKey,
    #[error("token rejected: {0}")]
    Invalid(String),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Signs `claims` with the keyring's current key.
pub fn issue(ring: &Keyring, claims: &AccessClaims) -> Result<String, TokenError> {
    let (kid, key) = ring.signer()?;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    jsonwebtoken::encode(&header, claims, key).map_err(|e| TokenError::Invalid(e.to_string()))
}

/// Verifies an access token for `audience`, issued by `issuer`.
pub fn verify(
    ring: &Keyring,
    token: &str,
    issuer: &str,
    audience: &str,
) -> Result<AccessClaims, TokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    if header.alg != Algorithm::ES256 {
        return Err(TokenError::WrongAlgorithm);
    }
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP))
    {
        return Err(TokenError::WrongType);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| ring.verifier(kid, Algorithm::ES256))
        .ok_or(TokenError::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = 30;
    jsonwebtoken::decode::<AccessClaims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|e| TokenError::Invalid(e.to_string()))
}

/// Claims of an ID token (OpenID Connect Core §2). Its `typ` is `JWT`, so it can never pass as
/// an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: Uuid,
    /// The client the token was issued to.
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub sid: Uuid,
}

/// ID tokens are RS256, OpenID Connect's default that every relying party supports.
pub fn issue_id_token(ring: &Keyring, claims: &IdClaims) -> Result<String, TokenError> {
    let (kid, key) = ring.signer_for(Algorithm::RS256)?;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    header.typ = Some("JWT".to_owned());
    jsonwebtoken::encode(&header, claims, key).map_err(|e| TokenError::Invalid(e.to_string()))
}

/// Checks an ID token we issued, presented back as `id_token_hint` at logout: signature, key
/// and issuer, but not its expiry (OpenID Connect RP-Initiated Logout §2 lets a client send an
/// expired one). Returns its claims.
pub fn verify_id_token_hint(ring: &Keyring, token: &str, issuer: &str) -> Option<IdClaims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::RS256 {
        return None;
    }
    let key = ring.verifier(header.kid.as_deref()?, Algorithm::RS256)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["iss", "sub"]);
    jsonwebtoken::decode::<IdClaims>(token, key, &validation)
        .ok()
        .map(|d| d.claims)
}

/// Like [`verify`], for endpoints that serve every audience (userinfo): everything but the
/// audience is pinned.
pub fn verify_any_audience(
    ring: &Keyring,
    token: &str,
    issuer: &str,
) -> Result<AccessClaims, TokenError> {
    let audience = jsonwebtoken::dangerous::insecure_decode::<AccessClaims>(token)
        .map(|d| d.claims.aud)
        .map_err(|_| TokenError::Malformed)?;
    // The audience read unverified is then checked by the full verification like any other.
    verify(ring, token, issuer, &audience)
}
