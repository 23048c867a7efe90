ALTER TABLE platform.stats_daily
    DROP COLUMN received_postal,
    DROP COLUMN received_counter;
