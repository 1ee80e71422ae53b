//! mapctl against a server written apart from map-sim: `tests/independent/strict_map_server.py`
//! (Python, standard library only), which checks signatures and request shapes by the
//! documentation and injects faults from a seeded schedule — refusals before applying, and
//! dropped connections, 500s, 502s and truncated bodies after applying. Whatever the schedule,
//! every operation gets one outcome that agrees with the server's state, and no POST reaches
//! the server twice.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const TOKEN: &str = "independent-token";
const SECRET: &str = "independent-secret";

struct Server {
    child: Child,
    base_url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(seed: u64, fault_percent: u32) -> Server {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/independent/strict_map_server.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .args([TOKEN, SECRET, &seed.to_string(), &fault_percent.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed to run the independent server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("http://"), "server said {line:?}");
    Server {
        child,
        base_url: line.trim().to_owned(),
    }
}

/// `GET /stats` over a plain socket (no HTTP client in this crate's dependencies).
fn stats(server: &Server) -> Value {
    let address = server.base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /stats HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap()
}

/// 120 users; then, in later requests, PATCHes (half of them one bare operation, as mAP
/// Core's own client writes them), PUTs and DELETEs of some of them by reference; POSTs
/// followed in the same request by a PATCH of what they create; and POSTs without a bulkId,
/// every unset field null.
fn job() -> Vec<Value> {
    let user = |i: usize| {
        json!({"userName": format!("user{i:03}"), "displayName": format!("User {i}"),
               "eduPersonPrincipalNames": [{"value": format!("user{i:03}@idp.example.ac.jp")}]})
    };
    let mut ops: Vec<Value> = (0..120)
        .map(|i| json!({"method": "POST", "bulkId": format!("u{i}"), "path": "/Users", "data": user(i)}))
        .collect();
    for i in 0..30 {
        let replace = json!({"op": "replace", "value": {"displayName": format!("Patched {i}")}});
        let data = if i % 2 == 0 {
            replace
        } else {
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [replace]})
        };
        ops.push(json!({"method": "PATCH", "path": format!("/Users/bulkId:u{i}"), "data": data}));
    }
    for i in 30..50 {
        ops.push(json!({"method": "PUT", "path": format!("/Users/bulkId:u{i}"), "data": user(i)}));
    }
    for i in 50..80 {
        ops.push(json!({"method": "DELETE", "path": format!("/Users/bulkId:u{i}")}));
    }
    for i in 120..140 {
        ops.push(
            json!({"method": "POST", "bulkId": format!("u{i}"), "path": "/Users", "data": user(i)}),
        );
        ops.push(
            json!({"method": "PATCH", "path": format!("/Users/bulkId:u{i}"), "data": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"displayName": "Same request"}}]}}),
        );
    }
    for i in 140..150 {
        ops.push(
            json!({"method": "POST", "bulkId": null, "path": "/Users", "data": user(i),
                        "location": null, "response": null, "status": null}),
        );
    }
    ops
}

fn run_against(server: &Server, job: &[Value], dir: &str) -> (i32, Value, String) {
    let dir = std::env::temp_dir().join(format!("mapctl-independent-{}-{dir}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("job.ndjson");
    let lines: Vec<String> = job.iter().map(Value::to_string).collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mapctl"))
        .arg("bulk")
        .arg(&path)
        .args(["--base-url", &server.base_url, "--max-operations", "20"])
        .args(["--output", "json", "--timeout", "10"])
        .env("MAP_ACCESS_TOKEN", TOKEN)
        .env("MAP_CLIENT_SECRET", SECRET)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}): {stdout}{stderr}"));
    (output.status.code().unwrap_or(-1), report, stderr)
}

fn check(seed: u64, fault_percent: u32) -> Value {
    let server = start(seed, fault_percent);
    let job = job();
    let (code, report, stderr) = run_against(&server, &job, &format!("{seed}"));
    let stats = stats(&server);
    let context = format!("seed {seed}: {stats}\n{stderr}");
    assert!(code == 0 || code == 1, "exit {code}: {context}");

    let outcomes = report["operations"].as_array().unwrap();
    let indices: Vec<u64> = outcomes
        .iter()
        .map(|o| o["index"].as_u64().unwrap())
        .collect();
    assert_eq!(
        indices,
        (0..job.len() as u64).collect::<Vec<_>>(),
        "{context}"
    );

    let count = |key: &str, name: &str| stats[key][name].as_u64().unwrap_or(0);
    let live: Vec<&str> = stats["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    let mut created_ids: HashMap<String, String> = HashMap::new();
    for (op, outcome) in job.iter().zip(outcomes) {
        let kind = outcome["outcome"].as_str().unwrap();
        let method = op["method"].as_str().unwrap();
        if method == "POST" {
            let name = op["data"]["userName"].as_str().unwrap();
            // Never sent twice, whatever happened to the answers.
            assert!(
                count("posts_received", name) <= 1,
                "{name} POSTed twice: {context}"
            );
            assert!(
                count("created", name) <= 1,
                "{name} created twice: {context}"
            );
            match kind {
                "succeeded" => {
                    assert_eq!(count("created", name), 1, "{name}: {context}");
                    if let Some(bulk_id) = op["bulkId"].as_str() {
                        created_ids.insert(
                            bulk_id.to_owned(),
                            outcome["id"].as_str().unwrap().to_owned(),
                        );
                    }
                }
                "failed" | "skipped" => {
                    assert_eq!(count("created", name), 0, "{name} {kind}: {context}")
                }
                "unknown" => {}
                other => panic!("{other}"),
            }
        }
        if method == "DELETE" && kind == "succeeded" {
            let i: usize = op["path"].as_str().unwrap()["/Users/bulkId:u".len()..]
                .parse()
                .unwrap();
            let name = format!("user{i:03}");
            assert!(
                !live.contains(&name.as_str()),
                "{name} still there: {context}"
            );
        }
        // What failed is a server's answer to that operation, never a lost one.
        if kind == "failed" {
            assert!(outcome["status"].is_u64(), "{outcome}: {context}");
        }
    }
    // A succeeded DELETE's path names the id its POST created.
    for outcome in outcomes {
        if outcome["method"] == "DELETE" && outcome["outcome"] == "succeeded" {
            let path = outcome["path"].as_str().unwrap();
            assert!(
                created_ids.values().any(|id| path.ends_with(id.as_str())),
                "{path}: {context}"
            );
        }
    }
    report
}

#[test]
fn without_faults_every_operation_succeeds() {
    let report = check(1, 0);
    let summary = &report["summary"];
    assert_eq!(summary["total"], 250, "{summary}");
    assert_eq!(summary["succeeded"], 250, "{summary}");
}

#[test]
fn under_faults_nothing_is_lost_or_sent_twice() {
    let mut faults_seen = 0;
    for seed in [7, 11, 23, 42] {
        let report = check(seed, 35);
        let summary = &report["summary"];
        assert_eq!(summary["total"], 250, "{summary}");
        let requests = summary["requests"].as_u64().unwrap();
        assert!(requests > 11, "seed {seed}: faults make retries: {summary}");
        faults_seen += 1;
    }
    assert_eq!(faults_seen, 4);
}
