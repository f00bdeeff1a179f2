//! A small W3C WebDriver client over HTTP, for driving Debian's headless Chromium
//! through `chromedriver` (packages `chromium` and `chromium-driver`, which `.ci/run`
//! installs). Only what the browser tests use: navigate, find, click, type, run a
//! script, read cookies (HttpOnly ones included), take screenshots.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The W3C name of an element reference in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A running `chromedriver`.
pub struct Driver {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

impl Driver {
    /// Starts `chromedriver`; `None` (the test is skipped) when Chromium is not
    /// installed, except under `CI=true`, where the browser tests must run.
    pub async fn start() -> Option<Driver> {
        let driver = find_program(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
        let browser = find_program(&["/usr/bin/chromium"]);
        let (Some(driver), Some(_)) = (driver, browser) else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "Chromium and chromedriver are required under CI=true (apt-get install chromium chromium-driver)"
                );
            }
            eprintln!("SKIPPED: browser test, no chromium + chromedriver installed");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let d = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = d.client.get(format!("{}/status", d.base)).send().await
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                return Some(d);
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new browser (its own profile: no cookies shared with other sessions), whose
    /// screenshots go to `<target>/tmp/browser/<name>/`.
    pub async fn browser(&self, name: &str) -> Browser {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1100,1000"],
            },
        }}});
        let r: Value = self
            .client
            .post(format!("{}/session", self.base))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_owned();
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("browser")
            .join(name);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            url: format!("{}/session/{id}", self.base),
            client: self.client.clone(),
            shots,
            step: 0,
        }
    }
}

/// One browser session.
pub struct Browser {
    url: String,
    client: reqwest::Client,
    shots: PathBuf,
    step: usize,
}

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.client.request(method, format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if let Some(e) = v["value"].get("error") {
            panic!("WebDriver {path}: {e} {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    /// Navigates and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    /// A returned promise is awaited.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Waits (up to 15 s) until `script` returns true; panics with `what` otherwise.
    pub async fn wait_for(&self, what: &str, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mut req = self
                .client
                .post(format!("{}/execute/sync", self.url))
                .json(&json!({"script": script, "args": []}));
            req = req.timeout(Duration::from_secs(10));
            if let Ok(r) = req.send().await
                && let Ok(v) = r.json::<Value>().await
                && v["value"] == true
            {
                return;
            }
            if Instant::now() > deadline {
                let body = self.text("body").await;
                panic!("timed out waiting for {what}; the page says:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn element(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().unwrap().to_owned()
    }

    /// Clicks the element `css` selects.
    pub async fn click(&self, css: &str) {
        let e = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Types `text` into the element `css` selects (after clearing it).
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// The visible text of the element `css` selects.
    pub async fn text(&self, css: &str) -> String {
        self.run(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
            json!([css]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Every cookie of the current page's host, HttpOnly ones included (WebDriver sees
    /// what scripts cannot).
    pub async fn cookies(&self) -> Vec<Value> {
        self.call(reqwest::Method::GET, "/cookie", None)
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The value of the cookie `name`, if the browser holds it.
    pub async fn cookie(&self, name: &str) -> Option<Value> {
        self.cookies().await.into_iter().find(|c| c["name"] == name)
    }

    /// Saves a screenshot as `NN-<step>.png` next to the test output.
    pub async fn screenshot(&mut self, step: &str) {
        self.step += 1;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let path = self.shots.join(format!("{:02}-{step}.png", self.step));
        std::fs::write(&path, bytes).unwrap();
        eprintln!("screenshot: {}", path.display());
    }

    /// Ends the session (the browser quits).
    pub async fn close(self) {
        let _ = self.client.delete(&self.url).send().await;
    }
}
