//! Why a request to an upstream provider failed, precisely enough to act on: the name did not
//! resolve, nothing listened, TLS failed, the provider answered an error status, or its answer
//! lacked what we need. One classification serves the sign-in error page, the log line and
//! `portcullis provider test`; none of them carries a secret (client secrets are cut out of the
//! body excerpts, and no token is ever part of a failure).

use std::error::Error as StdError;
use std::fmt;

use serde::Serialize;

use crate::i18n::Msg;

/// How much of an error answer's body is kept, in characters.
const EXCERPT_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// The host name did not resolve.
    Dns { host: String },
    /// Nothing accepts connections there.
    ConnectionRefused { address: String },
    /// The connection was not set up within the timeout.
    ConnectTimeout { address: String },
    /// Another failure to connect (no route to the host, …).
    Connect { address: String, detail: String },
    /// Connected, but TLS failed: the certificate was refused or the handshake broke down.
    Tls { host: String, detail: String },
    /// Connected, but no complete answer came within the timeout.
    Timeout { endpoint: String, host: String },
    /// The answer's HTTP status is not a success.
    Status {
        endpoint: String,
        status: u16,
        excerpt: String,
    },
    /// The answer is not JSON, or not JSON of the expected shape.
    NotJson { endpoint: String, detail: String },
    /// A field we need is absent from the answer.
    MissingField { endpoint: String, field: String },
    /// A field we need is there but unusable.
    InvalidField {
        endpoint: String,
        field: String,
        detail: String,
    },
    /// The token endpoint refused our client credentials (RFC 6749 §5.2 `invalid_client`).
    ClientRejected { endpoint: String, error: String },
    /// The answer is larger than `bounded::MAX_ANSWER_BYTES`.
    TooLarge { endpoint: String },
    /// The URL to call is not an http(s) URL.
    NotWeb { endpoint: String, scheme: String },
    /// Anything else the HTTP client reported.
    Other { endpoint: String, detail: String },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Dns { host } => write!(f, "could not resolve {host} (DNS)"),
            Failure::ConnectionRefused { address } => {
                write!(f, "connection refused by {address}")
            }
            Failure::ConnectTimeout { address } => {
                write!(f, "connecting to {address} timed out")
            }
            Failure::Connect { address, detail } => {
                write!(f, "could not connect to {address}: {detail}")
            }
            Failure::Tls { host, detail } => write!(f, "TLS with {host} failed: {detail}"),
            Failure::Timeout { endpoint, host } => {
                write!(f, "{host} did not answer in time ({endpoint})")
            }
            Failure::Status {
                endpoint,
                status,
                excerpt,
            } => {
                write!(f, "HTTP {status} from {endpoint}")?;
                if !excerpt.is_empty() {
                    write!(f, ": {excerpt}")?;
                }
                Ok(())
            }
            Failure::NotJson { endpoint, detail } => {
                write!(f, "{endpoint} did not answer JSON: {detail}")
            }
            Failure::MissingField { endpoint, field } => {
                write!(f, "{endpoint} lacks the field {field}")
            }
            Failure::InvalidField {
                endpoint,
                field,
                detail,
            } => write!(f, "{endpoint} has an unusable {field}: {detail}"),
            Failure::ClientRejected { endpoint, error } => {
                write!(f, "{endpoint} refused the client credentials ({error})")
            }
            Failure::TooLarge { endpoint } => {
                write!(f, "{endpoint} answered more than we accept")
            }
            Failure::NotWeb { endpoint, scheme } => {
                write!(f, "{endpoint} is a {scheme}: URL, not http(s)")
            }
            Failure::Other { endpoint, detail } => write!(f, "{endpoint}: {detail}"),
        }
    }
}

