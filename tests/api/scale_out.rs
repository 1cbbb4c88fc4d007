//! Scale-out: two `portcullis serve` processes on one PostgreSQL database behind a round-robin
//! TCP proxy. Users sign in, run the authorization code flow, refresh and sign out through the
//! proxy while one replica is killed (SIGKILL) mid-load. Afterwards no user, session, grant or
//! back-channel logout is lost, and the only requests that failed were in flight on the killed
//! replica.
//!
//! PostgreSQL only: the test is compiled as ignored unless `cfg(portcullis_postgres)` is set (by
//! build.rs when TEST_DATABASE_URL is), so a SQLite-only run lists it as ignored.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::prelude::*;
use portcullis::db::models::BackchannelLogout;
use portcullis::db::schema::{backchannel_outbox, oauth_grant, sessions, users};
use portcullis::db::Db;
use reqwest::cookie::CookieStore;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{Backend, TestDb, PASSWORD};

const USERS: usize = 12;
/// How long the users keep going, and when (from the start of the load) replica 0 dies.
const LOAD: Duration = Duration::from_secs(6);
const KILL_AT: Duration = Duration::from_secs(3);
const MASTER_KEY: &str = "5f1c0a7e9b3d4c2a18e6f0b7c9d2e4a6b8c0d1e3f5a7b9c2d4e6f8a0b1c3d5e7";
const REDIRECT: &str = "http://127.0.0.1:1/cb";

/// One `portcullis serve` process; killed when dropped.
struct Replica {
    child: Child,
    port: u16,
}

impl Replica {
    fn start(db_url: &str, data_dir: &Path, issuer: &str) -> Replica {
        Self::start_with(db_url, data_dir, issuer, &[])
    }

    fn start_with(db_url: &str, data_dir: &Path, issuer: &str, env: &[(&str, &str)]) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .arg("serve")
            .env("PORTCULLIS_LISTEN", "127.0.0.1:0")
            .env("PORTCULLIS_ISSUER", issuer)
            .env("PORTCULLIS_DATABASE__URL", db_url)
            .env("PORTCULLIS_DATABASE__POOL_SIZE", "6")
            .env("PORTCULLIS_DATA_DIR", data_dir)
            .env("PORTCULLIS_MASTER_KEY", MASTER_KEY)
            .env("PORTCULLIS_PASSWORD__LOG_N", "4")
            .env("PORTCULLIS_PASSWORD__P", "1")
            // Every simulated user signs up from 127.0.0.1.
            .env("PORTCULLIS_ACCOUNTS__SIGNUP_PER_IP_PER_HOUR", "100000")
            .env("PORTCULLIS_MAIL__TRANSPORT", "file")
            .env("PORTCULLIS_MAIL__FILE_DIR", data_dir.join("mail"))
            // A dead replica's claims run out after 3 s; the survivor looks every second.
            .env("PORTCULLIS_OIDC__BACKCHANNEL_TIMEOUT_SECS", "2")
            .env("PORTCULLIS_OIDC__BACKCHANNEL_LEASE_SECS", "3")
            .env("PORTCULLIS_OIDC__BACKCHANNEL_POLL_INTERVAL_SECS", "1")
            .env("PORTCULLIS_OIDC__BACKCHANNEL_RETRY_BASE_SECS", "1")
            .env("PORTCULLIS_LOG__FORMAT", "json")
            .env("PORTCULLIS_LOG__FILTER", "info")
            .envs(env.iter().copied())
            .env_remove("PORTCULLIS_CONFIG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut log = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(json) = serde_json::from_str::<Value>(&line) {
                    if json["message"] == "portcullis listening" {
                        let port = json["port"]
                            .as_str()
                            .and_then(|p| p.parse().ok())
                            .or(json["port"].as_u64().and_then(|p| u16::try_from(p).ok()));
                        let _ = tx.send(Ok(port.unwrap()));
                    }
                }
                log.push(line);
            }
            let _ = tx.send(Err(log.join("\n")));
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(port)) => Replica { child, port },
            Ok(Err(log)) => panic!("the replica exited before listening:\n{log}"),
            Err(_) => panic!("the replica did not start listening within 60 s"),
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One client connection as the proxy saw it.
#[derive(Debug, Clone)]
struct Conn {
    peer: IpAddr,
    backend: usize,
    opened: Instant,
    closed: Option<Instant>,
}

