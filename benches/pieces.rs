//! Criterion benches for the hot pieces: token signing per algorithm, token verification,
//! scrypt with the configured parameters, and the code-exchange transaction on each backend
//! (PostgreSQL when BENCH_DATABASE_URL is set). Run: `cargo bench --bench pieces`.

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use portcullis::config::{Secret, Settings};
use portcullis::crypto::MasterKey;
use portcullis::db::models::Session;
use portcullis::db::{self, Db};
use portcullis::identity::credentials::{create_user, NewIdentity};
use portcullis::identity::email::Email;
use portcullis::identity::now;
use portcullis::identity::password::PasswordHasher;
use portcullis::identity::sessions::{self, AuthMethod, ClientInfo, SessionPolicy};
use portcullis::oidc::authorize::{self, AuthorizationRequest, ResponseMode};
use portcullis::oidc::claims::AccessClaims;
use portcullis::oidc::clients::{self, Client, ClientSpec};
use portcullis::oidc::keys::{Alg, KeyStore};
use portcullis::oidc::{jwt, token, Lifetimes, Provider};

struct Fixture {
    db: Db,
    provider: Arc<Provider>,
    client: Client,
    session: Session,
    _dir: tempfile::TempDir,
}

fn fixture(rt: &tokio::runtime::Runtime, url: Option<String>) -> Fixture {
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url =
            url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
        let mut settings = Settings::defaults().unwrap();
        settings.database.url = Secret::new(url.clone());
        settings.data_dir = dir.path().to_path_buf();
        let db = Db::connect(&url, 4, Duration::from_secs(5)).unwrap();
        db.run(db::run_migrations).await.unwrap();
        let mk = MasterKey::from_hex(&"42".repeat(32)).unwrap();
        let lifetimes = Lifetimes::from(&settings.oidc);
        let keys = Arc::new(
            KeyStore::open(
                db.clone(),
                mk,
                settings.keys.clone(),
                lifetimes.key_retention(),
            )
            .await
            .unwrap(),
        );
        let provider = Arc::new(Provider::new(&settings, keys).unwrap());
        let policy = SessionPolicy::from(&settings.session);
        let (client, session) = db
            .run(move |c| {
                let spec = ClientSpec {
                    name: "bench".into(),
                    redirect_uris: vec!["https://app.example/cb".into()],
                    skip_consent: true,
                    id_token_alg: "RS256".into(),
                    ..Default::default()
                };
                let client = clients::register(c, &spec, "cli")?.client;
                let email = Email::parse(&format!(
                    "bench-{}@example.com",
                    portcullis::crypto::random_token(6).to_lowercase()
                ))
                .unwrap();
                let user = create_user(
                    c,
                    &NewIdentity {
                        email: &email,
                        name: "Bench",
                        password_hash: Some("x"),
                        email_verified: true,
                        is_admin: false,
                    },
                )?
                .unwrap();
                let issued = sessions::open(
                    c,
                    &policy,
                    &user.id,
                    AuthMethod::Password,
                    &ClientInfo::default(),
                    now(),
                )?;
                let session =
                    Session::find_by_token_hash(c, &portcullis::crypto::sha256_hex(&issued.token))?
                        .unwrap();
                Ok((client, session))
            })
            .await
            .unwrap();
        Fixture {
            db,
            provider,
            client,
            session,
            _dir: dir,
        }
    })
}

fn request(f: &Fixture) -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: f.client.id.clone(),
        redirect_uri: "https://app.example/cb".into(),
        response_mode: ResponseMode::Query,
        state: None,
        scope: "openid offline_access".into(),
        nonce: Some("n".into()),
        code_challenge: None,
        prompt: vec![],
        max_age: None,
        id_token_hint: None,
        login_hint: None,
        ui_locales: None,
        wants_mfa: false,
        issued_at: now().and_utc().timestamp_micros(),
    }
}

fn signing(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let f = fixture(&rt, None);
    let keys = f.provider.keys.current();
    let claims = AccessClaims {
        iss: "https://id.example".into(),
        sub: "usr_x".into(),
        aud: "https://id.example".into(),
        client_id: portcullis::identity::ids::ClientId::parse("cli_x").unwrap(),
        exp: 2_000_000_000,
        iat: 1_700_000_000,
        jti: "j".into(),
        scope: "openid".into(),
        auth_time: None,
        sid: None,
        gid: None,
    };
    for alg in Alg::ALL {
        let signer = keys.signer(alg).unwrap();
        c.bench_function(&format!("sign access token {}", alg.as_str()), |b| {
            b.iter(|| jwt::sign(signer, "at+jwt", &claims).unwrap())
        });
        let token = jwt::sign(signer, "at+jwt", &claims).unwrap();
        c.bench_function(&format!("verify access token {}", alg.as_str()), |b| {
            b.iter(|| jwt::verify::<AccessClaims>(&keys, &token, Some("at+jwt"), false).unwrap())
        });
    }
}

fn scrypt(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let settings = Settings::defaults().unwrap();
    let hasher = PasswordHasher::new(&settings.password, 1).unwrap();
    let hash = rt
        .block_on(hasher.hash("correct horse battery".into()))
        .unwrap();
    let mut group = c.benchmark_group("scrypt");
    group.sample_size(10);
    group.bench_function(
        format!(
            "verify N=2^{},r={},p={}",
            settings.password.log_n, settings.password.r, settings.password.p
        ),
        |b| {
            b.iter(|| {
                rt.block_on(hasher.verify("correct horse battery".into(), Some(hash.clone())))
                    .unwrap()
            })
        },
    );
    group.finish();
}

fn code_exchange(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut backends = vec![("sqlite", None)];
    if let Ok(url) = std::env::var("BENCH_DATABASE_URL") {
        backends.push(("postgres", Some(url)));
    }
    for (name, url) in backends {
        let f = fixture(&rt, url);
        c.bench_function(&format!("code exchange transaction ({name})"), |b| {
            b.iter_batched(
                || {
                    let (req, session, lifetimes) =
                        (request(&f), f.session.clone(), f.provider.lifetimes);
                    rt.block_on(f.db.run(move |conn| {
                        authorize::issue_code(conn, &req, &session, &lifetimes, now())
                    }))
                    .unwrap()
                },
                |code| {
                    let (provider, client) = (f.provider.clone(), f.client.clone());
                    rt.block_on(f.db.run(move |conn| {
                        let request = token::TokenRequest::AuthorizationCode {
                            code,
                            redirect_uri: Some("https://app.example/cb".into()),
                            code_verifier: None,
                        };
                        Ok(token::exchange(conn, &provider, &client, request, now()))
                    }))
                    .unwrap()
                    .unwrap()
                },
                BatchSize::SmallInput,
            )
        });
    }
}

criterion_group!(benches, signing, scrypt, code_exchange);
criterion_main!(benches);
