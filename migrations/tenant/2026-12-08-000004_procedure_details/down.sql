ALTER TABLE procedures DROP COLUMN details, DROP COLUMN template, DROP COLUMN adopted_version,
    DROP COLUMN edited_in;
