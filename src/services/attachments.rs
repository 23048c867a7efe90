//! Attachment policy (pure): what a procedure's document accepts, the type sniffed from the
//! bytes themselves, and the display name — which is only ever displayed, never a path.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// File types dossiers may carry. The type comes from the content, never from the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Pdf,
    Jpeg,
    Png,
    Docx,
    Xlsx,
}

impl FileKind {
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    fn extensions(self) -> &'static [&'static str] {
        match self {
            Self::Pdf => &["pdf"],
            Self::Jpeg => &["jpg", "jpeg"],
            Self::Png => &["png"],
            Self::Docx => &["docx"],
            Self::Xlsx => &["xlsx"],
        }
    }

    pub const ALL: [FileKind; 5] = [Self::Pdf, Self::Jpeg, Self::Png, Self::Docx, Self::Xlsx];

    /// The kind a file-name extension names (`pdf`, `JPG`, `.docx`), if dvc can recognise it.
    pub fn from_extension(ext: &str) -> Option<Self> {
        let ext = ext.trim().trim_start_matches('.').to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.extensions().contains(&ext.as_str()))
    }

    /// Its usual extension, as people write it.
    pub fn extension(self) -> &'static str {
        self.extensions()[0]
    }

    /// The kind stored under this media type (as [`media_type`](Self::media_type) wrote it).
    pub fn from_media_type(m: &str) -> Option<Self> {
        [Self::Pdf, Self::Jpeg, Self::Png, Self::Docx, Self::Xlsx]
            .into_iter()
            .find(|k| k.media_type() == m)
    }

    /// Recognises the file by its first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        let kind = infer::get(bytes)?;
        match kind.mime_type() {
            "application/pdf" => Some(Self::Pdf),
            "image/jpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            m if m == Self::Docx.media_type() => Some(Self::Docx),
            m if m == Self::Xlsx.media_type() => Some(Self::Xlsx),
            _ => None,
        }
    }
}

pub fn default_accept() -> Vec<FileKind> {
    vec![FileKind::Pdf, FileKind::Jpeg, FileKind::Png]
}

pub const DEFAULT_MAX_SIZE_MB: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    #[error("tên tệp không hợp lệ / invalid file name")]
    BadName,
    #[error("tệp rỗng / empty file")]
    Empty,
    #[error("tệp vượt quá {max_mb} MB / file larger than {max_mb} MB")]
    TooLarge { max_mb: u32 },
    #[error("loại tệp không được chấp nhận (chấp nhận: {accepted}) / file type not accepted")]
    TypeNotAccepted { accepted: String },
    #[error(
        "phần mở rộng của tên tệp không khớp với nội dung / the file name's extension does not match its content"
    )]
    ExtensionMismatch,
}

/// A file name as a citizen's browser sent it, for display only. Anything that looks like a
/// path, hides itself or carries control characters is refused outright rather than cleaned,
/// so no surprising name is ever shown to an officer.
pub fn display_name(raw: &str) -> Result<String, AttachmentError> {
    let name = raw.trim();
    let bad = name.is_empty()
        || name.chars().count() > 150
        || name.starts_with('.')
        || name.contains("..")
        || name
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | ':' | '\0'));
    if bad {
        Err(AttachmentError::BadName)
    } else {
        Ok(name.to_owned())
    }
}

/// Checks one uploaded file against what the document accepts; the sniffed kind if it passes.
pub fn check(
    name: &str,
    bytes: &[u8],
    accept: &[FileKind],
    max_size_mb: u32,
) -> Result<FileKind, AttachmentError> {
    if bytes.is_empty() {
        return Err(AttachmentError::Empty);
    }
    if bytes.len() as u64 > u64::from(max_size_mb) * 1024 * 1024 {
        return Err(AttachmentError::TooLarge {
            max_mb: max_size_mb,
        });
    }
    let accepted = || {
        accept
            .iter()
            .map(|k| k.extensions()[0])
            .collect::<Vec<_>>()
            .join(", ")
    };
    let kind = FileKind::sniff(bytes)
        .filter(|k| accept.contains(k))
        .ok_or_else(|| AttachmentError::TypeNotAccepted {
            accepted: accepted(),
        })?;
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .ok_or(AttachmentError::ExtensionMismatch)?;
    if !kind.extensions().contains(&ext.as_str()) {
        return Err(AttachmentError::ExtensionMismatch);
    }
    Ok(kind)
}

/// Hex SHA-256 of the content, stored with the attachment and checked on export.
pub fn checksum(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    super::text::hex(&Sha256::digest(bytes))
}

/// One uploaded file as it arrived: the document it answers (its index in the procedure's
/// list), the browser's file name (display only) and the content. Nothing is checked yet.
pub struct UploadedFile {
    pub index: usize,
    pub name: String,
    pub bytes: Vec<u8>,
}

#[cfg(test)]
pub(crate) mod samples {
    /// Smallest files each sniffer recognises.
    pub const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    pub const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0";
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    #[test]
    fn type_comes_from_content() {
        assert_eq!(FileKind::sniff(PDF), Some(FileKind::Pdf));
        assert_eq!(FileKind::sniff(PNG), Some(FileKind::Png));
        assert_eq!(FileKind::sniff(JPEG), Some(FileKind::Jpeg));
        assert_eq!(FileKind::sniff(b"MZ\x90\0 an executable"), None);
        let accept = default_accept();
        assert_eq!(check("don.pdf", PDF, &accept, 1), Ok(FileKind::Pdf));
        assert_eq!(check("ANH.JPG", JPEG, &accept, 1), Ok(FileKind::Jpeg));
        // A lying extension: an image named .pdf, and an executable named .pdf.
        assert_eq!(
            check("don.pdf", PNG, &accept, 1),
            Err(AttachmentError::ExtensionMismatch)
        );
        assert!(matches!(
            check("don.pdf", b"MZ\x90\0 an executable", &accept, 1),
            Err(AttachmentError::TypeNotAccepted { .. })
        ));
        assert!(matches!(
            check("anh.png", PNG, &[FileKind::Pdf], 1),
            Err(AttachmentError::TypeNotAccepted { .. })
        ));
        assert_eq!(check("x.pdf", b"", &accept, 1), Err(AttachmentError::Empty));
    }

    #[test]
    fn size_limit() {
        let mut big = PDF.to_vec();
        big.resize(1024 * 1024 + 1, b' ');
        assert_eq!(
            check("a.pdf", &big, &default_accept(), 1),
            Err(AttachmentError::TooLarge { max_mb: 1 })
        );
        big.truncate(1024 * 1024);
        assert!(check("a.pdf", &big, &default_accept(), 1).is_ok());
    }

    #[test]
    fn path_like_names_are_refused() {
        for bad in [
            "../../etc/passwd",
            "..\\boot.ini",
            "/etc/passwd",
            "a/b.pdf",
            ".htaccess",
            "C:evil.pdf",
            "ok\0.pdf",
            "line\nbreak.pdf",
            "",
        ] {
            assert_eq!(display_name(bad), Err(AttachmentError::BadName), "{bad:?}");
        }
        assert_eq!(
            display_name(" Đơn đề nghị.pdf ").as_deref(),
            Ok("Đơn đề nghị.pdf")
        );
    }

    #[test]
    fn checksum_is_sha256() {
        assert_eq!(
            checksum(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
