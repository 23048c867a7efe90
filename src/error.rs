//! One error type for the HTTP layer, answered as `application/problem+json` (RFC 9457).
//!
//! Every variant has a stable `code` (also the last segment of `type`) that clients may match on.
//! Caller mistakes are 4xx with a clear bilingual title; server faults are 5xx, logged with their
//! cause chain, and never leak internals to the caller.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// One problem with submitted data: what validation (of a form, a document, a phone) reports
/// and a 422 answer lists. Defined here, below the services that produce it, so that errors
/// depend on nothing above them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON Pointer to the offending value, e.g. "/workers/0/passport".
    pub path: String,
    /// Stable machine code: "required", "type", "min_length", "max_length", "pattern",
    /// "format", "minimum", "maximum", "enum", "min_items", "max_items", "unknown_field", "date".
    pub code: String,
    /// Vietnamese message naming the field's title, e.g. "Họ và tên: bắt buộc nhập".
    pub message: String,
    pub message_en: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("tenant not found")]
    TenantNotFound,
    #[error("no tenant named by this request")]
    TenantNotResolved,
    #[error("tenant is suspended")]
    TenantSuspended,
    /// A draft tenant: only its admins' pages, sign-in and invitations answer yet.
    #[error("tenant is not open yet")]
    TenantNotOpen,
    #[error("tenant is archived")]
    TenantArchived,
    #[error("invalid tenant in request: {0}")]
    InvalidTenant(String),
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("authentication required")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("invalid request: {detail}")]
    BadRequest { code: &'static str, detail: String },
    /// Input that parsed but breaks the rules (a form against its schema, an attachment
    /// against its document): every field error at once.
    #[error("validation failed")]
    Invalid { errors: Vec<FieldError> },
    #[error("conflict: {detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("payload too large: {detail}")]
    TooLarge { detail: String },
    /// An `Idempotency-Key` sent again with a different request.
    #[error("idempotency key reused for a different request")]
    KeyReused,
    #[error("service temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    /// The error and its causes on one line (`outer: inner: root`), for logs: `Debug` would
    /// print several lines, and a whole backtrace when backtraces are on.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }

    /// Stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TenantNotFound => "tenant_not_found",
            Self::TenantNotResolved => "tenant_not_resolved",
            Self::TenantSuspended => "tenant_suspended",
            Self::TenantNotOpen => "tenant_not_open",
            Self::TenantArchived => "tenant_archived",
            Self::InvalidTenant(_) => "invalid_tenant",
            Self::NotFound { .. } => "not_found",
            Self::Unauthorized => "unauthorized",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Forbidden => "forbidden",
            Self::BadRequest { code, .. } => code,
            Self::Invalid { .. } => "validation_failed",
            Self::Conflict { code, .. } => code,
            Self::TooLarge { .. } => "payload_too_large",
            Self::KeyReused => "idempotency_key_reused",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// Vietnamese title first, then English.
    fn titles(&self) -> (&'static str, &'static str) {
        match self {
            Self::TenantNotFound => ("Không tìm thấy đơn vị", "Tenant not found"),
            Self::TenantNotResolved => (
                "Yêu cầu không chỉ rõ đơn vị nào",
                "The request does not name a tenant",
            ),
            Self::TenantSuspended => ("Đơn vị đang tạm ngừng hoạt động", "Tenant is suspended"),
            Self::TenantNotOpen => (
                "Cổng dịch vụ công của đơn vị đang được chuẩn bị, chưa mở",
                "This tenant's portal is being prepared and is not open yet",
            ),
            Self::TenantArchived => (
                "Đơn vị đã ngừng cung cấp dịch vụ trên cổng này",
                "This tenant no longer offers services on this portal",
            ),
            Self::InvalidTenant(_) => ("Tên đơn vị không hợp lệ", "Invalid tenant name"),
            Self::NotFound { .. } => ("Không tìm thấy", "Not found"),
            Self::Unauthorized => ("Cần xác thực", "Authentication required"),
            Self::Forbidden => (
                "Bạn không có quyền thực hiện thao tác này",
                "You may not do this",
            ),
            Self::TooManyRequests { .. } => (
                "Quá nhiều yêu cầu, vui lòng thử lại sau",
                "Too many requests, please retry later",
            ),
            Self::BadRequest { .. } => ("Yêu cầu không hợp lệ", "Invalid request"),
            Self::Invalid { .. } => (
                "Dữ liệu chưa hợp lệ, vui lòng kiểm tra các trường được nêu",
                "Some fields are invalid",
            ),
            Self::Conflict { .. } => (
                "Dữ liệu đã thay đổi hoặc thao tác không còn phù hợp, vui lòng tải lại",
                "Conflict with the current state; reload and retry",
            ),
            Self::TooLarge { .. } => ("Dữ liệu gửi lên quá lớn", "Payload too large"),
            Self::KeyReused => (
                "Khóa Idempotency-Key đã được dùng cho một yêu cầu khác",
                "This Idempotency-Key was used for a different request",
            ),
            Self::Unavailable(_) => (
                "Dịch vụ tạm thời không khả dụng, vui lòng thử lại sau",
                "Service temporarily unavailable, please retry",
            ),
            Self::Internal(_) => ("Lỗi hệ thống", "Internal error"),
        }
    }

    /// Detail shown to the caller; server-side causes are never included.
    fn public_detail(&self) -> Option<String> {
        match self {
            Self::InvalidTenant(d) => Some(d.clone()),
            Self::BadRequest { detail, .. }
            | Self::Conflict { detail, .. }
            | Self::TooLarge { detail } => Some(detail.clone()),
            Self::NotFound { what } => Some(format!("{what} not found")),
            _ => None,
        }
    }

    pub fn problem(&self) -> Problem {
        let (title, title_en) = self.titles();
        Problem {
            r#type: format!("https://dvc.gov.vn/problems/{}", self.code()),
            title,
            title_en,
            status: self.status_code().as_u16(),
            code: self.code(),
            detail: self.public_detail(),
            errors: match self {
                Self::Invalid { errors } => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

/// Whole seconds for `Retry-After`, rounded up: a client told 1 s for a 1.9 s wait would be
/// refused again.
pub fn retry_after(wait: std::time::Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// RFC 9457 problem details body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub r#type: String,
    /// Vietnamese title.
    pub title: &'static str,
    /// English title.
    pub title_en: &'static str,
    pub status: u16,
    /// Stable machine-readable code.
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Field-level errors (`validation_failed`), each with a JSON Pointer to the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::TenantNotFound | Self::TenantNotResolved | Self::NotFound { .. } => {
                StatusCode::NOT_FOUND
            }
            Self::TenantSuspended | Self::TenantNotOpen => StatusCode::FORBIDDEN,
            Self::TenantArchived => StatusCode::GONE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::InvalidTenant(_) | Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } | Self::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(e) | Self::Unavailable(e) => {
                // The cause chain on one line (`outer: inner: root`): anyhow's `Debug` is
                // several lines, and a whole backtrace per request when backtraces are on.
                tracing::error!(
                    code = self.code(),
                    error = %format_args!("{e:#}"),
                    "request failed"
                );
            }
            _ => {}
        }
        let mut resp = HttpResponse::build(self.status_code());
        resp.content_type("application/problem+json");
        if matches!(self, Self::Unavailable(_)) {
            resp.insert_header(("Retry-After", "5"));
        }
        if let Self::TooManyRequests { retry_after_secs } = self {
            resp.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        if matches!(self, Self::Unauthorized) {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        resp.json(self.problem())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => Self::NotFound { what: "resource" },
            // The database went away mid-request: 503 with Retry-After, never 500.
            other if is_connection_error(&other) => Self::Unavailable(other.into()),
            other => Self::Internal(other.into()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        // A checkout that timed out means the pool is exhausted or the database is down.
        Self::Unavailable(e.into())
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

/// Answers a malformed query string or path as problem+json instead of actix's plain text.
pub fn query_error_handler(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    AppError::bad_request("invalid_query", err.to_string()).into()
}

pub fn json_error_handler(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    AppError::bad_request("invalid_body", err.to_string()).into()
}

pub fn path_error_handler(
    err: actix_web::error::PathError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    AppError::bad_request("invalid_path", err.to_string()).into()
}

/// Whether a query failed because the connection itself is gone (the server restarted or
/// killed the backend, the network dropped): the caller should hear 503 and try again, not
/// 500, and the connection must not go back to the pool. (Here, below `db`, because the
/// conversion into [`AppError`] asks it too.)
pub fn is_connection_error(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as K, Error as E};
    match e {
        E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, _) => true,
        E::BrokenTransactionManager => true,
        E::DatabaseError(_, info) => {
            let m = info.message();
            [
                "terminating connection",
                "server closed the connection",
                "connection has been closed",
                "no connection to the server",
                "the database system is shutting down",
                "the database system is starting up",
                "could not receive data from server",
                "could not send data to server",
            ]
            .iter()
            .any(|needle| m.contains(needle))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        use std::time::Duration;
        assert_eq!(retry_after(Duration::from_millis(1900)), 2);
        assert_eq!(retry_after(Duration::from_secs(3)), 3);
        assert_eq!(retry_after(Duration::from_millis(1)), 1);
        assert_eq!(retry_after(Duration::ZERO), 1);
    }

    #[test]
    fn a_chain_names_every_cause_on_one_line() {
        let root = std::io::Error::other("connection refused");
        let e = AppError::Unavailable(anyhow::Error::new(root).context("redis"));
        let line = e.chain();
        assert!(!line.contains('\n'), "{line}");
        assert!(
            line.starts_with("service temporarily unavailable: redis")
                && line.ends_with("connection refused"),
            "{line}"
        );
    }
}
