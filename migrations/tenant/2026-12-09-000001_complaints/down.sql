DROP TABLE complaints; DROP SEQUENCE complaint_numbers;
