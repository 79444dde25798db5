//! Accounts: registering, logging in, authenticating, logging out, and
//! the sessions (devices) of a user.

use std::time::{Duration, SystemTime};

use subtle::ConstantTimeEq;

use super::{Auth, ChatService};
use crate::error::{ChatError, PortError};
use crate::ports::{SessionRecord, UserRecord};
use crate::types::{DeviceName, Password, SessionId, Token, Username};

/// How stale a session's `last_seen` may get before a request writes it
/// again: a request costs no store write more than once a minute.
const LAST_SEEN_RESOLUTION: Duration = Duration::from_secs(60);

/// A successful login.
#[derive(Clone, Debug)]
pub struct Login {
    /// The new session's token, for the client to present from now on.
    pub token: Token,
    /// The new session's id; its mailbox is open.
    pub session: SessionId,
    /// The sessions this login ended because the user had
    /// [`max_sessions_per_user`](super::ServiceConfig::max_sessions_per_user)
    /// already: those seen least recently. Expired sessions the login
    /// cleared away are not listed (they had ended already).
    pub ended: Vec<SessionId>,
    /// The history's latest position at login: where a device that wants
    /// what arrives from now on starts to [`sync`](ChatService::sync).
    pub position: u64,
    /// Whether the user's mailbox gets every delivery, because a client
    /// of the original protocol reads it: then a device of ours must leave
    /// it alone.
    pub mailbox_shared: bool,
}

