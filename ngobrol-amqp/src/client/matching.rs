//! Matching replies to the calls waiting for them.

use std::collections::{HashMap, VecDeque};

use serde_json::Value;
use tokio::sync::oneshot;

use crate::wire::Reply;

/// The calls waiting for a reply.
#[derive(Debug, Default)]
pub(super) struct Waiting {
    by_id: HashMap<String, (String, oneshot::Sender<Reply>)>,
    /// Request ids in the order sent, for replies that carry no id.
    order: VecDeque<String>,
    /// Whether the server was seen to echo request ids. From then on a
    /// reply is matched by its id alone: a stray or forged reply without
    /// the id can never complete someone's call.
    server_sends_ids: bool,
}

impl Waiting {
    /// Waits for the reply `reply_method` to request `id`.
    pub fn expect(&mut self, id: &str, reply_method: String) -> oneshot::Receiver<Reply> {
        let (sender, receiver) = oneshot::channel();
        self.by_id.insert(id.to_owned(), (reply_method, sender));
        self.order.push_back(id.to_owned());
        receiver
    }

    pub fn forget(&mut self, id: &str) {
        self.by_id.remove(id);
        self.order.retain(|i| i != id);
    }

    /// Hands a reply to the call waiting for it: by its `request_id`; or,
    /// from a server that sends no ids (the original answers each user in
    /// order), to the oldest call waiting for that reply method. Returns
    /// the reply back when no call waits for it.
    pub fn complete(&mut self, reply: Reply) -> Option<Reply> {
        let id = match &reply.request_id {
            Some(Value::String(id)) => {
                self.server_sends_ids = true;
                Some(id.clone()).filter(|id| self.by_id.contains_key(id))
            }
            Some(_) => None,
            None if self.server_sends_ids => None,
            None => self.oldest_waiting_for(&reply.method),
        };
        let Some(id) = id else {
            return Some(reply);
        };
        self.order.retain(|i| *i != id);
        let (_, sender) = self.by_id.remove(&id)?;
        let _ = sender.send(reply);
        None
    }

    fn oldest_waiting_for(&self, reply_method: &str) -> Option<String> {
        self.order
            .iter()
            .find(|id| {
                self.by_id
                    .get(*id)
                    .is_some_and(|(method, _)| method == reply_method)
            })
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reply to a `method` request.
    fn reply(method: &str, id: Option<&str>) -> Reply {
        Reply::ok(method, "").with_request_id(id.map(|i| Value::String(i.into())))
    }

    #[test]
    fn replies_without_ids_go_in_order_until_the_server_shows_it_sends_ids() {
        let mut waiting = Waiting::default();
        let mut first = waiting.expect("a", "get_friend_reply".into());
        let mut second = waiting.expect("b", "get_friend_reply".into());
        assert!(waiting.complete(reply("get_friend", None)).is_none());
        assert!(first.try_recv().is_ok());
        // Once a reply carried an id, one without is never taken for a
        // waiting call.
        let mut third = waiting.expect("c", "add_friend_reply".into());
        assert!(waiting.complete(reply("add_friend", Some("c"))).is_none());
        assert!(third.try_recv().is_ok());
        assert!(waiting.complete(reply("get_friend", None)).is_some());
        assert!(second.try_recv().is_err());
        assert!(waiting.complete(reply("get_friend", Some("x"))).is_some());
        assert!(waiting.complete(reply("get_friend", Some("b"))).is_none());
        assert!(second.try_recv().is_ok());
    }
}
