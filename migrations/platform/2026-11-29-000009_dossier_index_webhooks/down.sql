DROP TABLE platform.stats_open;
DROP TABLE platform.stats_daily;
DROP TABLE platform.webhook_outbox;
DROP TABLE platform.dossier_index;
