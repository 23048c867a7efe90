DROP TABLE payment_notifications;
DROP TABLE payments;
DROP SEQUENCE receipt_numbers;
ALTER TABLE dossiers DROP COLUMN payment_status;
ALTER TABLE procedures DROP COLUMN pay_before_processing;
ALTER TABLE procedures DROP COLUMN fee_rule;
