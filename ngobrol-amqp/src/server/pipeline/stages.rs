//! A lane's later stages: the confirms of each run, then its reply
//! (stage 2); the reply's confirm, then the acknowledgement (stage 3).

use std::sync::Arc;
use std::time::Instant;

use lapin::PublisherConfirm;
use lapin::message::Delivery as AmqpDelivery;
use ngobrol_core::{ChatError, PortError};
use tokio::sync::mpsc;
use tracing::{error, warn};

use super::lane::Lane;
use super::{Again, Prepared, Tail};
use crate::server::handler::Handler;
use crate::server::settle::Disposition;

/// A request whose reply is on its way: stage 3's work.
pub(super) struct Settling {
    delivery: AmqpDelivery,
    disposition: Disposition,
    reply: Option<PublisherConfirm>,
    started: Instant,
    method: &'static str,
    /// The outcome as counted; `None` for a request not answered (it
    /// comes again, or its handler failed).
    code: Option<&'static str>,
}

/// What became of one deferred delivery.
enum Confirmed {
    Delivered(&'static str),
    /// The broker returned it: to be published again.
    Returned(Box<Again>),
    /// The broker refused it: the sender is told this.
    Refused(ChatError),
    Failed(PortError),
}

/// A request whose deliveries were all answered by the broker.
struct Answered {
    tail: Tail,
    confirmed: Vec<Confirmed>,
}

impl Answered {
    async fn of(mut tail: Tail) -> Self {
        let confirms = match &mut tail.outcome {
            Ok(prepared) => std::mem::take(&mut prepared.confirms),
            Err(_) => Vec::new(),
        };
        let mut confirmed = Vec::with_capacity(confirms.len());
        for c in confirms {
            confirmed.push(
                match crate::server::outbound::confirmed(c.confirm.await, "", "") {
                    Ok(confirmation) => match (confirmation.take_message(), c.again) {
                        (None, _) => Confirmed::Delivered(c.kind),
                        (Some(_), Some(again)) => Confirmed::Returned(Box::new(again)),
                        (Some(_), None) => {
                            Confirmed::Failed(PortError::Unavailable("a delivery came back".into()))
                        }
                    },
                    Err(PortError::Rejected(_)) => Confirmed::Refused(c.refusal),
                    Err(e) => Confirmed::Failed(e),
                },
            );
        }
        Self { tail, confirmed }
    }

    fn failed(&self) -> bool {
        self.confirmed
            .iter()
            .any(|c| matches!(c, Confirmed::Failed(_)))
    }

    fn returned(&self) -> bool {
        self.confirmed
            .iter()
            .any(|c| matches!(c, Confirmed::Returned(_)))
    }

