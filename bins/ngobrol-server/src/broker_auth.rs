//! The isolated mode's broker rules, served to RabbitMQ's HTTP auth
//! backend (`rabbitmq_auth_backend_http`, behind `rabbitmq_auth_backend_cache`)
//! on the operator's HTTP listener: `POST /auth/user`, `/auth/vhost`,
//! `/auth/resource` and `/auth/topic`, each answered `allow` or `deny`.
//!
//! Two kinds of broker user come here (the server's own account is the
//! broker's internal one, tried first):
//! - the login account, shared by every client before it logs in: it may
//!   publish to the request exchange with its own name as routing key,
//!   and use the server-named reply queues (`amq.gen-…`) it declares;
//! - a person, whose password is the token of one of their live sessions:
//!   the same, and reading their sessions' queues. Nothing else: no
//!   default exchange (so no posting into queues), no binding (reading no
//!   exchange), no other queue, no configuring beyond `amq.gen-…`.
//!
//! Every decision reads the store, so an ended session's token stops
//! working for new connections at once; the broker's cache of decisions
//! keeps an answer for its lifetime (`auth_cache.cache_ttl`).

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Form, State};
use axum::routing::post;
use ngobrol_amqp::Namespace;
use ngobrol_core::{SessionRepository, Token, Username};
use ngobrol_store::Store;
use serde::Deserialize;

/// What the broker's isolated mode checks against.
#[derive(Clone, Debug)]
pub(crate) struct BrokerRules {
    pub names: Namespace,
    /// The virtual host clients use.
    pub vhost: String,
    pub login_user: String,
    pub login_password: String,
    pub store: Arc<Store>,
}

/// Who a broker user is.
#[derive(Debug, PartialEq, Eq)]
enum Who {
    Login,
    /// A person, with the ids of their live sessions.
    Person {
        user: String,
        sessions: Vec<String>,
    },
    Nobody,
}

#[derive(Deserialize)]
pub(crate) struct UserQuery {
    username: String,
    password: String,
}

#[derive(Deserialize)]
pub(crate) struct VhostQuery {
    username: String,
    vhost: String,
}

#[derive(Deserialize)]
pub(crate) struct ResourceQuery {
    username: String,
    vhost: String,
    resource: String,
    name: String,
    permission: String,
}

#[derive(Deserialize)]
pub(crate) struct TopicQuery {
    username: String,
    vhost: String,
    resource: String,
    name: String,
    permission: String,
    #[serde(default)]
    routing_key: String,
}

/// The four routes, for the HTTP listener.
pub(crate) fn routes(rules: BrokerRules) -> Router {
    Router::new()
        .route("/auth/user", post(user))
        .route("/auth/vhost", post(vhost))
        .route("/auth/resource", post(resource))
        .route("/auth/topic", post(topic))
        .with_state(Arc::new(rules))
}

fn answer(allowed: bool) -> &'static str {
    if allowed { "allow" } else { "deny" }
}

async fn user(State(rules): State<Arc<BrokerRules>>, Form(q): Form<UserQuery>) -> &'static str {
    let allowed = if q.username == rules.login_user {
        // Not a secret: every client has it; it opens nothing but login.
        q.password == rules.login_password
    } else {
        rules.holds_session(&q.username, &q.password).await
    };
    answer(allowed)
}

async fn vhost(State(rules): State<Arc<BrokerRules>>, Form(q): Form<VhostQuery>) -> &'static str {
    let known = !matches!(rules.who(&q.username).await, Who::Nobody);
    answer(known && q.vhost == rules.vhost)
}

async fn resource(
    State(rules): State<Arc<BrokerRules>>,
    Form(q): Form<ResourceQuery>,
) -> &'static str {
    if q.vhost != rules.vhost {
        return answer(false);
    }
    let who = rules.who(&q.username).await;
    answer(rules.may(&who, &q.resource, &q.name, &q.permission))
}

async fn topic(State(rules): State<Arc<BrokerRules>>, Form(q): Form<TopicQuery>) -> &'static str {
    let allowed = q.vhost == rules.vhost
        && q.resource == "topic"
        && q.permission == "write"
        && q.name == rules.names.request_exchange()
        && q.routing_key == q.username
        && !matches!(rules.who(&q.username).await, Who::Nobody);
    answer(allowed)
}

