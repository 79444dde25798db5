//! Consent. Under [`FriendshipPolicy::Consent`], befriending someone asks
//! them first (they accept by adding the asker back, or with
//! `accept_friend`), and an admin who is not your friend adding you to a
//! group invites you instead. Under [`FriendshipPolicy::Open`], the
//! default and the original's rule, both take effect at once.

use super::{Auth, ChatService};
use crate::error::{ChatError, PortError};
use crate::ports::{FriendRequest, GroupRecord, GroupRef, Invitation, Signal};
use crate::types::{GroupId, Username};

/// Whether friendships and group memberships need the other's consent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FriendshipPolicy {
    /// `add_friend` makes two people friends at once, and an admin adds
    /// anyone to a group: the original's rules.
    #[default]
    Open,
    /// `add_friend` asks; adding someone who is not the admin's friend to a
    /// group invites them.
    Consent,
}

/// What befriending someone did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Befriended {
    /// The two are friends now.
    Friends,
    /// The other was asked; they are friends once they accept.
    Asked,
}

/// What adding someone to a group did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// They are a member now.
    Member,
    /// They were invited; they are a member once they accept.
    Invited,
}

/// What waits for an answer: requests to and from the user, and the
/// user's invitations (with their groups as they are now).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pending {
    /// Requests others made to the user.
    pub incoming: Vec<FriendRequest>,
    /// Requests the user made to others.
    pub outgoing: Vec<FriendRequest>,
    /// The user's invitations, each with its group (groups that no
    /// longer exist are left out).
    pub invitations: Vec<(Invitation, GroupRecord)>,
}

impl ChatService {
    /// Befriending under consent: the two are friends if `friend` had
    /// asked already, else `friend` is asked (again: asking twice changes
    /// nothing) and their devices are told.
    pub(super) async fn ask_or_befriend(
        &self,
        auth: &Auth,
        friend: &Username,
    ) -> Result<Befriended, ChatError> {
        let friends = &self.ports.friends;
        if friends.remove_friend_request(friend, &auth.user).await? {
            self.befriend(&auth.user, friend).await?;
            return Ok(Befriended::Friends);
        }
        let now = self.now_millis();
        if friends.add_friend_request(&auth.user, friend, now).await? {
            let signal = Signal::FriendRequest {
                from: auth.user.clone(),
            };
            self.tell(std::slice::from_ref(friend), &signal).await;
        }
        Ok(Befriended::Asked)
    }

    /// Makes `a` and `b` friends, and tells `b`'s devices that `a` agreed.
    pub(super) async fn befriend(&self, a: &Username, b: &Username) -> Result<(), ChatError> {
        match self.ports.friends.add_friendship(a, b).await {
            Err(PortError::Conflict) => return Err(ChatError::AlreadyFriends(b.to_string())),
            other => other?,
        }
        let signal = Signal::FriendAccepted { by: a.clone() };
        self.tell(std::slice::from_ref(b), &signal).await;
        Ok(())
    }

    /// Accepts `from`'s friend request: the two are friends. Refused
    /// `no_request` when `from` has not asked.
    pub async fn accept_friend(&self, auth: &Auth, from: &Username) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        if !self
            .ports
            .friends
            .remove_friend_request(from, &auth.user)
            .await?
        {
            return Err(ChatError::NoRequest(from.to_string()));
        }
        self.befriend(&auth.user, from).await
    }

    /// Declines `from`'s friend request; they are not told. Refused
    /// `no_request` when `from` has not asked.
    pub async fn decline_friend(&self, auth: &Auth, from: &Username) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        if !self
            .ports
            .friends
            .remove_friend_request(from, &auth.user)
            .await?
        {
            return Err(ChatError::NoRequest(from.to_string()));
        }
        Ok(())
    }

    /// The acting user's pending friend requests, both ways, and their
    /// group invitations, oldest first.
    pub async fn pending(&self, auth: &Auth) -> Result<Pending, ChatError> {
        self.authorize(auth).await?;
        let (incoming, outgoing) = self
            .ports
            .friends
            .friend_requests_of(&auth.user)
            .await?
            .into_iter()
            .partition(|r| r.to == auth.user);
        let mut invitations = Vec::new();
        for invitation in self.ports.groups.invitations_of(&auth.user).await? {
            if let Some(group) = self.ports.groups.find_group(invitation.group).await? {
                invitations.push((invitation, group));
            }
        }
        Ok(Pending {
            incoming,
            outgoing,
            invitations,
        })
    }

    /// Invites `member` to `group` (checked by `add_member` already) and
    /// tells their devices. Inviting again changes nothing.
    pub(super) async fn invite(
        &self,
        auth: &Auth,
        group: &GroupRecord,
        member: &Username,
    ) -> Result<Added, ChatError> {
        let now = self.now_millis();
        if self
            .ports
            .groups
            .add_invitation(group.id, member, &auth.user, now)
            .await?
        {
            let signal = Signal::Invitation {
                group: GroupRef {
                    id: group.id,
                    name: group.name.clone(),
                },
                by: auth.user.clone(),
            };
            self.tell(std::slice::from_ref(member), &signal).await;
        }
        Ok(Added::Invited)
    }

    /// Accepts an invitation: the acting user joins the group, as if its
    /// admin had added them (the group's limits apply, and the group is
    /// told). Refused `no_invitation` when there is none.
    pub async fn accept_invitation(&self, auth: &Auth, group: GroupId) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        let Some(by) = self
            .ports
            .groups
            .remove_invitation(group, &auth.user)
            .await?
        else {
            return Err(ChatError::NoInvitation(group));
        };
        let record = self.require_group(group).await?;
        self.join(&record, &auth.user, &by, auth).await
    }

    /// Declines an invitation; the admin is not told. Refused
    /// `no_invitation` when there is none.
    pub async fn decline_invitation(&self, auth: &Auth, group: GroupId) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        match self
            .ports
            .groups
            .remove_invitation(group, &auth.user)
            .await?
        {
            Some(_) => Ok(()),
            None => Err(ChatError::NoInvitation(group)),
        }
    }

    /// Tells `users`' online devices of `signal`; a failure costs only
    /// the telling.
    pub(super) async fn tell(&self, users: &[Username], signal: &Signal) {
        if let Err(e) = self.ports.outbound.signal(users, signal).await {
            tracing::warn!("cannot signal: {e}");
        }
    }
}
