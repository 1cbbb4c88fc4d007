use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use portcullis::config::{Secret, Settings};
use portcullis::db::Db;
use portcullis::startup::Application;
use reqwest::cookie::CookieStore;

/// Generates `NAME::sqlite` and `NAME::postgres` tests from `async fn NAME(backend: Backend)`.
///
/// The PostgreSQL variant is compiled as ignored unless TEST_DATABASE_URL was set for the build
/// (`build.rs` sets `cfg(portcullis_postgres)`): a run without PostgreSQL lists it as ignored,
/// never as passed. `sqlite_only:` and `postgres_only:` lists generate only the one variant, for
/// behaviour that exists on one backend alone. `browser:` lists (the browser suite) are also
/// ignored when the build found no Chromium or no axe-core (`cfg(portcullis_browser)`).
macro_rules! backend_tests {
    (browser: $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(portcullis_browser), ignore = "install Chromium and e2e's axe-core to run the browser suite")]
            async fn sqlite() {
                super::$name(crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(portcullis_postgres), ignore = "set TEST_DATABASE_URL to run on PostgreSQL")]
            #[cfg_attr(
                all(portcullis_postgres, not(portcullis_browser)),
                ignore = "install Chromium and e2e's axe-core to run the browser suite"
            )]
            async fn postgres() {
                crate::helpers::require_postgres_at_run_time();
                super::$name(crate::helpers::Backend::Postgres).await
            }
        }
    )*};
    (sqlite_only: $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::helpers::Backend::Sqlite).await
            }
        }
    )*};
    (postgres_only: $($name:ident),* $(,)?) => {$(
        mod $name {
            backend_tests!(@postgres $name);
        }
    )*};
    (@postgres $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[cfg_attr(
            not(portcullis_postgres),
            ignore = "set TEST_DATABASE_URL to run on PostgreSQL"
        )]
        async fn postgres() {
            crate::helpers::require_postgres_at_run_time();
            super::$name(crate::helpers::Backend::Postgres).await
        }
    };
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::helpers::Backend::Sqlite).await
            }
            backend_tests!(@postgres $name);
        }
    )*};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A PostgreSQL variant runs (it is not ignored, or `--include-ignored` asked for it): the
/// database must be there now, whatever the build saw.
pub fn require_postgres_at_run_time() {
    assert!(
        std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()),
        "a PostgreSQL test variant ran without TEST_DATABASE_URL (set it, or leave the variant ignored)"
    );
}

/// CI sets TEST_REQUIRE_POSTGRES=1: then ignored PostgreSQL variants are a failure, not a note.
/// (The variants themselves cannot fail when they are ignored, so this test does it for them.)
#[test]
fn postgres_variants_run_when_required() {
    let required = std::env::var("TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    assert!(
        !required || cfg!(portcullis_postgres),
        "TEST_REQUIRE_POSTGRES=1 but this build saw no TEST_DATABASE_URL: the PostgreSQL variants are ignored"
    );
}

/// CI sets TEST_REQUIRE_BROWSER=1: then a build without Chromium or axe-core (which ignores the
/// browser suite) fails here.
#[test]
fn browser_suite_runs_when_required() {
    let required = std::env::var("TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    assert!(
        !required || cfg!(portcullis_browser),
        "TEST_REQUIRE_BROWSER=1 but this build found no Chromium or no e2e/node_modules/axe-core: the browser suite is ignored"
    );
}

