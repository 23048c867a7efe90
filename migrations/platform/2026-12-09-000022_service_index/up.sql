-- Counters of the service index (Decision 766/QĐ-TTg) beside the other daily counters, so a
-- ministry's index over every tenant below it stays one indexed query. Expand only: a binary of
-- the release before writes rows without these columns and they take their default.
--   received_digitised      dossiers received with at least one paper document scanned
--   results_issued          results issued (and not revoked), on their day of issue
--   results_digitised       of those, paper results scanned and signed as electronic copies
--   resolved_with_fee       dossiers decided that had a fee to pay
--   resolved_paid_online    of those, paid through the online payment platform
--   complaints_*            complaints (phản ánh, kiến nghị): received, answered, on time
ALTER TABLE platform.stats_daily
    ADD COLUMN received_digitised          integer NOT NULL DEFAULT 0,
    ADD COLUMN results_issued              integer NOT NULL DEFAULT 0,
    ADD COLUMN results_digitised           integer NOT NULL DEFAULT 0,
    ADD COLUMN resolved_with_fee           integer NOT NULL DEFAULT 0,
    ADD COLUMN resolved_paid_online        integer NOT NULL DEFAULT 0,
    ADD COLUMN complaints_received         integer NOT NULL DEFAULT 0,
    ADD COLUMN complaints_answered         integer NOT NULL DEFAULT 0,
    ADD COLUMN complaints_answered_on_time integer NOT NULL DEFAULT 0;

-- Backfill from the tenant schemas that hold the data (days in Vietnam's time, as the live
-- counters use). DML only, no DDL, so Citus-distributed tenant schemas are unaffected; a schema
-- still missing a table or column (mid-upgrade) is skipped and counts from now on.
DO $$
DECLARE
    t record;
    has_attachments boolean;
    has_results boolean;
BEGIN
    FOR t IN SELECT id, schema_name FROM platform.tenants LOOP
        CONTINUE WHEN to_regclass(format('%I.dossiers', t.schema_name)) IS NULL
                   OR to_regclass(format('%I.procedures', t.schema_name)) IS NULL;
        has_attachments := EXISTS (
            SELECT 1 FROM information_schema.columns
             WHERE table_schema = t.schema_name AND table_name = 'attachments'
               AND column_name = 'digitised');
        has_results := EXISTS (
            SELECT 1 FROM information_schema.columns
             WHERE table_schema = t.schema_name AND table_name = 'results'
               AND column_name = 'origin');
        IF has_attachments THEN
            EXECUTE format(
                'INSERT INTO platform.stats_daily AS s (tenant_id, day, procedure_code, field_code, received_digitised)
                 SELECT $1, ((d.received_at AT TIME ZONE ''UTC'') + interval ''7 hours'')::date,
                        d.procedure_code, p.field_code, count(*)
                   FROM %1$I.dossiers d JOIN %1$I.procedures p ON p.code = d.procedure_code
                  WHERE d.received_at IS NOT NULL
                    AND EXISTS (SELECT 1 FROM %1$I.attachments a
                                 WHERE a.dossier_id = d.id AND a.digitised)
                  GROUP BY 2, 3, 4
                 ON CONFLICT (tenant_id, day, procedure_code)
                 DO UPDATE SET received_digitised = EXCLUDED.received_digitised',
                t.schema_name) USING t.id;
        END IF;
        IF has_results THEN
            EXECUTE format(
                'INSERT INTO platform.stats_daily AS s (tenant_id, day, procedure_code, field_code,
                                                        results_issued, results_digitised)
                 SELECT $1, ((r.issued_at AT TIME ZONE ''UTC'') + interval ''7 hours'')::date,
                        d.procedure_code, p.field_code, count(*),
                        count(*) FILTER (WHERE r.origin = ''paper_scan'')
                   FROM %1$I.results r JOIN %1$I.dossiers d ON d.id = r.dossier_id
                   JOIN %1$I.procedures p ON p.code = d.procedure_code
                  WHERE r.revoked_at IS NULL
                  GROUP BY 2, 3, 4
                 ON CONFLICT (tenant_id, day, procedure_code)
                 DO UPDATE SET results_issued = EXCLUDED.results_issued,
                               results_digitised = EXCLUDED.results_digitised',
                t.schema_name) USING t.id;
        END IF;
        EXECUTE format(
            'INSERT INTO platform.stats_daily AS s (tenant_id, day, procedure_code, field_code,
                                                    resolved_with_fee, resolved_paid_online)
             SELECT $1, ((d.resolved_at AT TIME ZONE ''UTC'') + interval ''7 hours'')::date,
                    d.procedure_code, p.field_code, count(*),
                    count(*) FILTER (WHERE d.payment_status IN (''paid'', ''refunded''))
               FROM %1$I.dossiers d JOIN %1$I.procedures p ON p.code = d.procedure_code
              WHERE d.resolved_at IS NOT NULL AND d.payment_status <> ''none''
              GROUP BY 2, 3, 4
             ON CONFLICT (tenant_id, day, procedure_code)
             DO UPDATE SET resolved_with_fee = EXCLUDED.resolved_with_fee,
                           resolved_paid_online = EXCLUDED.resolved_paid_online',
            t.schema_name) USING t.id;
    END LOOP;
END
$$;
