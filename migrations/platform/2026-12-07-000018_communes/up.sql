-- Communes (xã, phường) as tenants: since the 2025 reform the level below the province. Existing
-- district tenants stay readable.
ALTER TABLE platform.tenants DROP CONSTRAINT tenants_kind_check;
ALTER TABLE platform.tenants ADD CONSTRAINT tenants_kind_check CHECK (kind IN (
    'national', 'ministry', 'division', 'province', 'department', 'district', 'commune'));
