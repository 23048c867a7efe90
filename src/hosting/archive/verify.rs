//! Verification: what an archive's files may be ([`ArchivePath`]), what vouches for it
//! ([`Trust`]), and [`verify()`], every check that needs no database, made before import
//! writes anything.

use super::inspect::{ArchiveDir, Contents, Own, RowCheck, owns_key};
use super::signature::{self, Signature};
use super::{
    ArchiveError, FORMAT, FileEntry, MANIFEST, Manifest, ManifestKey, PLATFORM_TABLES,
    SIGNATURE_FILE, ident, refused,
};
use crate::services::storage::StorageKey;
use crate::services::text::hex;
use crate::tenancy::names::TenantSlug;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::{BufRead, Read};
use std::path::Path;

/// One file of an archive, its path parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchivePath {
    Platform(&'static str),
    Accounts,
    Tenants,
    Tenant(String),
    Attachment(StorageKey),
}

impl ArchivePath {
    /// Only the shapes export writes; nothing else is ever opened.
    pub fn parse(path: &str) -> Option<Self> {
        if let Some(key) = path.strip_prefix("attachments/") {
            return StorageKey::parse(key).map(Self::Attachment);
        }
        if let Some(name) = path
            .strip_prefix("platform/")
            .and_then(|p| p.strip_suffix(".jsonl"))
        {
            return match name {
                "tenants" => Some(Self::Tenants),
                "accounts" => Some(Self::Accounts),
                _ => PLATFORM_TABLES
                    .iter()
                    .find(|(t, _)| *t == name)
                    .map(|(t, _)| Self::Platform(t)),
            };
        }
        let name = path
            .strip_prefix("tenant/")
            .and_then(|p| p.strip_suffix(".jsonl"))?;
        ident(name).ok().map(|_| Self::Tenant(name.to_owned()))
    }
}

/// What vouches for an archive on import, besides the checksums of its own manifest.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trust<'a> {
    /// This deployment's manifest key (from `auth.master_key`): checks `manifest.sig`.
    pub key: Option<&'a ManifestKey>,
    /// SHA-256 of `manifest.json` as export printed it, when the operator has it.
    pub checksum: Option<&'a str>,
    /// Accepts an archive whose manifest is not signed with `key` (made before archives were
    /// signed, or by a deployment with another master key, or with no key here). Every other
    /// check still applies.
    pub allow_unsigned: bool,
}

/// An archive that passed every check that needs no database.
pub struct Verified {
    pub manifest: Manifest,
    pub signature: Signature,
    pub(super) folder: ArchiveDir,
    /// The domains its `tenant_domains` rows claim.
    pub(super) domains: Vec<String>,
}

/// A reader that hashes and counts what passes through it.
pub(super) struct Hashing<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Hashing<R> {
    pub(super) fn new(inner: R) -> Self {
        Self {
            inner,
            hash: Sha256::new(),
            bytes: 0,
        }
    }

