//! Who is looking at a portal page. Each tenant portal is an OpenID Connect client of the
//! platform's sign-in host (authorization code + PKCE, done server-side), so signing in once
//! signs in on every portal. The portal keeps the tokens in Redis under an opaque cookie, not
//! in the browser; the access token is refreshed (rotated) when it is about to expire, and a
//! sign-in ended anywhere (logout, revocation) ends the portal session on the next request.
//!
//! Three jobs, a file each: `visitor` (the extractor every page takes: tenant, language,
//! signed-in caller, form token, and how pages and errors are answered), `store` (portal
//! sessions, sign-in states and once-only forms in Redis) and `portal_sign_in` (the OpenID
//! Connect client: `/dang-nhap`, `/auth/callback`, `/dang-xuat`, and the language switch).

mod portal_sign_in;
mod store;
mod visitor;

pub use portal_sign_in::{
    CallbackQuery, LOGIN_COOKIE, LanguageForm, LoginQuery, callback, language, login, logout,
    signed_out,
};
pub use store::{CSRF_COOKIE, LANG_COOKIE, Once, PortalSession, SESSION_COOKIE, random_token};
pub use visitor::{CsrfForm, NoPortal, Visitor, page_code, page_of_form, safe_next, url_encode};
