//! Each tenant's merchant account at its gateway (shared schema), its secret sealed under the
//! master key: a tenant's secret can only sign and verify that tenant's payments.

use crate::auth::keys::MasterKey;
use crate::db::schema::payment_merchants as pm;
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Clone)]
pub struct Merchant {
    pub tenant_id: Uuid,
    pub provider: String,
    pub merchant_id: String,
    pub gateway_url: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for Merchant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merchant")
            .field("tenant_id", &self.tenant_id)
            .field("merchant_id", &self.merchant_id)
            .field("gateway_url", &self.gateway_url)
            .finish_non_exhaustive()
    }
}

/// Creates or replaces the tenant's merchant account.
pub fn set(
    conn: &mut PgConnection,
    master: &MasterKey,
    tenant_id: Uuid,
    provider: &str,
    merchant_id: &str,
    gateway_url: &str,
    secret: &[u8],
) -> QueryResult<()> {
    let (sealed, nonce) = master.seal(secret);
    diesel::insert_into(pm::table)
        .values((
            pm::tenant_id.eq(tenant_id),
            pm::provider.eq(provider),
            pm::merchant_id.eq(merchant_id),
            pm::gateway_url.eq(gateway_url),
            pm::secret_sealed.eq(&sealed),
            pm::secret_nonce.eq(&nonce),
        ))
        .on_conflict(pm::tenant_id)
        .do_update()
        .set((
            pm::provider.eq(provider),
            pm::merchant_id.eq(merchant_id),
            pm::gateway_url.eq(gateway_url),
            pm::secret_sealed.eq(&sealed),
            pm::secret_nonce.eq(&nonce),
            pm::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(drop)
}

type Row = (Uuid, String, String, String, Vec<u8>, Vec<u8>);

fn open(master: &MasterKey, r: Row) -> Result<Merchant, crate::error::AppError> {
    let secret = master
        .open(&r.4, &r.5)
        .map_err(crate::error::AppError::internal)?;
    Ok(Merchant {
        tenant_id: r.0,
        provider: r.1,
        merchant_id: r.2,
        gateway_url: r.3,
        secret,
    })
}

fn columns() -> (
    pm::tenant_id,
    pm::provider,
    pm::merchant_id,
    pm::gateway_url,
    pm::secret_sealed,
    pm::secret_nonce,
) {
    (
        pm::tenant_id,
        pm::provider,
        pm::merchant_id,
        pm::gateway_url,
        pm::secret_sealed,
        pm::secret_nonce,
    )
}

pub fn for_tenant(
    conn: &mut PgConnection,
    master: &MasterKey,
    tenant_id: Uuid,
) -> Result<Option<Merchant>, crate::error::AppError> {
    pm::table
        .find(tenant_id)
        .select(columns())
        .first::<Row>(conn)
        .optional()?
        .map(|r| open(master, r))
        .transpose()
}

pub fn by_merchant_id(
    conn: &mut PgConnection,
    master: &MasterKey,
    merchant_id: &str,
) -> Result<Option<Merchant>, crate::error::AppError> {
    pm::table
        .filter(pm::merchant_id.eq(merchant_id))
        .select(columns())
        .first::<Row>(conn)
        .optional()?
        .map(|r| open(master, r))
        .transpose()
}
