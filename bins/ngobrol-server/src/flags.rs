//! The flags checked at start-up, before anything is opened or connected:
//! each problem names the flag (and its environment variable) and the
//! range it must be in. The ranges are the libraries' own
//! (`ServiceConfig::PBKDF2_ITERATIONS`, `ServerConfig::LANES`, …) in the
//! flags' units.

use std::fmt::Display;
use std::ops::RangeInclusive;

use ngobrol_amqp::{Namespace, ServerConfig, redact_url};
use ngobrol_core::ServiceConfig;

use crate::args::Args;

/// Room for a request's other fields beside its message text, in bytes:
/// `--max-body-bytes` must be at least `--max-message-bytes` plus this.
/// (A text of many characters JSON must escape takes more room on the
/// wire than its UTF-8 size; such a text near the limit is refused as a
/// too-large request.)
pub(crate) const REQUEST_OVERHEAD_BYTES: usize = 1024;

/// The most token lifetime, in hours: 10 years.
pub(crate) const TOKEN_TTL_HOURS: RangeInclusive<u64> = 1..=87_600;

/// The most database connections.
pub(crate) const DATABASE_CONNECTIONS: RangeInclusive<u32> = 1..=1000;

/// Every problem with `args`, one sentence each; empty if there is none.
pub(crate) fn problems(args: &Args) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |outcome: Result<(), String>| {
        if let Err(problem) = outcome {
            problems.push(problem);
        }
    };

    check(amqp_url(&args.amqp_url));
    check(http_addr(&args.http_addr).map(drop));
    check(isolation(args));
    if args.database_url.trim().is_empty() {
        check(Err(format!(
            "{} must be a SQLite file path or a postgres:// URL, got nothing",
            flag("database-url")
        )));
    }
    if let Err(e) = Namespace::parse(args.namespace.clone()) {
        check(Err(format!("{}: {e}", flag("namespace"))));
    }
    check(within(
        "pbkdf2-iterations",
        args.pbkdf2_iterations,
        ServiceConfig::PBKDF2_ITERATIONS,
        "",
    ));
    if let Some(concurrency) = args.hashing_concurrency {
        check(within(
            "hashing-concurrency",
            concurrency,
            ServiceConfig::HASHING_CONCURRENCY,
            "",
        ));
    }
    check(within("prefetch", args.prefetch, 1..=u16::MAX, ""));
    check(within("lanes", args.lanes, ServerConfig::LANES, ""));
    check(within("cache-ttl-ms", args.cache_ttl_ms, 0..=60_000, ""));
    let body_ok = within(
        "max-body-bytes",
        args.max_body_bytes,
        ServerConfig::MAX_BODY_BYTES,
        " (4 KiB to 128 MiB)",
    );
    let message_bytes = match body_ok {
        Ok(()) => within(
            "max-message-bytes",
            args.max_message_bytes,
            1..=args.max_body_bytes - REQUEST_OVERHEAD_BYTES,
            " (--max-body-bytes less 1024 bytes for the request's other fields)",
        ),
        Err(_) => within(
            "max-message-bytes",
            args.max_message_bytes,
            ServiceConfig::MAX_MESSAGE_BYTES,
            "",
        ),
    };
    check(body_ok);
    check(message_bytes);
    check(within(
        "min-password-chars",
        args.min_password_chars,
        ServiceConfig::MIN_PASSWORD_CHARS,
        "",
    ));
    check(within(
        "max-group-members",
        args.max_group_members,
        ServiceConfig::GROUP_LIMIT,
        "",
    ));
    check(within(
        "max-groups-per-user",
        args.max_groups_per_user,
        ServiceConfig::GROUP_LIMIT,
        "",
    ));
    check(rate_per_second(args.rate_per_second));
    check(within("rate-burst", args.rate_burst, 1..=u32::MAX, ""));
    check(within(
        "auth-failure-burst",
        args.auth_failure_burst,
        1..=u32::MAX,
        "",
    ));
    check(within(
        "token-ttl-hours",
        args.token_ttl_hours,
        TOKEN_TTL_HOURS,
        " (10 years)",
    ));
    check(within(
        "history-max-age-days",
        args.history_max_age_days,
        0..=36_500,
        " (0 keeps messages for ever)",
    ));
    check(within(
        "database-connections",
        args.database_connections,
        DATABASE_CONNECTIONS,
        "",
    ));
    problems
}

