//! From the core's values to the wire's messages.

use ngobrol_core::{ChatError, Delivery, DeliveryBody, Username};
use serde::Serialize;

use crate::wire::{Body, DeliveryMessage, Reply};

impl<B: Serialize> Reply<B> {
    /// The error reply to `method` for a refused request, with `body` (a
    /// typed reply's `Default`).
    pub fn from_chat_error(method: &str, error: &ChatError, body: B) -> Self {
        let mut reply = Self::refusal(method, error.code(), error.public_description(), body);
        reply.retry_after_ms = error
            .retry_after()
            .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1));
        reply
    }
}

impl Reply<Body> {
    /// The error reply for a refused request, with the fields the
    /// original protocol always sends in that method's error reply.
    pub fn from_error(method: &str, error: &ChatError) -> Self {
        let body = crate::methods::Request::error_body(method);
        Self::from_chat_error(method, error, body)
    }
}

impl DeliveryMessage {
    pub fn from_delivery(delivery: &Delivery) -> Self {
        let message_id = Some(delivery.id.to_string());
        let sent_at = Some(humantime::format_rfc3339_millis(delivery.sent_at).to_string());
        let (method, from, group, message, notice) = match &delivery.body {
            DeliveryBody::Direct { from, text } => (
                "send_client",
                from.to_string(),
                None,
                text.as_str().to_owned(),
                false,
            ),
            DeliveryBody::Group { from, group, text } => {
                let text = text.as_str().to_owned();
                ("send_group", from.to_string(), Some(group), text, false)
            }
            DeliveryBody::Notice { group, event } => {
                let text = event.describe(&group.name);
                (
                    "send_group",
                    Username::NOTICE_SENDER.into(),
                    Some(group),
                    text,
                    true,
                )
            }
        };
        Self {
            method: method.into(),
            username_from: from,
            group_id_to: group.map(|g| g.id.get()),
            group_name_to: group.map(|g| g.name.to_string()),
            message,
            message_id,
            sent_at,
            notice,
        }
    }
}
