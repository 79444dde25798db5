//! The protocol's methods, one module each. A method's module holds all
//! there is to know about it: its request (field for field as on the
//! wire), its typed reply body, its acting user, whether it changes
//! state, how the server runs it (feature `server`) and the SDK call that
//! sends it (feature `client`).
//!
//! `protocol!` below is the registration: one line per method makes
//! [`Request`], the decoder's table, the server's dispatch and the error
//! bodies.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::secret::Secret;
use crate::wire::Body;

pub mod activity;
pub mod add_friend;
pub mod add_member_to_group;
pub mod block_user;
pub mod consent;
pub mod create_group;
pub mod delete_group;
pub mod delete_message;
pub mod edit_message;
pub mod get_blocked;
pub mod get_friend;
pub mod get_group;
pub mod get_group_members;
pub mod get_history;
pub mod get_sessions;
pub mod kick_member;
pub mod login;
pub mod logout;
pub mod logout_all;
pub mod mark;
pub mod quit_from_group;
pub mod register;
pub mod remove_friend;
pub mod rename_group;
pub mod send_client;
pub mod send_group;
pub mod sync;
pub mod transfer_admin;

/// One method of the protocol: what the wire, the server and the client
/// need to know of it.
pub trait Method: Serialize + DeserializeOwned + Into<Request> {
    /// The request's `method` on the wire; its reply's is `NAME_reply`.
    const NAME: &'static str;
    /// Whether the request changes anything. Only those are de-duplicated:
    /// reading twice is harmless.
    const CHANGES_STATE: bool;
    /// Whether the reply goes to the request's `queue_name` (register and
    /// login, sent before the user's queue may be read) rather than to
    /// the acting user's queue.
    const REPLIES_TO_QUEUE_NAME: bool = false;

    /// The reply's body, flattened into the [`Reply`](crate::wire::Reply)
    /// envelope. `Default` is the body of an error reply: the original
    /// sends `"token": ""` and empty lists there.
    type Reply: Serialize + DeserializeOwned + Default + std::fmt::Debug + Send;

    /// The user the request acts for, as the request names them.
    fn acting_user(&self) -> &str;

    /// The token of an authenticated request; `None` for register and
    /// login.
    fn token(&self) -> Option<&Secret>;

    /// The `queue_name` the request brings, for methods that reply there.
    fn queue_name(&self) -> Option<&str> {
        None
    }
}

/// The body of a reply that carries nothing but the envelope.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoBody {}

/// The body of `add_friend_reply` and `add_member_to_group_reply`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asked {
    /// Extension, under consent: the other was asked (invited, for a
    /// group), and nothing changes until they accept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
}

/// The body of `send_client_reply` and `send_group_reply`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// Extension: the id of the delivery made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// A request with its `method` field, as it goes on the wire.
#[derive(Serialize)]
pub(crate) struct Tagged<'a, M> {
    pub method: &'static str,
    #[serde(flatten)]
    pub request: &'a M,
}

/// The body of `M`'s error reply, as JSON fields.
fn error_body<M: Method>() -> Body {
    match serde_json::to_value(M::Reply::default()) {
        Ok(Value::Object(fields)) => fields,
        _ => Body::new(),
    }
}

