//! What the server delivers to a user's queue.

use serde::{Deserialize, Serialize};

/// A delivery to a user: a direct message (`send_client`), a group message
/// or a group notice (`send_group`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryMessage {
    /// `send_client` for a direct message, `send_group` for a group message
    /// or notice; in a signal, the signal (`message_edited`, `receipt`,
    /// `presence`…).
    pub method: String,
    /// The sender; `admin` for a notice. In a signal, the user it tells of.
    pub username_from: String,
    /// The group, for a group message or notice (and a group's signals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id_to: Option<i64>,
    /// The group's name, with `group_id_to`; in a `renamed` notice, the new
    /// name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name_to: Option<String>,
    /// The text; in a notice, a sentence for people. Empty for a deleted
    /// message.
    pub message: String,
    /// Extension: unique per delivery. Always sent by ngobrol; absent from
    /// the original server's deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Extension: when the server accepted the message, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
    /// Extension: true for a notice from the server (a member joined or
    /// left), whose `username_from` is the reserved name `admin`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub notice: bool,
    /// Extension, in a notice: what happened, for programs (the `message`
    /// is a sentence for people, in the server's language).
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    pub notice_event: Option<NoticeFields>,
    /// Extension, in `get_history` and `sync` pages: a direct message's
    /// recipient (the page may hold the reader's own messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_to: Option<String>,
    /// Extension: the message's place among all those stored, the cursor
    /// of `sync`. Absent from a message not stored (none, from ngobrol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u64>,
    /// Extension: the message's number in its conversation (1, 2, 3…),
    /// the cursor of `get_history`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Extension: when its author last edited or deleted the message,
    /// RFC 3339 UTC; absent for a message as it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<String>,
    /// Extension: true for a deleted message (its `message` is empty).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Extension, in a `receipt` signal: `delivered` or `read`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// Extension, in a `presence` signal: `online`, `away` or `offline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<String>,
}

/// The fields of a notice that say what happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeFields {
    /// `joined` or `left`.
    #[serde(rename = "notice_event")]
    pub event: String,
    /// Who joined or left.
    #[serde(rename = "notice_member")]
    pub member: String,
    /// Who added them, for `joined`.
    #[serde(rename = "notice_by", default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

impl DeliveryMessage {
    /// The delivery as a JSON body.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a delivery always serializes")
    }
}
