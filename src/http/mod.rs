//! The HTTP edge both adapters share: how a request becomes its tenant and its caller
//! (actix extractors, bearer checks), and the per-tenant request quota (a middleware). The rules themselves
//! live below — resolution in `tenancy::resolver`, token checks in `auth` — and take plain
//! values; this module only reads them out of the request and the application state.

pub mod bearer;
pub mod download;
pub mod headers;
pub mod principal;
pub mod quota;
pub mod tenant;
pub mod upload;
