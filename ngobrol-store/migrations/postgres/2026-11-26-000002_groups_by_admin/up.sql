-- Counting the groups a user administers (the cap on groups created).
CREATE INDEX chat_groups_by_admin ON chat_groups (admin);
