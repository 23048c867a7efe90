//! Reading a submission body: `application/json`, or `multipart/form-data` with a `data` part
//! (JSON) and files in parts named `doc.{index}`. Sizes are bounded while reading, so an
//! oversized upload is refused before it is held in memory whole: every part's content (file,
//! `data` and text alike) counts toward the caller's `limit`, the number of parts is bounded,
//! and the raw body (boundaries and part headers included) may exceed `limit` only by a fixed
//! allowance. A refusal comes before any use case runs, so it changes nothing.

use crate::error::AppError;
use actix_web::error::PayloadError;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;
use std::cell::Cell;
use std::rc::Rc;

pub use crate::services::attachments::UploadedFile as File;

pub struct Upload {
    pub data: serde_json::Value,
    pub files: Vec<File>,
    /// Short text parts the caller allowed by name (the portal's CSRF token), each sent at most
    /// once.
    pub fields: Vec<(String, String)>,
}

const MAX_JSON: usize = 256 * 1024;
const MAX_FILES: usize = 50;
/// Parts in one multipart body. A browser's form sends one per file input, chosen or not
/// (`doc.0` … `doc.99`), plus the `data` part and a few short text fields.
const MAX_PARTS: usize = 128;
/// One text part: 2,000 characters of Vietnamese (up to 4 bytes each) fit.
const MAX_TEXT: usize = 8 * 1024;
/// What one part may add to the body besides its content: its boundary line and headers
/// (name, file name, type). Counted for the whole body, not per part.
const PART_OVERHEAD: usize = 4 * 1024;

/// The largest raw multipart body accepted when parts' contents may total `limit`.
fn body_limit(limit: usize) -> usize {
    limit.saturating_add(MAX_PARTS * PART_OVERHEAD)
}