/// A fresh database and data directory, dropped afterwards.
pub struct TestDb {
    pub url: String,
    pub data_dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        let data_dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", data_dir.path().join("test.db").display());
                TestDb {
                    url,
                    data_dir,
                    pg: None,
                }
            }
            Backend::Postgres => {
                let admin = std::env::var("TEST_DATABASE_URL").unwrap();
                let name = format!(
                    "portcullis_test_{}",
                    portcullis::crypto::random_token(9)
                        .to_lowercase()
                        .replace(['-', '_'], "x")
                );
                let mut conn =
                    diesel::PgConnection::establish(&admin).expect("connect to TEST_DATABASE_URL");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap();
                let mut url = url::Url::parse(&admin).unwrap();
                url.set_path(&name);
                TestDb {
                    url: url.to_string(),
                    data_dir,
                    pg: Some((admin, name)),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            if let Ok(mut conn) = diesel::PgConnection::establish(&admin) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub fn test_settings(db: &TestDb) -> Settings {
    let mut s = Settings::defaults().unwrap();
    s.listen = "127.0.0.1:0".parse().unwrap();
    s.data_dir = db.data_dir.path().to_path_buf();
    s.database.url = Secret::new(db.url.clone());
    s.database.pool_size = 4;
    // Cheap hashing: tests check behaviour, not cost.
    s.password.log_n = 4;
    s.password.p = 1;
    // Keys are re-read on demand in tests (rotation tests trigger it explicitly).
    s.keys.refresh_interval_secs = 3600;
    // Mail goes to .eml files in the test's data directory, quickly.
    s.mail.transport = portcullis::config::MailTransport::File;
    s.mail.file_dir = db.data_dir.path().join("mail");
    s.mail.poll_interval_secs = 1;
    s.mail.retry_base_secs = 1;
    s.session.sweep_interval_secs = 3600;
    // Every test browser comes from 127.0.0.1: tests that sign many people up must not hit the
    // per-IP limit (the limit's own test sets it low).
    s.accounts.signup_per_ip_per_hour = 10_000;
    s
}

pub struct TestApp {
    pub address: String,
    pub db: Db,
    pub settings: Settings,
    pub test_db: Arc<TestDb>,
    handle: Option<actix_web::dev::ServerHandle>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let test_db = Arc::new(TestDb::new(backend));
    let mut settings = test_settings(&test_db);
    tweak(&mut settings);
    start(settings, test_db).await
}

/// Issuer placeholder: the server is reached as `http://localhost:PORT`.
const LOCALHOST_ISSUER: &str = "http://localhost:8080";

/// An app reached as `http://localhost:PORT` (still listening on 127.0.0.1): what WebAuthn needs,
/// since an IP address cannot be a relying party ID and plain http is a secure context only on
/// localhost.
pub async fn spawn_app_on_localhost(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    spawn_app_with(backend, |s| {
        s.issuer = LOCALHOST_ISSUER.to_string();
        tweak(s);
    })
    .await
}

async fn start(mut settings: Settings, test_db: Arc<TestDb>) -> TestApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut address = format!("http://127.0.0.1:{port}");
    // The issuer is this very server, as a relying party will see it (unless a test set one).
    if settings.issuer == "http://127.0.0.1:8080" {
        settings.issuer = address.clone();
    } else if settings.issuer == LOCALHOST_ISSUER
        || settings.issuer.starts_with("http://localhost:")
    {
        address = format!("http://localhost:{port}");
        settings.issuer = address.clone();
    }
    let app = Application::build_on(settings.clone(), listener)
        .await
        .expect("application builds");
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let db = Db::connect(&test_db.url, 2, Duration::from_secs(5)).unwrap();
    TestApp {
        address,
        db,
        settings,
        test_db,
        handle: Some(handle),
    }
}

impl TestApp {
    /// Wraps a server started by the test itself.
    pub fn attach(address: String, settings: Settings, test_db: Arc<TestDb>) -> TestApp {
        let db = Db::connect(&test_db.url, 2, Duration::from_secs(5)).unwrap();
        TestApp {
            address,
            db,
            settings,
            test_db,
            handle: None,
        }
    }

    /// Stops this server and starts a new one on the same database and data directory.
    pub async fn restart(self) -> TestApp {
        if let Some(h) = &self.handle {
            h.stop(true).await;
        }
        start(self.settings.clone(), self.test_db.clone()).await
    }

    pub async fn restart_with(self, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        if let Some(h) = &self.handle {
            h.stop(true).await;
        }
        let mut settings = self.settings.clone();
        tweak(&mut settings);
        start(settings, self.test_db.clone()).await
    }

    /// A browser: its own cookie jar, no automatic redirects.
    pub fn browser(&self) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
            .build()
            .unwrap();
        Browser {
            client,
            jar,
            base: self.address.clone(),
        }
    }

    /// Runs a query against the app's database.
    pub async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut portcullis::db::DbConnection) -> diesel::QueryResult<T> + Send + 'static,
    ) -> T {
        self.db.run(move |c| Ok(f(c)?)).await.unwrap()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.test_db.data_dir.path().to_path_buf()
    }
}

pub struct Browser {
    pub client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    pub base: String,
}

impl Browser {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap()
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_string))
    }

    /// The CSRF token a page would embed (the double-submit value of the cookie).
    pub async fn csrf(&self) -> String {
        if self.cookie("portcullis_csrf").is_none() {
            self.get("/login").await;
        }
        self.cookie("portcullis_csrf").expect("csrf cookie")
    }

    /// Posts a form with the CSRF token added, as the page's own form would.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_raw(path, &all).await
    }

    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{}", self.base, path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    pub async fn signup(&self, name: &str, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/signup",
            &[("name", name), ("email", email), ("password", password)],
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post("/login", &[("email", email), ("password", password)])
            .await
    }

    pub async fn session_token(&self) -> Option<String> {
        self.cookie("portcullis_session")
    }
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// A signed-up and signed-in browser.
pub async fn signed_up(app: &TestApp, email: &str) -> Browser {
    let b = app.browser();
    let res = b.signup("Ada Lovelace", email, PASSWORD).await;
    assert_eq!(
        res.status(),
        303,
        "sign-up failed: {}",
        res.text().await.unwrap()
    );
    b
}

pub const PASSWORD: &str = "correct horse battery";

/// A message the file transport wrote.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub raw: String,
}

impl SentMail {
    pub fn is_to(&self, email: &str) -> bool {
        self.raw.lines().any(|l| {
            l.to_ascii_lowercase().starts_with("to:")
                && l.to_ascii_lowercase().contains(&email.to_ascii_lowercase())
        })
    }
}

impl TestApp {
    /// Every message written so far by the file transport.
    pub fn mails(&self) -> Vec<SentMail> {
        let dir = self.settings.mail.file_dir.clone();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .into_iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .map(|raw| SentMail { raw })
            .collect()
    }
}
