//! The process-wide list of the secrets scimsync holds, in every form they travel in, and
//! [`redact`], which replaces each of them with `[redacted]`.
//!
//! A server may echo what it was sent (a debug gateway, a WAF page, a SCIM error `detail`
//! quoting the request headers). So every string that comes from outside is passed through
//! [`redact`] where it enters scimsync, before it is stored (state, audit log) or shown
//! (output, logs, `/healthz`): SCIM `detail` and `scimType`, transport and token endpoint
//! errors, LDAP diagnostic messages.
//!
//! Secrets are registered where they enter the process: [`super::SecretSource::load`] (tokens,
//! passwords, client secrets), the HTTP Basic credential built from one
//! ([`register_basic`]), and each OAuth access token as it is fetched.
//!
//! Secrets shorter than [`MIN_LEN`] characters are not looked for: replacing every `abc` in
//! every message would make errors unreadable while protecting a secret that can be guessed
//! anyway; [`super::SecretSource::load`] warns about them.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{PoisonError, RwLock, RwLockWriteGuard};

use base64::Engine as _;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// The shortest secret that is looked for in outside text.
pub const MIN_LEN: usize = 4;

/// How many OAuth access tokens are remembered: a long-running daemon fetches one every hour
/// or so, and only the last few can still be in a request (or its echo).
pub const ACCESS_TOKENS_KEPT: usize = 8;

/// Secrets, each in every form it may come back in.
#[derive(Debug, Default)]
pub struct Redactor {
    /// Kept for the life of the process: tokens, passwords, client secrets, Basic credentials.
    secrets: Vec<String>,
    /// The access tokens fetched last, oldest first.
    access_tokens: VecDeque<String>,
    /// Every form of all of the above, longest first, so a form that contains another is
    /// replaced whole.
    forms: Vec<String>,
}

impl Redactor {
    pub const fn new() -> Redactor {
        Redactor {
            secrets: Vec::new(),
            access_tokens: VecDeque::new(),
            forms: Vec::new(),
        }
    }

    /// Adds a secret, raw and as it reads once escaped for JSON, URLs and HTML. Returns false
    /// (and adds nothing) when it is shorter than [`MIN_LEN`].
    pub fn add(&mut self, secret: &str) -> bool {
        if !long_enough(secret) {
            return false;
        }
        if !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
            self.rebuild();
        }
        true
    }

    /// Adds the HTTP Basic credential `base64(user:secret)`, with its padding and without, so
    /// an echo that drops the padding is caught too.
    pub fn add_basic(&mut self, user: &str, secret: &str) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
        self.add(&encoded);
        self.add(encoded.trim_end_matches('='));
    }

    /// Adds an OAuth access token; the oldest is forgotten once [`ACCESS_TOKENS_KEPT`] are
    /// held. Returns false (and adds nothing) when it is shorter than [`MIN_LEN`].
    pub fn add_access_token(&mut self, token: &str) -> bool {
        if !long_enough(token) {
            return false;
        }
        if !self.access_tokens.iter().any(|t| t == token) {
            if self.access_tokens.len() == ACCESS_TOKENS_KEPT {
                self.access_tokens.pop_front();
            }
            self.access_tokens.push_back(token.to_owned());
            self.rebuild();
        }
        true
    }

    fn rebuild(&mut self) {
        let mut forms: Vec<String> = self
            .secrets
            .iter()
            .chain(&self.access_tokens)
            .flat_map(|secret| encodings(secret))
            .collect();
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        self.forms = forms;
    }

    /// `text` with every form of every secret replaced by `[redacted]`; borrowed (no copy)
    /// when there is nothing to replace.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        // A few dozen patterns over a short error message: a plain scan per form is as fast
        // as an automaton, and simpler.
        for form in &self.forms {
            if text.contains(form.as_str()) {
                text = Cow::Owned(text.replace(form.as_str(), REDACTED));
            }
        }
        text
    }
}

fn long_enough(secret: &str) -> bool {
    secret.chars().count() >= MIN_LEN
}

/// `secret` as sent, and as a server may quote it: JSON-escaped (also with `\/`, as PHP
/// writes it), form- and percent-encoded, HTML-escaped (some of them the same).
fn encodings(secret: &str) -> Vec<String> {
    let json = serde_json::Value::String(secret.to_owned()).to_string();
    let json = json[1..json.len() - 1].to_owned();
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    let html = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    let json_slashes = json.replace('/', "\\/");
    vec![secret.to_owned(), json, json_slashes, form, percent, html]
}

