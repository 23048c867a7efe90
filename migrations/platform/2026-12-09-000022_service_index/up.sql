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

-- The same counters per calendar month, written beside the daily ones by the same statement
-- sequence in the same transaction: a year's index over a ministry's tenants then reads a
-- dozen rows per tenant and procedure instead of 365 (measured: docs/BENCHMARKS.md).
CREATE TABLE platform.stats_monthly (
    tenant_id      uuid NOT NULL REFERENCES platform.tenants (id),
    month          date NOT NULL CHECK (extract(day FROM month) = 1),
    procedure_code text NOT NULL,
    field_code     text NOT NULL,
    received                     integer NOT NULL DEFAULT 0,
    received_online              integer NOT NULL DEFAULT 0,
    received_counter             integer NOT NULL DEFAULT 0,
    received_postal              integer NOT NULL DEFAULT 0,
    resolved                     integer NOT NULL DEFAULT 0,
    resolved_on_time             integer NOT NULL DEFAULT 0,
    processing_seconds           bigint NOT NULL DEFAULT 0,
    rating_sum                   integer NOT NULL DEFAULT 0,
    rating_count                 integer NOT NULL DEFAULT 0,
    paid_count                   integer NOT NULL DEFAULT 0,
    paid_amount                  bigint NOT NULL DEFAULT 0,
    received_digitised           integer NOT NULL DEFAULT 0,
    results_issued               integer NOT NULL DEFAULT 0,
    results_digitised            integer NOT NULL DEFAULT 0,
    resolved_with_fee            integer NOT NULL DEFAULT 0,
    resolved_paid_online         integer NOT NULL DEFAULT 0,
    complaints_received          integer NOT NULL DEFAULT 0,
    complaints_answered          integer NOT NULL DEFAULT 0,
    complaints_answered_on_time  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, month, procedure_code)
);

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

-- The months, from the days (all of them, the backfilled counters included).
INSERT INTO platform.stats_monthly (tenant_id, month, procedure_code, field_code, received, received_online, received_counter, received_postal, resolved, resolved_on_time, processing_seconds, rating_sum, rating_count, paid_count, paid_amount, received_digitised, results_issued, results_digitised, resolved_with_fee, resolved_paid_online, complaints_received, complaints_answered, complaints_answered_on_time)
SELECT tenant_id, date_trunc('month', day)::date, procedure_code, min(field_code),
       sum(received),
       sum(received_online),
       sum(received_counter),
       sum(received_postal),
       sum(resolved),
       sum(resolved_on_time),
       sum(processing_seconds),
       sum(rating_sum),
       sum(rating_count),
       sum(paid_count),
       sum(paid_amount),
       sum(received_digitised),
       sum(results_issued),
       sum(results_digitised),
       sum(resolved_with_fee),
       sum(resolved_paid_online),
       sum(complaints_received),
       sum(complaints_answered),
       sum(complaints_answered_on_time)
  FROM platform.stats_daily
 GROUP BY tenant_id, date_trunc('month', day), procedure_code
ON CONFLICT (tenant_id, month, procedure_code) DO UPDATE SET
    received = EXCLUDED.received,
    received_online = EXCLUDED.received_online,
    received_counter = EXCLUDED.received_counter,
    received_postal = EXCLUDED.received_postal,
    resolved = EXCLUDED.resolved,
    resolved_on_time = EXCLUDED.resolved_on_time,
    processing_seconds = EXCLUDED.processing_seconds,
    rating_sum = EXCLUDED.rating_sum,
    rating_count = EXCLUDED.rating_count,
    paid_count = EXCLUDED.paid_count,
    paid_amount = EXCLUDED.paid_amount,
    received_digitised = EXCLUDED.received_digitised,
    results_issued = EXCLUDED.results_issued,
    results_digitised = EXCLUDED.results_digitised,
    resolved_with_fee = EXCLUDED.resolved_with_fee,
    resolved_paid_online = EXCLUDED.resolved_paid_online,
    complaints_received = EXCLUDED.complaints_received,
    complaints_answered = EXCLUDED.complaints_answered,
    complaints_answered_on_time = EXCLUDED.complaints_answered_on_time;
