//! What import reads of an archive folder, and what it accepts in it.
//!
//! The folder is walked once without following anything: every entry must be a regular file
//! or a directory (a symbolic link, a FIFO or a device is refused), and a file is later opened
//! only if it is still the very file that was walked (same device and inode), so a link put in
//! its place, or in place of a folder on its way, is refused too.
//!
//! The shared rows an archive carries must all be its own tenant's: [`RowCheck`] says what each
//! file's rows must hold, and is applied to the same bytes the checksum is computed over.

use super::{ArchiveError, ArchivePath, refused};
use crate::services::storage::StorageKey;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// The archive folder as it was walked.
pub(super) struct ArchiveDir {
    root: PathBuf,
    /// Every regular file, by its path inside the folder (`/`-separated): (device, inode).
    files: BTreeMap<String, (u64, u64)>,
}

impl ArchiveDir {
    /// Walks `root` (the folder itself may be reached through a link: the operator named it),
    /// refusing anything inside that is neither a regular file nor a directory.
    pub(super) fn walk(root: &Path) -> Result<Self, ArchiveError> {
        let meta =
            std::fs::metadata(root).map_err(|e| refused(format!("{}: {e}", root.display())))?;
        if !meta.is_dir() {
            return Err(refused(format!("{} is not a folder", root.display())));
        }
        let mut files = BTreeMap::new();
        let mut pending = vec![(root.to_path_buf(), String::new())];
        while let Some((dir, prefix)) = pending.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let name = entry.file_name();
                let name = name.to_str().ok_or_else(|| {
                    refused(format!(
                        "{prefix}{}: not a UTF-8 name",
                        name.to_string_lossy()
                    ))
                })?;
                let rel = format!("{prefix}{name}");
                // Never followed: the entry itself is judged, not what it may point to.
                let meta = std::fs::symlink_metadata(entry.path())?;
                let kind = meta.file_type();
                if kind.is_symlink() {
                    return Err(refused(format!(
                        "`{rel}` is a symbolic link: an archive holds only files and folders"
                    )));
                } else if kind.is_dir() {
                    pending.push((entry.path(), format!("{rel}/")));
                } else if kind.is_file() {
                    files.insert(rel, (meta.dev(), meta.ino()));
                } else {
                    return Err(refused(format!(
                        "`{rel}` is not a regular file: an archive holds only files and folders"
                    )));
                }
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
            files,
        })
    }

    pub(super) fn contains(&self, rel: &str) -> bool {
        self.files.contains_key(rel)
    }

    /// Opens a file that was walked, refusing one that has been replaced since.
    pub(super) fn open(&self, rel: &str) -> Result<File, ArchiveError> {
        let walked = *self
            .files
            .get(rel)
            .ok_or_else(|| refused(format!("`{rel}` is missing from the archive folder")))?;
        let file = File::open(self.root.join(rel)).map_err(|e| refused(format!("{rel}: {e}")))?;
        let meta = file.metadata()?;
        if !meta.is_file() || (meta.dev(), meta.ino()) != walked {
            return Err(refused(format!(
                "`{rel}` was replaced while the archive was read"
            )));
        }
        Ok(file)
    }

    pub(super) fn read(&self, rel: &str) -> Result<Vec<u8>, ArchiveError> {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut self.open(rel)?, &mut bytes)?;
        Ok(bytes)
    }
}

/// One JSON-lines row: an object whose keys are all distinct (PostgreSQL would take the last
/// of two equal keys; a row that could be read two ways is refused).
pub(super) struct Row(pub(super) Map<String, Value>);

impl<'de> serde::Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Row;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
                let mut out = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    if out.contains_key(&key) {
                        return Err(de::Error::custom(format!("key `{key}` appears twice")));
                    }
                    let value: Value = map.next_value()?;
                    out.insert(key, value);
                }
                Ok(Row(out))
            }
        }
        d.deserialize_map(Object)
    }
}

