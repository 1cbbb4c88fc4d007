//! A fake Google: an OpenID Provider on wiremock (discovery, JWKS, token endpoint) that signs
//! its own RS256 ID tokens. The authorization endpoint is never called: tests read `state`,
//! `nonce` and the PKCE challenge from the URL Portcullis redirects to, then answer the token
//! request of that one flow.

use std::sync::atomic::{AtomicU32, Ordering};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wiremock::matchers::{basic_auth, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

pub const CLIENT_ID: &str = "gid";
pub const CLIENT_SECRET: &str = "gsecret";
pub const ACCESS_TOKEN: &str = "ya29.fake-google-access-token";
pub const REFRESH_TOKEN: &str = "1//fake-google-refresh-token";
pub const KID: &str = "fake-google-key-1";

/// An RSA key that signs ID tokens, with its public JWK.
pub struct SigningKey {
    kid: String,
    key: EncodingKey,
    pub jwk: Value,
}

impl SigningKey {
    pub fn generate(kid: &str) -> SigningKey {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key");
        // `as_der` is PKCS#8; jsonwebtoken reads PKCS#8 from a "PRIVATE KEY" PEM.
        let der = pair.as_der().expect("PKCS#8 DER");
        let b64 = STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        );
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("PEM key");
        let c = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(&c.n),
            "e": URL_SAFE_NO_PAD.encode(&c.e),
        });
        SigningKey {
            kid: kid.to_string(),
            key,
            jwk,
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).expect("sign ID token")
    }
}

/// Who signs in at the fake Google.
#[derive(Debug, Clone)]
pub struct Person {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    pub picture: String,
}

/// A Google account with a verified address.
pub fn person(sub: &str, email: &str) -> Person {
    Person {
        sub: sub.into(),
        email: email.into(),
        email_verified: true,
        name: "Grace Hopper".into(),
        picture: format!("https://lh3.googleusercontent.example/a/{sub}=s96-c"),
    }
}

impl Person {
    pub fn unverified(mut self) -> Person {
        self.email_verified = false;
        self
    }
}

/// One authorization request as Portcullis sent it to the fake, plus the code the fake "issued".
#[derive(Debug, Clone)]
pub struct Authorization {
    pub url: url::Url,
    pub state: String,
    pub nonce: String,
    pub code_challenge: String,
    pub redirect_uri: String,
    pub code: String,
}

impl Authorization {
    pub fn param(&self, name: &str) -> Option<String> {
        self.url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

pub struct FakeGoogle {
    pub server: MockServer,
    pub key: SigningKey,
    codes: AtomicU32,
}

impl FakeGoogle {
    pub async fn start() -> FakeGoogle {
        let server = MockServer::start().await;
        let key = SigningKey::generate(KID);
        let issuer = server.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "jwks_uri": format!("{issuer}/jwks"),
                "userinfo_endpoint": format!("{issuer}/userinfo"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256", "plain"],
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({ "keys": [key.jwk.clone()] })),
            )
            .mount(&server)
            .await;
        FakeGoogle {
            server,
            key,
            codes: AtomicU32::new(0),
        }
    }

    pub fn issuer(&self) -> String {
        self.server.uri()
    }

    /// Reads the authorization request Portcullis redirected the browser to.
    pub fn authorization(&self, location: &str) -> Authorization {
        let expected = format!("{}/authorize?", self.issuer());
        assert!(
            location.starts_with(&expected),
            "not sent to the fake Google's authorization endpoint: {location}"
        );
        let url = url::Url::parse(location).unwrap();
        let get = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| panic!("no {name} in {location}"))
        };
        let n = self.codes.fetch_add(1, Ordering::SeqCst) + 1;
        Authorization {
            state: get("state"),
            nonce: get("nonce"),
            code_challenge: get("code_challenge"),
            redirect_uri: get("redirect_uri"),
            code: format!("abc{n}"),
            url,
        }
    }

    /// The claims of a valid ID token for this flow and person.
    pub fn claims(&self, auth: &Authorization, p: &Person) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer(),
            "aud": CLIENT_ID,
            "sub": p.sub,
            "exp": now + 3600,
            "iat": now,
            "nonce": auth.nonce,
            "email": p.email,
            "email_verified": p.email_verified,
            "name": p.name,
            "picture": p.picture,
        })
    }

    /// A token response carrying this ID token.
    pub fn token_response(id_token: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).insert_header("cache-control", "no-store").set_body_json(json!({
            "access_token": ACCESS_TOKEN,
            "token_type": "Bearer",
            "expires_in": 3599,
            "refresh_token": REFRESH_TOKEN,
            "scope": "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile",
            "id_token": id_token,
        }))
    }

    /// Answers the token request of this flow (once) with `response`. The request only matches
    /// when it is what a correct client sends: Basic client authentication, this flow's code and
    /// redirect URI, and a PKCE verifier whose S256 hash is the challenge sent at the start.
    pub async fn answer_token(&self, auth: &Authorization, response: ResponseTemplate) {
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(basic_auth(CLIENT_ID, CLIENT_SECRET))
            .and(FormParam("grant_type", "authorization_code".into()))
            .and(FormParam("code", auth.code.clone()))
            .and(FormParam("redirect_uri", auth.redirect_uri.clone()))
            .and(PkceS256(auth.code_challenge.clone()))
            .respond_with(response)
            .up_to_n_times(1)
            .mount(&self.server)
            .await;
    }

    /// Answers this flow's token request with a valid ID token for `p`; returns the ID token.
    pub async fn answer_with_person(&self, auth: &Authorization, p: &Person) -> String {
        let id_token = self.key.sign(&self.claims(auth, p));
        self.answer_token(auth, Self::token_response(&id_token))
            .await;
        id_token
    }

    /// How many token requests reached the fake.
    pub async fn token_requests(&self) -> usize {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/token")
            .count()
    }
}

fn form_value(req: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(&req.body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A form field of the request body has exactly this value.
struct FormParam(&'static str, String);

impl Match for FormParam {
    fn matches(&self, req: &Request) -> bool {
        form_value(req, self.0).as_deref() == Some(self.1.as_str())
    }
}

/// The `code_verifier` hashes (S256) to the challenge of the authorization request.
struct PkceS256(String);

impl Match for PkceS256 {
    fn matches(&self, req: &Request) -> bool {
        form_value(req, "code_verifier")
            .is_some_and(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == self.0)
    }
}
