ALTER TABLE procedures DROP COLUMN process;
DROP TABLE unit_members;
