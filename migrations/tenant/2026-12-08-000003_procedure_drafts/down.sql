DROP TABLE procedure_drafts;
