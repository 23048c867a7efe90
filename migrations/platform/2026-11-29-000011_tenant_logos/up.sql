-- A tenant's logo, uploaded by its admin: PNG or JPEG (sniffed from the content), small.
CREATE TABLE platform.tenant_logos (
    tenant_id  uuid PRIMARY KEY REFERENCES platform.tenants (id) ON DELETE CASCADE,
    media_type text NOT NULL CHECK (media_type IN ('image/png', 'image/jpeg')),
    bytes      bytea NOT NULL CHECK (octet_length(bytes) BETWEEN 1 AND 262144),
    sha256     text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
