DROP TABLE agencies;
DROP TABLE procedures;
DROP TABLE fields;
