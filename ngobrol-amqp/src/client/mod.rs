//! A typed async client for any server that speaks the ngobrol protocol.
//!
//! ```no_run
//! use ngobrol_amqp::client::{Client, ClientOptions, Event};
//!
//! # async fn example() -> Result<(), ngobrol_amqp::client::ClientError> {
//! let client = Client::connect(ClientOptions::default()).await?;
//! client.register("ana", "rahasia!").await?;
//! let (ana, mut events) = client.login("ana", "rahasia!").await?;
//! ana.add_friend("budi").await?;
//! ana.send_direct("budi", "halo!").await?;
//! while let Some(event) = events.recv().await {
//!     if let Event::Direct(message) = event {
//!         println!("{}: {}", message.from, message.text);
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Only [`Client::register`] and [`Client::login`] can be called before
//! logging in; everything that needs a token is a method of the
//! [`Session`] that `login` returns, so it cannot be called too early.
//!
//! Every request carries a `request_id` of its own (a UUID) and the AMQP
//! `reply_to` and `correlation_id` properties, so many requests can be in
//! flight at once and each reply finds its caller. A server that ignores
//! them (the original Java server) answers in the user's queue without an
//! id; such replies are matched to the oldest request waiting for that
//! reply method, which is right because that server answers each user in
//! order. Once a server has shown that it echoes ids, replies are matched
//! by id alone. Every wait ends after [`ClientOptions::timeout`].
//!
//! A session of a server that keeps a history (ngobrol) catches up by
//! itself: at login and after every reconnection it asks `sync` for what
//! was stored since its resume point (the login's cursor, or
//! [`LoginOptions::since`]) and hands that over before what arrives live,
//! dropping what it handed over already by message id. So the events a
//! program reads have no gaps and no repeats, whichever devices of the
//! user were online meanwhile.
//!
//! The parts: [`options`](ClientOptions) and errors, events, reply
//! matching, the connection with its reconnection and mailboxes, and the
//! call; each method's own call is defined with the method in
//! [`crate::methods`].

mod call;
mod catch_up;
mod events;
mod link;
mod mailbox;
mod matching;
mod options;
mod reading;
mod receipts;
mod session;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

pub use events::{
    ChangedMessage, DirectMessage, Event, Events, GroupMessage, GroupNotice, Receipt,
};
pub use options::{ClientError, ClientOptions, LoginOptions};
pub use session::Session;

pub use crate::methods::get_history::{History, Page, Peer};
pub use crate::methods::sync::SyncPage;
pub use crate::wire::{ErrorCode, GroupEntry, SessionEntry};

use crate::methods::Method;
use crate::secret::Secret;
use link::Shared;
use mailbox::{CatchUp, Mailbox, Resume, SessionRoute};

/// How many events wait for the program to read them before the client
/// stops taking more from the broker.
const EVENT_BUFFER: usize = 1024;

/// A connection to an ngobrol server, not yet logged in.
///
/// It reconnects by itself when the broker goes away, and resumes
/// consuming every logged-in user's queue; requests in flight meanwhile
/// are sent again (see [`ClientOptions::retries`]).
#[derive(Debug)]
pub struct Client {
    shared: Arc<Shared>,
}

impl Client {
    /// Connects to the broker and prepares a private reply queue.
    pub async fn connect(options: ClientOptions) -> Result<Self, ClientError> {
        let shared = Arc::new(Shared::new(options));
        shared.open_link().await?;
        Ok(Self { shared })
    }

    /// Closes the connection; sessions made by this client stop working.
    pub async fn close(self) -> Result<(), ClientError> {
        self.shared.closed.store(true, Ordering::Relaxed);
        if let Some(link) = self.shared.link() {
            link.connection.close(200, "bye".into()).await?;
        }
        Ok(())
    }

    /// Whether this client talks to a server in isolated mode.
    pub(crate) fn isolated(&self) -> bool {
        self.shared.options.isolated
    }

    /// A client of its own for `username`'s session (isolated mode): the
    /// same server, connected as the person with `token` as password.
    pub(crate) async fn as_person(
        &self,
        username: &str,
        token: &str,
        session_id: Option<&str>,
    ) -> Result<Self, ClientError> {
        let mut options = self.shared.options.clone();
        options.amqp_url = crate::url::with_credentials(&options.amqp_url, username, token);
        let mut shared = Shared::new(options);
        shared.connection_name = session_id.map(|id| shared.options.namespace.session_queue(id));
        let shared = Arc::new(shared);
        shared.open_link().await?;
        Ok(Self { shared })
    }

    /// Sends a request that needs no session and waits for its reply.
    pub(crate) async fn call<M: Method>(&self, request: M) -> Result<M::Reply, ClientError> {
        self.shared.call(request).await
    }

    /// A session for `username` after a successful login: its own queue
    /// is read from now on (the user's mailbox, from a server that makes
    /// no sessions of their own: the original). An earlier session of the
    /// same user on this client is no longer read.
    pub(crate) async fn open_session(
        &self,
        username: &str,
        token: Secret,
        session_id: Option<String>,
        resume_from: Option<u64>,
        take_backlog: bool,
        receipts: bool,
    ) -> Result<(Session, Events), ClientError> {
        let (sender, receiver) = mpsc::channel(EVENT_BUFFER);
        let names = &self.shared.options.namespace;
        let (queue, route) = match &session_id {
            Some(id) => {
                let route = SessionRoute {
                    exchange: names.user_exchange(username),
                    offline: names.offline_exchange(username),
                    signals: names.signal_exchange(),
                    backlog: take_backlog.then(|| names.user_queue(username)),
                    catch_up: resume_from.map(|cursor| CatchUp {
                        token: token.clone(),
                        resume: std::sync::Mutex::new(Resume::from(cursor)),
                    }),
                };
                (names.session_queue(id), Some(route))
            }
            None => (names.user_queue(username), None),
        };
        let mut mailbox = Mailbox::new(username.to_owned(), queue, route, sender);
        if receipts {
            let (due, waiting) = mpsc::channel(receipts::WAITING);
            mailbox.receipts = Some(due);
            let shared = self.shared.clone();
            let (user, token) = (username.to_owned(), token.clone());
            tokio::spawn(receipts::send_receipts(shared, user, token, waiting));
        }
        let mailbox = Arc::new(mailbox);
        self.shared.add_mailbox(mailbox.clone()).await?;
        let session = Session::new(
            self.shared.clone(),
            username.to_owned(),
            token,
            session_id,
            mailbox,
        );
        Ok((session, Events::new(receiver)))
    }
}