/// `--name (NGOBROL_NAME)`: how a setting is given, either way.
fn flag(name: &str) -> String {
    format!(
        "--{name} (NGOBROL_{})",
        name.replace('-', "_").to_ascii_uppercase()
    )
}

fn within<T>(name: &str, value: T, range: RangeInclusive<T>, note: &str) -> Result<(), String>
where
    T: PartialOrd + Display,
{
    if range.contains(&value) {
        return Ok(());
    }
    Err(format!(
        "{} must be between {} and {}{note}, got {value}",
        flag(name),
        range.start(),
        range.end()
    ))
}

/// 0 (unlimited), or a finite rate within the library's range.
fn rate_per_second(rate: f64) -> Result<(), String> {
    if rate == 0.0 || ServiceConfig::RATE_PER_SECOND.contains(&rate) {
        return Ok(());
    }
    Err(format!(
        "{} must be 0 (unlimited) or between {} and {}, got {rate}",
        flag("rate-per-second"),
        ServiceConfig::RATE_PER_SECOND.start(),
        ServiceConfig::RATE_PER_SECOND.end()
    ))
}

/// Isolated mode needs the HTTP listener (the broker asks it who may do
/// what) and a login account nobody can register as.
fn isolation(args: &Args) -> Result<(), String> {
    if !args.isolated {
        return Ok(());
    }
    if matches!(http_addr(&args.http_addr), Ok(None)) {
        return Err(format!(
            "{} needs {}: the broker asks it who may do what",
            flag("isolated"),
            flag("http-addr")
        ));
    }
    if ngobrol_core::Username::parse(args.login_user.clone()).is_ok() || args.login_user.is_empty()
    {
        return Err(format!(
            "{} must not be a possible username (put a character such as ~ in it), got {:?}",
            flag("login-user"),
            args.login_user
        ));
    }
    Ok(())
}

/// The HTTP listener's address, or `None` for `off`. Only loopback and
/// other addresses of this machine make sense; any socket address is taken.
pub(crate) fn http_addr(addr: &str) -> Result<Option<std::net::SocketAddr>, String> {
    if addr.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    addr.parse().map(Some).map_err(|_| {
        format!(
            "{} must be an address and port such as 127.0.0.1:9680, or off, got {addr:?}",
            flag("http-addr")
        )
    })
}

