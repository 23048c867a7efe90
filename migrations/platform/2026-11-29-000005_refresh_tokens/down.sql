DROP TABLE platform.refresh_tokens;