/// The tenant an archive restores, as its manifest names it.
pub(super) struct Own<'a> {
    pub id: Uuid,
    pub slug: &'a str,
    pub code: &'a str,
    pub schema: &'a str,
}

/// What the rows of the archive said that import needs before it writes: checked across
/// files, whatever order the manifest lists them in.
#[derive(Default)]
pub(super) struct Contents {
    /// Ids of the accounts the archive carries.
    accounts: BTreeSet<Uuid>,
    /// Accounts the memberships name, with the first line naming each.
    members: BTreeMap<Uuid, usize>,
    tenant_rows: usize,
    /// The domains of `platform/tenant_domains.jsonl`.
    pub domains: Vec<String>,
}

/// What the rows of one file must hold.
#[derive(Debug, Clone, Copy)]
pub(super) enum RowCheck {
    /// `platform/tenants.jsonl`: one row, the archive's own tenant.
    Tenant,
    /// `platform/accounts.jsonl`: an id each (kept to check memberships against).
    Accounts,
    /// A shared table keyed by tenant: `tenant_id` is the archive's own.
    Shared(&'static str),
    /// `platform/memberships.jsonl`: the archive's own tenant, an account the archive carries.
    Memberships,
    /// `tenant/attachments.jsonl` and `tenant/results.jsonl`: storage keys under the tenant's
    /// own prefix.
    Attachments,
}

impl RowCheck {
    /// The check for an archive path; `None` for files whose rows need none (tenant tables
    /// load into the imported tenant's own schema, whatever they hold).
    pub(super) fn of(path: &ArchivePath) -> Option<Self> {
        match path {
            ArchivePath::Tenants => Some(Self::Tenant),
            ArchivePath::Accounts => Some(Self::Accounts),
            ArchivePath::Platform("memberships") => Some(Self::Memberships),
            ArchivePath::Platform(table) => Some(Self::Shared(table)),
            ArchivePath::Tenant(table) if table == "attachments" || table == "results" => {
                Some(Self::Attachments)
            }
            ArchivePath::Tenant(_) | ArchivePath::Attachment(_) => None,
        }
    }
}

/// The storage-key prefix of a tenant's files (`{tenant id}/`, as
/// [`StorageKey::generate`] makes them).
pub(super) fn key_prefix(tenant: Uuid) -> String {
    format!("{tenant}/")
}

/// Whether `key` is a well-formed storage key of `tenant`'s.
pub(super) fn owns_key(tenant: Uuid, key: &StorageKey) -> bool {
    key.as_str().starts_with(&key_prefix(tenant))
}

fn uuid_field(row: &Row, field: &str) -> Option<Uuid> {
    row.0
        .get(field)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

fn text_field<'r>(row: &'r Row, field: &str) -> Option<&'r str> {
    row.0.get(field).and_then(Value::as_str)
}

fn shown(row: &Row, field: &str) -> String {
    row.0
        .get(field)
        .map_or_else(|| "(none)".to_owned(), Value::to_string)
}

