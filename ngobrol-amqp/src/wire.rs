//! The JSON wire format, field for field as the original protocol has it,
//! plus additive extensions (marked below). Nothing here does I/O.
//!
//! Requests are decoded in two steps, so that each kind of bad input gets
//! its own error code: the body must be a JSON object with a string
//! `method` (`bad_request`), the method must be known (`unknown_method`),
//! and its fields must be present with the right types (`bad_request`,
//! with serde's description of what was wrong).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use ngobrol_core::{ChatError, Delivery, DeliveryBody, Username};

/// `register`: a new account. The reply goes to `queue_name`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Register {
    pub username: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<String>,
}

/// `login`: a fresh token. The reply goes to `queue_name`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Login {
    pub username: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddFriend {
    pub username_from: String,
    pub username_to: String,
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetFriend {
    pub username: String,
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateGroup {
    pub username: String,
    pub group_name: String,
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetGroup {
    pub username: String,
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddMemberToGroup {
    pub username_adder: String,
    pub username_to_add: String,
    pub group_id: i64,
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuitFromGroup {
    pub username: String,
    pub group_id: i64,
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendClient {
    pub username_from: String,
    pub username_to: String,
    pub message: String,
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendGroup {
    pub username_from: String,
    pub group_id_to: i64,
    pub message: String,
    pub token: String,
}

/// Extension: `logout` revokes the token it carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Logout {
    pub username: String,
    pub token: String,
}

/// Every request of the protocol. Serialized, it carries its `method`
/// field, as the wire has it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Request {
    Register(Register),
    Login(Login),
    AddFriend(AddFriend),
    GetFriend(GetFriend),
    CreateGroup(CreateGroup),
    GetGroup(GetGroup),
    AddMemberToGroup(AddMemberToGroup),
    QuitFromGroup(QuitFromGroup),
    SendClient(SendClient),
    SendGroup(SendGroup),
    Logout(Logout),
}

impl Request {
    /// The `method` of this request on the wire.
    pub fn method(&self) -> &'static str {
        match self {
            Request::Register(_) => "register",
            Request::Login(_) => "login",
            Request::AddFriend(_) => "add_friend",
            Request::GetFriend(_) => "get_friend",
            Request::CreateGroup(_) => "create_group",
            Request::GetGroup(_) => "get_group",
            Request::AddMemberToGroup(_) => "add_member_to_group",
            Request::QuitFromGroup(_) => "quit_from_group",
            Request::SendClient(_) => "send_client",
            Request::SendGroup(_) => "send_group",
            Request::Logout(_) => "logout",
        }
    }

    /// The token an authenticated request carries; `None` for register and
    /// login.
    pub fn token(&self) -> Option<&str> {
        match self {
            Request::Register(_) | Request::Login(_) => None,
            Request::AddFriend(r) => Some(&r.token),
            Request::GetFriend(r) => Some(&r.token),
            Request::CreateGroup(r) => Some(&r.token),
            Request::GetGroup(r) => Some(&r.token),
            Request::AddMemberToGroup(r) => Some(&r.token),
            Request::QuitFromGroup(r) => Some(&r.token),
            Request::SendClient(r) => Some(&r.token),
            Request::SendGroup(r) => Some(&r.token),
            Request::Logout(r) => Some(&r.token),
        }
    }

    /// The user the request acts for, as the request names them.
    pub fn acting_user(&self) -> &str {
        match self {
            Request::Register(r) => &r.username,
            Request::Login(r) => &r.username,
            Request::AddFriend(r) => &r.username_from,
            Request::GetFriend(r) => &r.username,
            Request::CreateGroup(r) => &r.username,
            Request::GetGroup(r) => &r.username,
            Request::AddMemberToGroup(r) => &r.username_adder,
            Request::QuitFromGroup(r) => &r.username,
            Request::SendClient(r) => &r.username_from,
            Request::SendGroup(r) => &r.username_from,
            Request::Logout(r) => &r.username,
        }
    }
}

/// A decoded request with the extension fields every request may carry.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    pub request: Request,
    /// Extension: a client-chosen id, echoed in the reply. A JSON string
    /// or number.
    pub request_id: Option<Value>,
}

/// A request that could not be decoded, with what is known of it: enough
/// to choose an error reply's method and address.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeError {
    /// The request's `method`, when it was a plausible method name.
    pub method: Option<String>,
    pub code: &'static str,
    pub description: String,
    pub request_id: Option<Value>,
    /// `queue_name`, when the body had one as a string.
    pub queue_name: Option<String>,
    /// The acting user and token, when the body had them as strings: if
    /// they check out, the error reply can go to that user's queue.
    pub acting_user: Option<String>,
    pub token: Option<String>,
}

impl DecodeError {
    fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            method: None,
            code,
            description: description.into(),
            request_id: None,
            queue_name: None,
            acting_user: None,
            token: None,
        }
    }

    /// The error for a body larger than the server accepts.
    pub fn too_large(size: usize, limit: usize) -> Self {
        Self::new(
            "payload_too_large",
            format!("the request has {size} bytes; the limit is {limit}"),
        )
    }

    /// The reply `method` for this error: `<method>_reply` when the
    /// request had a method name, else `error`.
    pub fn reply_method(&self) -> String {
        match &self.method {
            Some(method) => format!("{method}_reply"),
            None => "error".to_owned(),
        }
    }
}