    pub(super) fn matches(self, entry: &FileEntry) -> bool {
        self.bytes == entry.bytes && hex(&self.hash.finalize()) == entry.sha256
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Calls `each` with every non-empty line of `reader` (split on `\n`, a trailing `\r` dropped)
/// and its number from 1: the one way both the checks and the load read JSON lines.
pub(super) fn each_line(
    reader: &mut impl BufRead,
    mut each: impl FnMut(usize, &[u8]) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError> {
    let mut buf = Vec::new();
    let mut n = 0usize;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        n += 1;
        let mut line = buf.as_slice();
        line = line.strip_suffix(b"\n").unwrap_or(line);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.is_empty() {
            each(n, line)?;
        }
    }
}

pub(super) fn altered(path: &str) -> ArchiveError {
    refused(format!(
        "`{path}` does not match its checksum: altered or incomplete"
    ))
}

/// Reads the manifest and checks, without writing anything: that the folder holds only files
/// and folders, the manifest's checksum (when given) and signature, every file against the
/// manifest, and that every shared row and attachment is the manifest's own tenant's.
pub fn verify(dir: &Path, trust: Trust) -> Result<Verified, ArchiveError> {
    let folder = ArchiveDir::walk(dir)?;
    if !folder.contains(MANIFEST) {
        return Err(refused(format!("{MANIFEST} is missing")));
    }
    let text = folder.read(MANIFEST)?;
    if let Some(expected) = trust.checksum
        && !hex(&Sha256::digest(&text)).eq_ignore_ascii_case(expected.trim())
    {
        return Err(refused("the manifest's checksum is not the one given"));
    }
    let sig = if folder.contains(SIGNATURE_FILE) {
        Some(folder.read(SIGNATURE_FILE)?)
    } else {
        None
    };
    let signature = signature::check(trust.key, &text, sig.as_deref(), trust.allow_unsigned)?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| refused(format!("{MANIFEST}: {e}")))?;
    if manifest.format != FORMAT {
        return Err(refused(format!(
            "format `{}` is not {FORMAT}",
            manifest.format
        )));
    }
    let slug = TenantSlug::parse(&manifest.tenant.slug).map_err(|e| refused(e.to_string()))?;
    let schema = slug.schema_name();
    let own = Own {
        id: manifest.tenant.id,
        slug: slug.as_str(),
        code: &manifest.tenant.code,
        schema: schema.as_str(),
    };
    let mut contents = Contents::default();
    let mut seen = BTreeSet::new();
    for f in &manifest.files {
        let parsed = ArchivePath::parse(&f.path);
        let Some(parsed) = parsed.filter(|_| seen.insert(f.path.as_str())) else {
            return Err(refused(format!("unexpected file `{}`", f.path)));
        };
        if let ArchivePath::Attachment(key) = &parsed
            && !owns_key(own.id, key)
        {
            return Err(refused(format!(
                "`{}` is not a file of this tenant's: its storage keys start with `{}/`",
                f.path, own.id
            )));
        }
        let mut reader =
            std::io::BufReader::with_capacity(1 << 16, Hashing::new(folder.open(&f.path)?));
        // The rows are checked in the very bytes that are hashed; a checksum mismatch is
        // reported first, as it says more.
        let mut wrong = None;
        match RowCheck::of(&parsed) {
            Some(check) => each_line(&mut reader, |n, line| {
                if wrong.is_none() {
                    let checked = std::str::from_utf8(line)
                        .map_err(|e| refused(format!("{} line {n}: {e}", f.path)))
                        .and_then(|line| contents.check_line(&own, check, &f.path, n, line));
                    wrong = checked.err();
                }
                Ok(())
            })?,
            None => {
                std::io::copy(&mut reader, &mut std::io::sink())?;
            }
        }
        if !reader.into_inner().matches(f) {
            return Err(altered(&f.path));
        }
        if let Some(e) = wrong {
            return Err(e);
        }
    }
    for required in ["platform/tenants.jsonl", "tenant/dossiers.jsonl"] {
        if !seen.contains(required) {
            return Err(refused(format!("`{required}` is missing")));
        }
    }
    contents.finish()?;
    Ok(Verified {
        manifest,
        signature,
        folder,
        domains: contents.domains,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn only_the_shapes_export_writes_are_read() {
        assert_eq!(
            ArchivePath::parse("platform/stats_daily.jsonl"),
            Some(ArchivePath::Platform("stats_daily"))
        );
        assert_eq!(
            ArchivePath::parse("tenant/dossiers.jsonl"),
            Some(ArchivePath::Tenant("dossiers".into()))
        );
        let key = format!("{}/2026/{}", Uuid::new_v4(), Uuid::new_v4());
        assert!(matches!(
            ArchivePath::parse(&format!("attachments/{key}")),
            Some(ArchivePath::Attachment(_))
        ));
        for bad in [
            "../etc/passwd",
            "platform/secrets.jsonl",
            "tenant/../x.jsonl",
            "tenant/Dossiers.jsonl",
            "tenant/x\".jsonl",
            "attachments/../../x",
            "attachments/a/b/c",
            "manifest.json",
        ] {
            assert_eq!(ArchivePath::parse(bad), None, "{bad}");
        }
    }
}
