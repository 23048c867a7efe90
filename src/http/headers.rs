//! Request headers a use case takes as a value.

use crate::error::AppError;
use crate::services::idempotency::IdempotencyKey;
use actix_web::HttpRequest;

/// The `Idempotency-Key` header, when sent.
pub(crate) fn idempotency_key(req: &HttpRequest) -> Result<Option<IdempotencyKey>, AppError> {
    req.headers()
        .get("Idempotency-Key")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| IdempotencyKey::parse(v).ok())
                .ok_or_else(|| {
                    AppError::bad_request(
                        "invalid_idempotency_key",
                        "Idempotency-Key: 1 to 255 visible ASCII characters",
                    )
                })
        })
        .transpose()
}
