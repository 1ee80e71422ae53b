//! A small HTTP/1.1 test server with scripted misbehaviour, for the conformance suite.
//!
//! Each request is recorded exactly as received (method, target, headers in order, body).
//! What the server answers depends on the path:
//!
//! | path | answer |
//! |---|---|
//! | `/echo` | 200 with the request body |
//! | `/status/NNN` | status NNN with a short body |
//! | `/redirect` | 302 to `/echo` |
//! | `/hang` | reads the request, never answers |
//! | `/close` | reads the request, closes the connection without answering |
//! | `/truncate` | announces 1000 bytes, sends 10, closes |
//! | `/big/N` | 200 with N bytes, with Content-Length |
//! | `/big-chunked/N` | 200 with N bytes, chunked (no Content-Length) |
//! | `/drip` | 200, then one byte every 20 ms, forever |

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    connections: AtomicUsize,
    requests: Mutex<Vec<Recorded>>,
}

pub struct TestServer {
    pub base_url: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State::default());
        let accept_state = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                accept_state.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_connection(stream, accept_state.clone()));
            }
        });
        TestServer {
            base_url,
            state,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A port on which nothing listens.
pub async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/echo")
}

async fn serve_connection(mut stream: TcpStream, state: Arc<State>) {
    let mut buffer = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut buffer).await else {
            return;
        };
        state.requests.lock().unwrap().push(request.clone());
        let path = request.target.split('?').next().unwrap_or("").to_owned();
        let keep_going = answer(&mut stream, &path, &request).await;
        if !keep_going {
            return;
        }
    }
}

async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Recorded> {
    let head_end = loop {
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let mut chunk = [0u8; 64 * 1024];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buffer.len() < body_start + length {
        let mut chunk = [0u8; 64 * 1024];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = buffer[body_start..body_start + length].to_vec();
    buffer.drain(..body_start + length);
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}

/// Answers one request; returns whether the connection stays open.
async fn answer(stream: &mut TcpStream, path: &str, request: &Recorded) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["echo"] => respond(stream, 200, &[], &request.body).await,
        ["status", code] => {
            let code: u16 = code.parse().unwrap_or(500);
            respond(stream, code, &[], format!("status {code}").as_bytes()).await
        }
        ["redirect"] => respond(stream, 302, &[("Location", "/echo")], b"").await,
        ["hang"] => {
            std::future::pending::<()>().await;
            false
        }
        ["close"] => false,
        ["truncate"] => {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789";
            let _ = stream.write_all(head.as_bytes()).await;
            false
        }
        ["big", n] => {
            let body = vec![b'x'; n.parse().unwrap_or(0)];
            respond(stream, 200, &[], &body).await
        }
        ["big-chunked", n] => {
            let n: usize = n.parse().unwrap_or(0);
            let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return false;
            }
            let chunk = vec![b'y'; 64 * 1024];
            let mut sent = 0;
            while sent < n {
                let len = chunk.len().min(n - sent);
                let frame = format!("{len:x}\r\n");
                if stream.write_all(frame.as_bytes()).await.is_err()
                    || stream.write_all(&chunk[..len]).await.is_err()
                    || stream.write_all(b"\r\n").await.is_err()
                {
                    return false;
                }
                sent += len;
            }
            stream.write_all(b"0\r\n\r\n").await.is_ok()
        }
        ["drip"] => {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return false;
            }
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if stream.write_all(b".").await.is_err() {
                    return false;
                }
            }
        }
        _ => respond(stream, 404, &[], b"no such test path").await,
    }
}

async fn respond(stream: &mut TcpStream, code: u16, headers: &[(&str, &str)], body: &[u8]) -> bool {
    let mut head = format!("HTTP/1.1 {code} Test\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.is_ok() && stream.write_all(body).await.is_ok()
}

/// A TLS acceptor presenting `cert` (its PKCS#8 key `key`) and a loopback listener with its
/// port.
async fn tls_listener(
    cert: tokio_rustls::rustls::pki_types::CertificateDer<'static>,
    key: Vec<u8>,
) -> (tokio_rustls::TlsAcceptor, TcpListener, u16) {
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        listener,
        port,
    )
}

/// An https server on loopback whose certificate (self-signed, for `localhost`) no client
/// trusts. It completes no handshake with a verifying client and answers nothing.
pub async fn untrusted_tls_url() -> (String, tokio::task::JoinHandle<()>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (acceptor, listener, port) = tls_listener(
        certified.cert.der().clone(),
        certified.signing_key.serialize_der(),
    )
    .await;
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // The client refuses the certificate; nothing past the handshake happens.
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    (format!("https://localhost:{port}/echo"), task)
}

/// A TLS server for `localhost` whose certificate is issued by a fresh CA, answering every
/// request `200 ok`: its URL, the CA's certificate in PEM, and the server's task.
pub async fn tls_url_with_private_ca() -> (String, String, tokio::task::JoinHandle<()>) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
    let ca = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let (acceptor, listener, port) =
        tls_listener(leaf.der().clone(), leaf_key.serialize_der()).await;
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(stream).await else {
                    return;
                };
                // A GET without a body: the request ends with its headers.
                let mut seen = Vec::new();
                let mut buffer = [0u8; 1024];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (format!("https://localhost:{port}/ca"), ca_pem, task)
}