impl Contents {
    /// Checks one line (`n` counts from 1) of `file`.
    pub(super) fn check_line(
        &mut self,
        own: &Own,
        check: RowCheck,
        file: &str,
        n: usize,
        line: &str,
    ) -> Result<(), ArchiveError> {
        let at = |why: String| refused(format!("{file} line {n}: {why}"));
        let row: Row = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let tenant_id = |row: &Row| -> Result<(), ArchiveError> {
            match uuid_field(row, "tenant_id") {
                Some(t) if t == own.id => Ok(()),
                _ => Err(at(format!(
                    "tenant_id {} is not the archive's own tenant {}: an archive restores \
                     only its own tenant's rows",
                    shown(row, "tenant_id"),
                    own.id
                ))),
            }
        };
        match check {
            RowCheck::Tenant => {
                self.tenant_rows += 1;
                let id = uuid_field(&row, "id");
                if self.tenant_rows > 1 || id != Some(own.id) {
                    return Err(at(format!(
                        "a registry row for tenant {} ({}), not the archive's own tenant {} \
                         ({}): an archive restores only its own tenant",
                        shown(&row, "id"),
                        shown(&row, "slug"),
                        own.id,
                        own.slug
                    )));
                }
                for (field, expected) in [
                    ("slug", own.slug),
                    ("code", own.code),
                    ("schema_name", own.schema),
                ] {
                    if text_field(&row, field) != Some(expected) {
                        return Err(at(format!(
                            "the tenant's {field} is {}, not `{expected}` as the manifest and \
                             its slug say",
                            shown(&row, field)
                        )));
                    }
                }
            }
            RowCheck::Accounts => {
                let id = uuid_field(&row, "id")
                    .ok_or_else(|| at(format!("account id {}", shown(&row, "id"))))?;
                self.accounts.insert(id);
            }
            RowCheck::Shared(table) => {
                tenant_id(&row)?;
                if table == "tenant_domains" {
                    let domain = text_field(&row, "domain")
                        .ok_or_else(|| at(format!("domain {}", shown(&row, "domain"))))?;
                    self.domains.push(domain.to_owned());
                }
            }
            RowCheck::Memberships => {
                tenant_id(&row)?;
                let account = uuid_field(&row, "account_id")
                    .ok_or_else(|| at(format!("account_id {}", shown(&row, "account_id"))))?;
                self.members.entry(account).or_insert(n);
            }
            RowCheck::Attachments => {
                let key = text_field(&row, "storage_key");
                let ours = key
                    .and_then(StorageKey::parse)
                    .is_some_and(|k| owns_key(own.id, &k));
                if !ours {
                    return Err(at(format!(
                        "storage key {} is not one of this tenant's (`{}{{year}}/{{id}}`)",
                        shown(&row, "storage_key"),
                        key_prefix(own.id)
                    )));
                }
            }
        }
        Ok(())
    }

