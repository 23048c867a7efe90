-- Relayed shared writes already applied (see the tenant table `shared_relay`). The drainer
-- applies a batch and records its keys in one coordinator transaction, then deletes the rows
-- from the tenant's relay: a drainer that dies between the two, or two drainers racing, never
-- apply a write twice. Kept a day, long after the rows they name are gone.
CREATE TABLE platform.relay_applied (
    key uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX relay_applied_at_idx ON platform.relay_applied (applied_at);
