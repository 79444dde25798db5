//! What can be learnt of a body without parsing it: a bounded scan for a
//! few string fields, for bodies too large to read (to address their
//! error reply) and for copies kept in the dead-letter queue (to remove
//! secrets from them).

/// How much of each end of a body is scanned.
const WINDOW: usize = 4096;

/// What [`find_field`] scans of `body`, and nothing else: its first and
/// last [`WINDOW`] bytes (all of it, if it is no longer). The intake
/// forwards this of a body too large to serve.
pub(super) fn scanned(body: &[u8]) -> Vec<u8> {
    if body.len() <= 2 * WINDOW {
        return body.to_vec();
    }
    [&body[..WINDOW], &body[body.len() - WINDOW..]].concat()
}

/// The value of the string field `key` in `body`, found by scanning the
/// first and the last [`WINDOW`] bytes (a large field, such as a long
/// message, may stand between). Only a plain value (no escapes) is taken.
pub(super) fn find_field(body: &[u8], key: &str) -> Option<String> {
    let head = &body[..body.len().min(WINDOW)];
    let tail = &body[body.len().saturating_sub(WINDOW)..];
    field_in(head, key).or_else(|| field_in(tail, key))
}

fn field_in(window: &[u8], key: &str) -> Option<String> {
    value_spans(window, key).next().and_then(|(start, end)| {
        let value = std::str::from_utf8(&window[start..end]).ok()?;
        (!value.contains('\\')).then(|| value.to_owned())
    })
}

/// The byte ranges of the string values of `key` in `text`: each `"key"`
/// (not escaped, so not inside another string), a colon, and a string.
fn value_spans<'a>(text: &'a [u8], key: &str) -> impl Iterator<Item = (usize, usize)> + 'a {
    let needle = format!("\"{key}\"").into_bytes();
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(at) = find(&text[from..], &needle).map(|i| i + from) {
            from = at + needle.len();
            if at > 0 && text[at - 1] == b'\\' {
                continue;
            }
            if let Some(span) = string_after_colon(text, from) {
                from = span.1;
                return Some(span);
            }
        }
        None
    })
}

/// After optional blanks, `:`, blanks and `"`: the span of the string up
/// to its closing quote.
fn string_after_colon(text: &[u8], mut at: usize) -> Option<(usize, usize)> {
    let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    while at < text.len() && blank(text[at]) {
        at += 1;
    }
    (text.get(at) == Some(&b':')).then_some(())?;
    at += 1;
    while at < text.len() && blank(text[at]) {
        at += 1;
    }
    (text.get(at) == Some(&b'"')).then_some(())?;
    let start = at + 1;
    let mut end = start;
    while end < text.len() {
        match text[end] {
            b'\\' => end += 2,
            b'"' => return Some((start, end)),
            _ => end += 1,
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `body` with the values of every `password` and `token` string field
/// replaced by `***`, wherever they are: the copy kept of a request that
/// could not be served must not hold a secret.
pub(super) fn redact_secrets(body: &[u8]) -> Vec<u8> {
    let mut spans: Vec<(usize, usize)> = ["password", "token"]
        .iter()
        .flat_map(|key| value_spans(body, key).collect::<Vec<_>>())
        .collect();
    spans.sort_unstable();
    let mut out = Vec::with_capacity(body.len());
    let mut at = 0;
    for (start, end) in spans {
        if start < at {
            continue;
        }
        out.extend_from_slice(&body[at..start]);
        out.extend_from_slice(b"***");
        at = end.min(body.len());
    }
    out.extend_from_slice(&body[at.min(body.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_at_either_end_of_a_large_body() {
        let body = format!(
            r#"{{"message":"{}","method":"send_client","token":"t0k","username_from":"ana"}}"#,
            "m".repeat(100_000)
        );
        assert_eq!(
            find_field(body.as_bytes(), "method").as_deref(),
            Some("send_client")
        );
        assert_eq!(find_field(body.as_bytes(), "token").as_deref(), Some("t0k"));
        let body = format!(
            r#"{{"queue_name" : "amq.gen-1", "x":"{}"}}"#,
            "y".repeat(9000)
        );
        assert_eq!(
            find_field(body.as_bytes(), "queue_name").as_deref(),
            Some("amq.gen-1")
        );
    }

    #[test]
    fn a_field_inside_a_string_is_not_taken() {
        let body = br#"{"message":"\"token\":\"fake\"","token":"real"}"#;
        assert_eq!(find_field(body, "token").as_deref(), Some("real"));
    }

    #[test]
    fn secrets_are_redacted_even_from_broken_json() {
        let body = br#"{"method":"login","password":"hunter22","token" : "abc\"def", "x"#;
        let redacted = String::from_utf8(redact_secrets(body)).unwrap();
        assert!(!redacted.contains("hunter22"), "{redacted}");
        assert!(!redacted.contains("abc"), "{redacted}");
        assert!(redacted.contains(r#""password":"***""#), "{redacted}");
        assert!(redacted.starts_with(r#"{"method":"login""#), "{redacted}");
    }
}
