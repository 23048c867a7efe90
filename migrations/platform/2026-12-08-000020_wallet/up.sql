-- A citizen's document wallet (kho dữ liệu, issue 19): every signed result issued to them and
-- every document they submitted that an officer accepted, across tenants. A row points at the
-- bytes where they are (the issuing tenant's storage); attaching it elsewhere copies them only
-- into the dossier the citizen chose.
CREATE TABLE wallet_items (
    id             uuid PRIMARY KEY,
    account_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('result', 'document')),
    source_id      uuid NOT NULL,
    dossier_code   text NOT NULL,
    procedure_code text NOT NULL,
    title          text NOT NULL,
    title_en       text,
    file_name      text NOT NULL,
    media_type     text NOT NULL,
    size_bytes     bigint NOT NULL,
    sha256         text NOT NULL,
    storage_key    text NOT NULL,
    result_number  text,
    added_at       timestamptz NOT NULL,
    revoked_at     timestamptz,
    UNIQUE (account_id, source_id)
);
CREATE INDEX wallet_items_by_account ON wallet_items (account_id, added_at DESC);
CREATE INDEX wallet_items_by_source ON wallet_items (source_id);
