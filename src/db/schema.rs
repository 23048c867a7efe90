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
        plan -> Jsonb,
        live_at -> Nullable<Timestamptz>,
        archived_at -> Nullable<Timestamptz>,
        purge_after -> Nullable<Timestamptz>,
        agency_id -> Nullable<Text>,
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
        in_process_only -> Bool,
        post_logout_redirect_uris -> Array<Text>,
        account_api -> Bool,
        auth_method -> Text,
        secret_hash -> Nullable<Bytea>,
        jwks -> Nullable<Jsonb>,
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
        pending_enc -> Nullable<Bytea>,
        pending_nonce -> Nullable<Bytea>,
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
        verified_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    platform.invitations (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        email -> Text,
        role -> Text,
        token_hash -> Bytea,
        invited_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        accepted_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    platform.domain_claims (domain) {
        domain -> Text,
        tenant_id -> Uuid,
        token -> Text,
        created_at -> Timestamptz,
        checked_at -> Nullable<Timestamptz>,
        verified_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    platform.usage_monthly (tenant_id, month) {
        tenant_id -> Uuid,
        month -> Date,
        api_calls -> Int8,
        storage_bytes -> Int8,
        storage_checked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    platform.usage_accounts (tenant_id, month, account_id) {
        tenant_id -> Uuid,
        month -> Date,
        account_id -> Uuid,
    }
}

diesel::table! {
    platform.tenant_logos (tenant_id) {
        tenant_id -> Uuid,
        media_type -> Text,
        bytes -> Bytea,
        sha256 -> Text,
        updated_at -> Timestamptz,
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

diesel::table! {
    platform.dossier_index (tenant_id, dossier_id) {
        tenant_id -> Uuid,
        dossier_id -> Uuid,
        account_id -> Nullable<Uuid>,
        code -> Text,
        procedure_code -> Text,
        procedure_name -> Text,
        status -> Text,
        submitted_at -> Timestamptz,
        updated_at -> Timestamptz,
        claim_hash -> Nullable<Bytea>,
        claim_email -> Nullable<Text>,
    }
}

diesel::table! {
    platform.wallet_items (id) {
        id -> Uuid,
        account_id -> Uuid,
        tenant_id -> Uuid,
        kind -> Text,
        source_id -> Uuid,
        dossier_code -> Text,
        procedure_code -> Text,
        title -> Text,
        title_en -> Nullable<Text>,
        file_name -> Text,
        media_type -> Text,
        size_bytes -> Int8,
        sha256 -> Text,
        storage_key -> Text,
        result_number -> Nullable<Text>,
        added_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    platform.dossier_transfers (id) {
        id -> Uuid,
        kind -> Text,
        answers -> Nullable<Uuid>,
        dossier_code -> Text,
        procedure_code -> Text,
        from_tenant -> Uuid,
        to_tenant -> Uuid,
        payload -> Jsonb,
        progress -> Jsonb,
        created_at -> Timestamptz,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    platform.webhook_outbox (id) {
        id -> Int8,
        tenant_id -> Uuid,
        endpoint -> Text,
        url -> Text,
        ordering_key -> Text,
        event_id -> Uuid,
        body -> Jsonb,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    platform.stats_daily (tenant_id, day, procedure_code) {
        tenant_id -> Uuid,
        day -> Date,
        procedure_code -> Text,
        field_code -> Text,
        received -> Int4,
        received_online -> Int4,
        received_counter -> Int4,
        received_postal -> Int4,
        resolved -> Int4,
        resolved_on_time -> Int4,
        processing_seconds -> Int8,
        rating_sum -> Int4,
        rating_count -> Int4,
        paid_count -> Int4,
        paid_amount -> Int8,
        received_digitised -> Int4,
        results_issued -> Int4,
        results_digitised -> Int4,
        resolved_with_fee -> Int4,
        resolved_paid_online -> Int4,
        complaints_received -> Int4,
        complaints_answered -> Int4,
        complaints_answered_on_time -> Int4,
    }
}

diesel::table! {
    platform.payment_merchants (tenant_id) {
        tenant_id -> Uuid,
        provider -> Text,
        merchant_id -> Text,
        gateway_url -> Text,
        secret_sealed -> Bytea,
        secret_nonce -> Bytea,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    platform.sandbox_transactions (merchant_id, txn_ref) {
        merchant_id -> Text,
        txn_ref -> Text,
        amount_vnd -> Int8,
        status -> Text,
        transaction_no -> Text,
        bank_code -> Text,
        created_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    platform.stats_monthly (tenant_id, month, procedure_code) {
        tenant_id -> Uuid,
        month -> Date,
        procedure_code -> Text,
        field_code -> Text,
        received -> Int4,
        received_online -> Int4,
        received_counter -> Int4,
        received_postal -> Int4,
        resolved -> Int4,
        resolved_on_time -> Int4,
        processing_seconds -> Int8,
        rating_sum -> Int4,
        rating_count -> Int4,
        paid_count -> Int4,
        paid_amount -> Int8,
        received_digitised -> Int4,
        results_issued -> Int4,
        results_digitised -> Int4,
        resolved_with_fee -> Int4,
        resolved_paid_online -> Int4,
        complaints_received -> Int4,
        complaints_answered -> Int4,
        complaints_answered_on_time -> Int4,
    }
}

diesel::table! {
    platform.stats_open (tenant_id, procedure_code) {
        tenant_id -> Uuid,
        procedure_code -> Text,
        field_code -> Text,
        in_progress -> Int4,
    }
}

diesel::joinable!(dossier_index -> tenants (tenant_id));
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
    account_totp,
    dossier_index,
    dossier_transfers,
    wallet_items,
    webhook_outbox,
    stats_daily,
    stats_open,
    stats_monthly,
    payment_merchants,
    sandbox_transactions,
    invitations,
    domain_claims,
    usage_monthly,
    usage_accounts
);
diesel::joinable!(invitations -> tenants (tenant_id));
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
            form_schema -> Text,
            decide_role -> Text,
            inherited_from -> Nullable<Text>,
            fee_rule -> Text,
            pay_before_processing -> Bool,
            process -> Nullable<Jsonb>,
            details -> Jsonb,
            template -> Bool,
            adopted_version -> Nullable<Int4>,
            edited_in -> Text,
        }
    }

    diesel::table! {
        agencies (code) {
            code -> Text,
            name_vi -> Text,
            name_en -> Nullable<Text>,
            address -> Nullable<Text>,
        }
    }

    diesel::table! {
        unit_members (unit_code, account_id, role) {
            unit_code -> Text,
            account_id -> Uuid,
            role -> Text,
        }
    }

    diesel::table! {
        dossier_sequences (day) {
            day -> Date,
            last -> Int4,
        }
    }

    diesel::table! {
        dossiers (id) {
            id -> Uuid,
            code -> Text,
            procedure_code -> Text,
            applicant_id -> Nullable<Uuid>,
            applicant_name -> Text,
            applicant_email -> Nullable<Text>,
            locale -> Text,
            lookup_hash -> Bytea,
            channel -> Text,
            form_data -> Jsonb,
            fee_vnd -> Int8,
            status -> Text,
            version -> Int4,
            assignee_id -> Nullable<Uuid>,
            submitted_at -> Timestamptz,
            received_at -> Nullable<Timestamptz>,
            due_date -> Nullable<Date>,
            paused_on -> Nullable<Date>,
            missing -> Jsonb,
            resolved_at -> Nullable<Timestamptz>,
            returned_at -> Nullable<Timestamptz>,
            result_note -> Nullable<Text>,
            updated_at -> Timestamptz,
            payment_status -> Text,
            applicant_id_number -> Nullable<Text>,
            applicant_phone -> Nullable<Text>,
            refusal_reason -> Nullable<Text>,
            step -> Nullable<Int4>,
            step_entered_at -> Nullable<Timestamptz>,
            step_due_at -> Nullable<Timestamptz>,
            awaiting_unit -> Nullable<Text>,
            decision -> Nullable<Text>,
        }
    }

    diesel::table! {
        dossier_handovers (dossier_id) {
            dossier_id -> Uuid,
            held_by -> Nullable<Uuid>,
            origin_tenant -> Nullable<Uuid>,
            origin_transfer -> Nullable<Uuid>,
        }
    }

    diesel::table! {
        payments (id) {
            id -> Uuid,
            dossier_id -> Uuid,
            reference -> Text,
            amount_vnd -> Int8,
            status -> Text,
            provider -> Text,
            transaction_no -> Nullable<Text>,
            bank_code -> Nullable<Text>,
            response_code -> Nullable<Text>,
            receipt_no -> Nullable<Text>,
            created_at -> Timestamptz,
            settled_at -> Nullable<Timestamptz>,
            refunded_at -> Nullable<Timestamptz>,
            refund_reason -> Nullable<Text>,
            refunded_by -> Nullable<Uuid>,
        }
    }

    diesel::table! {
        payment_notifications (id) {
            id -> Int8,
            payment_id -> Nullable<Uuid>,
            source -> Text,
            raw -> Jsonb,
            verified -> Bool,
            outcome -> Text,
            received_at -> Timestamptz,
        }
    }

    diesel::table! {
        dossier_events (id) {
            id -> Int8,
            dossier_id -> Uuid,
            seq -> Int4,
            actor_id -> Nullable<Uuid>,
            actor_role -> Text,
            from_status -> Nullable<Text>,
            to_status -> Text,
            note -> Nullable<Text>,
            details -> Jsonb,
            at -> Timestamptz,
        }
    }

    diesel::table! {
        attachments (id) {
            id -> Uuid,
            dossier_id -> Uuid,
            document_index -> Nullable<Int4>,
            file_name -> Text,
            media_type -> Text,
            size_bytes -> Int8,
            sha256 -> Text,
            storage_key -> Text,
            uploaded_by -> Nullable<Uuid>,
            created_at -> Timestamptz,
            digitised -> Bool,
            provenance -> Nullable<Jsonb>,
        }
    }

    diesel::table! {
        signing_identities (id) {
            id -> Uuid,
            subject -> Text,
            issuer -> Text,
            serial -> Text,
            fingerprint -> Text,
            algorithm -> Text,
            not_before -> Timestamptz,
            not_after -> Timestamptz,
            chain_pem -> Text,
            sealed_key -> Bytea,
            key_nonce -> Bytea,
            in_use -> Bool,
            created_at -> Timestamptz,
        }
    }

    diesel::table! {
        procedure_versions (procedure_code, version) {
            procedure_code -> Text,
            version -> Int4,
            name_vi -> Text,
            name_en -> Nullable<Text>,
            form_schema -> Text,
            documents -> Jsonb,
            fee_vnd -> Int8,
            fee_rule -> Text,
            digest -> Text,
            created_at -> Timestamptz,
        }
    }

    diesel::table! {
        procedure_drafts (code) {
            code -> Text,
            design -> Jsonb,
            based_on -> Nullable<Int4>,
            updated_by -> Uuid,
            updated_at -> Timestamptz,
        }
    }

    diesel::table! {
        dossier_procedure_versions (dossier_id) {
            dossier_id -> Uuid,
            procedure_code -> Text,
            version -> Int4,
        }
    }

    diesel::table! {
        result_sequences (year) {
            year -> Int4,
            last -> Int4,
        }
    }

    diesel::table! {
        results (id) {
            id -> Uuid,
            dossier_id -> Uuid,
            number -> Text,
            origin -> Text,
            file_name -> Text,
            size_bytes -> Int8,
            sha256 -> Text,
            storage_key -> Text,
            identity_id -> Uuid,
            issued_by -> Nullable<Uuid>,
            issued_at -> Timestamptz,
            revoked_at -> Nullable<Timestamptz>,
            revoked_by -> Nullable<Uuid>,
            revoke_reason -> Nullable<Text>,
        }
    }

    diesel::table! {
        feedback (dossier_id) {
            dossier_id -> Uuid,
            rating -> Int2,
            comment -> Nullable<Text>,
            created_at -> Timestamptz,
        }
    }

    diesel::table! {
        child_dossiers (source_tenant, dossier_code) {
            source_tenant -> Text,
            dossier_code -> Text,
            procedure_code -> Text,
            status -> Text,
            last_seq -> Int4,
            submitted_at -> Timestamptz,
            due_date -> Nullable<Date>,
            updated_at -> Timestamptz,
        }
    }

    diesel::table! {
        idempotency_keys (account_id, operation, key) {
            account_id -> Uuid,
            operation -> Text,
            key -> Text,
            fingerprint -> Bytea,
            status -> Int2,
            response -> Jsonb,
            created_at -> Timestamptz,
        }
    }

    diesel::table! {
        shared_relay (id) {
            id -> Int8,
            key -> Uuid,
            write -> Jsonb,
            queued_at -> Timestamptz,
        }
    }

    diesel::table! {
        sync_inbox (event_id) {
            event_id -> Uuid,
            source_tenant -> Text,
            received_at -> Timestamptz,
        }
    }

    diesel::joinable!(procedures -> fields (field_code));
    diesel::joinable!(dossiers -> procedures (procedure_code));
    diesel::joinable!(dossier_events -> dossiers (dossier_id));
    diesel::joinable!(attachments -> dossiers (dossier_id));
    diesel::joinable!(feedback -> dossiers (dossier_id));
    diesel::joinable!(dossier_handovers -> dossiers (dossier_id));
    diesel::joinable!(payments -> dossiers (dossier_id));
    diesel::joinable!(results -> dossiers (dossier_id));
    diesel::allow_tables_to_appear_in_same_query!(
        procedure_versions,
        procedure_drafts,
        dossier_procedure_versions,
        results,
        signing_identities,
        fields,
        procedures,
        dossiers,
        dossier_events,
        attachments,
        feedback,
        payments,
        payment_notifications,
        dossier_handovers
    );
}

diesel::table! {
    platform.relay_applied (key) {
        key -> Uuid,
        tenant_id -> Uuid,
        applied_at -> Timestamptz,
    }
}

diesel::table! {
    platform.notification_preferences (account_id) {
        account_id -> Uuid,
        channels -> Array<Text>,
        updated_at -> Timestamptz,
    }
}