/// The process's redactor: every secret loaded or fetched so far.
static REDACTOR: RwLock<Redactor> = RwLock::new(Redactor::new());

/// The process's redactor, to add to. A panic elsewhere while it was held leaves a list that
/// is still whole (each change is one push and a rebuild), so a poisoned lock is used anyway.
fn registry() -> RwLockWriteGuard<'static, Redactor> {
    REDACTOR.write().unwrap_or_else(PoisonError::into_inner)
}

/// Registers a secret with the process's redactor; false when it is too short to be.
pub fn register(secret: &str) -> bool {
    registry().add(secret)
}

/// Registers an OAuth access token with the process's redactor (the last
/// [`ACCESS_TOKENS_KEPT`] are kept).
pub fn register_access_token(token: &str) -> bool {
    registry().add_access_token(token)
}

/// Registers the HTTP Basic credential of `user` and `secret` with the process's redactor.
pub fn register_basic(user: &str, secret: &str) {
    registry().add_basic(user, secret);
}

/// `text` with every secret the process holds replaced by `[redacted]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    REDACTOR
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .redact(text)
}

/// [`redact`] for an owned string: unchanged text is not copied.
pub fn redact_owned(text: String) -> String {
    match redact(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(redacted) => redacted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_secret_is_replaced() {
        let mut redactor = Redactor::new();
        assert!(redactor.add(r#"s3cr/t "x"&y+z"#));
        let text = concat!(
            r#"raw s3cr/t "x"&y+z; "#,
            r#"json s3cr/t \"x\"&y+z; "#,
            r#"php s3cr\/t \"x\"&y+z; "#,
            "form s3cr%2Ft+%22x%22%26y%2Bz; ",
            "percent s3cr%2Ft%20%22x%22%26y%2Bz; ",
            "html s3cr/t &quot;x&quot;&amp;y+z",
        );
        assert_eq!(
            redactor.redact(text),
            "raw [redacted]; json [redacted]; php [redacted]; form [redacted]; percent [redacted]; html [redacted]"
        );
    }

    #[test]
    fn basic_credentials_are_caught_with_and_without_padding() {
        let mut redactor = Redactor::new();
        redactor.add_basic("svc", "secret-token");
        // base64("svc:secret-token") = c3ZjOnNlY3JldC10b2tlbg==
        assert_eq!(
            redactor.redact("authorization: Basic c3ZjOnNlY3JldC10b2tlbg=="),
            "authorization: Basic [redacted]"
        );
        assert_eq!(
            redactor.redact("got c3ZjOnNlY3JldC10b2tlbg."),
            "got [redacted]."
        );
    }

    #[test]
    fn the_longest_form_wins_when_one_secret_contains_another() {
        let mut redactor = Redactor::new();
        redactor.add("issued-1");
        redactor.add("issued-10");
        assert_eq!(
            redactor.redact("Bearer issued-10, Bearer issued-1"),
            "Bearer [redacted], Bearer [redacted]"
        );
    }

    #[test]
    fn only_the_last_access_tokens_are_kept() {
        let mut redactor = Redactor::new();
        redactor.add("client-secret");
        for n in 0..=ACCESS_TOKENS_KEPT {
            assert!(redactor.add_access_token(&format!("token-{n:02}")));
        }
        let last = format!("token-{ACCESS_TOKENS_KEPT:02}");
        assert_eq!(
            redactor.redact(&format!("token-00 token-01 {last} client-secret")),
            "token-00 [redacted] [redacted] [redacted]"
        );
    }

    #[test]
    fn text_without_secrets_is_borrowed() {
        let mut redactor = Redactor::new();
        assert!(matches!(redactor.redact("abc"), Cow::Borrowed("abc")));
        redactor.add("hunter2");
        assert!(matches!(
            redactor.redact("no secret here"),
            Cow::Borrowed("no secret here")
        ));
    }

    #[test]
    fn secrets_shorter_than_the_minimum_are_not_looked_for() {
        let mut redactor = Redactor::new();
        assert!(!redactor.add("abc"));
        assert_eq!(redactor.redact("abc abcd"), "abc abcd");
        assert!(redactor.add("abcd"));
        assert_eq!(redactor.redact("abc abcd"), "abc [redacted]");
    }
}
