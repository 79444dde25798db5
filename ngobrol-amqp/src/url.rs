//! Broker and database URLs.

/// The broker every ngobrol program uses unless told otherwise: the local
/// RabbitMQ with its default account.
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// `url` with any password replaced by `***`, for logs.
///
/// A URL is `scheme://[user[:password]@]host…`. The password may hold
/// characters that should have been percent-encoded and were not (`/`,
/// `:`, `?`, `#`, even `@`), so the host is taken to start after the
/// *last* `@` following `scheme://`, and everything between the first `:`
/// of the user information and that `@` is the password. A `password=`
/// query parameter (as libpq accepts) is redacted too. A URL with a user
/// and no password, or with no user information, is returned as it is, and
/// so is anything that is not a URL (a SQLite file path).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    if !is_scheme(scheme) {
        return url.to_owned();
    }
    let (userinfo, location) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let mut redacted = format!("{scheme}://");
    if let Some(userinfo) = userinfo {
        match userinfo.split_once(':') {
            Some((user, _password)) => {
                redacted.push_str(user);
                redacted.push_str(":***");
            }
            None => redacted.push_str(userinfo),
        }
        redacted.push('@');
    }
    redacted.push_str(&redact_query_password(location));
    redacted
}

/// RFC 3986: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(scheme: &str) -> bool {
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// `location` (host, path, query, fragment) with the value of any
/// `password` query parameter replaced by `***`.
fn redact_query_password(location: &str) -> String {
    let Some((before, query)) = location.split_once('?') else {
        return location.to_owned();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => param.to_owned(),
        })
        .collect();
    let mut redacted = format!("{before}?{}", params.join("&"));
    if let Some(fragment) = fragment {
        redacted.push('#');
        redacted.push_str(fragment);
    }
    redacted
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            redact_url("amqps://ana:s3cret@broker.example:5671"),
            "amqps://ana:***@broker.example:5671"
        );
    }

    #[test]
    fn unencoded_delimiters_in_a_password_do_not_leak_it() {
        assert_eq!(
            redact_url("amqp://user:pa/ss@host:5672/vhost"),
            "amqp://user:***@host:5672/vhost"
        );
        for password in [
            "pa/ss",
            "pa:ss",
            "pa?ss",
            "pa#ss",
            "p@ss",
            "a/b:c?d#e@f",
            "",
        ] {
            let url = format!("amqp://user:{password}@host:5672/vhost");
            assert_eq!(redact_url(&url), "amqp://user:***@host:5672/vhost", "{url}");
        }
    }

    #[test]
    fn database_urls_are_redacted_too() {
        assert_eq!(
            redact_url("postgres://ngobrol:pw@db.example:5432/chat?sslmode=require"),
            "postgres://ngobrol:***@db.example:5432/chat?sslmode=require"
        );
        assert_eq!(
            redact_url("postgresql://ngobrol:p/w?x@db/chat?sslmode=verify-full&application_name=n"),
            "postgresql://ngobrol:***@db/chat?sslmode=verify-full&application_name=n"
        );
        assert_eq!(
            redact_url("postgres://db/chat?user=ngobrol&password=pw&sslmode=require"),
            "postgres://db/chat?user=ngobrol&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres:///chat?PASSWORD=pw#frag"),
            "postgres:///chat?PASSWORD=***#frag"
        );
    }

    #[test]
    fn urls_without_a_password_are_unchanged() {
        for url in [
            "amqp://user@host",
            "amqp://user@host:5672/%2f",
            "amqp://127.0.0.1:5672",
            "amqp://host/vhost?heartbeat=10",
            "postgres://localhost/chat?sslmode=disable",
            "postgres:///chat",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn non_urls_are_unchanged() {
        for path in [
            "data.sqlite3",
            "/var/lib/ngobrol/ngobrol.sqlite3",
            "./user:pw@host/db.sqlite3",
            "/tmp/odd://name:pw@x.sqlite3",
            "",
        ] {
            assert_eq!(redact_url(path), path);
        }
    }
}

/// The virtual host of an AMQP URL: its path, percent-decoded; `/` when
/// it has none.
pub fn amqp_vhost(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let location = rest.rfind('@').map_or(rest, |at| &rest[at + 1..]);
    let path = location.split_once('/').map_or("", |(_, path)| path);
    match path.split(['?', '#']).next().unwrap_or("") {
        "" => "/".into(),
        path => decode(path),
    }
}

/// `url` (`amqp://[user[:password]@]host…`) with `user:password` as its
/// user information, each percent-encoded where it must be.
#[cfg(feature = "client")]
pub(crate) fn with_credentials(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("amqp", url));
    let location = rest.rfind('@').map_or(rest, |at| &rest[at + 1..]);
    format!(
        "{scheme}://{}:{}@{location}",
        encode(user),
        encode(password)
    )
}

/// The user `url` connects as, percent-decoded; `None` without one.
#[cfg(feature = "client")]
pub(crate) fn url_user(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let userinfo = &rest[..rest.rfind('@')?];
    let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
    Some(decode(user))
}

#[cfg(feature = "client")]
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(all(test, feature = "client"))]
mod credential_tests {
    use super::*;

    #[test]
    fn the_vhost_is_the_urls_path() {
        assert_eq!(amqp_vhost("amqp://guest:guest@127.0.0.1:5672/%2f"), "/");
        assert_eq!(amqp_vhost("amqp://127.0.0.1:5672"), "/");
        assert_eq!(amqp_vhost("amqp://u:p@h/chat?heartbeat=10"), "chat");
    }

    #[test]
    fn credentials_replace_the_user_information() {
        let url = "amqp://~login:~login@127.0.0.1:5672/%2f";
        assert_eq!(url_user(url).as_deref(), Some("~login"));
        assert_eq!(
            with_credentials(url, "ana.b", "abc234"),
            "amqp://ana.b:abc234@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            with_credentials("amqp://127.0.0.1", "a b", "p@ss"),
            "amqp://a%20b:p%40ss@127.0.0.1"
        );
        assert_eq!(url_user("amqp://%7Elogin@h").as_deref(), Some("~login"));
        assert_eq!(url_user("amqp://h:5672"), None);
    }
}
