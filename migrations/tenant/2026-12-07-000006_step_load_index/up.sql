-- The leaders' step load: open dossiers of declared processes by procedure and step, the
-- most overdue first. Partial on the open statuses, so dossiers that finished their process
-- (which keep their last step) do not grow it.
CREATE INDEX dossiers_step_load_idx ON dossiers (procedure_code, step, step_due_at) INCLUDE (code)
    WHERE step IS NOT NULL AND status IN ('submitted', 'received', 'in_review',
                                          'supplement_requested', 'resubmitted', 'incomplete');
