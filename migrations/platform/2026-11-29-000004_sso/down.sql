DROP TABLE platform.oauth_codes;
DROP TABLE platform.sso_sessions;
DROP TABLE platform.oauth_clients;
DROP TABLE platform.platform_roles;
DROP TABLE platform.memberships;