/// A round-robin TCP proxy, like a load balancer without health checks: a replica marked dead
/// gets no new connections, and a refused connect is tried on the next replica (nothing was
/// sent yet). It remembers which connection went where.
struct Proxy {
    backends: Vec<SocketAddr>,
    dead: Vec<AtomicBool>,
    next: AtomicUsize,
    conns: Mutex<Vec<Conn>>,
}

impl Proxy {
    fn spawn(listener: TcpListener, backends: Vec<SocketAddr>) -> Arc<Proxy> {
        let proxy = Arc::new(Proxy {
            dead: backends.iter().map(|_| AtomicBool::new(false)).collect(),
            backends,
            next: AtomicUsize::new(0),
            conns: Mutex::new(Vec::new()),
        });
        let p = proxy.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, peer)) = listener.accept().await else {
                    continue;
                };
                let p = p.clone();
                tokio::spawn(async move {
                    let opened = Instant::now();
                    let Some((backend, mut outbound)) = p.connect().await else {
                        return;
                    };
                    let index = {
                        let mut conns = p.conns.lock().unwrap();
                        conns.push(Conn {
                            peer: peer.ip(),
                            backend,
                            opened,
                            closed: None,
                        });
                        conns.len() - 1
                    };
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    p.conns.lock().unwrap()[index].closed = Some(Instant::now());
                });
            }
        });
        proxy
    }

    async fn connect(&self) -> Option<(usize, TcpStream)> {
        for _ in 0..self.backends.len() * 2 {
            let i = self.next.fetch_add(1, Ordering::SeqCst) % self.backends.len();
            if self.dead[i].load(Ordering::SeqCst) {
                continue;
            }
            if let Ok(s) = TcpStream::connect(self.backends[i]).await {
                return Some((i, s));
            }
        }
        None
    }
}

/// One request as a user made it.
#[derive(Debug, Clone)]
struct Attempt {
    user: usize,
    what: &'static str,
    started: Instant,
    ended: Instant,
    /// The status, or the transport error.
    outcome: Result<u16, String>,
}

struct Reply {
    status: u16,
    location: String,
    body: String,
}

/// A browser (and RP) of its own: own cookie jar, own source address (127.0.0.X, so the proxy
/// can tell users apart), one connection per request (so a request is one proxied connection).
struct User {
    n: usize,
    email: String,
    ip: IpAddr,
    http: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    base: String,
    log: Arc<Mutex<Vec<Attempt>>>,
}

impl User {
    fn new(n: usize, base: &str, log: Arc<Mutex<Vec<Attempt>>>) -> User {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, u8::try_from(10 + n).unwrap()));
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .local_address(ip)
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap();
        User {
            n,
            email: format!("user{n}@example.com"),
            ip,
            http,
            jar,
            base: base.to_string(),
            log,
        }
    }

    async fn send(&self, what: &'static str, req: reqwest::RequestBuilder) -> Option<Reply> {
        let started = Instant::now();
        let result = async {
            let res = req.send().await?;
            let status = res.status().as_u16();
            let location = res
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let body = res.text().await?;
            Ok::<_, reqwest::Error>(Reply {
                status,
                location,
                body,
            })
        }
        .await;
        self.log.lock().unwrap().push(Attempt {
            user: self.n,
            what,
            started,
            ended: Instant::now(),
            outcome: result
                .as_ref()
                .map(|r| r.status)
                .map_err(|e| format!("{e:?}")),
        });
        result.ok()
    }

    /// The reply, if it came and had this status (anything else is recorded as a failure).
    async fn expect(
        &self,
        what: &'static str,
        status: u16,
        req: reqwest::RequestBuilder,
    ) -> Option<Reply> {
        let reply = self.send(what, req).await?;
        if reply.status != status {
            let mut log = self.log.lock().unwrap();
            let last = log.last_mut().unwrap();
            last.outcome = Err(format!(
                "HTTP {} (expected {status}): {}",
                reply.status, reply.body
            ));
            return None;
        }
        Some(reply)
    }

    fn csrf(&self) -> Option<String> {
        let header = self.jar.cookies(&self.base.parse().unwrap())?;
        header
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|kv| kv.strip_prefix("portcullis_csrf=").map(str::to_string))
    }

    async fn form(&self, what: &'static str, path: &str, fields: &[(&str, &str)]) -> Option<Reply> {
        if self.csrf().is_none() {
            self.expect("csrf", 200, self.http.get(format!("{}/login", self.base)))
                .await?;
        }
        let token = self.csrf()?;
        let mut all = fields.to_vec();
        all.push(("csrf_token", &token));
        self.expect(
            what,
            303,
            self.http.post(format!("{}{path}", self.base)).form(&all),
        )
        .await
    }

    /// Whether the server knows this browser's session (`GET /account`).
    async fn signed_in(&self) -> Option<bool> {
        let reply = self
            .send("account", self.http.get(format!("{}/account", self.base)))
            .await?;
        match reply.status {
            200 => Some(true),
            303 => Some(false),
            _ => None,
        }
    }
}

