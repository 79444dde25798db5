//! De-duplication of requests that clients named: a request seen again is
//! answered with its first reply instead of taking effect twice.

use std::time::Duration;

use lapin::BasicProperties;
use ngobrol_core::{Auth, ChatService, RequestKey, Token, Username};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

use super::handler::Handler;
use crate::methods::Request;

/// The longest `request_id` (as JSON text) that is remembered.
const MAX_REQUEST_ID_LEN: usize = 200;

/// The key that identifies a request its client named: the acting user
/// and the `request_id` (as JSON text, so `"7"` and `7` differ), or else
/// the AMQP `message_id`.
pub(super) fn request_key(
    request: &Request,
    request_id: Option<&Value>,
    properties: &BasicProperties,
) -> Option<RequestKey> {
    let id = match request_id {
        Some(id) => id.to_string(),
        None => format!("amqp:{}", properties.message_id().as_ref()?.as_str()),
    };
    (id.len() <= MAX_REQUEST_ID_LEN).then(|| RequestKey {
        user: request.acting_user().to_owned(),
        request_id: id,
    })
}

/// The key and credentials under which a request's reply is recorded:
/// only authenticated requests that change something are de-duplicated.
/// Their replies are given back only to a request with a valid token of
/// the same user, and reading twice is harmless.
pub(super) fn recorded_under(
    request: &Request,
    key: Option<&RequestKey>,
) -> Option<(RequestKey, Auth)> {
    let key = key.filter(|_| request.changes_state())?;
    let user = Username::parse(request.acting_user()).ok()?;
    let token = Token::parse(request.token()?.expose()).ok()?;
    Some((key.clone(), Auth::new(user, token)))
}

/// What a recorded reply is stored with: the fingerprint of the request
/// it answered, so that an id reused for another request is told apart.
const RECORD_MARK: &[u8] = b"ngobrol-fp1:";

/// A fingerprint of a request's contents, its token included (so of the
/// session that sent it): SHA-256 of its JSON, in hex.
pub(super) fn fingerprint(request: &Request) -> String {
    let body = serde_json::to_vec(request).expect("requests serialize");
    Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A reply as recorded: the mark, the fingerprint, a newline, the reply.
pub(super) fn record(fingerprint: &str, reply: &[u8]) -> Vec<u8> {
    [RECORD_MARK, fingerprint.as_bytes(), b"\n", reply].concat()
}

/// What a recorded reply says of a request seen again with its id.
pub(super) enum Recorded<'a> {
    /// The same request: answer with its first reply.
    Same(&'a [u8]),
    /// Another request under a used id.
    Conflict,
}

impl<'a> Recorded<'a> {
    pub fn read(recorded: &'a [u8], fingerprint: &str) -> Self {
        let Some(rest) = recorded.strip_prefix(RECORD_MARK) else {
            // Recorded before fingerprints were kept.
            return Recorded::Same(recorded);
        };
        match rest.split_at_checked(fingerprint.len()) {
            Some((seen, reply)) if seen == fingerprint.as_bytes() => {
                Recorded::Same(reply.strip_prefix(b"\n").unwrap_or(reply))
            }
            _ => Recorded::Conflict,
        }
    }
}

impl Handler {
    /// The reply recorded for a repeated request, if there is one.
    pub(super) async fn recorded_reply(
        &self,
        method: &str,
        credentials: &(RequestKey, Auth),
    ) -> Option<Vec<u8>> {
        let (key, auth) = credentials;
        let reply = self.service.recorded_reply(auth, key).await.ok()??;
        info!(method, user = %key.user, "a repeated request; answering with its first reply");
        Some(reply)
    }

    /// Records a reply for de-duplication. A failure only costs the
    /// de-duplication of this request.
    pub(super) async fn record_reply(&self, method: &str, key: &RequestKey, reply: &[u8]) {
        if let Err(e) = self.service.record_reply(key, reply).await {
            warn!(method, "cannot record a reply for de-duplication: {e}");
        }
    }
}

/// Forgets old replies of named requests now and then, so the
/// de-duplication window stays bounded in time and size.
pub(super) async fn prune_replies(service: ChatService, window: Duration, keep: u64) {
    let mut every = tokio::time::interval(Duration::from_secs(60).min(window));
    loop {
        every.tick().await;
        match service.prune_replies(window, keep).await {
            Ok(0) => {}
            Ok(forgotten) => debug!(forgotten, "pruned remembered replies"),
            Err(e) => warn!("cannot prune remembered replies: {e}"),
        }
    }
}