/// Decodes one request body.
///
/// The error is boxed: it is the rare path, and keeps the result small.
pub fn decode_request(body: &[u8]) -> Result<Envelope, Box<DecodeError>> {
    let mut value: Value = serde_json::from_slice(body).map_err(|e| {
        Box::new(DecodeError::new(
            "bad_request",
            format!("the body is not valid JSON: {e}"),
        ))
    })?;
    let Some(object) = value.as_object_mut() else {
        return Err(Box::new(DecodeError::new(
            "bad_request",
            "the body must be a JSON object",
        )));
    };
    let request_id = object
        .remove("request_id")
        .filter(|id| id.is_string() || id.is_number());
    // An error that keeps what is known of the request, to address and
    // label its reply.
    let fail = |value: &Value, method: Option<&str>, code, description: String| {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        Box::new(DecodeError {
            method: method.map(str::to_owned),
            code,
            description,
            request_id: request_id.clone(),
            queue_name: text("queue_name"),
            acting_user: ["username", "username_from", "username_adder"]
                .iter()
                .find_map(|key| text(key)),
            token: text("token"),
        })
    };
    let method = match value.get("method") {
        Some(Value::String(method)) => method.clone(),
        Some(_) => {
            let description = "`method` must be a string".to_owned();
            return Err(fail(&value, None, "bad_request", description));
        }
        None => {
            let description = "the request has no `method`".to_owned();
            return Err(fail(&value, None, "bad_request", description));
        }
    };
    let parsed = match method.as_str() {
        "register" => Register::deserialize(&value).map(Request::Register),
        "login" => Login::deserialize(&value).map(Request::Login),
        "add_friend" => AddFriend::deserialize(&value).map(Request::AddFriend),
        "get_friend" => GetFriend::deserialize(&value).map(Request::GetFriend),
        "create_group" => CreateGroup::deserialize(&value).map(Request::CreateGroup),
        "get_group" => GetGroup::deserialize(&value).map(Request::GetGroup),
        "add_member_to_group" => {
            AddMemberToGroup::deserialize(&value).map(Request::AddMemberToGroup)
        }
        "quit_from_group" => QuitFromGroup::deserialize(&value).map(Request::QuitFromGroup),
        "send_client" => SendClient::deserialize(&value).map(Request::SendClient),
        "send_group" => SendGroup::deserialize(&value).map(Request::SendGroup),
        "logout" => Logout::deserialize(&value).map(Request::Logout),
        _ => {
            // Echo the name back only when it cannot garble the reply.
            let plausible = method.len() <= 64
                && method
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_');
            let description = format!("unknown method {method:?}");
            let method = plausible.then_some(method.as_str());
            return Err(fail(&value, method, "unknown_method", description));
        }
    };
    match parsed {
        Ok(request) => Ok(Envelope {
            request,
            request_id: request_id.clone(),
        }),
        Err(e) => {
            let description = format!("malformed {method} request: {e}");
            Err(fail(&value, Some(&method), "bad_request", description))
        }
    }
}

