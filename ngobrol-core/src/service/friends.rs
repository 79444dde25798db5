//! Friendships.

use super::{Auth, Befriended, ChatService, FriendshipPolicy};
use crate::error::{ChatError, PortError};
use crate::types::Username;

impl ChatService {
    /// Makes the acting user and `friend` friends of each other, or,
    /// under [`FriendshipPolicy::Consent`](super::FriendshipPolicy), asks
    /// `friend` (they are friends at once if `friend` had asked).
    pub async fn add_friend(
        &self,
        auth: &Auth,
        friend: &Username,
    ) -> Result<Befriended, ChatError> {
        self.authorize(auth).await?;
        if *friend == auth.user {
            return Err(ChatError::CannotBefriendSelf);
        }
        self.require_user(friend).await?;
        // Someone who blocked the acting user does not exist, as far as
        // the acting user can tell.
        if self.ports.friends.blocks(friend, &auth.user).await? {
            return Err(ChatError::UnknownUser(friend.to_string()));
        }
        if self.ports.friends.blocks(&auth.user, friend).await? {
            return Err(ChatError::BadRequest(format!(
                "you block {friend}: unblock them first"
            )));
        }
        if self.config.friendship == FriendshipPolicy::Consent {
            if self.ports.friends.are_friends(&auth.user, friend).await? {
                return Err(ChatError::AlreadyFriends(friend.to_string()));
            }
            return self.ask_or_befriend(auth, friend).await;
        }
        match self.ports.friends.add_friendship(&auth.user, friend).await {
            Err(PortError::Conflict) => Err(ChatError::AlreadyFriends(friend.to_string())),
            other => other.map(|()| Befriended::Friends).map_err(Into::into),
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

    /// Blocks `user`: their friendship with the acting user ends, and
    /// from now on they cannot befriend the acting user, add them to a
    /// group or message them. They are not told: to them the acting user
    /// looks like no user at all (`unknown_user`) where asking would
    /// reveal the block. Blocking again changes nothing.
    pub async fn block(&self, auth: &Auth, user: &Username) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        if *user == auth.user {
            return Err(ChatError::BadRequest("you cannot block yourself".into()));
        }
        self.require_user(user).await?;
        self.ports.friends.block(&auth.user, user).await?;
        // What either asked of the other goes with the friendship.
        for (from, to) in [(&auth.user, user), (user, &auth.user)] {
            self.ports.friends.remove_friend_request(from, to).await?;
        }
        self.ports
            .friends
            .remove_friendship(&auth.user, user)
            .await?;
        Ok(())
    }

    /// Lifts the acting user's block of `user` (their friendship is not
    /// restored). Unblocking someone not blocked changes nothing.
    pub async fn unblock(&self, auth: &Auth, user: &Username) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        self.ports.friends.unblock(&auth.user, user).await?;
        Ok(())
    }

    /// Whom the acting user blocks, sorted by name.
    pub async fn blocked(&self, auth: &Auth) -> Result<Vec<Username>, ChatError> {
        self.authorize(auth).await?;
        Ok(self.ports.friends.blocked_by(&auth.user).await?)
    }

    /// The acting user's friends, sorted by name.
    pub async fn friends(&self, auth: &Auth) -> Result<Vec<Username>, ChatError> {
        self.authorize(auth).await?;
        Ok(self.ports.friends.friends_of(&auth.user).await?)
    }
}
