DROP TABLE wallet_items;
