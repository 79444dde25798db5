//! The relay role: the broker-only baseline every figure is compared with.
//!
//! It consumes a request queue declared exactly as the server's (durable,
//! no arguments; `<ns>.relay` beside the server's `<ns>`, so that both stay
//! up and the load tool alternates between them within seconds, under the
//! same conditions on a shared machine) and does the same broker work per
//! message, to the same user queues and group exchanges, with the same
//! durability: a direct message is
//! published to the recipient's queue and a group message to the group's
//! fanout exchange (persistent, publisher-confirmed), then the reply is
//! published to the sender (persistent, confirmed), and only then is the
//! request acknowledged. It decodes requests and encodes deliveries and
//! replies with the same wire code as the server. What it leaves out is
//! everything that is ngobrol's own: no store, no token check, no friend or
//! membership rules, no per-user lanes. So "ngobrol ÷ relay" is the share
//! of the broker's capacity that the server achieves on this machine.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use clap::Args;
use futures_util::StreamExt;
use lapin::message::Delivery as AmqpDelivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions,
    BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use ngobrol_amqp::Namespace;
use ngobrol_amqp::wire::{DeliveryMessage, Reply, Request, Sent, decode_request};
use ngobrol_core::{
    ChatError, Delivery, DeliveryBody, GroupId, GroupName, GroupRef, MessageText, Username,
};
use serde_json::json;
use tokio::task::JoinSet;

use crate::child::{announce, stop_requested};

#[derive(Args, Debug, Clone)]
pub struct RelayArgs {
    #[arg(long)]
    pub amqp_url: String,
    /// The namespace whose user queues and group exchanges it delivers to.
    #[arg(long)]
    pub namespace: String,
    /// The request queue it consumes.
    #[arg(long)]
    pub queue: String,
    /// Requests taken from the broker and not yet finished; the server's
    /// default, so both have the same amount of work in flight.
    #[arg(long, default_value_t = 64)]
    pub prefetch: u16,
    #[arg(long, default_value_t = 3600)]
    pub max_seconds: u64,
}

fn persistent_json() -> BasicProperties {
    BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
}

pub async fn relay(args: RelayArgs) -> anyhow::Result<()> {
    let connection = Connection::connect(&args.amqp_url, ConnectionProperties::default()).await?;
    let requests = connection.create_channel().await?;
    requests
        .basic_qos(args.prefetch, BasicQosOptions::default())
        .await?;
    requests
        .queue_declare(
            args.queue.as_str().into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await?;
    let publisher = connection.create_channel().await?;
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut consumer = requests
        .basic_consume(
            args.queue.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    announce(&json!({"event": "ready"}));

    let namespace = Arc::new(Namespace::parse(args.namespace)?);
    let stop = stop_requested(Duration::from_secs(args.max_seconds));
    tokio::pin!(stop);
    // One task per request: at most `prefetch` exist, as the broker sends
    // no more unacknowledged ones.
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            () = &mut stop => break,
            next = consumer.next() => match next {
                Some(Ok(delivery)) => {
                    tasks.spawn(relay_one(delivery, publisher.clone(), namespace.clone()));
                }
                Some(Err(e)) => {
                    eprintln!("relay: the request consumer failed: {e}");
                    break;
                }
                None => break,
            },
        }
        while tasks.try_join_next().is_some() {}
    }
    let _ = requests
        .basic_cancel(consumer.tag(), BasicCancelOptions::default())
        .await;
    while tasks.join_next().await.is_some() {}
    let _ = connection.close(200, "done".into()).await;
    announce(&json!({"event": "stopped"}));
    Ok(())
}

/// Relays one request, replies, and settles it with the broker.
async fn relay_one(request: AmqpDelivery, publisher: Channel, namespace: Arc<Namespace>) {
    let settled = match forward(&request, &publisher, &namespace).await {
        Ok(()) => request.acker.ack(BasicAckOptions::default()).await,
        Err(e) => {
            eprintln!("relay: {e}; the request goes back to the queue");
            let requeue = BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            };
            request.acker.nack(requeue).await
        }
    };
    if let Err(e) = settled {
        eprintln!("relay: cannot settle a request: {e}");
    }
}

