//! Authentication: signing keys, access tokens (and, next, accounts and the OpenID Connect
//! provider).

pub mod accounts;
pub mod client_auth;
pub mod identity;
pub mod invitations;
pub mod keys;
pub mod lockout;
pub mod password;
pub mod pkce;
pub mod principal;
pub mod rate_limit;
pub mod revocation;
pub mod roles;
pub mod sign_in;
pub mod sso;
pub mod tokens;
pub mod totp;
pub mod verified;
