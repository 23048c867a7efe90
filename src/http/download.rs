//! A stored file sent to whoever may have it: its media type as stored, never sniffed by the
//! browser, never cached, offered for saving under its display name (UTF-8, RFC 5987).

use actix_web::HttpResponse;

pub fn attachment(name: &str, media_type: &str, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(media_type.to_owned())
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename*=UTF-8''{}",
                url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
            ),
        ))
        .body(bytes)
}
