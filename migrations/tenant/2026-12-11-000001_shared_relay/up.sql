-- Writes to shared tables (the dossier index, the outboxes, the statistics counters) that a
-- tenant transaction defers when `database.shared_writes` is `relay` (a Citus cluster: the
-- tenant's schema lives on a worker, the shared tables on the coordinator). The row commits
-- with the tenant's change, on the tenant's own node; the relay drainer applies it to the
-- shared tables under its `key` (recorded in `platform.relay_applied`, so a write applied
-- twice counts once), then deletes it.
CREATE TABLE shared_relay (
    id bigserial PRIMARY KEY,
    key uuid NOT NULL,
    write jsonb NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
);
