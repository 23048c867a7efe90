DROP TABLE platform.tenant_logos;
