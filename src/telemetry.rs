//! Tracing set-up: one subscriber for the process, and a root span per request that carries
//! the request id and, once resolved, the tenant.

use crate::config::{LogFormat, LogSettings};
use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use std::sync::OnceLock;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The trace exporter, kept to flush spans at shutdown.
static TRACER: OnceLock<opentelemetry_sdk::trace::SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber: logs to stderr, and traces to an OTLP collector when
/// `log.otlp_endpoint` is set. Safe to call more than once (tests): later calls do nothing.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new(settings.filter.clone()));
    let logs: BoxedLayer = match settings.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(colour(
                std::io::IsTerminal::is_terminal(&std::io::stderr()),
                std::env::var_os("NO_COLOR").as_deref(),
            ))
            .compact()
            .boxed(),
    };
    // Spans are exported at `info` whatever the log filter says (logs may be `warn` only).
    let mut layers: Vec<BoxedLayer> = vec![logs.with_filter(filter).boxed()];
    if let Some(traces) = settings.otlp_endpoint.as_deref().and_then(otlp_layer) {
        layers.push(
            traces
                .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
                .boxed(),
        );
    }
    let _ = tracing_subscriber::registry().with(layers).try_init();
}

/// Colour (ANSI escapes) only for a person at a terminal: a log collector, a file or a pipe
/// gets plain text, and so does anyone who sets `NO_COLOR` (<https://no-color.org>).
fn colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

fn otlp_layer(endpoint: &str) -> Option<BoxedLayer> {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig;
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("dvc: trace export to {endpoint} disabled: {e}");
            return None;
        }
    };
    // Batches leave on the exporter's own thread (blocking HTTP client), off the workers.
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("dvc")
                .build(),
        )
        .build();
    let tracer = provider.tracer("dvc");
    let _ = TRACER.set(provider);
    Some(tracing_opentelemetry::layer().with_tracer(tracer).boxed())
}

/// Sends the spans still buffered (call before the process exits).
pub fn shutdown() {
    if let Some(p) = TRACER.get()
        && let Err(e) = p.shutdown()
    {
        eprintln!("dvc: flushing traces failed: {e}");
    }
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

#[cfg(test)]
mod tests {
    use super::colour;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_at_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
        assert!(!colour(false, Some(OsStr::new("1"))));
    }
}