impl Failure {
    /// The cause, for the person at the sign-in error page (no excerpts: those are for admins).
    pub fn message(&self) -> Msg {
        match self {
            Failure::Dns { host } => Msg::new("upstream-cause-dns").with("host", host.as_str()),
            Failure::ConnectionRefused { address } => {
                Msg::new("upstream-cause-refused").with("address", address.as_str())
            }
            Failure::ConnectTimeout { address } => {
                Msg::new("upstream-cause-connect-timeout").with("address", address.as_str())
            }
            Failure::Connect { address, .. } => {
                Msg::new("upstream-cause-connect").with("address", address.as_str())
            }
            Failure::Tls { host, .. } => Msg::new("upstream-cause-tls").with("host", host.as_str()),
            Failure::Timeout { host, .. } => {
                Msg::new("upstream-cause-timeout").with("host", host.as_str())
            }
            Failure::Status {
                endpoint, status, ..
            } => Msg::new("upstream-cause-status")
                .with("status", i64::from(*status))
                .with("endpoint", endpoint.as_str()),
            Failure::NotJson { endpoint, .. } => {
                Msg::new("upstream-cause-not-json").with("endpoint", endpoint.as_str())
            }
            Failure::MissingField { endpoint, field } => Msg::new("upstream-cause-missing-field")
                .with("endpoint", endpoint.as_str())
                .with("field", field.as_str()),
            Failure::InvalidField {
                endpoint, field, ..
            } => Msg::new("upstream-cause-invalid-field")
                .with("endpoint", endpoint.as_str())
                .with("field", field.as_str()),
            Failure::ClientRejected { endpoint, .. } => {
                Msg::new("upstream-cause-client-rejected").with("endpoint", endpoint.as_str())
            }
            Failure::TooLarge { endpoint } => {
                Msg::new("upstream-cause-too-large").with("endpoint", endpoint.as_str())
            }
            Failure::NotWeb { endpoint, .. } => {
                Msg::new("upstream-cause-not-web").with("endpoint", endpoint.as_str())
            }
            Failure::Other { endpoint, .. } => {
                Msg::new("upstream-cause-other").with("endpoint", endpoint.as_str())
            }
        }
    }

    /// The same failure with `secret` cut out of whatever text the provider sent back.
    pub fn redact(self, secret: &str) -> Failure {
        if secret.is_empty() {
            return self;
        }
        let cut = |text: String| text.replace(secret, "[redacted]");
        match self {
            Failure::Status {
                endpoint,
                status,
                excerpt,
            } => Failure::Status {
                endpoint,
                status,
                excerpt: cut(excerpt),
            },
            Failure::NotJson { endpoint, detail } => Failure::NotJson {
                endpoint,
                detail: cut(detail),
            },
            Failure::InvalidField {
                endpoint,
                field,
                detail,
            } => Failure::InvalidField {
                endpoint,
                field,
                detail: cut(detail),
            },
            Failure::Other { endpoint, detail } => Failure::Other {
                endpoint,
                detail: cut(detail),
            },
            other => other,
        }
    }

    /// Whether the provider could not be reached at all (as opposed to answering wrongly).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Failure::Dns { .. }
                | Failure::ConnectionRefused { .. }
                | Failure::ConnectTimeout { .. }
                | Failure::Connect { .. }
                | Failure::Tls { .. }
                | Failure::Timeout { .. }
        )
    }
}

