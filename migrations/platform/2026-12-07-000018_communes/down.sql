ALTER TABLE platform.tenants DROP CONSTRAINT tenants_kind_check;
ALTER TABLE platform.tenants ADD CONSTRAINT tenants_kind_check CHECK (kind IN (
    'national', 'ministry', 'division', 'province', 'department', 'district'));