/// Registers the methods: each `module::Type` line adds a variant to
/// [`Request`] and a row to every table that goes by method name.
macro_rules! protocol {
    ($($module:ident :: $method:ident),+ $(,)?) => {
        /// Every request of the protocol. Serialized, it carries its
        /// `method` field, as the wire has it.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Request {
            $(
                #[doc = concat!(
                    "A [`", stringify!($method), "`](", stringify!($module), "::",
                    stringify!($method), ") request."
                )]
                $method($module::$method),
            )+
        }

        $(impl From<$module::$method> for Request {
            fn from(request: $module::$method) -> Self {
                Request::$method(request)
            }
        })+

        impl Request {
            /// The `method` of this request on the wire.
            pub fn method(&self) -> &'static str {
                match self {
                    $(Request::$method(_) => <$module::$method as Method>::NAME,)+
                }
            }

            /// The token an authenticated request carries; `None` for
            /// register and login.
            pub fn token(&self) -> Option<&Secret> {
                match self {
                    $(Request::$method(r) => r.token(),)+
                }
            }

            /// The user the request acts for, as the request names them.
            pub fn acting_user(&self) -> &str {
                match self {
                    $(Request::$method(r) => r.acting_user(),)+
                }
            }

            /// Whether the request changes anything (see
            /// [`Method::CHANGES_STATE`]).
            pub fn changes_state(&self) -> bool {
                match self {
                    $(Request::$method(_) => <$module::$method as Method>::CHANGES_STATE,)+
                }
            }

            /// Whether the reply goes to the request's `queue_name`.
            pub fn replies_to_queue_name(&self) -> bool {
                match self {
                    $(Request::$method(_) => <$module::$method as Method>::REPLIES_TO_QUEUE_NAME,)+
                }
            }

            /// The `queue_name` the request brings, for methods that
            /// reply there.
            pub fn queue_name(&self) -> Option<&str> {
                match self {
                    $(Request::$method(r) => r.queue_name(),)+
                }
            }

            /// Decodes the fields of a `method` request; `None` when no
            /// method has that name.
            pub(crate) fn decode(
                method: &str,
                body: &Value,
            ) -> Option<Result<Self, serde_json::Error>> {
                $(if method == <$module::$method as Method>::NAME {
                    return Some($module::$method::deserialize(body).map(Request::$method));
                })+
                None
            }

            /// The body of the error reply to a `method` request: the
            /// fields the original always sends there.
            pub(crate) fn error_body(method: &str) -> Body {
                $(if method == <$module::$method as Method>::NAME {
                    return error_body::<$module::$method>();
                })+
                Body::new()
            }

            /// Every method's name, in registration order.
            pub const METHODS: &'static [&'static str] =
                &[$(<$module::$method as Method>::NAME,)+];
        }

        impl Serialize for Request {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Request::$method(request) => Tagged {
                        method: <$module::$method as Method>::NAME,
                        request,
                    }
                    .serialize(serializer),)+
                }
            }
        }

        #[cfg(feature = "server")]
        impl Request {
            /// Runs the request against the chat service: its encoded
            /// reply, and whether the reply may be remembered for
            /// de-duplication.
            pub(crate) async fn execute(
                self,
                cx: &crate::server::Context<'_>,
            ) -> crate::server::Answer {
                match self {
                    $(Request::$method(request) => cx.run(request).await,)+
                }
            }
        }
    };
}

protocol! {
    register::Register,
    login::Login,
    add_friend::AddFriend,
    get_friend::GetFriend,
    create_group::CreateGroup,
    get_group::GetGroup,
    add_member_to_group::AddMemberToGroup,
    quit_from_group::QuitFromGroup,
    send_client::SendClient,
    send_group::SendGroup,
    logout::Logout,
    logout_all::LogoutAll,
    get_sessions::GetSessions,
    get_history::GetHistory,
    sync::SyncRequest,
    get_group_members::GetGroupMembers,
    kick_member::KickMember,
    transfer_admin::TransferAdmin,
    rename_group::RenameGroup,
    delete_group::DeleteGroup,
    remove_friend::RemoveFriend,
    block_user::BlockUser,
    block_user::UnblockUser,
    get_blocked::GetBlocked,
    edit_message::EditMessage,
    delete_message::DeleteMessage,
    mark::MarkRead,
    mark::MarkDelivered,
    mark::GetConversations,
    consent::AcceptFriend,
    consent::DeclineFriend,
    consent::GetFriendRequests,
    consent::AcceptInvitation,
    consent::DeclineInvitation,
    activity::Typing,
    activity::SetPresence,
    activity::GetPresence,
    activity::ShareActivity,
}
