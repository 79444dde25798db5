//! Decoding request bodies.

use serde_json::Value;

use crate::methods::Request;
use crate::secret::Secret;

/// A decoded request with the extension fields every request may carry.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// The request, with its method's fields.
    pub request: Request,
    /// Extension: a client-chosen id, echoed in the reply. A JSON string
    /// or number.
    pub request_id: Option<Value>,
    /// Extension: the language the client wants the reply's sentences in
    /// (`lang`: `id` or `en`); the server's own when absent or unknown.
    pub lang: Option<super::Language>,
}

/// A request that could not be decoded, with what is known of it: enough
/// to choose an error reply's method and address.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeError {
    /// The request's `method`, when it was a plausible method name.
    pub method: Option<String>,
    /// The error code for the reply: `bad_request`, `unknown_method` or
    /// `payload_too_large`.
    pub code: &'static str,
    /// What was wrong, the error reply's `description`.
    pub description: String,
    /// The request's `request_id`, when it had a string or number one, for
    /// the reply to echo.
    pub request_id: Option<Value>,
    /// `queue_name`, when the body had one as a string.
    pub queue_name: Option<String>,
    /// The acting user and token, when the body had them as strings: if
    /// they check out, the error reply can go to that user's queue.
    pub acting_user: Option<String>,
    /// The token that goes with `acting_user`.
    pub token: Option<Secret>,
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

/// Whether `method` can be echoed back in a reply's method without
/// garbling it.
pub(crate) fn plausible_method(method: &str) -> bool {
    method.len() <= 64
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// An error that keeps what is known of the request, to address and
/// label its reply.
fn refusal(
    body: &Value,
    method: Option<&str>,
    request_id: Option<Value>,
    code: &'static str,
    description: String,
) -> Box<DecodeError> {
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    Box::new(DecodeError {
        method: method.map(str::to_owned),
        code,
        description,
        request_id,
        queue_name: text("queue_name"),
        acting_user: ["username", "username_from", "username_adder"]
            .iter()
            .find_map(|key| text(key)),
        token: text("token").map(Secret::from),
    })
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
    let lang = match object.remove("lang") {
        Some(Value::String(tag)) => super::Language::parse(&tag),
        _ => None,
    };
    let method = match value.get("method") {
        Some(Value::String(method)) => method.clone(),
        Some(_) => {
            let description = "`method` must be a string".to_owned();
            return Err(refusal(
                &value,
                None,
                request_id,
                "bad_request",
                description,
            ));
        }
        None => {
            let description = "the request has no `method`".to_owned();
            return Err(refusal(
                &value,
                None,
                request_id,
                "bad_request",
                description,
            ));
        }
    };
    match Request::decode(&method, &value) {
        Some(Ok(request)) => Ok(Envelope {
            request,
            request_id,
            lang,
        }),
        Some(Err(e)) => {
            let description = format!("malformed {method} request: {e}");
            Err(refusal(
                &value,
                Some(&method),
                request_id,
                "bad_request",
                description,
            ))
        }
        None => {
            let description = format!("unknown method {method:?}");
            let shown = plausible_method(&method).then_some(method.as_str());
            Err(refusal(
                &value,
                shown,
                request_id,
                "unknown_method",
                description,
            ))
        }
    }
}