async fn forward(
    request: &AmqpDelivery,
    publisher: &Channel,
    namespace: &Namespace,
) -> anyhow::Result<()> {
    let (reply, acting_user) = match decode_request(&request.data) {
        Ok(envelope) => {
            let user = envelope.request.acting_user().to_owned();
            let id = envelope.request_id;
            let reply = match deliver(envelope.request, publisher, namespace).await {
                Ok((method, description, sent)) => Reply::ok_with(method, description, sent)
                    .with_request_id(id)
                    .encode(),
                Err(Refusal::Chat(method, e)) => {
                    Reply::from_error(method, &e).with_request_id(id).encode()
                }
                Err(Refusal::Broker(e)) => return Err(e),
            };
            (reply, Some(user))
        }
        Err(e) => (Reply::from_decode_error(&e).encode(), e.acting_user.clone()),
    };
    let reply_to = request
        .properties
        .reply_to()
        .as_ref()
        .map(|q| q.as_str().to_owned())
        .or_else(|| acting_user.map(|user| namespace.user_queue(user)));
    if let Some(queue) = reply_to {
        let mut properties = persistent_json();
        if let Some(id) = request.properties.correlation_id() {
            properties = properties.with_correlation_id(id.clone());
        }
        publish(publisher, "", &queue, &reply, properties, false).await?;
    }
    Ok(())
}

enum Refusal {
    Chat(&'static str, ChatError),
    Broker(anyhow::Error),
}

/// Publishes the delivery a message request asks for; returns the reply.
async fn deliver(
    request: Request,
    publisher: &Channel,
    namespace: &Namespace,
) -> Result<(&'static str, String, Sent), Refusal> {
    let method = request.method();
    let chat = |e| Refusal::Chat(method, e);
    let text = |t| MessageText::parse(t, MessageText::DEFAULT_MAX_BYTES).map_err(chat);
    let (delivery, exchange, routing_key, description) = match request {
        Request::SendClient(r) => {
            let from = Username::parse(r.username_from).map_err(chat)?;
            let to = Username::parse(r.username_to).map_err(chat)?;
            let body = DeliveryBody::Direct {
                from,
                text: text(r.message)?,
            };
            let queue = namespace.user_queue(&to);
            (
                Delivery::new(body),
                String::new(),
                queue,
                format!("message sent to {to}"),
            )
        }
        Request::SendGroup(r) => {
            let from = Username::parse(r.username_from).map_err(chat)?;
            let id = GroupId::new(r.group_id_to);
            // The server reads the group's name from the store; the relay
            // has none, so it makes up one of a usual length.
            let name = GroupName::parse(format!("group {id}")).map_err(chat)?;
            let body = DeliveryBody::Group {
                from,
                group: GroupRef { id, name },
                text: text(r.message)?,
            };
            let exchange = namespace.group_exchange(id);
            (
                Delivery::new(body),
                exchange,
                String::new(),
                format!("message sent to group {id}"),
            )
        }
        other => {
            let refused = ChatError::Internal(format!("the relay does not do {}", other.method()));
            return Err(chat(refused));
        }
    };
    let timestamp = delivery
        .sent_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let properties = persistent_json()
        .with_message_id(delivery.id.to_string().into())
        .with_timestamp(timestamp);
    let body = DeliveryMessage::from_delivery(&delivery).encode();
    // Mandatory for a direct message, as the server publishes it.
    let mandatory = exchange.is_empty();
    publish(
        publisher,
        &exchange,
        &routing_key,
        &body,
        properties,
        mandatory,
    )
    .await
    .map_err(Refusal::Broker)?;
    let sent = Sent {
        message_id: Some(delivery.id.to_string()),
    };
    Ok((method, description, sent))
}

/// Publishes and waits for the broker's confirmation.
async fn publish(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
    mandatory: bool,
) -> anyhow::Result<()> {
    let options = BasicPublishOptions {
        mandatory,
        ..BasicPublishOptions::default()
    };
    let confirmation = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            options,
            body,
            properties,
        )
        .await?
        .await?;
    match confirmation {
        Confirmation::Nack(_) => anyhow::bail!("the broker refused a message"),
        _ => Ok(()),
    }
}
