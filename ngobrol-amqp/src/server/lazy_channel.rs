//! A channel of the outbound port's connection, opened when first needed.

use lapin::options::ConfirmSelectOptions;
use lapin::{Channel, Connection};
use tokio::sync::Mutex;

/// A channel opened on first use and opened again after the broker closed
/// it (a failed declaration closes its channel, for example).
#[derive(Debug)]
pub(super) struct LazyChannel {
    confirms: bool,
    current: Mutex<Option<Channel>>,
}

impl LazyChannel {
    pub(super) fn new(confirms: bool) -> Self {
        Self {
            confirms,
            current: Mutex::new(None),
        }
    }

    pub(super) async fn get(&self, connection: &Connection) -> Result<Channel, lapin::Error> {
        let mut current = self.current.lock().await;
        if let Some(channel) = current.as_ref().filter(|c| c.status().connected()) {
            return Ok(channel.clone());
        }
        let channel = connection.create_channel().await?;
        if self.confirms {
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
        }
        *current = Some(channel.clone());
        Ok(channel)
    }

    /// The channel, opened if none was; `None` if one was opened and the
    /// broker has closed it since (it is not opened again: see
    /// `AmqpOutbound::send`).
    pub(super) async fn get_unless_lost(
        &self,
        connection: &Connection,
    ) -> Result<Option<Channel>, lapin::Error> {
        {
            let current = self.current.lock().await;
            if let Some(channel) = current.as_ref() {
                return Ok(channel.status().connected().then(|| channel.clone()));
            }
        }
        self.get(connection).await.map(Some)
    }

    /// Closes the channel, if one is open, and waits for the broker to
    /// confirm. A channel only dropped is closed in the background, which
    /// may race the connection's own close and be logged as an error.
    pub(super) async fn close(&self) {
        let channel = self.current.lock().await.take();
        if let Some(channel) = channel
            && channel.status().connected()
        {
            let _ = channel.close(200, "detached".into()).await;
        }
    }
}
