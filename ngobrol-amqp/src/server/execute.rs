//! Running one decoded request against the chat service.

use ngobrol_core::{Auth, ChatError, ChatService, Token, Username};
use tracing::{debug, error};

use super::catalogue::Said;
use crate::methods::Method;
use crate::secret::Secret;
use crate::wire::{Language, Reply};

/// How the server runs a method: its rules are the chat service's; this
/// maps the request's fields to a service call and the outcome to the
/// reply's description and body. Implemented in each method's module.
pub(crate) trait Execute: Method {
    fn execute(
        self,
        cx: &Context<'_>,
    ) -> impl Future<Output = Result<(Said, Self::Reply), ChatError>> + Send;
}

/// What a method's execution may use.
pub(crate) struct Context<'a> {
    pub chat: &'a ChatService,
    /// The id the client gave the request, if any (see
    /// [`Auth::with_request_id`]).
    pub request_id: Option<String>,
    /// The request's `request_id` as it came, echoed in the reply.
    pub echo_id: Option<serde_json::Value>,
    /// The language of the reply's description.
    pub lang: Language,
}

/// A request's encoded reply, and whether it may be remembered for
/// de-duplication.
pub(crate) struct Answer {
    pub reply: Vec<u8>,
    pub lasting: bool,
    /// Whether the request was refused for its token.
    pub refused_token: bool,
    /// The outcome, as counted: `ok`, the error's code, or `replayed`.
    pub code: &'static str,
}

impl Context<'_> {
    /// The credentials a request brings, for the service to check.
    pub fn auth(&self, user: String, token: Secret) -> Result<Auth, ChatError> {
        let auth = Auth::new(Username::parse(user)?, Token::parse(token.into_exposed())?);
        Ok(auth.with_request_id(self.request_id.clone()))
    }

    /// Runs `request` and encodes its reply.
    pub async fn run<M: Execute>(&self, request: M) -> Answer {
        let user = request.acting_user().to_owned();
        match request.execute(self).await {
            Ok((said, body)) => {
                debug!(method = M::NAME, %user, "ok");
                let reply = Reply::ok_with(M::NAME, said.text(self.lang), body)
                    .with_request_id(self.echo_id.clone());
                Answer {
                    reply: reply.encode(),
                    lasting: true,
                    refused_token: false,
                    code: "ok",
                }
            }
            Err(e) => {
                if let ChatError::Internal(detail) = &e {
                    error!(method = M::NAME, %user, "internal error: {detail}");
                } else {
                    debug!(method = M::NAME, %user, code = e.code(), "refused");
                }
                let reply = Reply::refused_in(self.lang, M::NAME, &e, M::Reply::default())
                    .with_request_id(self.echo_id.clone());
                Answer {
                    reply: reply.encode(),
                    lasting: e.is_lasting(),
                    refused_token: e == ChatError::InvalidToken,
                    code: e.code(),
                }
            }
        }
    }
}