    /// The checks that need every file read.
    pub(super) fn finish(&self) -> Result<(), ArchiveError> {
        if self.tenant_rows != 1 {
            return Err(refused(
                "platform/tenants.jsonl must hold exactly the tenant's own registry row",
            ));
        }
        if let Some((account, n)) = self
            .members
            .iter()
            .find(|(a, _)| !self.accounts.contains(a))
        {
            return Err(refused(format!(
                "platform/memberships.jsonl line {n}: account {account} is not among the \
                 archive's accounts"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(id: Uuid) -> Own<'static> {
        Own {
            id,
            slug: "tinh-a",
            code: "TA",
            schema: "t_tinh_a",
        }
    }

    #[test]
    fn only_the_own_tenants_rows_pass() {
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        let own = own(me);
        let mut c = Contents::default();
        let line = |t: Uuid| format!(r#"{{"tenant_id":"{t}","day":"2026-01-01"}}"#);
        let stats = RowCheck::Shared("stats_daily");
        assert!(c.check_line(&own, stats, "f", 1, &line(me)).is_ok());
        assert!(c.check_line(&own, stats, "f", 2, &line(other)).is_err());
        // Upper case is the same uuid to PostgreSQL, and so here.
        let upper = line(me).to_uppercase().replace("TENANT_ID", "tenant_id");
        assert!(c.check_line(&own, stats, "f", 3, &upper).is_ok());
        for bad in [
            // Two readings of one row.
            format!(r#"{{"tenant_id":"{me}","tenant_id":"{other}"}}"#),
            // Two rows on one line.
            format!(r#"{{"tenant_id":"{me}"}},{{"tenant_id":"{other}"}}"#),
            format!(r#"[{{"tenant_id":"{me}"}}]"#),
            r#"{"day":"2026-01-01"}"#.to_owned(),
            r#"{"tenant_id":null}"#.to_owned(),
        ] {
            let got = c.check_line(&own, stats, "platform/stats_daily.jsonl", 9, &bad);
            assert!(
                matches!(&got, Err(ArchiveError::Refused(w)) if w.starts_with("platform/stats_daily.jsonl line 9")),
                "{bad}: {got:?}"
            );
        }
    }

    #[test]
    fn the_registry_row_is_the_tenant_itself() {
        let me = Uuid::new_v4();
        let own = own(me);
        let row = |id: Uuid, schema: &str| {
            format!(r#"{{"id":"{id}","slug":"tinh-a","code":"TA","schema_name":"{schema}"}}"#)
        };
        let mut c = Contents::default();
        assert!(c.finish().is_err(), "no registry row");
        assert!(
            c.check_line(&own, RowCheck::Tenant, "f", 1, &row(me, "t_tinh_a"))
                .is_ok()
        );
        assert!(c.finish().is_ok());
        assert!(
            c.check_line(&own, RowCheck::Tenant, "f", 2, &row(me, "t_tinh_a"))
                .is_err(),
            "a second row, even the same"
        );
        let mut c = Contents::default();
        assert!(
            c.check_line(&own, RowCheck::Tenant, "f", 1, &row(me, "t_bo"))
                .is_err(),
            "another tenant's schema"
        );
        let mut c = Contents::default();
        assert!(
            c.check_line(
                &own,
                RowCheck::Tenant,
                "f",
                1,
                &row(Uuid::new_v4(), "t_tinh_a")
            )
            .is_err()
        );
    }

    #[test]
    fn members_are_accounts_the_archive_carries() {
        let me = Uuid::new_v4();
        let own = own(me);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut c = Contents::default();
        let tenant =
            format!(r#"{{"id":"{me}","slug":"tinh-a","code":"TA","schema_name":"t_tinh_a"}}"#);
        c.check_line(&own, RowCheck::Tenant, "t", 1, &tenant)
            .unwrap();
        let member = |acc: Uuid, t: Uuid| {
            format!(r#"{{"account_id":"{acc}","tenant_id":"{t}","role":"officer"}}"#)
        };
        c.check_line(&own, RowCheck::Memberships, "m", 1, &member(a, me))
            .unwrap();
        assert!(
            c.check_line(
                &own,
                RowCheck::Memberships,
                "m",
                2,
                &member(a, Uuid::new_v4())
            )
            .is_err()
        );
        // Accounts may come after the memberships in a reordered manifest.
        c.check_line(
            &own,
            RowCheck::Accounts,
            "a",
            1,
            &format!(r#"{{"id":"{a}"}}"#),
        )
        .unwrap();
        assert!(c.finish().is_ok());
        c.check_line(&own, RowCheck::Memberships, "m", 3, &member(b, me))
            .unwrap();
        assert!(matches!(c.finish(), Err(ArchiveError::Refused(w)) if w.contains(&b.to_string())));
    }

    #[test]
    fn attachment_keys_are_under_the_tenants_prefix() {
        let me = Uuid::new_v4();
        let own = own(me);
        let mut c = Contents::default();
        let row = |key: &str| format!(r#"{{"id":1,"storage_key":"{key}"}}"#);
        let mine = StorageKey::generate(me, 2026);
        let theirs = StorageKey::generate(Uuid::new_v4(), 2026);
        assert!(
            c.check_line(&own, RowCheck::Attachments, "f", 1, &row(mine.as_str()))
                .is_ok()
        );
        for bad in [
            theirs.as_str().to_owned(),
            format!("{me}/2026/../../{}", theirs.as_str()),
            format!("{me}/../{}", theirs.as_str()),
            format!("{}", me.simple()),
        ] {
            assert!(
                c.check_line(&own, RowCheck::Attachments, "f", 2, &row(&bad))
                    .is_err(),
                "{bad}"
            );
        }
    }
}
