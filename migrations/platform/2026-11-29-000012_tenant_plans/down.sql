ALTER TABLE platform.tenants DROP COLUMN plan;