impl BrokerRules {
    /// Whether `password` is the token of a live session of `username`.
    async fn holds_session(&self, username: &str, password: &str) -> bool {
        let (Ok(user), Ok(token)) = (
            Username::parse(username.to_owned()),
            Token::parse(password.to_owned()),
        ) else {
            return false;
        };
        match self.store.find_session(&token.hash()).await {
            Ok(Some(session)) => session.username == user && session.expires_at > SystemTime::now(),
            _ => false,
        }
    }

    async fn who(&self, username: &str) -> Who {
        if username == self.login_user {
            return Who::Login;
        }
        let Ok(user) = Username::parse(username.to_owned()) else {
            return Who::Nobody;
        };
        let now = SystemTime::now();
        match self.store.sessions_of(&user).await {
            Ok(sessions) if sessions.iter().any(|s| s.expires_at > now) => Who::Person {
                user: user.to_string(),
                sessions: sessions
                    .into_iter()
                    .filter(|s| s.expires_at > now)
                    .map(|s| s.id.to_string())
                    .collect(),
            },
            _ => Who::Nobody,
        }
    }

    /// The permission rules, by kind of user.
    fn may(&self, who: &Who, resource: &str, name: &str, permission: &str) -> bool {
        let (mailbox, sessions) = match who {
            Who::Nobody => return false,
            Who::Login => (None, &[][..]),
            Who::Person { user, sessions } => {
                (Some(self.names.user_queue(user)), sessions.as_slice())
            }
        };
        match (resource, permission) {
            // Requests, to the request exchange only (the default
            // exchange is `amq.default`: never).
            ("exchange", "write") => name == self.names.request_exchange(),
            // Its own reply queues: the broker names them, and they are
            // exclusive to the connection that declared them.
            ("queue", _) if name.starts_with("amq.gen-") => true,
            // Its sessions' queues, which the server declares and binds,
            // and its mailbox: what arrived while none was online.
            ("queue", "read") => {
                mailbox.as_deref() == Some(name)
                    || sessions
                        .iter()
                        .any(|id| name == self.names.session_queue(id))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> BrokerRules {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let store = Store::open(path.to_str().unwrap(), &Default::default()).unwrap();
        std::mem::forget(dir);
        BrokerRules {
            names: Namespace::parse("ngobrol".to_owned()).unwrap(),
            vhost: "/".into(),
            login_user: "ngobrol-login".into(),
            login_password: "ngobrol-login".into(),
            store: Arc::new(store),
        }
    }

    #[test]
    fn each_kind_of_user_may_do_only_its_own_part() {
        let rules = rules();
        let ana = Who::Person {
            user: "ana".into(),
            sessions: vec!["a1".into()],
        };
        let allowed = |who: &Who, resource: &str, name: &str, permission: &str| {
            rules.may(who, resource, name, permission)
        };
        assert!(allowed(&ana, "exchange", "ngobrol.requests", "write"));
        assert!(allowed(
            &Who::Login,
            "exchange",
            "ngobrol.requests",
            "write"
        ));
        assert!(
            !allowed(&ana, "exchange", "amq.default", "write"),
            "no posting into queues"
        );
        assert!(
            !allowed(&ana, "exchange", "ngobrol_7", "read"),
            "no binding to a group"
        );
        assert!(!allowed(&ana, "exchange", "ngobrol.user.ana", "read"));
        assert!(!allowed(&ana, "exchange", "ngobrol.requests", "configure"));
        assert!(allowed(&ana, "queue", "ngobrol.session.a1", "read"));
        assert!(!allowed(&ana, "queue", "ngobrol.session.a1", "configure"));
        assert!(
            !allowed(&ana, "queue", "ngobrol.session.b2", "read"),
            "another's session"
        );
        assert!(!allowed(&Who::Login, "queue", "ngobrol.session.a1", "read"));
        assert!(!allowed(&ana, "queue", "ngobrol", "read"), "the requests");
        assert!(
            !allowed(&ana, "queue", "ngobrol_budi", "read"),
            "another's mailbox"
        );
        assert!(allowed(&ana, "queue", "ngobrol_ana", "read"), "their own");
        assert!(!allowed(&ana, "queue", "ngobrol_ana", "configure"));
        assert!(allowed(&ana, "queue", "amq.gen-abc", "configure"));
        assert!(!allowed(&Who::Nobody, "queue", "amq.gen-abc", "read"));
    }
}