/// `"ok"` or `"error"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Error,
}

/// One entry of `get_group_reply.groups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupEntry {
    pub group_name: String,
    pub group_id: i64,
}

/// Every reply: `method` is the request's method + `_reply`. The optional
/// fields appear only in the replies that carry them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub method: String,
    pub status: Status,
    pub description: String,
    /// Extension: the machine-readable error code, in error replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Extension: the request's `request_id`, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Value>,
    /// `login_reply`: the token; `""` in an error reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `get_friend_reply`: the friends' names; empty in an error reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usernames: Option<Vec<String>>,
    /// `get_group_reply`: the groups; empty in an error reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<GroupEntry>>,
    /// Extension, `create_group_reply`: the new group's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    /// Extension, `send_client_reply` and `send_group_reply`: the id of the
    /// delivery made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Extension, with code `rate_limited`: milliseconds to wait before
    /// trying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl Reply {
    /// A success reply to `method` (a request method, without `_reply`).
    pub fn ok(method: &str, description: impl Into<String>) -> Self {
        Self {
            method: format!("{method}_reply"),
            status: Status::Ok,
            description: description.into(),
            code: None,
            request_id: None,
            token: None,
            usernames: None,
            groups: None,
            group_id: None,
            message_id: None,
            retry_after_ms: None,
        }
    }

    /// An error reply to `method`, with the fields the original protocol
    /// always sends in that reply (an empty token or list).
    pub fn error(method: &str, code: &str, description: impl Into<String>) -> Self {
        let mut reply = Self::ok(method, description);
        reply.status = Status::Error;
        reply.code = Some(code.to_owned());
        match method {
            "login" => reply.token = Some(String::new()),
            "get_friend" => reply.usernames = Some(Vec::new()),
            "get_group" => reply.groups = Some(Vec::new()),
            _ => {}
        }
        reply
    }

    /// The error reply for a refused request.
    pub fn from_error(method: &str, error: &ChatError) -> Self {
        let mut reply = Self::error(method, error.code(), error.public_description());
        reply.retry_after_ms = error
            .retry_after()
            .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1));
        reply
    }

    /// The error reply for a body that could not be decoded.
    pub fn from_decode_error(error: &DecodeError) -> Self {
        let method = error.method.as_deref().unwrap_or("");
        let mut reply = Self::error(method, error.code, &error.description);
        reply.method = error.reply_method();
        reply.request_id = error.request_id.clone();
        reply
    }

    pub fn with_request_id(mut self, request_id: Option<Value>) -> Self {
        self.request_id = request_id;
        self
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a reply always serializes")
    }
}

/// A delivery to a user: a direct message (`send_client`), a group message
/// or a group notice (`send_group`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryMessage {
    pub method: String,
    pub username_from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id_to: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name_to: Option<String>,
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
}

impl DeliveryMessage {
    pub fn from_delivery(delivery: &Delivery) -> Self {
        let message_id = Some(delivery.id.to_string());
        let sent_at = Some(humantime::format_rfc3339_millis(delivery.sent_at).to_string());
        match &delivery.body {
            DeliveryBody::Direct { from, text } => Self {
                method: "send_client".into(),
                username_from: from.to_string(),
                group_id_to: None,
                group_name_to: None,
                message: text.as_str().to_owned(),
                message_id,
                sent_at,
                notice: false,
            },
            DeliveryBody::Group { from, group, text } => Self {
                method: "send_group".into(),
                username_from: from.to_string(),
                group_id_to: Some(group.id.get()),
                group_name_to: Some(group.name.to_string()),
                message: text.as_str().to_owned(),
                message_id,
                sent_at,
                notice: false,
            },
            DeliveryBody::Notice { group, event } => Self {
                method: "send_group".into(),
                username_from: Username::NOTICE_SENDER.into(),
                group_id_to: Some(group.id.get()),
                group_name_to: Some(group.name.to_string()),
                message: event.describe(&group.name),
                message_id,
                sent_at,
                notice: true,
            },
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a delivery always serializes")
    }
}