/// One AMQP URL, or several (a cluster's nodes) separated by commas.
fn amqp_url(urls: &str) -> Result<(), String> {
    for url in urls.split(',').map(str::trim) {
        let scheme = url
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("amqp" | "amqps")) {
            return Err(format!(
                "{} must be amqp:// or amqps:// URLs (several separated by commas), got {:?}",
                flag("amqp-url"),
                redact_url(url)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn problems_of(flags: &[&str]) -> Vec<String> {
        let cli = crate::Cli::try_parse_from(
            std::iter::once("ngobrol-server").chain(flags.iter().copied()),
        )
        .unwrap();
        problems(&cli.settings)
    }

    #[test]
    fn the_defaults_pass() {
        assert_eq!(problems_of(&[]), Vec::<String>::new());
        assert_eq!(
            problems_of(&["--rate-per-second", "0", "--hashing-concurrency", "256"]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_absurd_value_is_named_with_its_range() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--pbkdf2-iterations", "5"],
                "--pbkdf2-iterations (NGOBROL_PBKDF2_ITERATIONS) must be between 1000 and 10000000, got 5",
            ),
            (
                &["--hashing-concurrency", "0"],
                "--hashing-concurrency (NGOBROL_HASHING_CONCURRENCY) must be between 1 and 256",
            ),
            (
                &["--prefetch", "0"],
                "--prefetch (NGOBROL_PREFETCH) must be between 1 and 65535, got 0",
            ),
            (
                &["--lanes", "0"],
                "--lanes (NGOBROL_LANES) must be between 1 and 4096, got 0",
            ),
            (
                &["--max-body-bytes", "10"],
                "--max-body-bytes (NGOBROL_MAX_BODY_BYTES) must be between 4096 and 134217728 (4 KiB to 128 MiB), got 10",
            ),
            (
                &["--max-message-bytes", "524288"],
                "--max-message-bytes (NGOBROL_MAX_MESSAGE_BYTES) must be between 1 and 523264 (--max-body-bytes less 1024",
            ),
            (&["--max-message-bytes", "0"], "--max-message-bytes"),
            (
                &["--min-password-chars", "0"],
                "--min-password-chars (NGOBROL_MIN_PASSWORD_CHARS) must be between 1 and 1024",
            ),
            (&["--max-group-members", "0"], "--max-group-members"),
            (&["--max-groups-per-user", "0"], "--max-groups-per-user"),
            (
                &["--rate-per-second", "NaN"],
                "--rate-per-second (NGOBROL_RATE_PER_SECOND) must be 0 (unlimited) or between 0.001 and 1000000, got NaN",
            ),
            (&["--rate-per-second", "0.0000000001"], "--rate-per-second"),
            (&["--rate-per-second=-1"], "--rate-per-second"),
            (&["--rate-per-second", "inf"], "--rate-per-second"),
            (
                &["--rate-burst", "0"],
                "--rate-burst (NGOBROL_RATE_BURST) must be between 1 and 4294967295, got 0",
            ),
            (&["--auth-failure-burst", "0"], "--auth-failure-burst"),
            (
                &["--token-ttl-hours", "18446744073709551615"],
                "--token-ttl-hours (NGOBROL_TOKEN_TTL_HOURS) must be between 1 and 87600 (10 years), got 18446744073709551615",
            ),
            (&["--token-ttl-hours", "0"], "--token-ttl-hours"),
            (
                &["--history-max-age-days", "40000"],
                "--history-max-age-days (NGOBROL_HISTORY_MAX_AGE_DAYS) must be between 0 and 36500 (0 keeps messages for ever), got 40000",
            ),
            (
                &["--database-connections", "0"],
                "--database-connections (NGOBROL_DATABASE_CONNECTIONS) must be between 1 and 1000",
            ),
            (
                &["--namespace", "amq.x"],
                "--namespace (NGOBROL_NAMESPACE): invalid namespace",
            ),
            (
                &["--amqp-url", "http://ana:secret@host"],
                "--amqp-url (NGOBROL_AMQP_URL) must be amqp:// or amqps:// URLs (several separated by commas), got \"http://ana:***@host\"",
            ),
            (&["--database-url", ""], "--database-url"),
            (
                &["--isolated", "--http-addr", "off"],
                "--isolated (NGOBROL_ISOLATED) needs --http-addr (NGOBROL_HTTP_ADDR)",
            ),
            (
                &["--isolated", "--login-user", "login"],
                "--login-user (NGOBROL_LOGIN_USER) must not be a possible username",
            ),
            (
                &["--http-addr", "localhost"],
                "--http-addr (NGOBROL_HTTP_ADDR) must be an address and port such as 127.0.0.1:9680, or off, got \"localhost\"",
            ),
        ];
        for (flags, expected) in cases {
            let problems = problems_of(flags);
            assert_eq!(problems.len(), 1, "{flags:?}: {problems:?}");
            assert!(
                problems[0].starts_with(expected),
                "{flags:?}: {}",
                problems[0]
            );
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let problems = problems_of(&["--lanes", "0", "--prefetch", "0", "--token-ttl-hours", "0"]);
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
