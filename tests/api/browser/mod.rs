//! The browser suite: real headless Chromium (Debian's `chromium`, driven over the DevTools
//! protocol with chromiumoxide) against the real server, the way a person meets Portcullis.
//!
//! Every page a test visits is checked for what reqwest cannot see: console errors and uncaught
//! exceptions, Content Security Policy violations, failed sub-requests, and an axe-core
//! accessibility audit (no serious or critical violation). On SQLite runs each visited page is
//! also photographed at 1280 px and 390 px wide into `target/e2e-shots/` (or `E2E_SHOTS_DIR`).
//!
//! Without Chromium (or without `e2e/node_modules/axe-core`) the tests say so and skip; with
//! `TEST_REQUIRE_BROWSER=1` (CI) a missing browser fails them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::browser::BrowserContextId;
use chromiumoxide::cdp::browser_protocol::emulation::{
    ClearDeviceMetricsOverrideParams, SetDeviceMetricsOverrideParams,
};
use chromiumoxide::cdp::browser_protocol::log::{EventEntryAdded, LogEntryLevel, LogEntrySource};
use chromiumoxide::cdp::browser_protocol::network::{
    EventLoadingFailed, EventRequestWillBeSent, EventResponseReceived, ResourceType,
};
use chromiumoxide::cdp::browser_protocol::page::EventLoadEventFired;
use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams,
};
use chromiumoxide::cdp::js_protocol::runtime::{
    ConsoleApiCalledType, EventConsoleApiCalled, EventExceptionThrown,
};
use chromiumoxide::page::{Page, ScreenshotParams};
use futures_util::StreamExt;

use crate::helpers::*;

const CHROMIUM_CANDIDATES: &[&str] = &[
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
];

fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CHROMIUM") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    CHROMIUM_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

fn axe_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("e2e/node_modules/axe-core/axe.min.js")
}

/// Chromium and axe-core, or a loud note (a failure when CI requires the browser suite).
fn browser_ready() -> bool {
    let missing = match (chromium(), axe_path().is_file()) {
        (None, _) => Some("Chromium is not installed (apt-get install chromium chromium-driver)"),
        (_, false) => Some("axe-core is not installed (run `npm ci` in e2e/)"),
        _ => None,
    };
    let Some(why) = missing else { return true };
    if std::env::var("TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!("TEST_REQUIRE_BROWSER=1 but {why}");
    }
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "NOTE: browser tests skipped: {why}");
    });
    false
}

/// Generates `NAME::sqlite` and `NAME::postgres` browser tests from
/// `async fn NAME(backend: Backend, chrome: &Chrome)`; the test's browser context is closed
/// afterwards.
macro_rules! browser_tests {
    ($($name:ident),* $(,)?) => {
        $(
            async fn $name(backend: crate::helpers::Backend) {
                let Some(chrome) = crate::browser::Chrome::launch(stringify!($name), backend).await else { return };
                inner::$name(backend, &chrome).await;
                chrome.close().await;
            }
        )*
        backend_tests!(browser: $($name),*);
    };
}

mod account;
mod admin;
mod auth;
mod console;
mod demo;
mod email;
mod errors;
mod language;
mod oidc;
mod passkeys;
mod second_factor;
mod throttle;
mod upstream;

/// A Chromium shared by every browser test of this test binary (one per preferred language).
///
/// Starting Chromium costs about a second of both cores, and the suite has dozens of tests, so
/// they share one process; each test gets its own browser context (separate cookies, storage
/// and cache, like a fresh profile). libtest gives each test its own tokio runtime, which ends
/// with the test, so the DevTools connection is served by a runtime on a thread of its own that
/// lives as long as the test binary.
struct SharedChromium {
    browser: Browser,
    runtime: tokio::runtime::Handle,
}

/// The shared browsers by preferred language.
type SharedChromiums = Mutex<std::collections::HashMap<String, &'static SharedChromium>>;

fn shared_chromium(lang: &str) -> &'static SharedChromium {
    static BROWSERS: std::sync::OnceLock<SharedChromiums> = std::sync::OnceLock::new();
    let mut browsers = BROWSERS.get_or_init(Default::default).lock().unwrap();
    browsers
        .entry(lang.to_string())
        .or_insert_with(|| Box::leak(Box::new(start_chromium(lang))))
}

