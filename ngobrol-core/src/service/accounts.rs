//! Accounts: registering, logging in, authenticating, logging out.

use std::time::SystemTime;

use subtle::ConstantTimeEq;

use super::{Auth, ChatService};
use crate::error::{ChatError, PortError};
use crate::ports::{SessionRecord, UserRecord};
use crate::types::{Password, Token, Username};

impl ChatService {
    /// Registers a user and gives them a mailbox.
    pub async fn register(
        &self,
        username: &Username,
        password: &Password,
    ) -> Result<(), ChatError> {
        if username.is_reserved() {
            return Err(ChatError::ReservedUsername);
        }
        self.check_password_shape(password)?;
        // A cheap look-up first, so a taken name costs no hashing; the
        // store's uniqueness still decides races. Asking for a taken name
        // charges nothing: it must not lock the owner out of logging in.
        if self.ports.users.find_user(username).await?.is_some() {
            return Err(ChatError::UsernameTaken);
        }
        let password_hash = self.hasher.hash(password).await?;
        let record = UserRecord {
            username: username.clone(),
            password_hash,
            created_at: SystemTime::now(),
        };
        match self.ports.users.insert_user(&record).await {
            Err(PortError::Conflict) => return Err(ChatError::UsernameTaken),
            other => other?,
        }
        self.ports.outbound.ensure_mailbox(username).await?;
        Ok(())
    }

    /// Checks a user's password and issues a fresh token. The new token
    /// replaces every earlier token of the user: one session per user, as
    /// the user's mailbox is one queue.
    pub async fn login(
        &self,
        username: &Username,
        password: &Password,
    ) -> Result<Token, ChatError> {
        if password.expose().len() > self.config.max_password_bytes {
            return Err(ChatError::InvalidCredentials);
        }
        // One unit of the name's budget is taken before any hashing, so a
        // burst of guesses gets at most the budget hashed; the rest are
        // refused at once, and refusals take nothing more. A login that
        // succeeds gives its unit back.
        self.reserve_attempt(username)?;
        let verified = self.verify_password(username, password).await;
        if !matches!(verified, Ok(false)) {
            self.auth_failures.refund(username.as_str());
        }
        if !verified? {
            return Err(ChatError::InvalidCredentials);
        }
        let token = Token::generate()?;
        let issued_at = SystemTime::now();
        let session = SessionRecord {
            token_hash: token.hash(),
            username: username.clone(),
            issued_at,
            expires_at: issued_at + self.config.token_ttl,
        };
        self.ports.sessions.replace_sessions(&session).await?;
        self.ports.outbound.ensure_mailbox(username).await?;
        Ok(token)
    }

    /// Succeeds when `auth.token` is an unexpired token issued to
    /// `auth.user`.
    pub async fn authenticate(&self, auth: &Auth) -> Result<(), ChatError> {
        let hash = auth.token.hash();
        let session = self.ports.sessions.find_session(&hash).await?;
        match session {
            Some(s)
                if bool::from(
                    s.token_hash
                        .as_str()
                        .as_bytes()
                        .ct_eq(hash.as_str().as_bytes()),
                ) && s.username == auth.user
                    && s.expires_at > SystemTime::now() =>
            {
                Ok(())
            }
            _ => Err(ChatError::InvalidToken),
        }
    }

    /// Revokes the token presented: it no longer authenticates anyone.
    pub async fn logout(&self, auth: &Auth) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        self.ports
            .sessions
            .delete_session(&auth.token.hash())
            .await?;
        Ok(())
    }

    fn check_password_shape(&self, password: &Password) -> Result<(), ChatError> {
        let min = self.config.min_password_chars;
        let max = self.config.max_password_bytes;
        if password.expose().chars().count() < min {
            return Err(ChatError::InvalidPassword(format!(
                "a password has at least {min} characters"
            )));
        }
        if password.expose().len() > max {
            return Err(ChatError::InvalidPassword(format!(
                "a password has at most {max} bytes"
            )));
        }
        Ok(())
    }

    fn reserve_attempt(&self, username: &Username) -> Result<(), ChatError> {
        self.auth_failures
            .acquire(username.as_str())
            .map_err(|retry_after| ChatError::RateLimited { retry_after })
    }

    /// Whether `password` is the user's; for an unknown user a decoy hash
    /// is checked, so the time taken does not tell.
    async fn verify_password(
        &self,
        username: &Username,
        password: &Password,
    ) -> Result<bool, ChatError> {
        let user = self.ports.users.find_user(username).await?;
        let stored = user.as_ref().map(|u| u.password_hash.as_str());
        self.hasher.verify(password, stored).await
    }
}
