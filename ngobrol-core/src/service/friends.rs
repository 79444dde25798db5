//! Friendships.

use super::{Auth, ChatService};
use crate::error::{ChatError, PortError};
use crate::types::Username;

impl ChatService {
    /// Makes the acting user and `friend` friends of each other.
    pub async fn add_friend(&self, auth: &Auth, friend: &Username) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        if *friend == auth.user {
            return Err(ChatError::CannotBefriendSelf);
        }
        self.require_user(friend).await?;
        match self.ports.friends.add_friendship(&auth.user, friend).await {
            Err(PortError::Conflict) => Err(ChatError::AlreadyFriends(friend.to_string())),
            other => Ok(other?),
        }
    }

    /// Ends the acting user's friendship with `friend`, both ways: neither
    /// may message the other until they are friends again. Their history
    /// stays, and is theirs to read again once they are. Refused with
    /// `not_friends` when they are not friends.
    pub async fn remove_friend(&self, auth: &Auth, friend: &Username) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        if !self
            .ports
            .friends
            .remove_friendship(&auth.user, friend)
            .await?
        {
            self.require_user(friend).await?;
            return Err(ChatError::NotFriends(friend.to_string()));
        }
        Ok(())
    }

    /// The acting user's friends, sorted by name.
    pub async fn friends(&self, auth: &Auth) -> Result<Vec<Username>, ChatError> {
        self.authorize(auth).await?;
        Ok(self.ports.friends.friends_of(&auth.user).await?)
    }
}