fn start_chromium(lang: &str) -> SharedChromium {
    let lang = lang.to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(format!("chromium-{lang}"))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let profile = profile_dir(&lang);
                let config = BrowserConfig::builder()
                    .chrome_executable(chromium_that_dies_with_us(&profile))
                    .user_data_dir(profile.join("profile"))
                    .no_sandbox()
                    .viewport(None)
                    .window_size(1280, 900)
                    .request_timeout(Duration::from_secs(20))
                    .args([
                        "disable-gpu",
                        "disable-quic",
                        "no-first-run",
                        "disable-background-networking",
                        "disable-component-update",
                        "disable-sync",
                    ])
                    .arg(format!("lang={lang}"))
                    .arg(format!("accept-lang={lang}"))
                    .build()
                    .unwrap();
                let (browser, mut handler) =
                    Browser::launch(config).await.expect("Chromium starts");
                tx.send(SharedChromium {
                    browser,
                    runtime: tokio::runtime::Handle::current(),
                })
                .unwrap();
                while handler.next().await.is_some() {}
            });
        })
        .unwrap();
    rx.recv().expect("Chromium starts")
}

/// The shared Chromium's directory, `portcullis-chromium-PID-LANG` in the temp dir. It outlives
/// the test binary (nothing runs at exit), so the leftovers of binaries that are gone are
/// removed here.
fn profile_dir(lang: &str) -> PathBuf {
    let tmp = std::env::temp_dir();
    for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("portcullis-chromium-")
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !std::path::Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = tmp.join(format!("portcullis-chromium-{}-{lang}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A shared Chromium is never closed by a test, so it must not outlive the test binary: a small
/// wrapper starts it with the parent-death signal set (setpriv, util-linux), and the kernel kills
/// it when the thread that started it — the DevTools thread, alive until the binary exits — ends.
fn chromium_that_dies_with_us(dir: &std::path::Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let chromium = chromium().unwrap();
    let wrapper = dir.join("chromium");
    let script = match which_setpriv() {
        Some(setpriv) => format!(
            "#!/bin/sh\nexec {} --pdeathsig KILL -- {} \"$@\"\n",
            setpriv.display(),
            chromium.display()
        ),
        None => format!("#!/bin/sh\nexec {} \"$@\"\n", chromium.display()),
    };
    std::fs::write(&wrapper, script).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    wrapper
}

fn which_setpriv() -> Option<PathBuf> {
    ["/usr/bin/setpriv", "/bin/setpriv"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// One test's browser: a fresh browser context of the shared Chromium (its own cookies and
/// storage), closed when the test ends — also when it fails, on drop.
pub struct Chrome {
    shared: &'static SharedChromium,
    context: Option<BrowserContextId>,
    shots: Option<PathBuf>,
    shot_no: AtomicUsize,
}

impl Chrome {
    pub async fn launch(test: &str, backend: Backend) -> Option<Chrome> {
        Chrome::launch_with(test, backend, "en-US").await
    }

    /// A browser whose preferred language is `lang` (its `Accept-Language` and `navigator.language`).
    pub async fn launch_with(test: &str, backend: Backend, lang: &str) -> Option<Chrome> {
        if !browser_ready() {
            return None;
        }
        let lang = lang.to_string();
        let shared = tokio::task::spawn_blocking(move || shared_chromium(&lang))
            .await
            .unwrap();
        let context = shared
            .browser
            .create_browser_context(CreateBrowserContextParams::default())
            .await
            .expect("a browser context");
        let shots = (backend == Backend::Sqlite).then(|| shots_dir().join(test));
        if let Some(dir) = &shots {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir).unwrap();
        }
        Some(Chrome {
            shared,
            context: Some(context),
            shots,
            shot_no: AtomicUsize::new(0),
        })
    }

    /// A second person's browser in the same test: another fresh context (its own cookies),
    /// its screenshots in a folder of their own.
    pub async fn another(&self, who: &str) -> Chrome {
        let context = self
            .shared
            .browser
            .create_browser_context(CreateBrowserContextParams::default())
            .await
            .expect("a browser context");
        let shots = self.shots.as_ref().map(|dir| {
            let dir = dir.join(who);
            std::fs::create_dir_all(&dir).unwrap();
            dir
        });
        Chrome {
            shared: self.shared,
            context: Some(context),
            shots,
            shot_no: AtomicUsize::new(0),
        }
    }

    /// A new tab on `app`, with every check listening.
    pub async fn tab(&self, app: &TestApp) -> Tab<'_> {
        let target = CreateTargetParams::builder()
            .url("about:blank")
            .width(1280)
            .height(900)
            .browser_context_id(self.context.clone().unwrap())
            .build()
            .unwrap();
        let page = self.shared.browser.new_page(target).await.unwrap();
        page.enable_log().await.unwrap();
        // CSP violations are events, not always console messages: report them as errors.
        page.evaluate_on_new_document(
            "document.addEventListener('securitypolicyviolation', e => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));",
        )
        .await
        .unwrap();
        let problems = Arc::new(Mutex::new(Vec::new()));
        let origin = app.address.clone();
        listen(&page, problems.clone(), origin).await;
        Tab {
            chrome: self,
            page,
            base: app.address.clone(),
            problems,
            checks: true,
        }
    }

    /// Closes the test's browser context and every tab in it.
    pub async fn close(mut self) {
        if let Some(id) = self.context.take() {
            let _ = self.shared.browser.dispose_browser_context(id).await;
        }
    }
}

impl Drop for Chrome {
    /// A failed test unwinds without awaiting `close`: its context is closed on the DevTools
    /// thread instead, so it does not linger for the rest of the run.
    fn drop(&mut self) {
        if let Some(id) = self.context.take() {
            let shared = self.shared;
            shared.runtime.spawn(async move {
                let _ = shared.browser.dispose_browser_context(id).await;
            });
        }
    }
}

fn shots_dir() -> PathBuf {
    std::env::var("E2E_SHOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/e2e-shots"))
}

/// Collects what a person would see in the DevTools console: errors, exceptions, CSP
/// violations and failed sub-requests to this server.
async fn listen(page: &Page, problems: Arc<Mutex<Vec<String>>>, origin: String) {
    let mut console = page
        .event_listener::<EventConsoleApiCalled>()
        .await
        .unwrap();
    let p = problems.clone();
    tokio::spawn(async move {
        while let Some(e) = console.next().await {
            if matches!(
                e.r#type,
                ConsoleApiCalledType::Error | ConsoleApiCalledType::Assert
            ) {
                let args: Vec<String> = e
                    .args
                    .iter()
                    .map(|a| {
                        a.value
                            .as_ref()
                            .map_or_else(|| format!("{:?}", a.description), |v| v.to_string())
                    })
                    .collect();
                p.lock()
                    .unwrap()
                    .push(format!("console.error: {}", args.join(" ")));
            }
        }
    });
    let mut exceptions = page.event_listener::<EventExceptionThrown>().await.unwrap();
    let p = problems.clone();
    tokio::spawn(async move {
        while let Some(e) = exceptions.next().await {
            p.lock()
                .unwrap()
                .push(format!("uncaught exception: {}", e.exception_details.text));
        }
    });
    let mut log = page.event_listener::<EventEntryAdded>().await.unwrap();
    let p = problems.clone();
    tokio::spawn(async move {
        while let Some(e) = log.next().await {
            // Network-source entries repeat what the Network events below report, including the
            // deliberate 4xx status of an error page's own document.
            if e.entry.level == LogEntryLevel::Error && e.entry.source != LogEntrySource::Network {
                p.lock()
                    .unwrap()
                    .push(format!("console ({:?}): {}", e.entry.source, e.entry.text));
            }
        }
    });
    let mut responses = page
        .event_listener::<EventResponseReceived>()
        .await
        .unwrap();
    let p = problems.clone();
    let o = origin.clone();
    tokio::spawn(async move {
        while let Some(e) = responses.next().await {
            if e.r#type != ResourceType::Document
                && e.response.status >= 400
                && e.response.url.starts_with(&o)
            {
                p.lock().unwrap().push(format!(
                    "sub-request failed: {} {}",
                    e.response.status, e.response.url
                ));
            }
        }
    });
    // Requests that never got an answer, to this server: the sandbox has no way out, so an
    // upstream's avatar (https://…googleusercontent…) cannot load here and is not a defect.
    let mut sent = page
        .event_listener::<EventRequestWillBeSent>()
        .await
        .unwrap();
    let urls = Arc::new(Mutex::new(std::collections::HashMap::new()));
    let u = urls.clone();
    tokio::spawn(async move {
        while let Some(e) = sent.next().await {
            u.lock()
                .unwrap()
                .insert(e.request_id.inner().clone(), e.request.url.clone());
        }
    });
    let mut failures = page.event_listener::<EventLoadingFailed>().await.unwrap();
    let p = problems;
    tokio::spawn(async move {
        while let Some(e) = failures.next().await {
            let url = urls
                .lock()
                .unwrap()
                .get(e.request_id.inner())
                .cloned()
                .unwrap_or_default();
            if e.r#type != ResourceType::Document
                && e.canceled != Some(true)
                && url.starts_with(&origin)
            {
                p.lock().unwrap().push(format!(
                    "sub-request failed: {:?} {url} {}",
                    e.r#type, e.error_text
                ));
            }
        }
    });
}

/// One tab, with what a person does: open a page, fill a field, press a button, read the page.
pub struct Tab<'a> {
    chrome: &'a Chrome,
    pub page: Page,
    pub base: String,
    problems: Arc<Mutex<Vec<String>>>,
    /// Off while the tab is on another site (an RP's callback, an upstream's login page).
    pub checks: bool,
}

const NAVIGATION_TIMEOUT: Duration = Duration::from_secs(15);

impl Tab<'_> {
    /// Opens a path of this server (or a full URL) and checks the page.
    pub async fn open(&self, path_or_url: &str) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{}", self.base, path_or_url)
        };
        if let Err(e) = tokio::time::timeout(NAVIGATION_TIMEOUT, self.page.goto(url.as_str()))
            .await
            .unwrap_or_else(|_| panic!("opening {url} timed out"))
        {
            // Chromium answers a navigation that ends in a download or an unreachable host with an error.
            panic!("opening {url} failed: {e}");
        }
        self.settled().await;
    }

    /// Clears a field and types into it, key by key.
    pub async fn fill(&self, selector: &str, value: &str) {
        let el = self.find(selector).await;
        el.call_js_fn("function() { this.value = ''; }", false)
            .await
            .unwrap();
        el.click().await.unwrap();
        if !value.is_empty() {
            el.type_str(value).await.unwrap();
        }
    }

    /// Picks an option of a `<select>` by its value.
    pub async fn select(&self, selector: &str, value: &str) {
        let el = self.find(selector).await;
        let js = format!(
            "function() {{ this.value = {v}; if (this.value !== {v}) throw new Error('no option ' + {v}); this.dispatchEvent(new Event('change', {{bubbles: true}})); }}",
            v = serde_json::to_string(value).unwrap()
        );
        el.call_js_fn(js, false)
            .await
            .unwrap_or_else(|e| panic!("select {selector} = {value}: {e}"));
    }

    pub async fn find(&self, selector: &str) -> chromiumoxide::Element {
        match self.page.find_element(selector).await {
            Ok(el) => el,
            Err(e) => panic!(
                "no `{selector}` on {}: {e}\n{}",
                self.url().await,
                self.text().await
            ),
        }
    }

    pub async fn exists(&self, selector: &str) -> bool {
        self.page
            .find_elements(selector)
            .await
            .is_ok_and(|v| !v.is_empty())
    }

    /// Clicks what matches `selector` (a button, a link) and waits for the next page to load.
    pub async fn click(&self, selector: &str) {
        let el = self.find(selector).await;
        self.navigating(
            async {
                el.scroll_into_view().await.unwrap();
                el.click()
                    .await
                    .unwrap_or_else(|e| panic!("click {selector}: {e}"));
            },
            selector,
        )
        .await;
    }

    /// Clicks the button whose visible text is `label` (the way a person picks it).
    pub async fn press(&self, label: &str) {
        // A button in the page's main part first, then a link there; the header's own
        // "Sign in" / "Sign out" are pressed with `press_in_header`.
        let lit = xpath_literal(label);
        let mut found = self
            .page
            .find_xpaths(format!("//main//button[normalize-space(.)={lit}]"))
            .await
            .unwrap_or_default();
        if found.is_empty() {
            found = self
                .page
                .find_xpaths(format!("//main//a[normalize-space(.)={lit}]"))
                .await
                .unwrap_or_default();
        }
        let [el] = found.as_slice() else {
            panic!(
                "expected one button or link `{label}` on {}, found {}\n{}",
                self.url().await,
                found.len(),
                self.text().await
            )
        };
        self.navigating(
            async {
                el.scroll_into_view().await.unwrap();
                el.click()
                    .await
                    .unwrap_or_else(|e| panic!("click `{label}`: {e}"));
            },
            label,
        )
        .await;
    }

    /// Presses a button that leads off this server (possibly through pages that move on by
    /// themselves), and waits until the browser is at `url_prefix`.
    pub async fn press_and_leave(&self, label: &str, url_prefix: &str) {
        let lit = xpath_literal(label);
        let found = self
            .page
            .find_xpaths(format!("//main//button[normalize-space(.)={lit}]"))
            .await
            .unwrap_or_default();
        let [el] = found.as_slice() else {
            panic!(
                "expected one button `{label}` on {}, found {}",
                self.url().await,
                found.len()
            )
        };
        el.click()
            .await
            .unwrap_or_else(|e| panic!("click `{label}`: {e}"));
        let deadline = tokio::time::Instant::now() + NAVIGATION_TIMEOUT;
        while !self.url().await.starts_with(url_prefix) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "not at {url_prefix} after `{label}`, at {}:\n{}",
                self.url().await,
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let ready = "document.readyState === 'complete'";
        while !self
            .page
            .evaluate_expression(ready)
            .await
            .ok()
            .and_then(|v| v.into_value::<bool>().ok())
            .unwrap_or(false)
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{url_prefix} did not finish loading"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Presses a button or link of the site header (navigation, "Sign out").
    pub async fn press_in_header(&self, label: &str) {
        let lit = xpath_literal(label);
        let found = self
            .page
            .find_xpaths(format!(
                "//header//*[self::button or self::a][normalize-space(.)={lit}]"
            ))
            .await
            .unwrap_or_default();
        let [el] = found.as_slice() else {
            panic!(
                "expected one `{label}` in the header of {}, found {}",
                self.url().await,
                found.len()
            )
        };
        self.navigating(
            async {
                el.click()
                    .await
                    .unwrap_or_else(|e| panic!("click `{label}`: {e}"));
            },
            label,
        )
        .await;
    }

    async fn navigating(&self, action: impl std::future::Future<Output = ()>, what: &str) {
        let mut loaded = self
            .page
            .event_listener::<EventLoadEventFired>()
            .await
            .unwrap();
        action.await;
        if tokio::time::timeout(NAVIGATION_TIMEOUT, loaded.next())
            .await
            .is_err()
        {
            panic!(
                "no page loaded after clicking `{what}` on {}\n{}",
                self.url().await,
                self.text().await
            );
        }
        self.settled().await;
    }

    /// After a page loaded: audit it and photograph it, unless it is another site's page.
    async fn settled(&self) {
        if !self.checks || !self.url().await.starts_with(&self.base) {
            return;
        }
        self.audit().await;
        self.photograph().await;
        self.assert_clean().await;
    }

    /// No serious or critical axe-core violation.
    async fn audit(&self) {
        static AXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let source = AXE.get_or_init(|| std::fs::read_to_string(axe_path()).unwrap());
        self.page
            .evaluate_expression(source.as_str())
            .await
            .expect("axe-core loads");
        let found: String = self
            .page
            .evaluate_expression(
                "axe.run(document, { resultTypes: ['violations'] }).then(r => JSON.stringify(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html).slice(0, 3) }))))",
            )
            .await
            .expect("axe runs")
            .into_value()
            .unwrap();
        if found != "[]" {
            self.problems
                .lock()
                .unwrap()
                .push(format!("accessibility: {found}"));
        }
    }

    /// Full-page screenshots at desktop and phone width (SQLite runs only: the pages are the same).
    async fn photograph(&self) {
        let Some(dir) = &self.chrome.shots else {
            return;
        };
        let n = self.chrome.shot_no.fetch_add(1, Ordering::SeqCst);
        let url = url::Url::parse(&self.url().await).unwrap();
        let label: String = url.path().trim_matches('/').replace('/', "-");
        let label = if label.is_empty() {
            "home".to_string()
        } else {
            label
        };
        for (width, mobile) in [(1280, false), (390, true)] {
            self.page
                .execute(SetDeviceMetricsOverrideParams::new(width, 800, 1.0, mobile))
                .await
                .unwrap();
            let height: i64 = self
                .page
                .evaluate_expression("Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)")
                .await
                .unwrap()
                .into_value()
                .unwrap();
            self.page
                .execute(SetDeviceMetricsOverrideParams::new(
                    width,
                    height.clamp(200, 6000),
                    1.0,
                    mobile,
                ))
                .await
                .unwrap();
            let png = self
                .page
                .screenshot(ScreenshotParams::builder().build())
                .await
                .unwrap();
            std::fs::write(dir.join(format!("{n:02}-{label}-{width}.png")), png).unwrap();
        }
        self.page
            .execute(ClearDeviceMetricsOverrideParams {})
            .await
            .unwrap();
    }

    /// Fails the test with everything the console, the network and the audit reported so far.
    pub async fn assert_clean(&self) {
        // Events travel over the DevTools socket after the load event; give them a moment.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let problems: Vec<String> = std::mem::take(&mut *self.problems.lock().unwrap());
        if !problems.is_empty() {
            panic!(
                "the page {} has problems:\n- {}",
                self.url().await,
                problems.join("\n- ")
            );
        }
    }

    pub async fn url(&self) -> String {
        self.page.url().await.ok().flatten().unwrap_or_default()
    }

    /// What a person reads on the page.
    pub async fn text(&self) -> String {
        self.page
            .evaluate_expression("document.body ? document.body.innerText : ''")
            .await
            .ok()
            .and_then(|v| v.into_value::<String>().ok())
            .unwrap_or_default()
    }

    /// What a person reads in the element `selector` matches.
    pub async fn text_of(&self, selector: &str) -> String {
        let text: String = self
            .find(selector)
            .await
            .property("innerText")
            .await
            .unwrap()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        text
    }

    pub async fn heading(&self) -> String {
        self.page
            .evaluate_expression("(document.querySelector('h1') || {}).innerText || ''")
            .await
            .unwrap()
            .into_value::<String>()
            .unwrap()
    }

    /// The page says `expected` (whitespace-insensitive).
    pub async fn sees(&self, expected: &str) {
        let text = self.text().await;
        let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat(&text).contains(&flat(expected)),
            "expected to see {expected:?} on {}, the page says:\n{text}",
            self.url().await
        );
    }

    pub async fn does_not_see(&self, unexpected: &str) {
        let text = self.text().await;
        assert!(
            !text.contains(unexpected),
            "did not expect {unexpected:?} on {}, the page says:\n{text}",
            self.url().await
        );
    }

    /// The browser is on `path` (without the query) of this server.
    pub async fn is_at(&self, path: &str) {
        let url = url::Url::parse(&self.url().await).unwrap();
        assert_eq!(
            url.path(),
            path,
            "expected to be at {path}, at {url}:\n{}",
            self.text().await
        );
    }

    /// A value the browser keeps for this server: a cookie, by name.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        self.page
            .get_cookies()
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| c.value)
    }

    /// Signs up through the sign-up page and lands signed in.
    pub async fn sign_up(&self, name: &str, email: &str, password: &str) {
        self.open("/signup").await;
        self.fill("#name", name).await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.press("Create account").await;
    }

    /// Signs in on the sign-in page.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.open("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.press("Sign in").await;
    }
}

