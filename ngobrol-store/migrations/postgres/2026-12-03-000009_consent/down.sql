DROP TABLE invitations;
DROP TABLE friend_requests;
