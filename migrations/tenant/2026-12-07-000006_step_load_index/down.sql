DROP INDEX dossiers_step_load_idx;
