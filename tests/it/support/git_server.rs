//! Git servers on the loopback interface: `git daemon` (the `git://` protocol) and git's smart
//! HTTP protocol (`git http-backend` run as a CGI program by a small std-only HTTP server).
//! Both serve every repository under a base directory and stop when dropped; the HTTP server
//! logs the requests it served, so tests can count fetches.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::git::git_command;

/// A running `git daemon` on `127.0.0.1`.
pub struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    /// Serves the repositories under `base` (all of them, read-only).
    pub fn start(base: &Path) -> GitDaemon {
        // The port is chosen by binding port 0 and letting it go: the daemon cannot report the
        // port it bound.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = daemon_command()
            .args([
                "--export-all",
                "--reuseaddr",
                "--informative-errors",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", base.display()),
                &base.display().to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning git daemon");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "git daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        GitDaemon { child, port }
    }

    /// Returns `git://127.0.0.1:<port>/<rel>`.
    pub fn url(&self, rel: &str) -> String {
        format!("git://127.0.0.1:{}/{rel}", self.port)
    }
}

/// `git-daemon` itself, with `git_command`'s environment. Started as `git daemon`, it would be
/// a child of `git`, and killing `git` when the test ends would leave it running.
fn daemon_command() -> Command {
    let git = git_command();
    let out = git_command()
        .arg("--exec-path")
        .output()
        .expect("running git --exec-path");
    assert!(out.status.success(), "git --exec-path failed");
    let exec_path = String::from_utf8(out.stdout).expect("git's exec path is UTF-8");
    let mut cmd = Command::new(Path::new(exec_path.trim_end()).join("git-daemon"));
    cmd.env_clear().stdin(Stdio::null());
    for (k, v) in git.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A logged request: method and target.
pub type LoggedRequest = (String, String);

/// A smart-HTTP git server on `127.0.0.1:0`.
pub struct GitHttpServer {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl GitHttpServer {
    /// Serves the repositories under `base`.
    pub fn start(base: &Path) -> GitHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log2, stop2, base) = (Arc::clone(&log), Arc::clone(&stop), base.to_owned());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let _ = serve_cgi(stream, &base, &log2);
                }
            }
        });
        GitHttpServer {
            addr,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// Returns `http://127.0.0.1:<port>/<rel>`.
    pub fn url(&self, rel: &str) -> String {
        format!("http://{}/{rel}", self.addr)
    }

    /// Returns the requests served so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().unwrap().clone()
    }

    /// Returns how many times a client asked for the refs (once per `git fetch`/`ls-remote`).
    pub fn ref_advertisements(&self) -> usize {
        self.requests()
            .iter()
            .filter(|(_, target)| target.contains("/info/refs"))
            .count()
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request, runs `git http-backend` for it and writes its answer.
fn serve_cgi(
    stream: TcpStream,
    base: &Path,
    log: &Mutex<Vec<LoggedRequest>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Ok(());
    };
    let (method, target) = (method.to_owned(), target.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(len) = header("Content-Length") {
        body.resize(len.parse().unwrap_or(0), 0);
        reader.read_exact(&mut body)?;
    } else if header("Transfer-Encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        body = read_chunked(&mut reader)?;
    }
    log.lock().unwrap().push((method.clone(), target.clone()));
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cmd = git_command();
    cmd.args(["http-backend"])
        .env("GIT_PROJECT_ROOT", base)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(ct) = header("Content-Type") {
        cmd.env("CONTENT_TYPE", ct);
    }
    for (k, v) in &headers {
        cmd.env(format!("HTTP_{}", k.to_uppercase().replace('-', "_")), v);
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let out = child.wait_with_output()?;
    let _ = writer.join();
    write_cgi_response(stream, &out.stdout)
}

/// Reads a chunked request body.
fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let n =
            usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        let mut chunk = vec![0; n + 2];
        if n == 0 {
            let mut end = String::new();
            reader.read_line(&mut end)?;
            return Ok(body);
        }
        reader.read_exact(&mut chunk)?;
        body.extend_from_slice(&chunk[..n]);
    }
}

/// Turns CGI output (headers, blank line, body) into an HTTP/1.1 response.
fn write_cgi_response(mut stream: TcpStream, cgi: &[u8]) -> std::io::Result<()> {
    let split = cgi
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| cgi.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let (head, body) = match split {
        Some((i, n)) => (
            String::from_utf8_lossy(&cgi[..i]).into_owned(),
            &cgi[i + n..],
        ),
        None => (String::new(), cgi),
    };
    let mut status = "200 OK".to_owned();
    let mut out = Vec::new();
    for line in head.lines() {
        match line.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("Status") => status = v.trim().to_owned(),
            Some(_) => out.extend_from_slice(format!("{line}\r\n").as_bytes()),
            None => {}
        }
    }
    let mut response = format!("HTTP/1.1 {status}\r\n").into_bytes();
    response.extend_from_slice(&out);
    response.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    response.extend_from_slice(body);
    stream.write_all(&response)?;
    stream.flush()
}
