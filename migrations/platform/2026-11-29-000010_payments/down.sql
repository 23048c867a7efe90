ALTER TABLE platform.stats_daily DROP COLUMN paid_amount;
ALTER TABLE platform.stats_daily DROP COLUMN paid_count;
DROP TABLE platform.sandbox_transactions;
DROP TABLE platform.payment_merchants;
