//! What the binary-level tests share: scratch directories, bar files, a running `tradsys serve`
//! with a real HTTP client, and the WebAssembly guests built for the tests that load them.

#![allow(dead_code, unreachable_pub)]

pub mod guests;
pub mod nats;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const TOKEN: &str = "test-token-123";

/// Runs the binary in `dir` (its logging left at its default, whatever the environment says).
pub fn tradsys(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tradsys"))
        .args(args)
        .current_dir(dir)
        .env_remove("TRADSYS_LOG")
        .env_remove("RUST_LOG")
        .output()
        .expect("run tradsys")
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A temporary directory per test.
pub fn dir(name: &str) -> Scratch {
    Scratch::new(&format!("tradsys-bin-{}-{name}", std::process::id()))
}

/// A scratch directory under the system's temporary directory, removed when the test that made
/// it passes; a failed test leaves it behind to be looked at.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// Creates `name` afresh under the temporary directory.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// `count` one-minute bars from 2020-01-01, a gentle saw so SMAs cross.
pub fn write_bars(path: &Path, count: u64) {
    let mut out = String::with_capacity(count as usize * 60);
    out.push_str("time,open,high,low,close,volume\n");
    for i in 0..count {
        let minutes = i;
        let (day, minute) = (minutes / 1440, minutes % 1440);
        let (y, m, d) = civil_from_days(18262 + day as i64);
        let price = 100.0 + ((i % 200) as f64 - 100.0).abs() / 10.0;
        out.push_str(&format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:00,{price:.2},{:.2},{:.2},{price:.2},10\n",
            minute / 60,
            minute % 60,
            price + 0.5,
            price - 0.5
        ));
    }
    std::fs::write(path, out).unwrap();
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A running `tradsys serve` and a client for its API.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    agent: ureq::Agent,
    /// Everything it wrote to stderr so far.
    pub log: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(dir: &Path, config: &str, extra: &[&str]) -> Server {
        let path = dir.join("config.toml");
        std::fs::write(&path, config).unwrap();
        let mut args = vec!["serve", "--config", path.to_str().unwrap(), "--listen", "127.0.0.1:0", "--log", "info"];
        args.extend_from_slice(extra);
        let mut child = Command::new(env!("CARGO_BIN_EXE_tradsys"))
            .args(&args)
            .current_dir(dir)
            .env("TRADSYS_ADMIN_TOKEN", TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tradsys serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = line.split("admin API on ").nth(1) {
                    let _ = tx.send(address.split_whitespace().next().unwrap_or_default().to_owned());
                }
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let base = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
            panic!("serve did not start: {}", log.lock().unwrap());
        });
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
        Server { child, base, agent, log }
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        let mut response = self.agent.get(&format!("{}{path}", self.base)).call().expect("GET");
        (response.status().as_u16(), response.body_mut().read_to_string().unwrap_or_default())
    }

    pub fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    pub fn send(&self, method: &str, path: &str, body: Option<&Value>, token: Option<&str>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let auth = token.map(|t| format!("Bearer {t}"));
        let result = match (method, body) {
            ("DELETE", _) => {
                let mut request = self.agent.delete(&url);
                if let Some(auth) = &auth {
                    request = request.header("Authorization", auth);
                }
                request.call()
            }
            (method, body) => {
                let mut request = if method == "PATCH" { self.agent.patch(&url) } else { self.agent.post(&url) };
                if let Some(auth) = &auth {
                    request = request.header("Authorization", auth);
                }
                request.header("Content-Type", "application/json").send(body.map(Value::to_string).unwrap_or_default())
            }
        };
        let mut response = result.expect("request");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// `POST path` with raw bytes (a module), with `token` if given.
    pub fn send_bytes(&self, path: &str, bytes: &[u8], token: Option<&str>) -> (u16, Value) {
        let mut request = self.agent.post(&format!("{}{path}", self.base)).header("Content-Type", "application/wasm");
        if let Some(token) = token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let mut response = request.send(bytes).expect("request");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.send(method, path, body, Some(TOKEN))
    }

    /// GET `path` on another thread, failing (instead of hanging) if no answer comes in 30 s:
    /// its JSON body.
    pub fn get_within(&self, path: &str) -> Value {
        self.get_status_within(path).1
    }

    /// GET `path` on another thread, failing if no answer comes in 30 s: status and JSON body.
    pub fn get_status_within(&self, path: &str) -> (u16, Value) {
        let (base, path) = (self.base.clone(), path.to_owned());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let agent = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
            let answer = agent.get(&format!("{base}{path}")).call().and_then(|mut r| {
                let status = r.status().as_u16();
                r.body_mut().read_to_string().map(|body| (status, body))
            });
            let _ = tx.send(answer.map_err(|e| e.to_string()));
        });
        let (status, body) =
            rx.recv_timeout(Duration::from_secs(30)).expect("the admin API answers within 30 s").unwrap();
        (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
    }

    /// Polls `/report` until it has seen `events` events (at most 120 s); the report.
    pub fn wait_for_events(&self, events: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let report = self.get_within("/report");
            if report["events"].as_u64() == Some(events) {
                return report;
            }
            assert!(Instant::now() < deadline, "{events} events expected: {report}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the server's stderr holds `text`, waiting up to 10 s for it: its log is read on a
    /// thread of its own, so a line written before an answer may be read after it.
    pub fn logged(&self, text: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.log.lock().unwrap().contains(text) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn component(&self, id: &str) -> Value {
        self.json(&format!("/components/{id}"))
    }

    /// Waits for the process to exit by itself; its exit status.
    pub fn wait(mut self) -> i32 {
        self.child.wait().unwrap().code().unwrap_or(-1)
    }

    /// SIGTERM, then the exit status and stdout.
    pub fn terminate(mut self) -> (i32, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stdout = String::new();
                std::io::Read::read_to_string(self.child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
                return (status.code().unwrap_or(-1), stdout);
            }
            assert!(Instant::now() < deadline, "serve did not stop after SIGTERM: {}", self.log.lock().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
