//! What an operator does to accounts and groups, outside the protocol
//! (the server binary's admin commands): no token is asked for; whoever
//! can reach the store is the operator.

use super::ChatService;
use crate::error::ChatError;
use crate::ports::{GroupRecord, SessionRecord};
use crate::types::{GroupId, Password, SessionId, Username};

impl ChatService {
    /// Disables `user`: their password is refused from now on
    /// ([`ChatError::AccountDisabled`]) and every session of theirs ends;
    /// returns the ended sessions' ids.
    pub async fn disable_user(&self, user: &Username) -> Result<Vec<SessionId>, ChatError> {
        if !self.ports.users.set_disabled(user, true).await? {
            return Err(ChatError::UnknownUser(user.to_string()));
        }
        self.end_sessions_of(user).await
    }

    /// Lets `user` log in again.
    pub async fn enable_user(&self, user: &Username) -> Result<(), ChatError> {
        if !self.ports.users.set_disabled(user, false).await? {
            return Err(ChatError::UnknownUser(user.to_string()));
        }
        Ok(())
    }

    /// Whether `user` is disabled.
    pub async fn is_disabled(&self, user: &Username) -> Result<bool, ChatError> {
        self.require_user(user).await?;
        Ok(self.ports.users.is_disabled(user).await?)
    }

    /// Gives `user` a new password (held to the registration rules) and
    /// ends every session of theirs, since whoever held the old password
    /// may hold a token too; returns the ended sessions' ids.
    pub async fn reset_password(
        &self,
        user: &Username,
        password: &Password,
    ) -> Result<Vec<SessionId>, ChatError> {
        self.check_password_shape(password)?;
        self.require_user(user).await?;
        let hash = self.hasher.hash(password).await?;
        if !self.ports.users.set_password_hash(user, &hash).await? {
            return Err(ChatError::UnknownUser(user.to_string()));
        }
        self.end_sessions_of(user).await
    }

    /// Every session of `user`, expired ones included, oldest first.
    pub async fn sessions_of(&self, user: &Username) -> Result<Vec<SessionRecord>, ChatError> {
        self.require_user(user).await?;
        Ok(self.ports.sessions.sessions_of(user).await?)
    }

    /// Ends one session of `user` by id.
    pub async fn end_session_of(&self, user: &Username, id: &SessionId) -> Result<(), ChatError> {
        self.require_user(user).await?;
        self.ports.outbound.close_session_mailbox(id).await?;
        match self.ports.sessions.delete_session_by_id(user, id).await? {
            Some(_) => Ok(()),
            None => Err(ChatError::UnknownSession),
        }
    }

    /// Ends every session of `user`, as their `logout_all` would.
    pub async fn end_sessions_of(&self, user: &Username) -> Result<Vec<SessionId>, ChatError> {
        for session in self.ports.sessions.sessions_of(user).await? {
            self.ports
                .outbound
                .close_session_mailbox(&session.id)
                .await?;
        }
        let ended = self.ports.sessions.delete_sessions_of(user).await?;
        self.ports.outbound.share_mailbox(user, false).await?;
        self.ports.users.set_mailbox_reader(user, false).await?;
        Ok(ended)
    }

    /// A group and its members, whoever asks.
    pub async fn inspect_group(
        &self,
        group: GroupId,
    ) -> Result<(GroupRecord, Vec<Username>), ChatError> {
        let record = self.require_group(group).await?;
        let members = self.ports.groups.members_of(group).await?;
        Ok((record, members))
    }

    /// Deletes a group with its memberships, history and broker channel,
    /// as when its last member leaves. Its members are not told.
    pub async fn delete_group(&self, group: GroupId) -> Result<(), ChatError> {
        self.require_group(group).await?;
        self.end_group_now(group).await
    }
}
