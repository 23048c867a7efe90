DROP TABLE dossier_handovers;
