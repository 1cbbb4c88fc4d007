//! A minimal SMTP server for tests: plain ESMTP on 127.0.0.1, enough for lettre with
//! `security = "none"`. It records every message (envelope and data), can be stopped (which
//! closes the listener and every open connection) and started again on the same port, so a test
//! can make "the mail server" go away and come back.
//!
//! It runs on std threads, so it does not depend on the test's tokio runtime or its features.
//!
//! The file also holds a small MIME reader used on both what the sink receives and the `.eml`
//! files of the file transport.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The EHLO/HELO argument.
    pub helo: String,
    /// What AUTH carried, decoded (`user\0pass` style for PLAIN, `user:pass` for LOGIN).
    pub auth: Option<String>,
    /// The reverse path of MAIL FROM, without the angle brackets.
    pub mail_from: String,
    /// The forward paths of RCPT TO, without the angle brackets.
    pub rcpt_to: Vec<String>,
    /// The message data, dot-unstuffed, lines joined by CRLF.
    pub data: String,
}

impl Received {
    pub fn mail(&self) -> Mail {
        Mail::parse(&self.data)
    }
}

type Store = Arc<Mutex<Vec<Received>>>;

pub struct SmtpSink {
    port: u16,
    received: Store,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl SmtpSink {
    /// A sink on a free port.
    pub fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink");
        Self::run(listener, Arc::default())
    }

    /// A sink on this port (e.g. the one an app was configured with before anything listened).
    pub fn start_on(port: u16) -> SmtpSink {
        Self::run(bind_port(port), Arc::default())
    }

    /// A port nothing listens on (at the time of the call).
    pub fn free_port() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    fn run(listener: TcpListener, received: Store) -> SmtpSink {
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let acceptor = {
            let (stop, conns, received) = (stop.clone(), conns.clone(), received.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let _ = stream.set_nonblocking(false);
                            if let Ok(clone) = stream.try_clone() {
                                conns.lock().unwrap().push(clone);
                            }
                            let received = received.clone();
                            std::thread::spawn(move || {
                                let _ = serve(stream, &received);
                            });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(10))
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
                // The listener is dropped here: the port is closed.
            })
        };
        SmtpSink {
            port,
            received,
            stop,
            conns,
            acceptor: Some(acceptor),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message received so far (also those received before a restart).
    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Closes the listener and cuts every open connection (including pooled ones).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    /// Stops and listens again on the same port, keeping what was received.
    pub fn restart(mut self) -> SmtpSink {
        self.stop();
        let (port, received) = (self.port, self.received.clone());
        drop(self);
        Self::run(bind_port(port), received)
    }

    /// Waits (polling, at most `within`) for a message matching `pred`.
    pub async fn wait_for(
        &self,
        within: Duration,
        pred: impl Fn(&Received) -> bool,
    ) -> Option<Received> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(m) = self.messages().into_iter().rev().find(|m| pred(m)) {
                return Some(m);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Binds exactly this port, retrying briefly (a just-closed listener may linger a moment).
fn bind_port(port: u16) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => return l,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("binding the SMTP sink to port {port}: {e}"),
        }
    }
}

fn reply(w: &mut TcpStream, text: &str) -> io::Result<()> {
    w.write_all(text.as_bytes())?;
    w.write_all(b"\r\n")?;
    w.flush()
}

