//! `login`: a fresh token. The reply goes to `queue_name`.

use serde::{Deserialize, Serialize};

use super::Method;
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Login {
    pub username: String,
    pub password: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<String>,
}

/// The body of `login_reply`: the token, `""` in an error reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginReply {
    #[serde(default)]
    pub token: Secret,
}

impl Method for Login {
    const NAME: &'static str = "login";
    const CHANGES_STATE: bool = true;
    const REPLIES_TO_QUEUE_NAME: bool = true;
    type Reply = LoginReply;

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
impl crate::server::Execute for Login {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, LoginReply), ngobrol_core::ChatError> {
        let user = ngobrol_core::Username::parse(self.username)?;
        let password = ngobrol_core::Password::new(self.password.into_exposed());
        let token = cx.chat.login(&user, &password).await?;
        let body = LoginReply {
            token: token.expose().into(),
        };
        Ok((Said::LoggedIn, body))
    }
}

#[cfg(feature = "client")]
impl crate::client::Client {
    /// Logs in, and starts receiving the user's messages.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(crate::client::Session, crate::client::Events), crate::client::ClientError> {
        let request = Login {
            username: username.to_owned(),
            password: password.into(),
            queue_name: None,
        };
        let reply = self.call(request).await?;
        self.open_session(username, reply.token).await
    }
}
