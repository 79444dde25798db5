//! The real `ngobrol-server` binary refuses absurd settings at start-up:
//! a clear message naming the flag and its range, a non-zero exit, no
//! panic, and nothing opened or connected (the broker here does not exist
//! and the store file is never made).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary with `flags` (and `env`), and returns its exit code
/// and standard error, or fails if it does not exit within 10 s.
fn run(flags: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("db.sqlite3");
    let mut command = Command::new(env!("CARGO_BIN_EXE_ngobrol-server"));
    // Nothing listens on port 1: a server that got as far as connecting
    // would retry forever instead of exiting.
    command
        .env("NGOBROL_AMQP_URL", "amqp://guest:secret@127.0.0.1:1/%2f")
        .env("NGOBROL_DATABASE_URL", &database)
        .env("RUST_BACKTRACE", "1")
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started with {flags:?} {env:?} instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        !database.exists(),
        "the store was opened before the settings were checked"
    );
    (status.code(), stderr)
}

#[test]
fn absurd_settings_are_refused_before_anything_starts() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--token-ttl-hours", "18446744073709551615"],
            "--token-ttl-hours (NGOBROL_TOKEN_TTL_HOURS) must be between 1 and 87600 (10 years)",
        ),
        (
            &["--rate-per-second", "0.0000000001"],
            "--rate-per-second (NGOBROL_RATE_PER_SECOND) must be 0 (unlimited) or between 0.001 and 1000000",
        ),
        (
            &["--rate-per-second", "NaN"],
            "--rate-per-second (NGOBROL_RATE_PER_SECOND) must be 0 (unlimited) or between 0.001 and 1000000, got NaN",
        ),
        (&["--rate-per-second=-5"], "--rate-per-second"),
        (
            &["--lanes", "0"],
            "--lanes (NGOBROL_LANES) must be between 1 and 4096, got 0",
        ),
        (
            &["--prefetch", "0"],
            "--prefetch (NGOBROL_PREFETCH) must be between 1 and 65535, got 0",
        ),
        (
            &["--pbkdf2-iterations", "5"],
            "--pbkdf2-iterations (NGOBROL_PBKDF2_ITERATIONS) must be between 1000 and 10000000, got 5",
        ),
        (
            &["--hashing-concurrency", "0"],
            "--hashing-concurrency (NGOBROL_HASHING_CONCURRENCY) must be between 1 and 256",
        ),
        (
            &["--max-message-bytes", "1000000"],
            "--max-message-bytes (NGOBROL_MAX_MESSAGE_BYTES) must be between 1 and 523264",
        ),
        (&["--rate-burst", "0"], "--rate-burst"),
        (&["--auth-failure-burst", "0"], "--auth-failure-burst"),
        (&["--min-password-chars", "0"], "--min-password-chars"),
        (&["--max-group-members", "0"], "--max-group-members"),
        (
            &["--database-connections", "0"],
            "--database-connections (NGOBROL_DATABASE_CONNECTIONS) must be between 1 and 1000",
        ),
        // Out of the type's range: clap's own message, naming the flag.
        (&["--prefetch", "70000"], "--prefetch"),
        (&["--token-ttl-hours=-1"], "--token-ttl-hours"),
    ];
    for (flags, expected) in cases {
        let (code, stderr) = run(flags, &[]);
        assert!(
            code.is_some_and(|code| code != 0),
            "{flags:?}: exit {code:?}\n{stderr}"
        );
        assert!(stderr.contains(expected), "{flags:?}:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{flags:?}:\n{stderr}");
        assert!(!stderr.contains("backtrace"), "{flags:?}:\n{stderr}");
    }
}

#[test]
fn settings_from_the_environment_are_checked_too() {
    let (code, stderr) = run(&[], &[("NGOBROL_TOKEN_TTL_HOURS", "18446744073709551615")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("NGOBROL_TOKEN_TTL_HOURS"), "{stderr}");
}

#[test]
fn every_problem_is_reported_at_once_and_no_password_shown() {
    let (code, stderr) = run(
        &[
            "--lanes",
            "0",
            "--prefetch",
            "0",
            "--amqp-url",
            "http://ana:hush@host/",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{stderr}");
    for flag in ["--lanes", "--prefetch", "--amqp-url"] {
        assert!(stderr.contains(flag), "{flag}:\n{stderr}");
    }
    assert!(!stderr.contains("hush"), "the password leaked:\n{stderr}");
}
