//! Debian's real nginx serving HTTPS on a free 127.0.0.1 port for tests: its own config, pid
//! file, error log and temp folders in a temporary folder (so it runs without touching the
//! system's nginx, which may be installed and stopped), `daemon off` under this process, in its
//! own process group, stopped on drop (SIGTERM to the group, SIGKILL after a bound).
//!
//! It serves `location = /ok { return 200 "ok"; }` (404 elsewhere) over TLS with ALPN h2 and
//! http/1.1. The http2 syntax follows the version: `listen … ssl http2;` before 1.25.1,
//! `http2 on;` from 1.25.1. With [`NginxOptions::client_ca`], `ssl_verify_client on`: nginx
//! completes the handshake and then answers **400** to a client without a valid certificate
//! (that is nginx's behaviour; it does not abort the handshake).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long nginx gets to start accepting, and to stop.
const BOUND: Duration = Duration::from_secs(10);

/// The nginx binary: `/usr/sbin/nginx`, else `nginx` on `PATH`. Panics with the install
/// command when neither exists: tests that need nginx fail loudly, they never skip.
pub fn binary() -> PathBuf {
    let debian = Path::new("/usr/sbin/nginx");
    if debian.exists() {
        return debian.to_owned();
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("nginx"))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "nginx is missing: this test needs Debian's nginx \
                 (apt-get install -y nginx-light, or nginx; ci/test.sh installs it)"
            )
        })
}

/// nginx's version as `(major, minor, patch)`, from `nginx -v`.
pub fn version() -> (u32, u32, u32) {
    let output = Command::new(binary())
        .arg("-v")
        .output()
        .expect("nginx -v runs");
    // "nginx version: nginx/1.22.1" (on stderr), possibly followed by " (Debian)".
    let text = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    let number = text
        .split("nginx/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("cannot read the nginx version from {text:?}"));
    let mut parts = number.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

/// Settings beyond the server certificate.
#[derive(Debug, Clone)]
pub struct NginxOptions {
    /// Require client certificates signed by this CA (PEM): `ssl_verify_client on`.
    pub client_ca: Option<PathBuf>,
    /// Worker processes (default 1).
    pub workers: usize,
}

impl Default for NginxOptions {
    fn default() -> Self {
        NginxOptions {
            client_ca: None,
            workers: 1,
        }
    }
}

/// A running nginx; stopped and waited for on drop.
pub struct Nginx {
    /// Where it listens (127.0.0.1, a free port).
    pub addr: SocketAddr,
    child: Child,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx with `cert` and `key` (PEM) and waits until it accepts connections.
    /// Panics with nginx's error log if it does not start.
    pub fn start(cert: &Path, key: &Path, options: NginxOptions) -> Nginx {
        let mut last_error = String::new();
        // The free port is found by binding and releasing it; another process may take it in
        // between, so a failed start is retried on a new port.
        for _ in 0..3 {
            match Nginx::try_start(cert, key, &options) {
                Ok(nginx) => return nginx,
                Err(error) => last_error = error,
            }
        }
        panic!("nginx did not start:\n{last_error}");
    }

    fn try_start(cert: &Path, key: &Path, options: &NginxOptions) -> Result<Nginx, String> {
        let dir = tempfile::tempdir().expect("temporary folder for nginx");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config(dir.path(), addr, cert, key, options))
            .expect("write nginx.conf");
        let error_log = dir.path().join("error.log");
        let child = Command::new(binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(&error_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so the master and its workers are stopped together.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run nginx: {e}"))?;
        let mut nginx = Nginx { addr, child, dir };
        let deadline = Instant::now() + BOUND;
        loop {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                return Err(format!("nginx exited ({status}):\n{}", nginx.error_log()));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(nginx);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "nginx did not accept on {addr} within {BOUND:?}:\n{}",
                    nginx.error_log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The master process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What nginx wrote to its error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    fn signal_group(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on the process group this struct started (pgid = the master's pid).
        unsafe {
            libc::kill(-(self.child.id() as libc::pid_t), signal);
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal_group(libc::SIGTERM);
            let deadline = Instant::now() + BOUND;
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // Whatever is left of the group (a worker the master did not reap in time).
        self.signal_group(libc::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx.conf for one HTTPS server.
fn config(dir: &Path, addr: SocketAddr, cert: &Path, key: &Path, options: &NginxOptions) -> String {
    let dir = dir.display();
    // Before 1.25.1 http2 is a `listen` parameter; from 1.25.1 it is its own directive.
    let (listen_h2, http2_on) = if version() >= (1, 25, 1) {
        ("", "        http2 on;\n")
    } else {
        (" http2", "")
    };
    // As root, workers would switch to `nobody` and could not use the temp folders here; keep
    // them as the current user. (The directive is only allowed for a root master.)
    // SAFETY: geteuid has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 {
        "user root;\n"
    } else {
        ""
    };
    let verify = match &options.client_ca {
        Some(ca) => format!(
            "        ssl_client_certificate {};\n        ssl_verify_client on;\n",
            ca.display()
        ),
        None => String::new(),
    };
    let workers = options.workers.max(1);
    format!(
        "daemon off;
master_process on;
{user}worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{
    worker_connections 8192;
}}
http {{
    access_log off;
    default_type text/plain;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    ssl_session_cache shared:nexus_bench_tls:10m;
    server {{
        listen {addr} ssl{listen_h2};
{http2_on}        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
{verify}        location = /ok {{
            return 200 \"ok\";
        }}
        location / {{
            return 404;
        }}
    }}
}}
",
        cert = cert.display(),
        key = key.display(),
    )
}