/// An XPath string literal for any text (XPath 1.0 has no escapes).
fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("concat('{}')", s.replace('\'', "', \"'\", '"))
    }
}

/// The checks themselves must be able to fail: a CSP violation, a console error and a failing
/// sub-request on a real page are each reported.
mod harness {
    use super::*;

    browser_tests!(the_checks_catch_console_errors_csp_violations_and_failed_requests);

    mod inner {
        use super::*;

        pub async fn the_checks_catch_console_errors_csp_violations_and_failed_requests(
            backend: Backend,
            chrome: &Chrome,
        ) {
            let app = spawn_app(backend).await;
            let tab = chrome.tab(&app).await;
            tab.open("/login").await;
            // An inline style is refused by `style-src 'self'`.
            tab.page
                .evaluate_expression("document.head.appendChild(Object.assign(document.createElement('style'), { textContent: 'body { color: red }' })); 1")
                .await
                .unwrap();
            // An image the server does not have.
            tab.page.evaluate_expression("document.body.appendChild(Object.assign(document.createElement('img'), { src: '/static/no-such-file.png', alt: '' })); 1").await.unwrap();
            // An image without a text alternative is a critical accessibility violation.
            tab.page.evaluate_expression("document.querySelector('main').appendChild(Object.assign(document.createElement('img'), { src: '/static/favicon.svg' })); 1").await.unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
            tab.audit().await;
            let found = std::panic::AssertUnwindSafe(tab.assert_clean());
            let err = futures_util::FutureExt::catch_unwind(found)
                .await
                .expect_err("the checks must report the problems");
            let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
            assert!(msg.contains("CSP violation"), "{msg}");
            assert!(msg.contains("sub-request failed: 404"), "{msg}");
            assert!(
                msg.contains("accessibility") && msg.contains("image-alt"),
                "{msg}"
            );
            let _ = backend;
        }
    }
}