fn size_text(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

fn too_large(limit: usize) -> AppError {
    AppError::TooLarge {
        detail: format!(
            "the request is larger than {}; attach smaller files",
            size_text(limit)
        ),
    }
}

/// The body's declared `Content-Length`, if any: one above the bound is refused before a byte
/// of the body is read.
fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

pub async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Upload, AppError> {
    read_with(req, payload, limit, &[], true).await
}

/// A whole body as it came (a file sent as the request's content), at most `limit` bytes:
/// refused before reading when its declared length is larger, and while reading otherwise.
pub async fn read_raw(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, AppError> {
    if declared_length(req).is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request("invalid_body", e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A browser's form: as [`read`], also accepting the short text parts named in `extra`
/// (at most 8 KiB each, once each, counted toward `limit`), with the `data` part optional
/// (`null` when absent).
pub async fn read_form(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    extra: &[&str],
) -> Result<Upload, AppError> {
    read_with(req, payload, limit, extra, false).await
}

impl Upload {
    /// A text part the caller allowed, or "" when it was not sent.
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// What a multipart body has used so far.
struct Budget {
    /// Content bytes of the parts read so far, whatever their kind.
    used: usize,
    limit: usize,
    /// Set when the raw body passed [`body_limit`]; its stream then ends in an error.
    overflowed: Rc<Cell<bool>>,
}

impl Budget {
    fn broken(&self, e: actix_multipart::MultipartError) -> AppError {
        if self.overflowed.get() {
            too_large(self.limit)
        } else {
            AppError::bad_request("invalid_multipart", e.to_string())
        }
    }

    /// One part's content: at most `cap` bytes (else `too_long`), each counted toward the
    /// body's `limit`.
    async fn content(
        &mut self,
        field: &mut actix_multipart::Field,
        cap: usize,
        too_long: impl FnOnce() -> AppError,
    ) -> Result<Vec<u8>, AppError> {
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| self.broken(e))?;
            self.used = self.used.saturating_add(chunk.len());
            if self.used > self.limit {
                return Err(too_large(self.limit));
            }
            if bytes.len() + chunk.len() > cap {
                return Err(too_long());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

/// A file input left empty (a browser sends a part with no file name and no bytes) is
/// skipped, though it counts as a part.
async fn read_with(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    extra: &[&str],
    require_data: bool,
) -> Result<Upload, AppError> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") {
        if declared_length(req).is_some_and(|n| n > MAX_JSON as u64) {
            return Err(too_large(MAX_JSON));
        }
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| AppError::bad_request("invalid_body", e.to_string()))?;
            if body.len() + chunk.len() > MAX_JSON {
                return Err(too_large(MAX_JSON));
            }
            body.extend_from_slice(&chunk);
        }
        let data = serde_json::from_slice(&body)
            .map_err(|e| AppError::bad_request("invalid_body", e.to_string()))?;
        return Ok(Upload {
            data,
            files: Vec::new(),
            fields: Vec::new(),
        });
    }
    if !content_type.starts_with("multipart/form-data") {
        return Err(AppError::bad_request(
            "unsupported_media_type",
            "send application/json or multipart/form-data",
        ));
    }
    // The raw body is bounded as it streams in (a chunked body declares no length), so
    // neither endless part headers nor endless parts are held in memory.
    let max_body = body_limit(limit);
    if declared_length(req).is_some_and(|n| n > max_body as u64) {
        return Err(too_large(limit));
    }
    let overflowed = Rc::new(Cell::new(false));
    let flag = overflowed.clone();
    let mut seen = 0usize;
    let bounded = payload.map(move |chunk| {
        let chunk = chunk?;
        seen = seen.saturating_add(chunk.len());
        if seen > max_body {
            flag.set(true);
            return Err(PayloadError::Overflow);
        }
        Ok(chunk)
    });
    let mut multipart = actix_multipart::Multipart::new(req.headers(), bounded);
    let mut budget = Budget {
        used: 0,
        limit,
        overflowed,
    };
    let mut data = None;
    let mut files = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut parts = 0usize;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| budget.broken(e))?;
        parts += 1;
        if parts > MAX_PARTS {
            return Err(AppError::bad_request(
                "too_many_parts",
                format!("at most {MAX_PARTS} parts"),
            ));
        }
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        if extra.contains(&name.as_str()) {
            if fields.iter().any(|(k, _)| *k == name) {
                return Err(duplicate(&name));
            }
            let bytes = budget
                .content(&mut field, MAX_TEXT, || {
                    AppError::bad_request("invalid_part", format!("part `{name}` is too long"))
                })
                .await?;
            let text = String::from_utf8(bytes).map_err(|_| {
                AppError::bad_request("invalid_part", format!("part `{name}`: not UTF-8"))
            })?;
            fields.push((name, text));
            continue;
        }
        let index = match (name.as_str(), name.strip_prefix("doc.")) {
            ("data", _) if data.is_some() => return Err(duplicate(&name)),
            ("data", _) => None,
            (_, Some(i)) => Some(i.parse::<usize>().ok().filter(|i| *i < 100).ok_or_else(
                || AppError::bad_request("invalid_part", format!("part `{name}`: doc.<index>")),
            )?),
            _ => {
                return Err(AppError::bad_request(
                    "invalid_part",
                    "parts: `data` and `doc.<index>` only",
                ));
            }
        };
        let bytes = match index {
            None => {
                budget
                    .content(&mut field, MAX_JSON, || AppError::TooLarge {
                        detail: format!("the `data` part is larger than {}", size_text(MAX_JSON)),
                    })
                    .await?
            }
            Some(_) => {
                budget
                    .content(&mut field, limit, || too_large(limit))
                    .await?
            }
        };
        match index {
            None => {
                data = Some(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| AppError::bad_request("invalid_body", e.to_string()))?,
                );
            }
            Some(_) if bytes.is_empty() && file_name.as_deref().is_none_or(str::is_empty) => {}
            Some(index) => {
                if files.len() >= MAX_FILES {
                    return Err(AppError::bad_request(
                        "too_many_files",
                        format!("at most {MAX_FILES} files"),
                    ));
                }
                files.push(File {
                    index,
                    name: file_name.unwrap_or_default(),
                    bytes,
                });
            }
        }
    }
    let data = match data {
        Some(d) => d,
        None if !require_data => serde_json::Value::Null,
        None => {
            return Err(AppError::bad_request(
                "missing_data",
                "multipart body without a `data` part",
            ));
        }
    };
    Ok(Upload {
        data,
        files,
        fields,
    })
}

