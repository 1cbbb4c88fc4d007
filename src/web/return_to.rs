//! Where to send the browser after signing in. Only local paths are accepted: anything that a
//! browser could read as another origin ("//evil", "/\evil", "https://…") is an open redirect.

/// The path when it is safe to redirect to, else `None`.
pub fn sanitize(raw: &str) -> Option<String> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && raw.len() <= 8192
        && !raw
            .chars()
            .any(|c| c == '\\' || c.is_whitespace() || c.is_control());
    ok.then(|| raw.to_string())
}

/// `sanitize`, falling back to the account page.
pub fn or_default(raw: Option<&str>) -> String {
    raw.and_then(sanitize)
        .unwrap_or_else(|| "/account".to_string())
}

/// Percent-encodes a path for use as a query value.
pub fn encode(path: &str) -> String {
    url::form_urlencoded::byte_serialize(path.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_survive() {
        assert_eq!(
            sanitize("/account?tab=1").as_deref(),
            Some("/account?tab=1")
        );
        for bad in [
            "//evil.com",
            "/\\evil.com",
            "https://evil.com",
            "evil.com",
            "/ /evil",
            "/\t/evil",
            "",
            "javascript:alert(1)",
        ] {
            assert_eq!(sanitize(bad), None, "{bad:?}");
        }
        assert_eq!(or_default(Some("https://evil.com")), "/account");
    }
}
