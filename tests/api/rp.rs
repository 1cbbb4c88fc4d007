//! A relying party built on the `openidconnect` crate, as a real application would use it.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RevocationUrl,
    Scope,
};
use portcullis::oidc::clients::{self, ClientSpec};

use crate::helpers::*;

pub type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub const REDIRECT: &str = "http://127.0.0.1:1/callback";

/// Registers a client directly in the database; returns (client_id, secret).
pub async fn register(app: &TestApp, spec: ClientSpec) -> (String, Option<String>) {
    let r = app
        .db
        .run(move |c| clients::register(c, &spec, "cli"))
        .await
        .unwrap();
    (r.client.id.to_string(), r.secret)
}

pub fn spec(name: &str) -> ClientSpec {
    ClientSpec {
        name: name.into(),
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec!["http://127.0.0.1:1/bye".into()],
        id_token_alg: "RS256".into(),
        ..Default::default()
    }
}

pub struct Rp {
    pub client: Client,
    pub http: openidconnect::reqwest::Client,
    pub client_id: String,
}

/// Discovery from the issuer URL alone, as certified libraries do.
pub async fn rp(app: &TestApp, client_id: &str, secret: Option<&str>) -> Rp {
    rp_at(app, client_id, secret, REDIRECT).await
}

/// The same, for a client whose redirect URI is `redirect` (a real page, for the browser suite).
pub async fn rp_at(app: &TestApp, client_id: &str, secret: Option<&str>, redirect: &str) -> Rp {
    let http = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(client_id.to_string()),
        secret.map(|s| ClientSecret::new(s.to_string())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.to_string()).unwrap())
    .set_revocation_url(RevocationUrl::new(format!("{}/revoke", app.address)).unwrap());
    Rp {
        client,
        http,
        client_id: client_id.into(),
    }
}

/// A started authorization: the URL to open and what the RP must remember.
pub struct Started {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: Option<PkceCodeVerifier>,
}

impl Rp {
    pub fn start(&self, scopes: &[&str], pkce: bool, extra: &[(&str, &str)]) -> Started {
        let mut req = self.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for s in scopes {
            req = req.add_scope(Scope::new(s.to_string()));
        }
        let mut verifier = None;
        if pkce {
            let (challenge, v) = PkceCodeChallenge::new_random_sha256();
            req = req.set_pkce_challenge(challenge);
            verifier = Some(v);
        }
        for (k, v) in extra {
            req = req.add_extra_param(*k, *v);
        }
        let (url, state, nonce) = req.url();
        Started {
            url: url.to_string(),
            state,
            nonce,
            verifier,
        }
    }

    pub async fn exchange(
        &self,
        code: &str,
        verifier: Option<PkceCodeVerifier>,
    ) -> Result<openidconnect::core::CoreTokenResponse, String> {
        let mut req = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .unwrap();
        if let Some(v) = verifier {
            req = req.set_pkce_verifier(v);
        }
        req.request_async(&self.http)
            .await
            .map_err(|e| format!("{e:?}"))
    }
}

/// Where the browser was finally sent: the client's redirect URI with its parameters.
#[derive(Debug)]
pub struct Callback {
    pub params: std::collections::HashMap<String, String>,
}

impl Callback {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.params.get(k).map(String::as_str)
    }
    pub fn code(&self) -> &str {
        self.get("code")
            .unwrap_or_else(|| panic!("no code in callback: {:?}", self.params))
    }
}

/// What the browser met on the way.
#[derive(Debug)]
pub enum Outcome {
    Callback(Callback),
    Login(String),
    Consent(String),
    Page(u16, String),
}

/// Follows redirects inside Portcullis until the browser leaves for the client or stops on a
/// page. `consent` decides what to answer on a consent page (None: stop there).
pub async fn drive(b: &Browser, start_url: &str, consent: Option<&str>) -> Outcome {
    let mut res = b.client.get(start_url).send().await.unwrap();
    for _ in 0..10 {
        let status = res.status().as_u16();
        if (300..400).contains(&status) {
            let loc = location(&res);
            if loc.starts_with(REDIRECT) {
                let url = url::Url::parse(&loc).unwrap();
                return Outcome::Callback(Callback {
                    params: url.query_pairs().into_owned().collect(),
                });
            }
            if loc.starts_with("/login") {
                return Outcome::Login(loc);
            }
            let next = if loc.starts_with('/') {
                format!("{}{}", b.base, loc)
            } else {
                loc
            };
            res = b.client.get(next).send().await.unwrap();
            continue;
        }
        let html = res.text().await.unwrap();
        if html.contains(r#"action="/authorize/consent""#) {
            let Some(decision) = consent else {
                return Outcome::Consent(html);
            };
            let sealed = extract(&html, r#"name="req" value=""#);
            res = b
                .client
                .post(format!("{}/authorize/consent", b.base))
                .form(&[
                    ("req", sealed.as_str()),
                    ("decision", decision),
                    ("csrf_token", &b.csrf().await),
                ])
                .send()
                .await
                .unwrap();
            continue;
        }
        if unescape(&html).contains(&format!(r#"action="{REDIRECT}""#)) {
            // form_post: collect the hidden fields.
            let mut params = std::collections::HashMap::new();
            for chunk in html.split("<input type=\"hidden\"").skip(1) {
                let name = between(chunk, "name=\"", "\"");
                let value = between(chunk, "value=\"", "\"");
                params.insert(unescape(&name), unescape(&value));
            }
            return Outcome::Callback(Callback { params });
        }
        return Outcome::Page(status, html);
    }
    panic!("too many redirects");
}

pub fn extract(html: &str, prefix: &str) -> String {
    let start = html
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} not in page"))
        + prefix.len();
    let end = html[start..].find('"').unwrap() + start;
    unescape(&html[start..end])
}

fn between(s: &str, a: &str, b: &str) -> String {
    let start = s.find(a).map(|i| i + a.len()).unwrap_or(0);
    let end = s[start..].find(b).map(|i| i + start).unwrap_or(s.len());
    s[start..end].to_string()
}

pub fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Signs the browser in on the login page it was sent to, then follows on.
pub async fn login_and_continue(
    b: &Browser,
    login_location: &str,
    email: &str,
    consent: Option<&str>,
) -> Outcome {
    let url = url::Url::parse(&format!("{}{}", b.base, login_location)).unwrap();
    let return_to = url
        .query_pairs()
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let res = b
        .post(
            "/login",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("return_to", &return_to),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "login failed");
    let next = location(&res);
    drive(b, &format!("{}{}", b.base, next), consent).await
}
