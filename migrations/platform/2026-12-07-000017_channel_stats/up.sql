-- Received dossiers per intake channel: online (received_online, as before), at the one-stop
-- desk and by post. received stays the total of the three. Until now only online intake
-- existed, so every existing row's offline figures are 0. Expand only: a binary of the release
-- before writes rows without these columns and they take their default.
ALTER TABLE platform.stats_daily
    ADD COLUMN received_counter integer NOT NULL DEFAULT 0,
    ADD COLUMN received_postal  integer NOT NULL DEFAULT 0;
