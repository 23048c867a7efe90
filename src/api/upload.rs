//! Reading a submission body: `application/json`, or `multipart/form-data` with a `data` part
//! (JSON) and files in parts named `doc.{index}`. Sizes are bounded while reading, so an
//! oversized upload is refused before it is held in memory whole.

use crate::error::AppError;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

/// One uploaded file: the document it answers, the browser's file name (display only) and the
/// content.
pub struct File {
    pub index: usize,
    pub name: String,
    pub bytes: Vec<u8>,
}

pub struct Upload {
    pub data: serde_json::Value,
    pub files: Vec<File>,
    /// Short text parts the caller allowed by name (the portal's CSRF token).
    pub fields: Vec<(String, String)>,
}

const MAX_JSON: usize = 256 * 1024;
const MAX_FILES: usize = 50;

fn too_large(limit: usize) -> AppError {
    AppError::TooLarge {
        detail: format!(
            "the request is larger than {} MiB; attach smaller files",
            limit / (1024 * 1024)
        ),
    }
}

pub async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Upload, AppError> {
    read_with(req, payload, limit, &[], true).await
}

/// A browser's form: as [`read`], also accepting the short text parts named in `extra`
/// (at most 8 KiB each), with the `data` part optional (`null` when absent).
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
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// A file input left empty (a browser sends a part with no file name and no bytes) is
/// skipped.
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
    let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
    let mut data = None;
    let mut files = Vec::new();
    let mut fields = Vec::new();
    let mut total = 0usize;
    while let Some(field) = multipart.next().await {
        let mut field =
            field.map_err(|e| AppError::bad_request("invalid_multipart", e.to_string()))?;
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        if extra.contains(&name.as_str()) {
            let mut bytes = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk =
                    chunk.map_err(|e| AppError::bad_request("invalid_multipart", e.to_string()))?;
                // 2,000 characters of Vietnamese (up to 4 bytes each) fit.
                if bytes.len() + chunk.len() > 8 * 1024 {
                    return Err(AppError::bad_request(
                        "invalid_part",
                        format!("part `{name}` is too long"),
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(bytes).map_err(|_| {
                AppError::bad_request("invalid_part", format!("part `{name}`: not UTF-8"))
            })?;
            fields.push((name, text));
            continue;
        }
        let index = match (name.as_str(), name.strip_prefix("doc.")) {
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
        let cap = if index.is_none() { MAX_JSON } else { limit };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| AppError::bad_request("invalid_multipart", e.to_string()))?;
            total += chunk.len();
            if total > limit || bytes.len() + chunk.len() > cap {
                return Err(too_large(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        match index {
            None => {
                data = Some(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| AppError::bad_request("invalid_body", e.to_string()))?,
                )
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
