-- Inter-agency dossiers (liên thông), beside the dossier's row. On the sending side, `held_by`
-- is the tenant deciding the dossier now (NULL again once its result came back). On the
-- receiving side, `origin_transfer` is the transfer that brought the dossier (unique: it is
-- taken in at most once) and `origin_tenant` the tenant its result goes back to. Tenant ids
-- are plain UUIDs, like account ids.
CREATE TABLE dossier_handovers (
    dossier_id      uuid PRIMARY KEY REFERENCES dossiers (id),
    held_by         uuid,
    origin_tenant   uuid,
    origin_transfer uuid UNIQUE
);
