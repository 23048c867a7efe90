//! The citizen's wallet (kho dữ liệu), for the API and the portal: listing it, offering its
//! items for a procedure's documents, and turning the items a citizen chose into the dossier's
//! files. The bytes are copied only into the dossier chosen; the attachment records where it
//! came from and when the citizen chose it.

use crate::app::dossiers::field_error;
use crate::error::{AppError, FieldError};
use crate::services::attachments::FileKind;
use crate::services::catalog::Procedure;
use crate::services::dossiers::StoredFile;
use crate::services::storage::StorageKey;
use crate::services::wallet::{WalletItem, store};
use crate::state::AppState;
use chrono::Datelike;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A wallet item the applicant chose for one of the procedure's documents.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletPick {
    /// The document's index in the procedure's list.
    pub document: usize,
    /// The wallet item's id.
    pub item: Uuid,
}

/// The account's wallet, the newest first.
pub async fn list(state: &AppState, account: Uuid) -> Result<Vec<WalletItem>, AppError> {
    state
        .shared
        .run(move |c| Ok(store::list(c, account)?))
        .await
}

/// For each of the procedure's documents, the items that may answer it: live results of the
/// procedures it names first (offered without searching), then the other items of an
/// accepted type. Revoked results are never offered.
pub fn offers(p: &Procedure, items: &[WalletItem]) -> Vec<Vec<(WalletItem, bool)>> {
    p.documents
        .iter()
        .map(|doc| {
            let mut out: Vec<(WalletItem, bool)> = items
                .iter()
                .filter(|i| i.revoked_at.is_none())
                .filter(|i| {
                    FileKind::from_media_type(&i.media_type)
                        .is_some_and(|k| doc.accept.contains(&k))
                })
                .map(|i| (i.clone(), i.answers(&doc.from_results)))
                .collect();
            out.sort_by_key(|(_, suggested)| !suggested);
            out
        })
        .collect()
}

/// The chosen items as the dossier's files, copied into this tenant's storage. Every problem
/// is added to `errors` (nothing is copied then); an item that is not the account's is "not
/// found", the same answer as for an item that does not exist.
pub async fn take(
    state: &AppState,
    account: Uuid,
    tenant: Uuid,
    p: &Procedure,
    picks: &[WalletPick],
    errors: &mut Vec<FieldError>,
) -> Result<Vec<StoredFile>, AppError> {
    if picks.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<Uuid> = picks.iter().map(|w| w.item).collect();
    let items = state
        .shared
        .run(move |c| Ok(store::own(c, account, &ids)?))
        .await?;
    let mut chosen = Vec::new();
    for pick in picks {
        let Some(item) = items.iter().find(|i| i.id == pick.item) else {
            return Err(AppError::NotFound {
                what: "wallet item",
            });
        };
        let path = format!("/documents/{}", pick.document);
        let Some(doc) = p.documents.get(pick.document) else {
            errors.push(field_error(
                path,
                "unknown_document",
                "Giấy tờ không có trong danh mục của thủ tục",
                "No such document in this procedure",
            ));
            continue;
        };
        if item.revoked_at.is_some() {
            errors.push(field_error(
                path,
                "revoked",
                &format!("{}: kết quả này đã bị thu hồi, không dùng được", doc.name),
                "This result has been revoked and cannot be used",
            ));
            continue;
        }
        let kind = FileKind::from_media_type(&item.media_type);
        match kind {
            Some(k) if doc.accept.contains(&k) => {}
            _ => {
                errors.push(field_error(
                    path,
                    "invalid_file",
                    &format!("{}: loại tệp không được chấp nhận", doc.name),
                    "File type not accepted",
                ));
                continue;
            }
        }
        if item.size_bytes > i64::from(doc.max_size_mb) * 1024 * 1024 {
            errors.push(field_error(
                path,
                "invalid_file",
                &format!("{}: tệp vượt quá {} MB", doc.name, doc.max_size_mb),
                &format!("File larger than {} MB", doc.max_size_mb),
            ));
            continue;
        }
        if let Some(k) = kind {
            chosen.push((pick.document, item.clone(), k));
        }
    }
    if !errors.is_empty() {
        return Ok(vec![]);
    }
    let storage = state.storage.clone();
    let now = state.now();
    actix_web::web::block(move || {
        let mut out: Vec<StoredFile> = Vec::with_capacity(chosen.len());
        for (document, item, kind) in chosen {
            let copied = (|| {
                let from = StorageKey::parse(&item.storage_key)
                    .ok_or_else(|| AppError::internal(anyhow::anyhow!("bad storage key")))?;
                let bytes = storage.get(&from).map_err(AppError::internal)?;
                // The file is what the agency issued or accepted: the digest says so.
                if crate::services::attachments::checksum(&bytes) != item.sha256 {
                    return Err(AppError::internal(anyhow::anyhow!(
                        "wallet item {} no longer matches its digest",
                        item.id
                    )));
                }
                let key = StorageKey::generate(tenant, now.year());
                storage.put(&key, &bytes).map_err(AppError::internal)?;
                Ok(StoredFile {
                    document_index: Some(document as i32),
                    file_name: item.file_name.clone(),
                    kind,
                    size: item.size_bytes,
                    sha256: item.sha256.clone(),
                    key,
                    digitised: false,
                    provenance: Some(item.provenance(now)),
                })
            })();
            match copied {
                Ok(f) => out.push(f),
                Err(e) => {
                    for f in &out {
                        let _ = storage.delete(&f.key);
                    }
                    return Err(e);
                }
            }
        }
        Ok(out)
    })
    .await
    .map_err(AppError::internal)?
}

/// One of the account's own items, with its bytes (anyone else's: not found).
pub async fn open(
    state: &AppState,
    account: Uuid,
    id: Uuid,
) -> Result<(WalletItem, Vec<u8>), AppError> {
    let item = state
        .shared
        .run(move |c| Ok(store::own(c, account, &[id])?))
        .await?
        .pop()
        .ok_or(AppError::NotFound {
            what: "wallet item",
        })?;
    let bytes = crate::app::dossiers::read_stored(state, &item.storage_key).await?;
    Ok((item, bytes))
}
