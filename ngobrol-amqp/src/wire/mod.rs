//! The JSON wire format, field for field as the original protocol has it,
//! plus additive extensions (marked where they are defined). Plain data:
//! nothing here does I/O, and nothing here needs a broker client.
//!
//! Requests are decoded in two steps, so that each kind of bad input gets
//! its own error code: the body must be a JSON object with a string
//! `method` (`bad_request`), the method must be known (`unknown_method`),
//! and its fields must be present with the right types (`bad_request`,
//! with serde's description of what was wrong).
//!
//! Each method's request and reply body are defined in its own module
//! under [`crate::methods`]; they are re-exported here.

mod code;
mod decode;
mod delivery;
mod lang;
mod reply;

pub use code::ErrorCode;
#[cfg(feature = "server")]
pub(crate) use decode::plausible_method;
pub use decode::{DecodeError, Envelope, decode_request};
pub use delivery::{DeliveryMessage, NoticeFields};
pub use lang::Language;
pub use reply::{Body, Reply, Status};

pub use crate::methods::activity::{
    GetPresence, GetPresenceReply, PresenceEntry, SetPresence, ShareActivity, Typing,
};
pub use crate::methods::add_friend::AddFriend;
pub use crate::methods::add_member_to_group::AddMemberToGroup;
pub use crate::methods::block_user::{BlockUser, UnblockUser};
pub use crate::methods::consent::{
    AcceptFriend, AcceptInvitation, DeclineFriend, DeclineInvitation, GetFriendRequests,
    GetFriendRequestsReply, InvitationEntry, RequestEntry,
};
pub use crate::methods::create_group::{CreateGroup, CreateGroupReply};
pub use crate::methods::delete_group::DeleteGroup;
pub use crate::methods::delete_message::DeleteMessage;
pub use crate::methods::edit_message::EditMessage;
pub use crate::methods::get_blocked::GetBlocked;
pub use crate::methods::get_friend::{GetFriend, GetFriendReply};
pub use crate::methods::get_group::{GetGroup, GetGroupReply, GroupEntry};
pub use crate::methods::get_group_members::{GetGroupMembers, GetGroupMembersReply, MemberEntry};
pub use crate::methods::get_history::{GetHistory, GetHistoryReply};
pub use crate::methods::get_sessions::{GetSessions, GetSessionsReply, SessionEntry};
pub use crate::methods::kick_member::KickMember;
pub use crate::methods::login::{Login, LoginReply};
pub use crate::methods::logout::Logout;
pub use crate::methods::logout_all::{LogoutAll, LogoutAllReply};
pub use crate::methods::mark::{
    ConversationEntry, GetConversations, GetConversationsReply, MarkDelivered, MarkRead,
};
pub use crate::methods::quit_from_group::QuitFromGroup;
pub use crate::methods::register::Register;
pub use crate::methods::remove_friend::RemoveFriend;
pub use crate::methods::rename_group::RenameGroup;
pub use crate::methods::send_client::SendClient;
pub use crate::methods::send_group::SendGroup;
pub use crate::methods::sync::{SyncReply, SyncRequest};
pub use crate::methods::transfer_admin::TransferAdmin;
pub use crate::methods::{Method, NoBody, Request, Sent};
pub use crate::secret::Secret;
