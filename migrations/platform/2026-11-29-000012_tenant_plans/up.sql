-- A tenant's plan: the limits its hosting sets (today the request rate).
ALTER TABLE platform.tenants ADD COLUMN plan jsonb NOT NULL DEFAULT '{}';
