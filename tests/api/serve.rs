//! `portcullis serve` as a person starts it: the real binary, default settings, a fresh data
//! directory. Stopping it with Ctrl-C (SIGINT) or SIGTERM lets a request in flight finish.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The server's standard error, line by line, gathered by a thread.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Server {
    fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    /// With extra environment (a config file, settings).
    fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        if !env.iter().any(|(k, _)| *k == "PORTCULLIS_CONFIG") {
            command.env_remove("PORTCULLIS_CONFIG");
        }
        let mut child = command
            .arg("serve")
            .envs(env.iter().copied())
            .env("PORTCULLIS_LISTEN", "127.0.0.1:0")
            .env("PORTCULLIS_DATA_DIR", data_dir)
            .env("PORTCULLIS_MAIL__FILE_DIR", data_dir.join("mail"))
            .env("PORTCULLIS_LOG__FORMAT", "json")
            .env_remove("PORTCULLIS_DATABASE__URL")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            lines,
            log: Vec::new(),
        }
    }

    /// Reads log lines until one has this message; returns it as JSON.
    fn wait_for(&mut self, message: &str, within: Duration) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) {
                        if json["message"]
                            .as_str()
                            .is_some_and(|m| m.contains(message))
                        {
                            return json;
                        }
                    }
                }
                Err(_) => panic!(
                    "no log line {message:?} within {within:?}; log so far:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill only sends a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The rest of the log, now that the writer is gone.
                self.log.extend(self.lines.iter());
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "still running {within:?} after the signal; log:\n{}",
                    self.log.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn stops_gracefully_on(signal: libc::c_int, name: &str) {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("data");
    let mut server = Server::start(&data_dir);
    let listening = server.wait_for("portcullis listening", Duration::from_secs(60));
    let port: u16 = listening["port"]
        .as_str()
        .map(|p| p.parse().unwrap())
        .or(listening["port"].as_u64().map(|p| p as u16))
        .unwrap();

    // The default log transport says, at start, that it prints sign-in links: development only.
    assert!(
        server
            .log
            .iter()
            .any(|l| l.contains("\"WARN\"") && l.contains("mail.transport is \\\"log\\\"")),
        "{}",
        server.log.join("\n")
    );

    // A fresh data directory and what is in it are the owner's alone.
    #[cfg(unix)]
    {
        assert_eq!(mode(&data_dir), 0o700);
        for name in [
            "portcullis.db",
            "portcullis.db-wal",
            "portcullis.db-shm",
            "master.key",
        ] {
            assert_eq!(mode(&data_dir.join(name)), 0o600, "{name}");
        }
    }

    // The image's HEALTHCHECK command.
    let health = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("healthcheck")
        .env("PORTCULLIS_LISTEN", format!("0.0.0.0:{port}"))
        .env_remove("PORTCULLIS_CONFIG")
        .output()
        .unwrap();
    assert!(
        health.status.success(),
        "{}",
        String::from_utf8_lossy(&health.stderr)
    );
    // Its request has a log line with the route, the status and how long it took.
    let handled = server.wait_for("handled", Duration::from_secs(10));
    assert_eq!(handled["status"], 200, "{handled}");
    let duration = handled["duration_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("duration_ms is a number of milliseconds: {handled}"));
    assert!((0.0..10_000.0).contains(&duration), "{handled}");
    assert!(
        handled.to_string().contains("/health"),
        "the request's path is on the line (its span): {handled}"
    );

    // A request in flight: headers and half the body sent when the signal arrives.
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    conn.write_all(b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 23\r\n\r\ngrant_type=").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    server.signal(signal);
    server.wait_for("shutting down gracefully", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(b"client_creds").unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 4"),
        "the request in flight got no answer after {name}: {response:?}"
    );

    let status = server.wait_exit(Duration::from_secs(12));
    assert!(
        status.success(),
        "{name}: {status:?}; log:\n{}",
        server.log.join("\n")
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{name}: took {:?}",
        signalled.elapsed()
    );
    let log = server.log.join("\n");
    assert!(log.contains(&format!("\"signal\":\"{name}\"")), "{log}");
    assert!(log.contains("shutdown complete"), "{log}");
    // The final checkpoint leaves the database self-contained: the WAL is emptied.
    let wal = data_dir.join("portcullis.db-wal");
    assert!(
        std::fs::metadata(&wal)
            .map(|m| m.len() == 0)
            .unwrap_or(true),
        "{log}"
    );
}

#[test]
fn ctrl_c_stops_gracefully() {
    stops_gracefully_on(libc::SIGINT, "SIGINT");
}

#[test]
fn sigterm_stops_gracefully() {
    stops_gracefully_on(libc::SIGTERM, "SIGTERM");
}

/// The name the database holds for a client, read the way the server stores it.
fn client_name(data_dir: &Path, id: &str) -> Option<String> {
    use diesel::prelude::*;
    use portcullis::db::schema::oauth_client;
    let db = portcullis::db::Db::connect(
        &format!("sqlite://{}", data_dir.join("portcullis.db").display()),
        1,
        Duration::from_secs(5),
    )
    .unwrap();
    let id = id.to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(db.run(move |c| {
        Ok(oauth_client::table
            .filter(oauth_client::id.eq(id))
            .select(oauth_client::name)
            .first::<String>(c)
            .optional()?)
    }))
    .unwrap()
}

fn config_with_client(path: &Path, name: &str, watch_secs: u64) {
    std::fs::write(
        path,
        format!(
            r#"
[reload]
watch_interval_secs = {watch_secs}

[[clients]]
id = "wiki"
name = "{name}"
secret = "a-long-enough-secret-for-the-wiki-client"
redirect_uris = ["https://wiki.example/callback"]
"#
        ),
    )
    .unwrap();
}

/// Issue 14, part 4: editing the file and sending SIGHUP changes a declared client live; a file
/// that no longer loads keeps the running configuration (and says why); the CLI refuses to
/// change what the file declares; with a watch interval, saving the file is enough.
#[test]
fn the_config_file_applies_on_sighup_and_on_change_and_a_broken_one_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("data");
    let config = root.path().join("portcullis.toml");
    config_with_client(&config, "Wiki", 0);
    let config_str = config.display().to_string();
    let mut server = Server::start_with(&data_dir, &[("PORTCULLIS_CONFIG", &config_str)]);
    server.wait_for("portcullis listening", Duration::from_secs(60));
    assert_eq!(client_name(&data_dir, "wiki").as_deref(), Some("Wiki"));

    config_with_client(&config, "Team wiki", 0);
    server.signal(libc::SIGHUP);
    let done = server.wait_for("configuration reloaded", Duration::from_secs(20));
    assert_eq!(done["trigger"], "SIGHUP", "{done}");
    assert_eq!(client_name(&data_dir, "wiki").as_deref(), Some("Team wiki"));

    std::fs::write(&config, "[[clients]]\nid = \"wiki\"\nname = ").unwrap();
    server.signal(libc::SIGHUP);
    let failed = server.wait_for("configuration reload failed", Duration::from_secs(20));
    assert_eq!(failed["level"], "ERROR", "{failed}");
    assert!(
        failed["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{failed}"
    );
    assert_eq!(client_name(&data_dir, "wiki").as_deref(), Some("Team wiki"));

    // The CLI refuses to delete what the file declares.
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["client", "delete", "wiki"])
        .env("PORTCULLIS_DATA_DIR", &data_dir)
        .env("PORTCULLIS_LOG__FILTER", "warn")
        .env_remove("PORTCULLIS_CONFIG")
        .env_remove("PORTCULLIS_DATABASE__URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("managed by the configuration file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(20));

    // With a watch interval, saving the file is enough; removing the entry removes the client.
    config_with_client(&config, "Team wiki", 1);
    let mut server = Server::start_with(&data_dir, &[("PORTCULLIS_CONFIG", &config_str)]);
    server.wait_for("portcullis listening", Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(1100));
    config_with_client(&config, "Wiki, watched", 1);
    let done = server.wait_for("configuration reloaded", Duration::from_secs(20));
    assert_eq!(done["trigger"], "file changed", "{done}");
    assert_eq!(
        client_name(&data_dir, "wiki").as_deref(),
        Some("Wiki, watched")
    );
    std::fs::write(&config, "[reload]\nwatch_interval_secs = 1\n").unwrap();
    server.wait_for("configuration reloaded", Duration::from_secs(20));
    assert_eq!(client_name(&data_dir, "wiki"), None);
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(20));
}
