DROP INDEX chat_groups_by_admin;