fn duplicate(name: &str) -> AppError {
    AppError::bad_request(
        "duplicate_part",
        format!("part `{name}` is sent more than once"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::FromRequest;
    use actix_web::test::TestRequest;
    use actix_web::web::Bytes;
    use futures_util::Stream;
    use std::pin::Pin;

    const BOUNDARY: &str = "dvc-test-boundary";

    fn part(name: &str, body: &[u8]) -> Vec<u8> {
        let mut p =
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .into_bytes();
        p.extend_from_slice(body);
        p.extend_from_slice(b"\r\n");
        p
    }

    fn file(name: &str, file_name: &str, body: &[u8]) -> Vec<u8> {
        let mut p = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; \
             filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        p.extend_from_slice(body);
        p.extend_from_slice(b"\r\n");
        p
    }

    fn body(parts: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
        let mut b: Vec<u8> = parts.into_iter().flatten().collect();
        b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        b
    }

    /// Sends `body` in 4 KiB chunks, as a chunked upload (no declared length) unless
    /// `declared` gives a `Content-Length`.
    async fn send(
        content_type: &str,
        body: Vec<u8>,
        declared: Option<u64>,
        limit: usize,
        extra: &[&str],
        require_data: bool,
    ) -> Result<Upload, AppError> {
        let mut r = TestRequest::post().insert_header(("content-type", content_type));
        if let Some(n) = declared {
            r = r.insert_header(("content-length", n.to_string()));
        }
        let (req, _) = r.to_http_parts();
        let chunks: Vec<Result<Bytes, PayloadError>> = body
            .chunks(4096)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let stream: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(futures_util::stream::iter(chunks));
        let mut pl = actix_web::dev::Payload::from(stream);
        let payload = web::Payload::from_request(&req, &mut pl).await.unwrap();
        read_with(&req, payload, limit, extra, require_data).await
    }

    async fn form(body: Vec<u8>, limit: usize, extra: &[&str]) -> Result<Upload, AppError> {
        let ct = format!("multipart/form-data; boundary={BOUNDARY}");
        send(&ct, body, None, limit, extra, false).await
    }

    fn code(r: Result<Upload, AppError>) -> &'static str {
        match r {
            Ok(_) => "accepted",
            Err(e) => e.code(),
        }
    }

    const EXTRA: &[&str] = &["csrf", "nonce", "note"];

    #[actix_web::test]
    async fn a_browser_form_near_the_limit_is_read_whole() {
        // A review page with 100 file inputs (one chosen), its data and its text fields: the
        // chosen file fills the limit to the byte.
        let limit = 64 * 1024;
        let data = br#"{"procedure":"1.000105"}"#;
        let csrf = [b'c'; 43];
        let nonce = [b'n'; 43];
        let pdf = vec![b'%'; limit - data.len() - csrf.len() - nonce.len()];
        let mut parts = vec![
            part("csrf", &csrf),
            part("nonce", &nonce),
            part("data", data),
            file("doc.0", "Đơn đề nghị có tên rất dài.pdf", &pdf),
        ];
        parts.extend((1..100).map(|i| file(&format!("doc.{i}"), "", b"")));
        let up = form(body(parts), limit, EXTRA).await.unwrap();
        assert_eq!(up.field("csrf").len(), 43);
        assert_eq!(up.field("nonce").len(), 43);
        assert_eq!(up.field("note"), "");
        assert_eq!(up.data["procedure"], "1.000105");
        assert_eq!(up.files.len(), 1);
        assert_eq!((up.files[0].index, up.files[0].bytes.len()), (0, pdf.len()));
        // One byte more is too much.
        let mut parts = vec![
            part("csrf", &csrf),
            part("nonce", &nonce),
            part("data", data),
            file("doc.0", "don.pdf", &pdf),
            part("note", b"x"),
        ];
        parts.extend((1..100).map(|i| file(&format!("doc.{i}"), "", b"")));
        assert_eq!(
            code(form(body(parts), limit, EXTRA).await),
            "payload_too_large"
        );
    }

    #[actix_web::test]
    async fn text_parts_count_toward_the_limit() {
        // Each part is within its own 8 KiB; together they pass the body's 16 KiB.
        let text = vec![b'a'; 6 * 1024];
        let parts = EXTRA.iter().map(|n| part(n, &text));
        assert_eq!(
            code(form(body(parts), 16 * 1024, EXTRA).await),
            "payload_too_large"
        );
    }

    #[actix_web::test]
    async fn a_text_part_sent_twice_is_refused() {
        let parts = [part("csrf", b"good"), part("csrf", b"other")];
        assert_eq!(
            code(form(body(parts), 1 << 20, EXTRA).await),
            "duplicate_part"
        );
    }

    #[actix_web::test]
    async fn a_data_part_sent_twice_is_refused() {
        let ct = format!("multipart/form-data; boundary={BOUNDARY}");
        let parts = [part("data", b"{\"a\":1}"), part("data", b"{\"a\":2}")];
        let r = send(&ct, body(parts), None, 1 << 20, &[], true).await;
        assert_eq!(code(r), "duplicate_part");
    }

    #[actix_web::test]
    async fn the_number_of_parts_is_bounded() {
        // Empty file inputs hold nothing, but each is a part to parse.
        let parts = (0..=MAX_PARTS).map(|_| file("doc.0", "", b""));
        assert_eq!(
            code(form(body(parts), 1 << 20, EXTRA).await),
            "too_many_parts"
        );
    }

    #[actix_web::test]
    async fn the_raw_body_is_bounded_even_where_no_part_has_content() {
        // A part whose headers never end: nothing of it is content, all of it is body.
        let mut head =
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\nX-Pad: ")
                .into_bytes();
        head.resize(2 * 1024 * 1024, b'p');
        head.extend_from_slice(b"\r\n\r\nt\r\n");
        let limit = 16 * 1024;
        let r = form(body([head]), limit, EXTRA).await;
        assert_eq!(code(r), "payload_too_large");
    }

    #[actix_web::test]
    async fn a_declared_length_past_the_bound_is_refused_unread() {
        let ct = format!("multipart/form-data; boundary={BOUNDARY}");
        let limit = 1 << 20;
        let small = body([part("data", b"{}")]);
        let r = send(
            &ct,
            small.clone(),
            Some(body_limit(limit) as u64 + 1),
            limit,
            &[],
            true,
        )
        .await;
        assert_eq!(code(r), "payload_too_large");
        let r = send(
            "application/json",
            b"{}".to_vec(),
            Some(MAX_JSON as u64 + 1),
            limit,
            &[],
            true,
        )
        .await;
        assert_eq!(code(r), "payload_too_large");
        // The same bodies, declared truthfully, are read.
        let n = small.len() as u64;
        assert!(send(&ct, small, Some(n), limit, &[], true).await.is_ok());
        let r = send(
            "application/json",
            b"{}".to_vec(),
            Some(2),
            limit,
            &[],
            true,
        )
        .await;
        assert!(r.is_ok());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size_text(50 * 1024 * 1024), "50 MiB");
        assert_eq!(size_text(256 * 1024 + 4096), "260 KiB");
    }
}
