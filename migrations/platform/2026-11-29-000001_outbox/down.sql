DROP TABLE platform.outbox;
ALTER TABLE platform.tenants DROP COLUMN mail_templates;
