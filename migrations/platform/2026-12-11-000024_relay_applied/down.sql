DROP TABLE platform.relay_applied;
