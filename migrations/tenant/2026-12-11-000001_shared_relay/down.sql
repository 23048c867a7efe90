DROP TABLE shared_relay;
