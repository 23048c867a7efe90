DROP TABLE platform.webhook_outbox;
DROP TABLE platform.dossier_index;
