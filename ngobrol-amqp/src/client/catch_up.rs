//! Catching a session up: what it missed in the server's history, merged
//! by cursor with what waited in the user's mailbox, one page and one
//! message at a time.

use std::sync::atomic::Ordering;
use std::time::Instant;

use lapin::Channel;
use lapin::options::BasicAckOptions;
use serde_json::Value;

use super::ClientError;
use super::link::{Shared, lock};
use super::mailbox::{CatchUp, Mailbox};
use super::reading::{backlog_count, next_backlog};
use crate::methods::sync::SyncRequest;
use crate::wire::DeliveryMessage;

/// Hands over what the session missed, in cursor order: every `sync` page
/// from its resume point (not the user's own direct messages, which reach
/// the recipient's queues only) merged with, unless the original client
/// reads the mailbox, what waited there, each acknowledged once handed
/// over. One page and one mailbox message are held at a time; the events'
/// buffer holds the rest back, so a long absence costs no more memory
/// than a short one.
pub(super) async fn catch_up_with(
    shared: &Shared,
    backlog: &Channel,
    mailbox: &Mailbox,
    catch_up: &CatchUp,
) -> Result<(), ClientError> {
    // As of the moment the link was lost, if it was: a delivery that was
    // still young then may have had an older one on its way.
    let as_of = shared.lost_at().unwrap_or_else(Instant::now);
    let mut after = lock(&catch_up.resume).point(as_of);
    let mut waiting: Option<Waiting<'_>> = None;
    loop {
        let request = SyncRequest {
            username: mailbox.user.clone(),
            token: catch_up.token.clone(),
            after,
            limit: None,
        };
        let page = shared.call(request).await?;
        let waiting = match &mut waiting {
            Some(waiting) => waiting,
            None => {
                let queue = mailbox.route.as_ref().and_then(|r| r.backlog.as_deref());
                let queue = queue.filter(|_| !page.mailbox_shared);
                waiting.insert(Waiting::open(backlog, queue).await)
            }
        };
        let missed = page
            .messages
            .into_iter()
            .filter(|m| !(m.method == "send_client" && m.username_from == mailbox.user));
        for message in missed {
            // What waited in the mailbox from before it goes first (a
            // message without a cursor, from a server that gave none,
            // before all); copies are dropped by id as they are handed
            // over.
            let handed = waiting
                .hand_over_until(Some(message.cursor.unwrap_or(0)), mailbox, shared)
                .await?;
            if !handed || !hand_over(mailbox, message).await {
                return Ok(());
            }
        }
        // What came before the page's end is handed over or still in
        // the mailbox: the next catch-up starts from here.
        lock(&catch_up.resume).synced(page.cursor);
        if !page.more {
            break;
        }
        after = page.cursor;
    }
    if let Some(waiting) = &mut waiting
        && !waiting.hand_over_until(None, mailbox, shared).await?
    {
        return Ok(());
    }
    shared.caught_up();
    Ok(())
}

/// Hands a message of the history over; false when nothing more should
/// be (logged out, or nobody listens).
async fn hand_over(mailbox: &Mailbox, message: DeliveryMessage) -> bool {
    if mailbox.closed.load(Ordering::Relaxed) {
        return false;
    }
    match mailbox.event_of(message) {
        Some(event) => mailbox.events.send(event).await.is_ok(),
        None => true,
    }
}

/// What waited in the user's mailbox when this device came online (later
/// messages reach its own queue), read one at a time, oldest first.
struct Waiting<'a> {
    channel: &'a Channel,
    queue: Option<&'a str>,
    /// How many of them are still to be read.
    left: u32,
    /// The next one, read but not yet handed over (nor acknowledged).
    next: Option<(Value, lapin::message::Delivery)>,
}

impl<'a> Waiting<'a> {
    async fn open(channel: &'a Channel, queue: Option<&'a str>) -> Self {
        let left = match queue {
            Some(queue) => backlog_count(channel, queue).await,
            None => 0,
        };
        Self {
            channel,
            queue,
            left,
            next: None,
        }
    }

    /// Hands over, each acknowledged once handed over, what waited with a
    /// cursor up to `limit` (and what has none), or all of it for `None`;
    /// false when nothing more should be handed over.
    async fn hand_over_until(
        &mut self,
        limit: Option<u64>,
        mailbox: &Mailbox,
        shared: &Shared,
    ) -> Result<bool, ClientError> {
        loop {
            if self.next.is_none() {
                let Some(queue) = self.queue.filter(|_| self.left > 0) else {
                    return Ok(true);
                };
                self.left -= 1;
                self.next = next_backlog(self.channel, queue, shared).await?;
                if self.next.is_none() {
                    self.left = 0;
                    return Ok(true);
                }
            }
            let Some((value, _)) = &self.next else {
                return Ok(true);
            };
            if let (Some(limit), Some(cursor)) = (limit, value["cursor"].as_u64())
                && cursor > limit
            {
                return Ok(true);
            }
            if mailbox.closed.load(Ordering::Relaxed) {
                return Ok(false);
            }
            let (value, delivery) = self.next.take().expect("read above");
            if let Some(event) = mailbox.event(value)
                && mailbox.events.send(event).await.is_err()
            {
                return Ok(false);
            }
            delivery.acker.ack(BasicAckOptions::default()).await?;
        }
    }
}
