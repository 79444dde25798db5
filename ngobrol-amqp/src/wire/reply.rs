//! The reply envelope, common to every method.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::methods::Request;

/// The fields of a reply body, untyped: what a reply is before its
/// method's body type is known.
pub type Body = serde_json::Map<String, Value>;

/// `"ok"` or `"error"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The request was done.
    Ok,
    /// The request was not done; `code` says why.
    Error,
}

/// Every reply: the envelope every method shares, with the method's own
/// body `B` flattened into it. `method` is the request's method +
/// `_reply`. With the default `B`, the body is untyped JSON fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply<B = Body> {
    /// The request's method + `_reply`; `error` for a request without a
    /// usable `method`.
    pub method: String,
    /// Whether the request was done.
    pub status: Status,
    /// A sentence for people, in the server's language or the request's
    /// `lang`.
    pub description: String,
    /// Extension: the machine-readable error code, in error replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Extension: the request's `request_id`, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Value>,
    /// The method's own fields.
    #[serde(flatten)]
    pub body: B,
    /// Extension, with code `rate_limited`: milliseconds to wait before
    /// trying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl<B: Serialize> Reply<B> {
    /// A success reply to `method` (a request method, without `_reply`).
    pub fn ok_with(method: &str, description: impl Into<String>, body: B) -> Self {
        Self {
            method: format!("{method}_reply"),
            status: Status::Ok,
            description: description.into(),
            code: None,
            request_id: None,
            body,
            retry_after_ms: None,
        }
    }

    /// An error reply to `method` with `code`, carrying `body` (for a
    /// typed reply, its `Default`: what the original sends in errors).
    pub fn refusal(method: &str, code: &str, description: impl Into<String>, body: B) -> Self {
        let mut reply = Self::ok_with(method, description, body);
        reply.status = Status::Error;
        reply.code = Some(code.to_owned());
        reply
    }

    /// This reply, echoing the request's `request_id`.
    pub fn with_request_id(mut self, request_id: Option<Value>) -> Self {
        self.request_id = request_id;
        self
    }

    /// The reply as a JSON body.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a reply always serializes")
    }
}

impl Reply {
    /// An untyped success reply with no body fields.
    pub fn ok(method: &str, description: impl Into<String>) -> Self {
        Self::ok_with(method, description, Body::new())
    }

    /// An error reply to `method`, with the fields the original protocol
    /// always sends in that reply (an empty token or list).
    pub fn error(method: &str, code: &str, description: impl Into<String>) -> Self {
        Self::refusal(method, code, description, Request::error_body(method))
    }

    /// The error reply for a body that could not be decoded.
    pub fn from_decode_error(error: &super::DecodeError) -> Self {
        let method = error.method.as_deref().unwrap_or("");
        let mut reply = Self::error(method, error.code, &error.description);
        reply.method = error.reply_method();
        reply.request_id = error.request_id.clone();
        reply
    }

    /// This reply with its body read as `B`.
    pub fn typed<B: serde::de::DeserializeOwned>(self) -> Result<Reply<B>, serde_json::Error> {
        let body = serde_json::from_value(Value::Object(self.body))?;
        Ok(Reply {
            method: self.method,
            status: self.status,
            description: self.description,
            code: self.code,
            request_id: self.request_id,
            body,
            retry_after_ms: self.retry_after_ms,
        })
    }
}
