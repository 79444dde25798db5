//! Extension: `sync` gives a device what it missed, across all the user's
//! conversations, a page at a time.

use serde::{Deserialize, Serialize};

use super::Method;
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;
use crate::wire::DeliveryMessage;

/// Everything the user may read stored after the cursor `after` (a
/// message's `cursor`, or a login's): direct messages both ways, and the
/// messages and notices of their groups since they joined. `limit` is 1
/// to 100 (100 when absent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The user catching up.
    pub username: String,
    /// The token of `username`'s session.
    pub token: Secret,
    /// The `cursor` to read after: a message's, or a login's; `0` when
    /// absent, for everything.
    #[serde(default)]
    pub after: u64,
    /// The most messages in the page: 1 to 100 (100 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl SyncRequest {
    /// A page's size when the request gives none.
    pub const DEFAULT_LIMIT: u32 = 100;
}

/// The body of `sync_reply`: the messages by `cursor`; `cursor` to ask
/// from next; `more` when the page came full and more wait.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncReply {
    /// What was stored after `after`, by `cursor`.
    #[serde(default)]
    pub messages: Vec<DeliveryMessage>,
    /// Where to ask from next: the last message's `cursor`, or `after` when
    /// there were none.
    #[serde(default)]
    pub cursor: u64,
    /// Whether the page came full and more wait after `cursor`.
    #[serde(default)]
    pub more: bool,
    /// Whether a client of the original protocol reads the user's mailbox
    /// `<ns>_<username>` (then our devices leave it alone).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mailbox_shared: bool,
}

impl Method for SyncRequest {
    const NAME: &'static str = "sync";
    const CHANGES_STATE: bool = false;
    type Reply = SyncReply;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for SyncRequest {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, SyncReply), ngobrol_core::ChatError> {
        let auth = cx.auth(self.username, self.token)?;
        let limit = self.limit.unwrap_or(Self::DEFAULT_LIMIT) as usize;
        let page = cx.chat.sync(&auth, self.after, limit).await?;
        let messages: Vec<_> = page
            .messages
            .iter()
            .map(|m| DeliveryMessage::from_stored_in(cx.lang, m))
            .collect();
        let said = Said::Synced {
            count: messages.len(),
        };
        Ok((
            said,
            SyncReply {
                messages,
                cursor: page.cursor,
                more: page.more,
                mailbox_shared: page.mailbox_shared,
            },
        ))
    }
}

#[cfg(feature = "client")]
mod client {
    use futures_util::Stream;

    use super::{SyncReply, SyncRequest};
    use crate::client::{ClientError, Event, Session};

    /// One page of [`Session::sync`], oldest first.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct SyncPage {
        /// The page's messages, by `cursor`.
        pub messages: Vec<Event>,
        /// Where the next page starts.
        pub cursor: u64,
        /// Whether more wait after `cursor`.
        pub more: bool,
    }

    impl Session {
        /// One page of what was stored for this user after `after`.
        pub async fn sync_page(&self, after: u64) -> Result<SyncPage, ClientError> {
            let request = SyncRequest {
                username: self.username().to_owned(),
                token: self.token().clone(),
                after,
                limit: None,
            };
            let SyncReply {
                messages,
                cursor,
                more,
                ..
            } = self.call(request).await?;
            Ok(SyncPage {
                messages: messages.into_iter().filter_map(Event::from_wire).collect(),
                cursor,
                more,
            })
        }

        /// Every page stored for this user after `after`, as a stream that
        /// ends after the last. From `0`: everything the user may read.
        pub fn sync(&self, after: u64) -> impl Stream<Item = Result<SyncPage, ClientError>> + '_ {
            futures_util::stream::try_unfold(Some(after), move |next| async move {
                let Some(after) = next else {
                    return Ok(None);
                };
                let page = self.sync_page(after).await?;
                let next = page.more.then_some(page.cursor);
                Ok(Some((page, next)))
            })
        }
    }
}

#[cfg(feature = "client")]
pub use client::SyncPage;
