DROP TABLE activity_hidden;
DROP TABLE presence;
