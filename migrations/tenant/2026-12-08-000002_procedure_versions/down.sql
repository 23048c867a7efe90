DROP TABLE dossier_procedure_versions;
DROP TABLE procedure_versions;
