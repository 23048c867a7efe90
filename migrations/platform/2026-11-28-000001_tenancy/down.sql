DROP TABLE platform.tenant_schema_state;
DROP TABLE platform.tenant_domains;
DROP TABLE platform.tenants;
