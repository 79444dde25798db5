//! Messages: to a friend, and to a group. Each is stored in its
//! conversation's history, then delivered.

use super::{Auth, ChatService};
use crate::error::{ChatError, PortError};
use crate::ports::{Conversation, Delivery, DeliveryBody, GroupRef};
use crate::types::{GroupId, MessageText, Username};

impl ChatService {
    /// Sends a message to a friend's mailbox, and returns the delivery.
    pub async fn send_direct(
        &self,
        auth: &Auth,
        to: &Username,
        text: MessageText,
    ) -> Result<Delivery, ChatError> {
        self.authorize(auth).await?;
        // Friends exist (the store's foreign keys see to it), so the common
        // case needs one look-up; only a refusal asks which reason applies.
        if !self.ports.friends.are_friends(&auth.user, to).await? {
            self.require_user(to).await?;
            return Err(ChatError::NotFriends(to.to_string()));
        }
        let mut delivery = auth.delivery(
            "direct",
            DeliveryBody::Direct {
                from: auth.user.clone(),
                text,
            },
        );
        // Stored first: what the history holds is what was sent, and a
        // device that misses the delivery finds it there.
        self.record(&Conversation::direct(&auth.user, to), &mut delivery)
            .await?;
        match self.ports.outbound.deliver_to_user(to, &delivery).await {
            Err(PortError::Rejected(_)) => return Err(ChatError::MailboxFull(to.to_string())),
            other => other?,
        }
        Ok(delivery)
    }

    /// Sends a message to every member of a group the acting user belongs
    /// to, the sender included, and returns the delivery.
    pub async fn send_group(
        &self,
        auth: &Auth,
        group: GroupId,
        text: MessageText,
    ) -> Result<Delivery, ChatError> {
        self.authorize(auth).await?;
        let record = self.require_group(group).await?;
        if !self.ports.groups.is_member(group, &auth.user).await? {
            return Err(ChatError::NotMember {
                user: auth.user.to_string(),
                group,
            });
        }
        let mut delivery = auth.delivery(
            "group",
            DeliveryBody::Group {
                from: auth.user.clone(),
                group: GroupRef {
                    id: group,
                    name: record.name,
                },
                text,
            },
        );
        self.record(&Conversation::Group(group), &mut delivery)
            .await?;
        // A full mailbox refuses its copy; the other members have theirs.
        match self.ports.outbound.deliver_to_group(group, &delivery).await {
            Err(PortError::Rejected(_)) => {
                return Err(ChatError::MailboxFull(format!("a member of group {group}")));
            }
            other => other?,
        }
        Ok(delivery)
    }
}
