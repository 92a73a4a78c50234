//! A std-only HTTP/1.1 server on `127.0.0.1:0`, for download tests (cargo's
//! `cargo-test-support` `HttpServer`).
//!
//! Routes map a request target (path plus query, exactly as sent) to a canned [`Response`];
//! unknown targets get 404. A route whose response has an `ETag` answers a matching
//! `If-None-Match` with 304. A directory mounted with [`HttpServer::serve_dir`] answers `GET` and
//! `HEAD` from its files and stores `PUT` bodies in them (a writable binary cache). Every request
//! is logged. Connections are served one at a time and closed after each response. The server
//! stops when dropped.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A canned response.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers besides `Content-Length` and `Connection`, which the server adds.
    pub headers: Vec<(String, String)>,
    /// The body (not sent for `HEAD` and 304).
    pub body: Vec<u8>,
    /// Send the body `n` bytes at a time with a pause after each (a slow download).
    pub throttle: Option<(usize, Duration)>,
}

impl Response {
    /// Returns a 200 response with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Response::status(200).body(body)
    }

    /// Returns a response with `status` and an empty body (404, 500, …).
    pub fn status(status: u16) -> Self {
        Response {
            status,
            headers: vec![],
            body: vec![],
            throttle: None,
        }
    }

    /// Returns a redirect (301, 302, 307, 308) to `location`.
    pub fn redirect(status: u16, location: &str) -> Self {
        Response::status(status).header("Location", location)
    }

    /// Adds a header (`ETag`, `Last-Modified`, `Link`, …).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Replaces the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends the body `chunk` bytes at a time, pausing `pause` after each (the server stops
    /// pausing when it is dropped).
    pub fn slowly(mut self, chunk: usize, pause: Duration) -> Self {
        self.throttle = Some((chunk.max(1), pause));
        self
    }

    /// Returns the value of header `name` (case-insensitive).
    fn get_header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// A logged request.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `HEAD`, …
    pub method: String,
    /// The request target: path plus query.
    pub path: String,
    /// The headers in the order received.
    pub headers: Vec<(String, String)>,
    /// The body (read when the request has a `Content-Length`).
    pub body: Vec<u8>,
}

impl Request {
    /// Returns the value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Response>,
    /// Path prefixes (ending in `/`) served from directories.
    dirs: Vec<(String, PathBuf)>,
    log: Vec<Request>,
}

/// The running server; see the module docs.
pub struct HttpServer {
    addr: SocketAddr,
    /// The TLS set-up when the server speaks HTTPS: the CA certificate (PEM) clients must trust.
    ca_pem: Option<String>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `127.0.0.1:0` and starts serving in a thread.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Like [`HttpServer::start`], but speaking HTTPS with a certificate for `localhost` and
    /// `127.0.0.1` issued by a fresh test CA; [`HttpServer::ca_pem`] is that CA.
    pub fn start_tls() -> Self {
        let (config, ca_pem) = tls_config();
        let mut server = Self::start_with(Some(config));
        server.ca_pem = Some(ca_pem);
        server
    }

    /// Returns the test CA's certificate (PEM) of an HTTPS server.
    pub fn ca_pem(&self) -> &str {
        self.ca_pem.as_deref().expect("an HTTPS server")
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (state2, stop2) = (Arc::clone(&state), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                // A client that hangs up mid-request is not the server's problem.
                let _ = stream.and_then(|s| {
                    s.set_read_timeout(Some(Duration::from_secs(10)))?;
                    match &tls {
                        None => serve(s, &state2, &stop2),
                        Some(cfg) => {
                            let conn = rustls::ServerConnection::new(Arc::clone(cfg))
                                .map_err(io::Error::other)?;
                            serve(rustls::StreamOwned::new(conn, s), &state2, &stop2)
                        }
                    }
                });
            }
        });
        HttpServer {
            addr,
            ca_pem: None,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// Returns `http://127.0.0.1:<port><path>` (`https://localhost:<port><path>` for HTTPS).
    pub fn url(&self, path: &str) -> String {
        match self.ca_pem {
            None => format!("http://{}{path}", self.addr),
            Some(_) => format!("https://localhost:{}{path}", self.addr.port()),
        }
    }

    /// Serves `response` for `path` (replacing any earlier route for it).
    pub fn route(&self, path: &str, response: Response) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_owned(), response);
    }

    /// Serves the files of `dir` under `prefix` (e.g. `/cache`): `GET`/`HEAD` read them (404 when
    /// missing), `PUT` writes the body (creating directories) and answers 201. Exact routes win.
    pub fn serve_dir(&self, prefix: &str, dir: &Path) {
        let prefix = format!("{}/", prefix.trim_end_matches('/'));
        self.state
            .lock()
            .unwrap()
            .dirs
            .push((prefix, dir.to_owned()));
    }

    /// Returns the requests received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().log.clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request from `stream`, logs it and writes the routed response.
