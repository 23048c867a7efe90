//! Diesel table definitions. Shared tables are schema-qualified (`platform.…`); tenant tables are
//! not, and resolve through the tenant transaction's search path.

diesel::table! {
    platform.tenants (id) {
        id -> Uuid,
        slug -> Text,
        schema_name -> Text,
        code -> Text,
        kind -> Text,
        parent_id -> Nullable<Uuid>,
        name_vi -> Text,
        name_en -> Nullable<Text>,
        locale -> Text,
        branding -> Jsonb,
        contact -> Jsonb,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        mail_templates -> Jsonb,
    }
}

diesel::table! {
    platform.outbox (id) {
        id -> Int8,
        tenant_id -> Nullable<Uuid>,
        template -> Text,
        locale -> Text,
        recipient -> Text,
        payload -> Jsonb,
        idempotency_key -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
        smtp_message_id -> Nullable<Text>,
        // created_at is filled by its default and read by nothing here; left out to stay
        // within diesel's 16-column tables.
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    platform.signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        state -> Text,
        public_jwk -> Jsonb,
        private_key_enc -> Bytea,
        nonce -> Bytea,
        created_at -> Timestamptz,
        activated_at -> Nullable<Timestamptz>,
        retired_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    platform.accounts (id) {
        id -> Uuid,
        kind -> Text,
        email -> Text,
        email_verified_at -> Nullable<Timestamptz>,
        full_name -> Text,
        citizen_id -> Nullable<Text>,
        tax_code -> Nullable<Text>,
        phone -> Nullable<Text>,
        locale -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    platform.account_tokens (token_hash) {
        token_hash -> Bytea,
        account_id -> Uuid,
        purpose -> Text,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        new_email -> Nullable<Text>,
    }
}

diesel::table! {
    platform.audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        tenant_id -> Nullable<Uuid>,
        ip -> Nullable<Text>,
        action -> Text,
        detail -> Jsonb,
    }
}

diesel::table! {
    platform.memberships (account_id, tenant_id, role) {
        account_id -> Uuid,
        tenant_id -> Uuid,
        role -> Text,
        granted_by -> Nullable<Uuid>,
        granted_at -> Timestamptz,
    }
}

diesel::table! {
    platform.platform_roles (account_id, role) {
        account_id -> Uuid,
        role -> Text,
        granted_at -> Timestamptz,
    }
}

diesel::table! {
    platform.oauth_clients (client_id) {
        client_id -> Text,
        name -> Text,
        tenant_id -> Nullable<Uuid>,
        redirect_uris -> Array<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    platform.sso_sessions (id) {
        id -> Uuid,
        account_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        mfa -> Bool,
    }
}

diesel::table! {
    platform.account_totp (account_id) {
        account_id -> Uuid,
        secret_enc -> Bytea,
        nonce -> Bytea,
        confirmed_at -> Nullable<Timestamptz>,
        last_step -> Nullable<Int8>,
    }
}

diesel::table! {
    platform.oauth_codes (code_hash) {
        code_hash -> Bytea,
        client_id -> Text,
        session_id -> Uuid,
        account_id -> Uuid,
        redirect_uri -> Text,
        code_challenge -> Text,
        nonce -> Nullable<Text>,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    platform.refresh_tokens (token_hash) {
        token_hash -> Bytea,
        family_id -> Uuid,
        session_id -> Uuid,
        client_id -> Text,
        account_id -> Uuid,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    platform.tenant_domains (domain) {
        domain -> Text,
        tenant_id -> Uuid,
    }
}

diesel::table! {
    platform.tenant_schema_state (tenant_id) {
        tenant_id -> Uuid,
        version -> Nullable<Text>,
        status -> Text,
        error -> Nullable<Text>,
        attempts -> Int4,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(tenant_domains -> tenants (tenant_id));
diesel::joinable!(tenant_schema_state -> tenants (tenant_id));
diesel::joinable!(outbox -> tenants (tenant_id));
diesel::joinable!(account_tokens -> accounts (account_id));
diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    tenant_domains,
    tenant_schema_state,
    outbox,
    accounts,
    account_tokens,
    memberships,
    platform_roles,
    oauth_clients,
    sso_sessions,
    oauth_codes,
    refresh_tokens,
    account_totp
);
diesel::joinable!(memberships -> tenants (tenant_id));
diesel::joinable!(memberships -> accounts (account_id));

/// Tables inside each tenant schema.
pub mod tenant {
    diesel::table! {
        fields (code) {
            code -> Text,
            name_vi -> Text,
            name_en -> Nullable<Text>,
        }
    }

    diesel::table! {
        procedures (code) {
            code -> Text,
            name_vi -> Text,
            name_en -> Nullable<Text>,
            field_code -> Text,
            online_level -> Text,
            processing_days -> Int4,
            fee_vnd -> Int8,
            documents -> Jsonb,
            active -> Bool,
            search_text -> Text,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
        }
    }

    diesel::joinable!(procedures -> fields (field_code));
    diesel::allow_tables_to_appear_in_same_query!(fields, procedures);
}
