//! Tracing set-up: one subscriber for the process, and a root span per request that carries
//! the request id and, once resolved, the tenant.

use crate::config::{LogFormat, LogSettings};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
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
    stderr_is_terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
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
    /// The fields of `tracing_actix_web::root_span!`, but for the target: query strings carry
    /// phones, codes and tokens (`/oauth/authorize?code=…`, a payment return), so only the
    /// names of their parameters reach the log, never their values.
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request.match_pattern().unwrap_or_else(|| "default".into());
        let method = request.method().as_str().to_owned();
        let info = request.connection_info();
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %method,
            http.route = %route,
            http.flavor = ?request.version(),
            http.scheme = %info.scheme(),
            http.host = %info.host(),
            http.client_ip = %info.realip_remote_addr().unwrap_or(""),
            http.user_agent = %request
                .headers()
                .get("User-Agent")
                .and_then(|h| h.to_str().ok())
                .unwrap_or(""),
            http.target = %redacted_target(request.uri()),
            http.status_code = tracing::field::Empty,
            otel.name = %format!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            trace_id = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
            tenant = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        // One access-log line per request, inside the root span (request id, route, tenant).
        if let Ok(response) = outcome {
            tracing::info!(parent: &span, status = response.status().as_u16(), "request done");
        }
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// The path, and of the query only its parameter names: `/lookup?code=…&phone=…`.
pub fn redacted_target(uri: &actix_web::http::Uri) -> String {
    let path = uri.path();
    match uri.query() {
        None | Some("") => path.to_owned(),
        Some(query) => {
            let names: Vec<String> = query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let name = pair.split('=').next().unwrap_or("");
                    // Names are the client's too: keep them short and plain.
                    let name: String = name
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || "_-.[]%".contains(*c))
                        .take(40)
                        .collect();
                    format!("{name}=…")
                })
                .take(20)
                .collect();
            format!("{path}?{}", names.join("&"))
        }
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
    use super::{colour, redacted_target};
    use std::ffi::OsStr;

    #[test]
    fn logged_targets_keep_parameter_names_and_drop_their_values() {
        let t = |u: &str| redacted_target(&u.parse().unwrap());
        assert_eq!(
            t("/t/ha-noi/api/v1/procedures"),
            "/t/ha-noi/api/v1/procedures"
        );
        assert_eq!(
            t("/api/v1/lookup?code=HNI-261128-0007&phone=0912345678"),
            "/api/v1/lookup?code=…&phone=…"
        );
        let logged = t("/auth/callback?code=abc123secret&state=xyz");
        assert!(
            !logged.contains("abc123secret") && !logged.contains("xyz"),
            "{logged}"
        );
        assert_eq!(t("/x?"), "/x");
        assert_eq!(t("/x?flag"), "/x?flag=…");
    }

    #[test]
    fn colour_only_at_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
        assert!(!colour(false, Some(OsStr::new("1"))));
    }
}
