//! `register`: a new account. The reply goes to `queue_name`.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// A new account, `username` with `password`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Register {
    /// The name to register: 1 to 64 of `A-Z a-z 0-9 _ . -`.
    pub username: String,
    /// The new account's password (8 to 1,024 bytes by default).
    pub password: Secret,
    /// The private queue the reply goes to: a server-named queue or direct
    /// reply-to. Another name is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<String>,
}

impl Method for Register {
    const NAME: &'static str = "register";
    const CHANGES_STATE: bool = true;
    const REPLIES_TO_QUEUE_NAME: bool = true;
    type Reply = NoBody;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        None
    }

    fn queue_name(&self) -> Option<&str> {
        self.queue_name.as_deref()
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for Register {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, NoBody), ngobrol_core::ChatError> {
        let user = ngobrol_core::Username::parse(self.username)?;
        let password = ngobrol_core::Password::new(self.password.into_exposed());
        cx.chat.register(&user, &password).await?;
        Ok((Said::Registered, NoBody {}))
    }
}

#[cfg(feature = "client")]
impl crate::client::Client {
    /// Registers a new user.
    pub async fn register(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(), crate::client::ClientError> {
        let request = Register {
            username: username.to_owned(),
            password: password.into(),
            queue_name: None,
        };
        self.call(request).await.map(drop)
    }
}