/// Which queue the client that logs in reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reader {
    /// Its session's own queue (ngobrol's SDK); the user's mailbox gets
    /// only what arrives while none of the user's devices is online.
    #[default]
    SessionQueue,
    /// The user's mailbox, as the original protocol has it: from now on
    /// the mailbox gets every delivery to the user, until `logout_all`.
    Mailbox,
}

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
            created_at: self.config.clock.now(),
        };
        match self.ports.users.insert_user(&record).await {
            Err(PortError::Conflict) => return Err(ChatError::UsernameTaken),
            other => other?,
        }
        self.ports.outbound.ensure_mailbox(username).await?;
        Ok(())
    }

    /// Checks a user's password and opens a new session (a device) with a
    /// fresh token and a mailbox of its own. The user's other sessions stay
    /// valid, up to
    /// [`max_sessions_per_user`](super::ServiceConfig::max_sessions_per_user):
    /// past it, those seen least recently are ended (never the new one) and
    /// listed in [`Login::ended`]. Expired sessions of the user are cleared
    /// away too.
    pub async fn login(
        &self,
        username: &Username,
        password: &Password,
        device: Option<DeviceName>,
    ) -> Result<Login, ChatError> {
        self.login_reading(username, password, device, Reader::SessionQueue)
            .await
    }

    /// [`login`](Self::login) for a client that reads `reader`.
    pub async fn login_reading(
        &self,
        username: &Username,
        password: &Password,
        device: Option<DeviceName>,
        reader: Reader,
    ) -> Result<Login, ChatError> {
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
        // Told only to whoever knows the password.
        if self.ports.users.is_disabled(username).await? {
            return Err(ChatError::AccountDisabled);
        }
        let token = Token::generate()?;
        let now = self.config.clock.now();
        let session = SessionRecord {
            id: SessionId::generate()?,
            token_hash: token.hash(),
            username: username.clone(),
            device,
            issued_at: now,
            expires_at: now + self.config.token_ttl,
            last_seen: now,
        };
        self.ports.sessions.insert_session(&session).await?;
        if let Err(error) = self.open_mailboxes(username, &session.id).await {
            self.undo_login(&session).await;
            return Err(error.into());
        }
        let ended = self.end_extra_sessions(username, &session.id, now).await;
        let position = self.ports.history.latest_position().await?;
        if reader == Reader::Mailbox {
            // The broker first, every time (it is idempotent): a binding
            // lost or never made is made now, and the flag is never ahead
            // of the broker.
            self.ports.outbound.share_mailbox(username, true).await?;
            self.ports.users.set_mailbox_reader(username, true).await?;
        }
        let mailbox_shared =
            reader == Reader::Mailbox || self.ports.users.is_mailbox_reader(username).await?;
        Ok(Login {
            token,
            session: session.id,
            ended,
            position,
            mailbox_shared,
        })
    }

    /// Returns the caller's session when `auth.token` is an unexpired token
    /// issued to `auth.user`. Notes the session as seen now, writing it to
    /// the store only when the stored time is over a minute old.
    pub async fn authenticate(&self, auth: &Auth) -> Result<SessionRecord, ChatError> {
        let hash = auth.token.hash();
        let session = self.ports.sessions.find_session(&hash).await?;
        let now = self.config.clock.now();
        let mut session = match session {
            Some(s)
                if bool::from(
                    s.token_hash
                        .as_str()
                        .as_bytes()
                        .ct_eq(hash.as_str().as_bytes()),
                ) && s.username == auth.user
                    && s.expires_at > now =>
            {
                s
            }
            _ => return Err(ChatError::InvalidToken),
        };
        let stale = now
            .duration_since(session.last_seen)
            .is_ok_and(|age| age > LAST_SEEN_RESOLUTION);
        if stale {
            // Bookkeeping only: a store that fails here fails the request
            // at its next call if it is really down; this one goes on.
            match self.ports.sessions.touch_session(&hash, now).await {
                Ok(()) => session.last_seen = now,
                Err(error) => tracing::warn!(
                    user = %auth.user,
                    session = %session.id,
                    %error,
                    "the session's last use could not be stored"
                ),
            }
        }
        Ok(session)
    }

    /// Ends the caller's session: its mailbox is closed and its token no
    /// longer authenticates anyone. The user's other sessions stay.
    pub async fn logout(&self, auth: &Auth) -> Result<(), ChatError> {
        let session = self.authorize(auth).await?;
        // The mailbox first: if it cannot be closed, the session stays,
        // and the logout can be tried again.
        self.ports
            .outbound
            .close_session_mailbox(&session.id)
            .await?;
        self.ports
            .sessions
            .delete_session(&session.token_hash)
            .await?;
        Ok(())
    }

    /// Ends every session of the caller's user, the caller's own included,
    /// and returns their ids.
    pub async fn logout_all(&self, auth: &Auth) -> Result<Vec<SessionId>, ChatError> {
        self.authorize(auth).await?;
        // Mailboxes first, as in `logout`, so that a failure leaves the
        // sessions to end again.
        let listed = self.ports.sessions.sessions_of(&auth.user).await?;
        for session in &listed {
            self.ports
                .outbound
                .close_session_mailbox(&session.id)
                .await?;
        }
        let ended = self.ports.sessions.delete_sessions_of(&auth.user).await?;
        // No client reads the mailbox for the user any more: it goes back
        // to holding what arrives while no device is online.
        self.ports.outbound.share_mailbox(&auth.user, false).await?;
        self.ports
            .users
            .set_mailbox_reader(&auth.user, false)
            .await?;
        // Sessions opened since the listing (a login meanwhile).
        for id in &ended {
            if !listed.iter().any(|s| s.id == *id) {
                self.ports.outbound.close_session_mailbox(id).await?;
            }
        }
        Ok(ended)
    }

    /// The caller's user's live (unexpired) sessions, the caller's own
    /// included, oldest issued first.
    pub async fn sessions(&self, auth: &Auth) -> Result<Vec<SessionRecord>, ChatError> {
        self.authorize(auth).await?;
        let now = self.config.clock.now();
        let mut sessions = self.ports.sessions.sessions_of(&auth.user).await?;
        sessions.retain(|s| s.expires_at > now);
        Ok(sessions)
    }

    /// Ends one of the caller's user's sessions by its id (the caller's own
    /// too, if it names it). Refused with [`ChatError::UnknownSession`]
    /// when the user has no session of that id.
    pub async fn end_session(&self, auth: &Auth, id: &SessionId) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        // Whose it is is checked before anything is closed: nobody closes
        // another user's mailbox.
        let theirs = self.ports.sessions.sessions_of(&auth.user).await?;
        if !theirs.iter().any(|s| s.id == *id) {
            return Err(ChatError::UnknownSession);
        }
        self.ports.outbound.close_session_mailbox(id).await?;
        // `None` here is a session ended meanwhile: ended all the same.
        self.ports
            .sessions
            .delete_session_by_id(&auth.user, id)
            .await?;
        Ok(())
    }

    /// The user's mailbox, then the new session's own.
    async fn open_mailboxes(&self, user: &Username, session: &SessionId) -> Result<(), PortError> {
        self.ports.outbound.ensure_mailbox(user).await?;
        self.ports
            .outbound
            .open_session_mailbox(user, session)
            .await
    }

    /// Takes back a session whose mailboxes could not be made, so that no
    /// session the client never learnt of stays listed (and counted).
    async fn undo_login(&self, session: &SessionRecord) {
        let undone = async {
            self.ports
                .outbound
                .close_session_mailbox(&session.id)
                .await?;
            self.ports
                .sessions
                .delete_session_by_id(&session.username, &session.id)
                .await
        };
        if let Err(error) = undone.await {
            tracing::warn!(
                user = %session.username,
                session = %session.id,
                %error,
                "a session whose mailbox failed could not be taken back; it stays until it expires \
                 or a later login ends it"
            );
        }
    }

    /// After a login: ends the user's expired sessions, then, if more than
    /// `max_sessions_per_user` remain, the extras seen least recently
    /// (never `new`). Returns the ids of the live sessions ended.
    ///
    /// The login has succeeded by now, so a failure here does not undo
    /// it: it is logged, the session it concerned stays, and the next
    /// login tries again.
    async fn end_extra_sessions(
        &self,
        user: &Username,
        new: &SessionId,
        now: SystemTime,
    ) -> Vec<SessionId> {
        let sessions = match self.ports.sessions.sessions_of(user).await {
            Ok(sessions) => sessions,
            Err(error) => {
                tracing::warn!(%user, %error, "a login could not list the user's sessions");
                return Vec::new();
            }
        };
        let (expired, mut live): (Vec<_>, Vec<_>) = sessions
            .into_iter()
            .filter(|s| s.id != *new)
            .partition(|s| s.expires_at <= now);
        for session in &expired {
            self.end_session_quietly(user, &session.id).await;
        }
        // The new session is one of those allowed.
        let allowed = self.config.max_sessions_per_user.max(1) - 1;
        let extra = live.len().saturating_sub(allowed);
        live.sort_by(|a, b| {
            (a.last_seen, a.issued_at, &a.id).cmp(&(b.last_seen, b.issued_at, &b.id))
        });
        let mut ended = Vec::with_capacity(extra);
        for session in live.into_iter().take(extra) {
            // One ended meanwhile (by a logout) was not this login's doing.
            if self.end_session_quietly(user, &session.id).await {
                ended.push(session.id);
            }
        }
        ended
    }

    /// Closes the session's mailbox, then deletes it. True when this
    /// deleted it; a failure is logged.
    async fn end_session_quietly(&self, user: &Username, id: &SessionId) -> bool {
        let ended = async {
            self.ports.outbound.close_session_mailbox(id).await?;
            self.ports.sessions.delete_session_by_id(user, id).await
        };
        match ended.await {
            Ok(deleted) => deleted.is_some(),
            Err(error) => {
                tracing::warn!(
                    %user,
                    session = %id,
                    %error,
                    "a login could not end an old session; it stays for now"
                );
                false
            }
        }
    }

    pub(super) fn check_password_shape(&self, password: &Password) -> Result<(), ChatError> {
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