/// One line without its line ending; None at the end of the stream.
fn read_line(r: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    if r.read_until(b'\n', &mut buf)? == 0 {
        return Ok(None);
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

fn path_arg(line: &str, prefix_len: usize) -> String {
    let rest = line[prefix_len..].trim();
    let rest = rest.split_whitespace().next().unwrap_or("");
    rest.trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// One SMTP session.
fn serve(stream: TcpStream, store: &Store) -> io::Result<()> {
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    reply(&mut w, "220 sink.test ESMTP test sink ready")?;
    let mut helo = String::new();
    let mut auth: Option<String> = None;
    let mut from: Option<String> = None;
    let mut rcpt: Vec<String> = Vec::new();
    loop {
        let Some(line) = read_line(&mut r)? else {
            return Ok(());
        };
        let upper = line.to_ascii_uppercase();
        let verb = upper.split_whitespace().next().unwrap_or("").to_string();
        match verb.as_str() {
            "EHLO" => {
                helo = line[4..].trim().to_string();
                from = None;
                rcpt.clear();
                w.write_all(format!("250-sink.test greets {helo}\r\n").as_bytes())?;
                w.write_all(b"250-8BITMIME\r\n250-SMTPUTF8\r\n250 AUTH PLAIN LOGIN\r\n")?;
                w.flush()?;
            }
            "HELO" => {
                helo = line[4..].trim().to_string();
                reply(&mut w, "250 sink.test")?;
            }
            "AUTH" => {
                let mut words = line.split_whitespace().skip(1);
                let mech = words.next().unwrap_or("").to_ascii_uppercase();
                let initial = words.next().map(str::to_string);
                match mech.as_str() {
                    "PLAIN" => {
                        let resp = match initial {
                            Some(i) => i,
                            None => {
                                reply(&mut w, "334 ")?;
                                read_line(&mut r)?.unwrap_or_default()
                            }
                        };
                        auth = Some(b64(&resp));
                        reply(&mut w, "235 2.7.0 Authentication successful")?;
                    }
                    "LOGIN" => {
                        let user = match initial {
                            Some(i) => b64(&i),
                            None => {
                                reply(&mut w, "334 VXNlcm5hbWU6")?;
                                b64(&read_line(&mut r)?.unwrap_or_default())
                            }
                        };
                        reply(&mut w, "334 UGFzc3dvcmQ6")?;
                        let pass = b64(&read_line(&mut r)?.unwrap_or_default());
                        auth = Some(format!("{user}:{pass}"));
                        reply(&mut w, "235 2.7.0 Authentication successful")?;
                    }
                    _ => reply(&mut w, "504 5.5.4 Unrecognized authentication type")?,
                }
            }
            "MAIL" if upper.starts_with("MAIL FROM:") => {
                from = Some(path_arg(&line, "MAIL FROM:".len()));
                rcpt.clear();
                reply(&mut w, "250 2.1.0 OK")?;
            }
            "RCPT" if upper.starts_with("RCPT TO:") => {
                if from.is_none() {
                    reply(&mut w, "503 5.5.1 MAIL first")?;
                } else {
                    rcpt.push(path_arg(&line, "RCPT TO:".len()));
                    reply(&mut w, "250 2.1.5 OK")?;
                }
            }
            "DATA" => {
                if from.is_none() || rcpt.is_empty() {
                    reply(&mut w, "503 5.5.1 RCPT first")?;
                    continue;
                }
                reply(&mut w, "354 End data with <CR><LF>.<CR><LF>")?;
                let mut lines = Vec::new();
                loop {
                    let Some(l) = read_line(&mut r)? else {
                        return Ok(());
                    };
                    if l == "." {
                        break;
                    }
                    // Dot-unstuffing (RFC 5321 4.5.2).
                    lines.push(l.strip_prefix('.').map(str::to_string).unwrap_or(l));
                }
                store.lock().unwrap().push(Received {
                    helo: helo.clone(),
                    auth: auth.clone(),
                    mail_from: from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut rcpt),
                    data: lines.join("\r\n"),
                });
                reply(&mut w, "250 2.0.0 OK queued")?;
            }
            "RSET" => {
                from = None;
                rcpt.clear();
                reply(&mut w, "250 2.0.0 OK")?;
            }
            "NOOP" => reply(&mut w, "250 2.0.0 OK")?,
            "QUIT" => {
                reply(&mut w, "221 2.0.0 Bye")?;
                return Ok(());
            }
            _ => reply(&mut w, "502 5.5.2 Command not implemented")?,
        }
    }
}

// ---- a small MIME reader ----

/// A message split into headers and decoded leaf parts.
#[derive(Debug, Clone)]
pub struct Mail {
    pub headers: Vec<(String, String)>,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone)]
pub struct Part {
    /// The media type, lower case, without parameters (e.g. "text/plain").
    pub content_type: String,
    /// The decoded body.
    pub body: String,
}

impl Mail {
    pub fn parse(raw: &str) -> Mail {
        let raw = raw.replace("\r\n", "\n");
        let (headers, body) = split_headers(&raw);
        let mut parts = Vec::new();
        collect_parts(&headers, &body, &mut parts);
        Mail { headers, parts }
    }

    /// The first header of that name (unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        header_of(&self.headers, name)
    }

    pub fn content_type(&self) -> String {
        self.header("Content-Type")
            .unwrap_or_default()
            .to_ascii_lowercase()
    }

    pub fn part(&self, media_type: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.content_type == media_type)
    }

    pub fn text(&self) -> String {
        self.part("text/plain")
            .map(|p| p.body.clone())
            .unwrap_or_default()
    }

    pub fn html(&self) -> String {
        self.part("text/html")
            .map(|p| p.body.clone())
            .unwrap_or_default()
    }
}

fn header_of(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// Headers (unfolded) and the body after the first empty line.
fn split_headers(raw: &str) -> (Vec<(String, String)>, String) {
    let (head, body) = match raw.find("\n\n") {
        Some(i) => (&raw[..i], raw[i + 2..].to_string()),
        None => (raw, String::new()),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    (headers, body)
}

fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

fn collect_parts(headers: &[(String, String)], body: &str, out: &mut Vec<Part>) {
    let ct = header_of(headers, "Content-Type").unwrap_or_else(|| "text/plain".into());
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media.starts_with("multipart/") {
        let Some(boundary) = param(&ct, "boundary") else {
            return;
        };
        let delimiter = format!("--{boundary}");
        for chunk in body.split(&delimiter).skip(1) {
            if chunk.starts_with("--") {
                break;
            }
            let chunk = chunk.strip_prefix('\n').unwrap_or(chunk);
            let chunk = chunk.strip_suffix('\n').unwrap_or(chunk);
            let (h, b) = split_headers(chunk);
            collect_parts(&h, &b, out);
        }
        return;
    }
    let encoding = header_of(headers, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let body = match encoding.as_str() {
        "quoted-printable" => decode_qp(body),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("valid base64 part");
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => body.to_string(),
    };
    out.push(Part {
        content_type: media,
        body,
    });
}

fn decode_qp(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if let (Some(a), Some(b)) = (bytes.get(i + 1), bytes.get(i + 2)) {
                if let Ok(v) = u8::from_str_radix(std::str::from_utf8(&[*a, *b]).unwrap_or(""), 16)
                {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Undoes the HTML escaping a template applies to attribute values and text.
pub fn html_unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
