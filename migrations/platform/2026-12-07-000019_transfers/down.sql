DROP TABLE platform.dossier_transfers;
