//! The signed-in caller of a tenant-scoped request: a verified access token whose audience is
//! the resolved tenant. Anything else is 401; a missing role is 403. (Its extractor, which
//! checks the token and its session, is `http::principal`.)

use super::roles::Role;
use crate::error::AppError;
use crate::tenancy::CurrentTenant;
use uuid::Uuid;

pub struct Principal {
    pub account: Uuid,
    pub session: Uuid,
    pub roles: Vec<Role>,
    pub tenant: CurrentTenant,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// An officer or a leader of this tenant: who works on its dossiers.
    pub fn is_official(&self) -> bool {
        self.has(Role::Officer) || self.has(Role::Leader)
    }

    /// 403 unless the caller holds `role` in this tenant.
    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.has(role) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}