/// What one user ended with.
#[derive(Debug, Default)]
struct Outcome {
    /// Whether the user should be signed in now (None: the last answer was lost).
    signed_in: Option<bool>,
    /// The newest refresh token the user holds (None: a rotation's answer was lost).
    refresh_token: Option<String>,
    /// `sid`s of ID tokens received, and of sessions signed out with a 303.
    sids: Vec<String>,
    signed_out_sids: Vec<String>,
    exchanges: usize,
    refreshes: usize,
}

struct ClientApp {
    id: String,
    secret: String,
}

fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Rounds of: sign in (if needed), authorize, exchange the code, refresh twice, sign out.
/// After a lost answer the user finds out where they stand instead of assuming.
async fn run_user(user: User, client: Arc<ClientApp>, stop: Arc<AtomicBool>) -> (User, Outcome) {
    let mut out = Outcome::default();
    let signup = user
        .form(
            "signup",
            "/signup",
            &[
                ("name", "Scale Out"),
                ("email", &user.email),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(signup.is_some(), "user {} could not sign up", user.n);
    out.signed_in = Some(true);
    let mut round = 0;
    while !stop.load(Ordering::SeqCst) {
        round += 1;
        if out.signed_in.is_none() {
            out.signed_in = user.signed_in().await;
            continue;
        }
        if out.signed_in == Some(false) {
            let login = user
                .form(
                    "login",
                    "/login",
                    &[("email", &user.email), ("password", PASSWORD)],
                )
                .await;
            out.signed_in = login.map(|_| true);
            continue;
        }
        let state = format!("s{round}");
        let authorize = url::Url::parse_with_params(
            &format!("{}/authorize", user.base),
            &[
                ("response_type", "code"),
                ("client_id", client.id.as_str()),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("state", state.as_str()),
                ("nonce", "n"),
            ],
        )
        .unwrap();
        let Some(reply) = user.send("authorize", user.http.get(authorize)).await else {
            out.signed_in = None;
            continue;
        };
        let Some(code) = url::Url::parse(&reply.location).ok().and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.to_string())
        }) else {
            let mut log = user.log.lock().unwrap();
            log.last_mut().unwrap().outcome = Err(format!(
                "authorize answered {} to {}: {}",
                reply.status, reply.location, reply.body
            ));
            break;
        };
        let token = |form: Vec<(&'static str, String)>| {
            user.http
                .post(format!("{}/token", user.base))
                .basic_auth(&client.id, Some(&client.secret))
                .form(&form)
        };
        let Some(reply) = user
            .expect(
                "code exchange",
                200,
                token(vec![
                    ("grant_type", "authorization_code".into()),
                    ("code", code),
                    ("redirect_uri", REDIRECT.into()),
                ]),
            )
            .await
        else {
            continue;
        };
        let tokens: Value = serde_json::from_str(&reply.body).unwrap();
        let sid = jwt_claims(tokens["id_token"].as_str().unwrap())["sid"]
            .as_str()
            .unwrap()
            .to_string();
        out.sids.push(sid.clone());
        out.exchanges += 1;
        out.refresh_token = tokens["refresh_token"].as_str().map(str::to_string);
        for _ in 0..2 {
            let Some(current) = out.refresh_token.take() else {
                break;
            };
            let reply = user
                .expect(
                    "refresh",
                    200,
                    token(vec![
                        ("grant_type", "refresh_token".into()),
                        ("refresh_token", current),
                    ]),
                )
                .await;
            // A lost answer may still have rotated the token: it is not used again.
            out.refresh_token = reply.and_then(|r| {
                serde_json::from_str::<Value>(&r.body).unwrap()["refresh_token"]
                    .as_str()
                    .map(str::to_string)
            });
            out.refreshes += usize::from(out.refresh_token.is_some());
        }
        match user.form("logout", "/logout", &[]).await {
            Some(_) => {
                out.signed_in = Some(false);
                out.signed_out_sids.push(sid);
            }
            None => out.signed_in = None,
        }
    }
    (user, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(portcullis_postgres),
    ignore = "needs PostgreSQL (TEST_DATABASE_URL at build time)"
)]
async fn two_replicas_lose_nothing_when_one_is_killed_mid_load() {
    let db = TestDb::new(Backend::Postgres);
    let proxy_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", proxy_listener.local_addr().unwrap());

    // The client's back-channel endpoint answers slowly, so that deliveries are in flight
    // (claimed by replica 0) when replica 0 dies.
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/bc"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(800)))
        .mount(&receiver)
        .await;

    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    // One after the other: the first applies the migrations and creates the signing keys.
    let first = Replica::start(&db.url, dirs[0].path(), &base);
    let second = Replica::start(&db.url, dirs[1].path(), &base);
    let mut replicas = [first, second];
    let proxy = Proxy::spawn(
        proxy_listener,
        replicas
            .iter()
            .map(|r| SocketAddr::from(([127, 0, 0, 1], r.port)))
            .collect(),
    );

    let created = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args([
            "client",
            "create",
            "--name",
            "Scale",
            "--redirect-uri",
            REDIRECT,
        ])
        .args(["--skip-consent", "--always-refresh", "--json"])
        .arg("--backchannel-logout-uri")
        .arg(format!("{}/bc", receiver.uri()))
        .env("PORTCULLIS_DATABASE__URL", &db.url)
        .env("PORTCULLIS_DATA_DIR", dirs[0].path())
        .env("PORTCULLIS_MASTER_KEY", MASTER_KEY)
        .env("PORTCULLIS_LOG__FILTER", "warn")
        .env_remove("PORTCULLIS_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    let client = Arc::new(ClientApp {
        id: created["client_id"].as_str().unwrap().to_string(),
        secret: created["client_secret"].as_str().unwrap().to_string(),
    });

    // The load.
    let log = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let users: Vec<_> = (0..USERS)
        .map(|n| {
            tokio::spawn(run_user(
                User::new(n, &base, log.clone()),
                client.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(KILL_AT).await;
    proxy.dead[0].store(true, Ordering::SeqCst);
    replicas[0].child.kill().unwrap();
    let killed_at = Instant::now();
    let killed_wall = chrono::Utc::now().naive_utc();
    replicas[0].child.wait().unwrap();
    tokio::time::sleep(LOAD.saturating_sub(started.elapsed())).await;
    stop.store(true, Ordering::SeqCst);
    let mut outcomes = Vec::new();
    for u in users {
        outcomes.push(u.await.unwrap());
    }
    let load_time = started.elapsed();
    let attempts = log.lock().unwrap().clone();
    let conns = proxy.conns.lock().unwrap().clone();

    // Only requests in flight on the killed replica failed, and only by losing their connection.
    let ip_of = |user: usize| outcomes[user].0.ip;
    let in_flight_on_killed: Vec<&Conn> = conns
        .iter()
        .filter(|c| c.backend == 0 && c.opened <= killed_at)
        .filter(|c| c.closed.is_none_or(|closed| closed >= killed_at))
        .collect();
    let failed: Vec<&Attempt> = attempts.iter().filter(|a| a.outcome.is_err()).collect();
    for f in &failed {
        let error = f.outcome.as_ref().unwrap_err();
        assert!(
            !error.starts_with("HTTP") && !error.starts_with("authorize"),
            "user {} {}: {error}",
            f.user,
            f.what
        );
        let explained = in_flight_on_killed
            .iter()
            .any(|c| c.peer == ip_of(f.user) && c.opened >= f.started && c.opened <= f.ended);
        assert!(
            explained && f.ended >= killed_at,
            "user {} {} failed but was not in flight on the killed replica: {error}",
            f.user,
            f.what
        );
    }
    let served = |backend: usize| conns.iter().filter(|c| c.backend == backend).count();
    assert!(
        served(0) > 0 && conns.iter().any(|c| c.backend == 1 && c.opened > killed_at),
        "both replicas served, the survivor after the kill"
    );

    // Every back-channel logout is delivered, exactly once per jti as the client counts.
    let app_db = Db::connect(&db.url, 2, Duration::from_secs(5)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let rows = loop {
        let rows: Vec<BackchannelLogout> = app_db
            .run(|c| {
                Ok(backchannel_outbox::table
                    .select(BackchannelLogout::as_select())
                    .load(c)?)
            })
            .await
            .unwrap();
        if rows.iter().all(|r| r.status == "delivered") || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let undelivered: Vec<_> = rows.iter().filter(|r| r.status != "delivered").collect();
    assert!(undelivered.is_empty(), "not delivered: {undelivered:#?}");
    let received = receiver.received_requests().await.unwrap();
    let mut told: HashMap<String, String> = HashMap::new();
    for r in &received {
        let form: HashMap<String, String> =
            url::form_urlencoded::parse(&r.body).into_owned().collect();
        let claims = jwt_claims(&form["logout_token"]);
        assert_eq!(claims["aud"], client.id.as_str());
        told.insert(
            claims["jti"].as_str().unwrap().to_string(),
            claims["sid"].as_str().unwrap().to_string(),
        );
    }
    let row_jtis: HashSet<&str> = rows.iter().map(|r| r.jti.as_str()).collect();
    let told_jtis: HashSet<&str> = told.keys().map(String::as_str).collect();
    assert_eq!(
        told_jtis, row_jtis,
        "every queued logout reached the client"
    );
    let told_sids: HashSet<&str> = told.values().map(String::as_str).collect();

    // Every session that ended had its clients told; none that lives was.
    let client_id = client.id.clone();
    let (grant_sids, live_sessions, user_count): (Vec<Option<String>>, Vec<String>, i64) = app_db
        .run(move |c| {
            Ok((
                oauth_grant::table
                    .filter(oauth_grant::client_id.eq(client_id))
                    .select(oauth_grant::session_id)
                    .load(c)?,
                sessions::table.select(sessions::id).load(c)?,
                users::table.count().get_result(c)?,
            ))
        })
        .await
        .unwrap();
    let live: HashSet<&str> = live_sessions.iter().map(String::as_str).collect();
    let granted: HashSet<&str> = grant_sids.iter().flatten().map(String::as_str).collect();
    let ended: HashSet<&str> = granted.difference(&live).copied().collect();
    assert_eq!(told_sids, ended, "told exactly the sessions that ended");

    // No lost user, session or grant.
    assert_eq!(user_count, USERS as i64, "every signed-up user is stored");
    let mut taken_over = 0;
    for (user, out) in &outcomes {
        for sid in &out.sids {
            assert!(granted.contains(sid.as_str()), "grant of {sid} lost");
        }
        for sid in &out.signed_out_sids {
            assert!(told_sids.contains(sid.as_str()), "logout of {sid} not told");
            assert!(!live.contains(sid.as_str()), "signed-out {sid} lives on");
        }
        if let Some(expected) = out.signed_in {
            assert_eq!(
                user.signed_in().await,
                Some(expected),
                "user {}'s session",
                user.n
            );
        }
        if let Some(refresh) = &out.refresh_token {
            let reply = user
                .send(
                    "final refresh",
                    user.http
                        .post(format!("{}/token", user.base))
                        .basic_auth(&client.id, Some(&client.secret))
                        .form(&[
                            ("grant_type", "refresh_token"),
                            ("refresh_token", refresh.as_str()),
                        ]),
                )
                .await
                .expect("the survivor answers");
            assert_eq!(reply.status, 200, "user {}'s grant: {}", user.n, reply.body);
        }
        assert!(
            out.exchanges > 0,
            "user {} got through at least once",
            user.n
        );
    }
    // Logouts queued before the kill and delivered after it: the survivor finished them.
    for r in &rows {
        if r.created_at < killed_wall && r.delivered_at.is_some_and(|d| d > killed_wall) {
            taken_over += 1;
        }
    }
    let repeats = received.len() - told.len();
    eprintln!(
        "scale-out: {} requests in {load_time:?} ({} via the killed replica, {} failed, {} in flight \
         at the kill); {} code exchanges, {} refreshes; {} back-channel logouts, {} queued before \
         the kill and delivered after it, {} delivered twice (at least once)",
        attempts.len(),
        served(0),
        failed.len(),
        in_flight_on_killed.len(),
        outcomes.iter().map(|(_, o)| o.exchanges).sum::<usize>(),
        outcomes.iter().map(|(_, o)| o.refreshes).sum::<usize>(),
        rows.len(),
        taken_over,
        repeats,
    );
    assert!(
        taken_over > 0,
        "no logout was queued before the kill and delivered after it: the kill proved nothing"
    );
    drop(replicas);
}

/// A sign-in form posted to one replica; the status of the answer.
async fn attempt(user: &User, email: &str, password: &str) -> u16 {
    if user.csrf().is_none() {
        user.expect("csrf", 200, user.http.get(format!("{}/login", user.base)))
            .await
            .unwrap();
    }
    let token = user.csrf().unwrap();
    let fields = [
        ("email", email),
        ("password", password),
        ("csrf_token", token.as_str()),
    ];
    user.send(
        "login",
        user.http.post(format!("{}/login", user.base)).form(&fields),
    )
    .await
    .unwrap()
    .status
}

/// Password guessing spread over two replicas is counted as one: the backoff one replica set
/// holds on the other, and failures racing on both at the same instant are all counted (the
/// counters are rows locked while they are updated, not a replica's memory).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(portcullis_postgres),
    ignore = "needs PostgreSQL (TEST_DATABASE_URL at build time)"
)]
async fn password_guessing_is_counted_across_replicas() {
    let db = TestDb::new(Backend::Postgres);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let issuer = "http://127.0.0.1:9";
    let env = [
        ("PORTCULLIS_AUTH__THROTTLE__FREE_FAILURES", "3"),
        ("PORTCULLIS_AUTH__THROTTLE__BACKOFF_BASE_SECS", "3600"),
        ("PORTCULLIS_AUTH__THROTTLE__BACKOFF_MAX_SECS", "3600"),
        ("PORTCULLIS_AUTH__THROTTLE__LOCK_AFTER", "100"),
        ("PORTCULLIS_AUTH__THROTTLE__PER_IP_PER_HOUR", "1000"),
    ];
    let a = Replica::start_with(&db.url, dirs[0].path(), issuer, &env);
    let b = Replica::start_with(&db.url, dirs[1].path(), issuer, &env);
    let log = Arc::new(Mutex::new(Vec::new()));
    let at =
        |r: &Replica, n: usize| User::new(n, &format!("http://127.0.0.1:{}", r.port), log.clone());
    for (i, email) in ["ada@example.com", "race@example.com"].iter().enumerate() {
        let signing_up = at(&a, 100 + i);
        let signup = signing_up
            .form(
                "signup",
                "/signup",
                &[("name", "Ada"), ("email", email), ("password", PASSWORD)],
            )
            .await;
        assert!(signup.is_some(), "{:?}", log.lock().unwrap().last());
    }

    // Three free failures, alternating replicas; the fourth waits, on whichever replica.
    let fresh = |r: &Replica| at(r, 1);
    let (guess_a, guess_b) = (fresh(&a), fresh(&b));
    assert_eq!(attempt(&guess_a, "ada@example.com", "wrong").await, 401);
    assert_eq!(attempt(&guess_b, "ada@example.com", "wrong").await, 401);
    assert_eq!(attempt(&guess_a, "ada@example.com", "wrong").await, 401);
    assert_eq!(attempt(&guess_b, "ada@example.com", "wrong").await, 429);
    assert_eq!(attempt(&guess_a, "ada@example.com", PASSWORD).await, 429);

    // Eight guesses at once, four on each replica: every one answered "wrong" is counted.
    let racers: Vec<User> = (0..8)
        .map(|i| at(if i % 2 == 0 { &a } else { &b }, 2 + i))
        .collect();
    let statuses = futures_util::future::join_all(
        racers
            .iter()
            .map(|u| attempt(u, "race@example.com", "wrong")),
    )
    .await;
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    assert!(wrong >= 3, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    let pool = Db::connect(&db.url, 1, Duration::from_secs(5)).unwrap();
    let counted: i32 = pool
        .run(|c| {
            use portcullis::db::schema::sign_in_throttle;
            Ok(sign_in_throttle::table
                .find("account:race@example.com")
                .select(sign_in_throttle::failures)
                .first(c)?)
        })
        .await
        .unwrap();
    assert_eq!(usize::try_from(counted).unwrap(), wrong, "{statuses:?}");
    drop((a, b));
}