fn serve(stream: impl Read + Write, state: &Mutex<State>, stop: &AtomicBool) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader)? else {
        return Ok(());
    };
    let stream = reader.into_inner();
    let response = {
        let mut state = state.lock().unwrap();
        state.log.push(request.clone());
        let routed = state.routes.get(&request.path).cloned();
        routed
            .or_else(|| serve_from_dir(&state.dirs, &request))
            .unwrap_or_else(|| Response::status(404).body("not found\n"))
    };
    write_response(stream, &request, &conditional(&request, response), stop)
}

/// Answers `request` from a directory mounted with `serve_dir`, if its path is under one.
fn serve_from_dir(dirs: &[(String, PathBuf)], request: &Request) -> Option<Response> {
    let path = request.path.split('?').next().unwrap_or_default();
    let (prefix, dir) = dirs.iter().find(|(p, _)| path.starts_with(p.as_str()))?;
    let rel = &path[prefix.len()..];
    if rel.is_empty()
        || rel
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Some(Response::status(403));
    }
    let file = dir.join(rel);
    Some(match request.method.as_str() {
        "GET" | "HEAD" => match std::fs::read(&file) {
            Ok(body) => Response::ok(body),
            Err(_) => Response::status(404),
        },
        "PUT" => {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &request.body).unwrap();
            Response::status(201)
        }
        _ => Response::status(405),
    })
}

/// Turns a 200 into a bodiless 304 when the request's `If-None-Match` names the response's `ETag`.
fn conditional(request: &Request, response: Response) -> Response {
    let (Some(etag), Some(wanted)) = (response.get_header("ETag"), request.header("If-None-Match"))
    else {
        return response;
    };
    if response.status == 200
        && wanted
            .split(',')
            .any(|w| w.trim() == etag || w.trim() == "*")
    {
        return Response::status(304).header("ETag", etag);
    }
    response
}

/// Parses the request line and headers; `None` if the client sent nothing.
fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = vec![];
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
    }
    let len = find_header(&headers, "Content-Length").map_or(0, |l| l.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

fn write_response(
    mut stream: impl Write,
    request: &Request,
    response: &Response,
    stop: &AtomicBool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        response.body.len()
    ));
    stream.write_all(head.as_bytes())?;
    if request.method != "HEAD" && response.status != 304 {
        match response.throttle {
            None => stream.write_all(&response.body)?,
            Some((chunk, pause)) => {
                for part in response.body.chunks(chunk) {
                    stream.write_all(part)?;
                    stream.flush()?;
                    let end = std::time::Instant::now() + pause;
                    while std::time::Instant::now() < end {
                        if stop.load(Ordering::SeqCst) {
                            return Ok(());
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
            }
        }
    }
    stream.flush()
}

/// A server configuration with a certificate for `localhost` and `127.0.0.1` signed by a fresh
/// CA, and that CA's certificate (PEM).
fn tls_config() -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key_der)
        .unwrap();
    (Arc::new(config), ca_cert.pem())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// Sends a raw request and returns the whole response.
    fn get(server: &HttpServer, path: &str, extra: &str) -> String {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn routes_etags_redirects_and_log() {
        let server = HttpServer::start();
        server.route("/r", Response::ok("hi").header("ETag", "\"v1\""));
        server.route("/old", Response::redirect(301, "/r"));
        let ok = get(&server, "/r", "");
        assert!(
            ok.starts_with("HTTP/1.1 200 OK\r\nETag: \"v1\"\r\n") && ok.ends_with("\r\n\r\nhi")
        );
        let cached = get(&server, "/r", "If-None-Match: \"v1\"\r\n");
        assert!(
            cached.starts_with("HTTP/1.1 304 Not Modified\r\n") && cached.ends_with("\r\n\r\n")
        );
        assert!(get(&server, "/old", "").contains("\r\nLocation: /r\r\n"));
        assert!(get(&server, "/nope?q=1", "").starts_with("HTTP/1.1 404 Not Found\r\n"));
        let log = server.requests();
        let paths: Vec<_> = log.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/r", "/r", "/old", "/nope?q=1"]);
        assert_eq!(log[1].header("if-none-match"), Some("\"v1\""));
    }
}
