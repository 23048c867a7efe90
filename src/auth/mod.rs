//! Authentication: signing keys, access tokens (and, next, accounts and the OpenID Connect
//! provider).

pub mod keys;
pub mod tokens;
