//! Tracing set-up: one subscriber for the process, and a root span per request that carries
//! the request id and, once resolved, the tenant.

use crate::config::{LogFormat, LogSettings};
use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Safe to call more than once (tests): later calls do nothing.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new(settings.filter.clone()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

/// Root span with an empty `tenant` field that the tenant resolver fills in.
pub struct DvcRootSpan;

impl RootSpanBuilder for DvcRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        tracing_actix_web::root_span!(request, tenant = tracing::field::Empty)
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        // One access-log line per request, inside the root span (request id, route, tenant).
        if let Ok(response) = outcome {
            tracing::info!(parent: &span, status = response.status().as_u16(), "request done");
        }
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Runs blocking work (diesel, hashing) on the blocking pool, inside the caller's span.
pub async fn spawn_blocking_in_span<F, T>(f: F) -> Result<T, actix_web::error::BlockingError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let span = Span::current();
    actix_web::web::block(move || span.in_scope(f)).await
}