    /// Publishes the returned deliveries again, in their order.
    async fn deliver_again(&mut self, handler: &Handler) {
        for c in &mut self.confirmed {
            if let Confirmed::Returned(again) = c {
                let outbound = &handler.outbound;
                *c = match outbound
                    .deliver_again(&again.user, &again.body, again.properties.clone())
                    .await
                {
                    Ok(()) => Confirmed::Delivered("direct"),
                    Err(PortError::Rejected(_)) => {
                        Confirmed::Refused(ChatError::MailboxFull(again.user.to_string()))
                    }
                    Err(e) => Confirmed::Failed(e),
                };
            }
        }
    }
}

/// Stage 2: each request's confirms, then its reply.
pub(super) async fn confirm_stage(
    handler: Handler,
    lane: Arc<Lane>,
    mut tails: mpsc::Receiver<Tail>,
    next: mpsc::Sender<Settling>,
) {
    while let Some(tail) = tails.recv().await {
        let mut batch = vec![Answered::of(tail).await];
        if batch[0].returned() {
            // The user's routing was lost. Nothing the lane publishes from
            // now on may overtake the returned messages: it pauses, and
            // once the broker has answered everything it published before
            // (each delivered or returned), the returned ones go again,
            // in their order.
            lane.pause().await;
            let resume_at = lane.get().resume_at;
            let mut batch_failed = false;
            while batch.last().is_some_and(|a| a.tail.seq + 1 < resume_at) {
                match tails.recv().await {
                    Some(tail) => batch.push(Answered::of(tail).await),
                    None => break,
                }
            }
            for answered in &mut batch {
                // After a failure, what follows is requeued with it, not
                // published again ahead of it.
                if batch_failed {
                    break;
                }
                answered.deliver_again(&handler).await;
                batch_failed = answered.failed();
            }
        }
        for answered in batch {
            let (seq, key) = (answered.tail.seq, answered.tail.key.clone());
            let settling = finish(&handler, &lane, answered).await;
            lane.release_key(&key);
            lane.confirmed(seq);
            if next.send(settling).await.is_err() {
                return;
            }
        }
    }
}

/// The reply of a request whose deliveries were answered: recorded, if it
/// lasts, and published.
async fn finish(handler: &Handler, lane: &Lane, answered: Answered) -> Settling {
    let Answered { tail, confirmed } = answered;
    let Tail {
        delivery,
        started,
        method,
        outcome,
        key,
        ..
    } = tail;
    let unanswered = |delivery, disposition| Settling {
        delivery,
        disposition,
        reply: None,
        started,
        method,
        code: None,
    };
    let prepared = match outcome {
        Ok(prepared) => prepared,
        Err(disposition) => return unanswered(delivery, disposition),
    };
    let mut refusal = None;
    for c in confirmed {
        match c {
            Confirmed::Delivered(kind) => crate::server::metrics::delivered(kind),
            Confirmed::Refused(refused) => {
                refusal.get_or_insert(refused);
            }
            Confirmed::Returned(_) | Confirmed::Failed(_) => {
                if let Confirmed::Failed(e) = c {
                    error!(
                        method,
                        "a delivery was not confirmed ({e}); the request will be retried"
                    );
                }
                lane.fail();
                return unanswered(delivery, Disposition::Retry);
            }
        }
    }
    let Prepared {
        mut answer,
        refuse,
        record,
        reply_to,
        ..
    } = prepared;
    if let Some(refusal) = &refusal {
        answer = refuse(refusal);
    }
    if let (Some(key), Some(fingerprint)) = (&key, &record)
        && answer.lasting
    {
        let recorded = crate::server::dedup::record(fingerprint, &answer.reply);
        handler.record_reply(method, key, &recorded).await;
    }
    let reply = match reply_to {
        Some(queue) => {
            let sent = handler
                .send_reply_unconfirmed(&queue, &answer.reply, &delivery.properties)
                .await;
            match sent {
                Ok(confirm) => Some(confirm),
                Err(e) => {
                    error!("cannot publish a reply ({e}); the request will be retried");
                    lane.fail();
                    return unanswered(delivery, Disposition::Retry);
                }
            }
        }
        None => None,
    };
    Settling {
        delivery,
        disposition: Disposition::Done,
        reply,
        started,
        method,
        code: Some(answer.code),
    }
}

/// Stage 3: each reply's confirm, then the request's acknowledgement.
pub(super) async fn settle_stage(
    handler: Handler,
    lane: Arc<Lane>,
    mut settling: mpsc::Receiver<Settling>,
) {
    while let Some(s) = settling.recv().await {
        let mut disposition = s.disposition;
        if let Some(reply) = s.reply {
            match crate::server::outbound::confirmed(reply.await, "", "reply") {
                Ok(_) => {}
                Err(PortError::Rejected(e)) => {
                    warn!("a reply was refused ({e}); the request is done without it");
                }
                Err(e) => {
                    error!("a reply was not confirmed ({e}); the request will be retried");
                    lane.fail();
                    disposition = Disposition::Retry;
                }
            }
        }
        if let Some(code) = s.code {
            crate::server::metrics::request(s.method, code, s.started.elapsed());
        }
        handler.settle(&s.delivery, disposition).await;
        lane.settled();
    }
}
