//! The config file: TOML, one key per setting, named as the flag with `_`
//! for `-` (`amqp_url`, `max_group_members`). Its values become the
//! settings' defaults, so the environment and the flags still override
//! them; each is checked as the flag would be, and an unknown key or a
//! value of the wrong type is an error that names it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Command};
use ngobrol_amqp::redact_url;

/// The settings that are not settings of the server: the file's own path.
const NOT_IN_FILE: &[&str] = &["config", "help", "version"];

/// Settings whose values may hold a password: shown redacted.
const SECRET_URLS: &[&str] = &["amqp_url", "database_url", "broker_management_url"];

/// The config file in use, and which settings it gave.
#[derive(Debug)]
pub(crate) struct ConfigFile {
    pub path: PathBuf,
    pub keys: Vec<String>,
}

/// `command` with the config file's values (if `argv` or `NGOBROL_CONFIG`
/// names a file) as its settings' defaults.
pub(crate) fn layer(
    command: Command,
    argv: &[OsString],
) -> Result<(Command, Option<ConfigFile>), Vec<String>> {
    let Some(path) = named_file(&command, argv) else {
        return Ok((command, None));
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| vec![format!("config file {}: {e}", path.display())])?;
    let values = parse(&command, &path, &text)?;
    let keys = values.iter().map(|(key, _)| key.clone()).collect();
    let mut command = command;
    for (key, value) in values {
        // Read once at start-up: leaking the few strings is the price of
        // clap's `'static` defaults.
        let value: &'static str = Box::leak(value.into_boxed_str());
        command = command.mut_arg(key, |arg| arg.default_value(value));
    }
    Ok((command, Some(ConfigFile { path, keys })))
}

/// The path `--config` or `NGOBROL_CONFIG` gives, if any.
fn named_file(command: &Command, argv: &[OsString]) -> Option<PathBuf> {
    let matches = command
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(argv)
        .ok()?;
    matches.get_one::<PathBuf>("config").cloned()
}

/// The file's settings as (key, value) pairs, each checked, or every
/// problem with them.
fn parse(command: &Command, path: &Path, text: &str) -> Result<Vec<(String, String)>, Vec<String>> {
    let at = |problem: String| format!("config file {}: {problem}", path.display());
    let table: toml::Table = text.parse().map_err(|e| vec![at(format!("{e}"))])?;
    let mut values = Vec::new();
    let mut problems = Vec::new();
    for (key, value) in table {
        let known = command
            .get_arguments()
            .find(|arg| arg.get_id() == key.as_str() && !NOT_IN_FILE.contains(&key.as_str()));
        let Some(arg) = known else {
            problems.push(at(format!("unknown setting `{key}`")));
            continue;
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                problems.push(at(format!(
                    "`{key}` must be a string or a number, got {}",
                    other.type_str()
                )));
                continue;
            }
        };
        let long = arg.get_long().unwrap_or(key.as_str());
        let check = command.clone().ignore_errors(false).try_get_matches_from([
            OsString::from("ngobrol-server"),
            format!("--{long}={text}").into(),
        ]);
        if let Err(e) = check {
            problems.push(at(format!("`{key}`: {}", first_line(&e.to_string()))));
            continue;
        }
        values.push((key, text));
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    }
}

/// clap's message without its `error: ` and its usage lines.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message);
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

/// The effective settings as TOML, each with where it came from; the
/// passwords in URLs redacted. What `ngobrol-server config` prints.
pub(crate) fn effective(
    command: &Command,
    matches: &ArgMatches,
    file: Option<&ConfigFile>,
) -> String {
    let mut out = String::from(
        "# ngobrol-server's settings: flags over the environment over the config file over defaults.\n",
    );
    if let Some(file) = file {
        out.push_str(&format!("# config file: {}\n", file.path.display()));
    }
    // In the order the flags are declared (layering moved some).
    let order = <crate::Cli as clap::CommandFactory>::command();
    for arg in order.get_arguments() {
        let id = arg.get_id().as_str();
        if NOT_IN_FILE.contains(&id) || command.get_arguments().all(|a| a.get_id() != id) {
            continue;
        }
        let raw = matches
            .get_raw(id)
            .and_then(|mut values| values.next())
            .map(|value| value.to_string_lossy().into_owned());
        let Some(mut value) = raw else {
            out.push_str(&format!("# {id}: not set\n"));
            continue;
        };
        if SECRET_URLS.contains(&id) {
            value = redact_url(&value);
        }
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "flag",
            Some(ValueSource::EnvVariable) => "environment",
            _ if file.is_some_and(|f| f.keys.iter().any(|k| k == id)) => "config file",
            _ => "default",
        };
        out.push_str(&format!("{id} = {}  # {source}\n", toml_value(&value)));
    }
    out
}

/// `value` as TOML: a number or a boolean bare, anything else a string.
fn toml_value(value: &str) -> String {
    if matches!(value, "true" | "false") {
        return value.to_owned();
    }
    if let Ok(i) = value.parse::<i64>() {
        return i.to_string();
    }
    if let Ok(f) = value.parse::<f64>()
        && f.is_finite()
        && value.contains('.')
    {
        return value.to_owned();
    }
    toml::Value::String(value.to_owned()).to_string()
}
