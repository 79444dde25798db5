DROP TABLE memberships;
DROP TABLE chat_groups;
DROP TABLE friendships;
DROP TABLE sessions;
DROP TABLE users;
