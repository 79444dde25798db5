DROP TABLE disabled_users;