/// Classifies a failed request to `endpoint` by walking the error's chain of causes: hyper's
/// connector says "dns error" for a failed resolution, the OS's `io::Error` says refused or
/// timed out, rustls's own error type says what TLS refused.
pub fn classify(e: &reqwest::Error, endpoint: &str) -> Failure {
    let url = e.url();
    let host = url
        .and_then(|u| u.host_str())
        .unwrap_or("the provider")
        .to_string();
    let address = match url.and_then(|u| u.port_or_known_default()) {
        Some(port) if host.contains(':') => format!("[{host}]:{port}"),
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    let causes = causes(e);
    if causes.iter().any(|c| c.to_string() == "dns error") {
        return Failure::Dns { host };
    }
    if let Some(tls) = causes
        .iter()
        .find_map(|c| c.downcast_ref::<rustls::Error>())
    {
        return Failure::Tls {
            host,
            detail: tls.to_string(),
        };
    }
    let io_kind = causes
        .iter()
        .find_map(|c| c.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    if e.is_connect() {
        return match io_kind {
            Some(std::io::ErrorKind::ConnectionRefused) => Failure::ConnectionRefused { address },
            Some(std::io::ErrorKind::TimedOut) => Failure::ConnectTimeout { address },
            _ if e.is_timeout() => Failure::ConnectTimeout { address },
            _ => Failure::Connect {
                address,
                detail: innermost(&causes),
            },
        };
    }
    if e.is_timeout() || io_kind == Some(std::io::ErrorKind::TimedOut) {
        return Failure::Timeout {
            endpoint: endpoint.to_string(),
            host,
        };
    }
    Failure::Other {
        endpoint: endpoint.to_string(),
        detail: innermost(&causes),
    }
}

/// Classifies an answer that did not deserialise: not JSON at all, a field we need missing
/// (named), or a field of the wrong shape (named by its `path` when the parser knew it).
pub fn json(endpoint: &str, e: &serde_json::Error, path: Option<String>) -> Failure {
    let endpoint = endpoint.to_string();
    let text = e.to_string();
    if let Some(field) = text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        return Failure::MissingField {
            endpoint,
            field: field.to_string(),
        };
    }
    match (e.classify(), path.filter(|p| !p.is_empty() && p != ".")) {
        (serde_json::error::Category::Data, Some(field)) => Failure::InvalidField {
            endpoint,
            field,
            detail: text,
        },
        _ => Failure::NotJson {
            endpoint,
            detail: text,
        },
    }
}

/// The error and its sources, outermost first. An `io::Error` wrapping another error reports
/// that one's *source* as its own, skipping it (TLS failures come as rustls's error inside an
/// `io::Error` inside another), so wrapped errors are unwrapped by hand.
fn causes<'a>(e: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out: Vec<&'a (dyn StdError + 'static)> = Vec::new();
    let mut at = Some(e);
    while let Some(c) = at {
        out.push(c);
        at = match c
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(wrapped) => Some(wrapped as &(dyn StdError + 'static)),
            None => c.source(),
        };
    }
    out
}

/// The deepest cause's text: the most specific one.
fn innermost(causes: &[&(dyn StdError + 'static)]) -> String {
    causes
        .last()
        .map(|c| c.to_string())
        .unwrap_or_else(|| "request failed".into())
}

/// The start of an error answer's body, on one line, without `secret` (a provider may echo the
/// request it refused): what an admin needs to recognise the answer, and no more.
pub fn excerpt(body: &[u8], secret: Option<&str>) -> String {
    let text = String::from_utf8_lossy(body);
    let mut text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        text = text.replace(secret, "[redacted]");
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_one_short_line_without_the_secret() {
        assert_eq!(
            excerpt(b"<h1>Oops</h1>\n\n  broke\tthere", None),
            "<h1>Oops</h1> broke there"
        );
        assert_eq!(
            excerpt(
                br#"{"error":"bad","echo":"client_secret=hunter2"}"#,
                Some("hunter2")
            ),
            r#"{"error":"bad","echo":"client_secret=[redacted]"}"#
        );
        let long = excerpt("é".repeat(500).as_bytes(), None);
        assert_eq!(long.chars().count(), EXCERPT_CHARS + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn json_failures_name_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Doc {
            jwks_uri: String,
        }
        let missing = serde_json::from_str::<Doc>("{}").unwrap_err();
        assert_eq!(
            json("discovery document", &missing, None),
            Failure::MissingField {
                endpoint: "discovery document".into(),
                field: "jwks_uri".into()
            }
        );
        let wrong = serde_json::from_str::<Doc>(r#"{"jwks_uri": 7}"#).unwrap_err();
        assert!(matches!(
            json("discovery document", &wrong, Some("jwks_uri".into())),
            Failure::InvalidField { field, .. } if field == "jwks_uri"
        ));
        let html = serde_json::from_str::<Doc>("<html>").unwrap_err();
        assert!(matches!(
            json("discovery document", &html, None),
            Failure::NotJson { .. }
        ));
    }

    #[tokio::test]
    async fn a_closed_port_is_a_refused_connection_and_a_bad_name_is_dns() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let http = reqwest::Client::new();
        let e = http
            .get(format!("http://127.0.0.1:{port}/x"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            classify(&e, "token endpoint"),
            Failure::ConnectionRefused {
                address: format!("127.0.0.1:{port}")
            }
        );
        let e = http
            .get("http://accounts.portcullis.invalid/x")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            classify(&e, "token endpoint").to_string(),
            "could not resolve accounts.portcullis.invalid (DNS)"
        );
    }
}
