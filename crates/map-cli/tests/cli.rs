//! mapctl end to end: every output mode, exit code and input format, `--dry-run`, `demo` and
//! `serve`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use map_sim::{SimConfig, Simulator};
use serde_json::Value;

fn mapctl() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mapctl"));
    command
        .env_remove("MAP_ACCESS_TOKEN")
        .env_remove("MAP_CLIENT_SECRET")
        .env_remove("MAP_ACCESS_TOKEN_FILE")
        .env_remove("MAP_CLIENT_SECRET_FILE")
        .env_remove("MAP_BASE_URL")
        .env_remove("RUST_LOG");
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

/// A job file in a fresh temporary directory.
fn job_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mapctl-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

const NDJSON: &str = r#"{"method":"POST","bulkId":"u1","path":"/Users","data":{"userName":"alice"}}
{"method":"POST","bulkId":"u2","path":"/Users","data":{"userName":"bob"}}

{"method":"POST","bulkId":"g1","path":"/Groups","data":{"id":"lab","members":[{"type":"User","value":"bulkId:u1"}]}}
{"method":"DELETE","path":"/Users/bulkId:u2"}
"#;

#[test]
fn demo_runs_as_designed() {
    let (code, stdout, stderr) = run(mapctl().arg("demo"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("7 operations in 3 requests"), "{stdout}");
    assert!(stdout.contains("6 succeeded, 1 failed"), "{stdout}");
    assert!(stdout.contains("'no-such-user' Not Found"), "{stdout}");
    assert!(stderr.contains("ran as designed"), "{stderr}");
}

#[test]
fn ndjson_input_with_json_output_against_the_embedded_simulator() {
    let path = job_file("job.ndjson", NDJSON);
    let (code, stdout, stderr) = run(mapctl().args(["bulk", "--simulator"]).arg(&path).args([
        "--output",
        "json",
        "--max-operations",
        "2",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("embedded mAP Core simulator"), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["summary"]["total"], 4);
    assert_eq!(report["summary"]["succeeded"], 4);
    assert_eq!(report["summary"]["requests"], 2);
    let operations = report["operations"].as_array().unwrap();
    assert_eq!(operations.len(), 4);
    assert_eq!(operations[0]["outcome"], "succeeded");
    assert_eq!(operations[0]["status"], 201, "status is a number");
    assert_eq!(operations[0]["bulkId"], "u1");
    assert!(operations[0]["id"].is_string());
    assert_eq!(
        operations[3]["path"],
        format!("/Users/{}", operations[1]["id"].as_str().unwrap())
    );
}

#[test]
fn ndjson_output_streams_one_line_per_operation_then_the_summary() {
    let path = job_file("stream.ndjson", NDJSON);
    let (code, stdout, _) = run(mapctl().args(["bulk", "--simulator"]).arg(&path).args([
        "--output",
        "ndjson",
        "--transport",
        "hyper",
    ]));
    assert_eq!(code, 0);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines
            .iter()
            .take(4)
            .map(|l| l["index"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(lines[4]["summary"]["succeeded"], 4);
}

#[test]
fn a_bulk_request_document_from_stdin_keeps_its_fail_on_errors() {
    let document = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"failOnErrors":1,
      "Operations":[{"method":"DELETE","path":"/Users/missing"},{"method":"POST","bulkId":"u1","path":"/Users","data":{"userName":"a"}}]}"#;
    let mut child = mapctl()
        .args(["bulk", "--simulator", "-", "--output", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(document.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "not every operation succeeded"
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["operations"][0]["outcome"], "failed");
    assert_eq!(
        report["operations"][0]["error"]["detail"],
        "'missing' Not Found"
    );
    assert_eq!(
        report["operations"][0]["status"], 400,
        "mAP Core's not found"
    );
    assert_eq!(report["operations"][0]["errorKind"], "notFound");
    assert_eq!(report["operations"][1]["outcome"], "skipped");
    assert!(
        report["operations"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("failOnErrors")
    );
}

/// A job written exactly as mAP Core's public client writes one (every unset field `null`,
/// POSTs without bulkId, relative paths, bare PATCH operations, a forward reference).
fn public_client_job() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/public_client/bulk_user_import.json")
}

#[test]
fn a_job_in_the_public_client_s_shape_succeeds_end_to_end() {
    for max_operations in ["1000", "3"] {
        let (code, stdout, stderr) = run(mapctl()
            .args(["bulk", "--simulator"])
            .arg(public_client_job())
            .args(["--output", "json", "--max-operations", max_operations]));
        assert_eq!(
            code, 0,
            "--max-operations {max_operations}: {stderr}\n{stdout}"
        );
        let report: Value = serde_json::from_str(&stdout).unwrap();
        let operations = report["operations"].as_array().unwrap();
        assert_eq!(operations.len(), 12);
        assert!(
            operations.iter().all(|op| op["outcome"] == "succeeded"),
            "{stdout}"
        );
        // A POST sent without a bulkId is reported without one.
        assert!(operations[0].get("bulkId").is_none(), "{}", operations[0]);
        assert_eq!(operations[1]["bulkId"], "svc");
        assert_eq!(operations[11]["status"], 204);
    }
}

#[test]
fn a_json_array_with_failures_reports_a_table_and_exits_1() {
    let array = r#"[{"method":"POST","bulkId":"a","path":"/Users","data":{"userName":"A","eduPersonPrincipalNames":[{"value":"same@idp"}]}},
                    {"method":"POST","bulkId":"b","path":"/Users","data":{"userName":"B","eduPersonPrincipalNames":[{"value":"same@idp"}]}},
                    {"method":"PATCH","path":"/Users/bulkId:b","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"preferredLanguage","value":"ja"}]}}]"#;
    let path = job_file("array.json", array);
    let (code, stdout, _) = run(mapctl()
        .args(["bulk", "--simulator"])
        .arg(&path)
        .args(["--max-operations", "1"]));
    assert_eq!(code, 1);
    assert!(
        stdout.contains(
            "3 operations in 3 requests (2 attempts, 2 answered): 1 succeeded, 1 failed, 1 skipped, 0 unknown"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("same@idp is already tied to another account (alreadyTied)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("depends on bulkId 'b', which failed"),
        "{stdout}"
    );
}

#[test]
fn invalid_input_lists_every_problem_and_exits_2() {
    let bad = "{\"method\":\"POST\",\"path\":\"/Users\",\"data\":{},\"location\":\"https://x\"}\n{\"method\":\"PUTCH\",\"path\":\"/Users/1\",\"data\":{}}\n{not json\n{\"method\":\"DELETE\",\"path\":\"/Users/bulkId:ghost\"}\n";
    let path = job_file("bad.ndjson", bad);
    let (code, stdout, stderr) = run(mapctl().args(["bulk", "--simulator"]).arg(&path));
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    for needle in [
        "4 problems",
        "operation 0 (line 1): invalid type: string \"https://x\", expected null (location, response and status are the server's answer: a job leaves them out or null)",
        "operation 1 (line 2): unknown variant `PUTCH`",
        "operation 2 (line 3): key must be a string",
        "operation 3: bulkId:ghost is not defined",
        "nothing was sent",
    ] {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    let (code, _, stderr) = run(mapctl().args(["bulk", "--simulator", "/no/such/file.ndjson"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read /no/such/file.ndjson"),
        "{stderr}"
    );
    let empty = job_file("empty.ndjson", "\n\n");
    let (code, _, stderr) = run(mapctl().args(["bulk", "--simulator"]).arg(&empty));
    assert_eq!(code, 2);
    assert!(stderr.contains("the job has no operations"), "{stderr}");
}

#[test]
fn usage_errors_exit_2_before_anything_is_sent() {
    let path = job_file("usage.ndjson", NDJSON);
    let (code, _, stderr) = run(mapctl()
        .arg("bulk")
        .arg(&path)
        .args(["--base-url", "https://map.example.ac.jp"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("MAP_ACCESS_TOKEN and MAP_CLIENT_SECRET"),
        "{stderr}"
    );
    let (code, _, stderr) = run(mapctl()
        .arg("bulk")
        .arg(&path)
        .args(["--base-url", "https://map.example.ac.jp"])
        .env("MAP_ACCESS_TOKEN", "t"));
    assert_eq!(code, 2);
    assert!(stderr.contains("MAP_CLIENT_SECRET is not set"), "{stderr}");
    let (code, _, stderr) = run(mapctl()
        .arg("bulk")
        .arg(&path)
        .args(["--base-url", "http://map.example.ac.jp"])
        .env("MAP_ACCESS_TOKEN", "t")
        .env("MAP_CLIENT_SECRET", "s"));
    assert_eq!(code, 2);
    assert!(stderr.contains("plain http"), "{stderr}");
    let (code, _, _) = run(mapctl()
        .args(["bulk", "--simulator"])
        .arg(&path)
        .args(["--concurrency", "0"]));
    assert_eq!(code, 2);
    let (code, _, _) = run(mapctl()
        .args(["bulk", "--simulator"])
        .arg(&path)
        .args(["--output", "xml"]));
    assert_eq!(code, 2);
}

#[test]
fn dry_run_prints_the_plan_and_sends_nothing() {
    let path = job_file("dry.ndjson", NDJSON);
    // A base URL nobody listens on: a dry run never connects.
    let (code, stdout, stderr) = run(mapctl().arg("bulk").arg(&path).args([
        "--dry-run",
        "--max-operations",
        "2",
        "--base-url",
        "https://unreachable.invalid",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("dry run: nothing was sent"), "{stdout}");
    assert!(stdout.contains("4 operations in 2 requests"), "{stdout}");
    assert!(
        stdout.contains("request 2: operations 2..3 (2 operations"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "operation 2 (request 2): bulkId:u1 ← the id created by operation 0 (request 1)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("operation 3 (request 2): bulkId:u2"),
        "{stdout}"
    );
}

#[test]
fn a_large_job_without_a_usable_temporary_directory_exits_2_before_sending() {
    // Ten thousand operations: more than the first pass keeps in memory.
    let job: String = (0..10_000)
        .map(|i| {
            format!(
                "{{\"method\":\"POST\",\"bulkId\":\"u{i}\",\"path\":\"/Users\",\"data\":{{\"userName\":\"user{i}\"}}}}\n"
            )
        })
        .collect();
    let path = job_file("large.ndjson", &job);
    let unreachable = |tmpdir: &Path| {
        run(mapctl()
            .arg("bulk")
            .arg(&path)
            .args(["--base-url", "http://127.0.0.1:9", "--output", "json"])
            .env("MAP_ACCESS_TOKEN", "token")
            .env("MAP_CLIENT_SECRET", "secret")
            .env("TMPDIR", tmpdir))
    };
    let missing = std::env::temp_dir().join("mapctl-test-no-such-directory");
    let (code, _, stderr) = unreachable(&missing);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("could not keep the job's index in a temporary file")
            && stderr.contains("mapctl-test-no-such-directory")
            && stderr.contains("TMPDIR"),
        "{stderr}"
    );
    // With a usable directory the same job validates and goes on to the (absent) server.
    let (code, _, stderr) = unreachable(&std::env::temp_dir());
    assert_eq!(code, 3, "{stderr}");
}

#[tokio::test]
async fn refused_credentials_and_an_unreachable_server_exit_3() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let path = job_file("auth.ndjson", NDJSON);
    let mut command = mapctl();
    command
        .arg("bulk")
        .arg(&path)
        .args(["--base-url", sim.base_url()])
        .env(
            "MAP_ACCESS_TOKEN",
            sim.credentials().access_token.expose_secret(),
        )
        .env("MAP_CLIENT_SECRET", "wrong-secret-value");
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || run(&mut command))
        .await
        .unwrap();
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stderr.contains("refused the credentials"), "{stderr}");
    assert!(!format!("{stdout}{stderr}").contains("wrong-secret-value"));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let (code, _, stderr) = run(mapctl()
        .arg("bulk")
        .arg(&path)
        .args(["--base-url", &format!("http://{address}")])
        .env("MAP_ACCESS_TOKEN", "t")
        .env("MAP_CLIENT_SECRET", "s"));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("could not be reached"), "{stderr}");
}

#[test]
fn serve_prints_its_url_and_credentials_and_stops_on_sigterm() {
    let mut server = mapctl()
        .args(["serve", "--port", "0", "--max-operations", "2"])
        .args(["--self-user", "operator@example.ac.jp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let token = lines.next().unwrap().unwrap();
    let secret = lines.next().unwrap().unwrap();
    let token = token.strip_prefix("MAP_ACCESS_TOKEN=").unwrap().to_owned();
    let secret = secret
        .strip_prefix("MAP_CLIENT_SECRET=")
        .unwrap()
        .to_owned();

    let path = job_file("served.ndjson", NDJSON);
    let (code, stdout, stderr) = run(mapctl()
        .arg("bulk")
        .arg(&path)
        .args(["--base-url", &url, "--max-operations", "2"])
        .env("MAP_ACCESS_TOKEN", &token)
        .env("MAP_CLIENT_SECRET", &secret));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!stderr.contains("embedded"), "{stderr}");
    let (code, stdout, stderr) = run(mapctl()
        .args(["self", "--base-url", &url, "--output", "json"])
        .env("MAP_ACCESS_TOKEN", &token)
        .env("MAP_CLIENT_SECRET", &secret));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("operator@example.ac.jp"), "{stdout}");

    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = server.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "serve stops cleanly on SIGTERM");
}

/// Runs mapctl with `RUST_LOG=trace` and the given credentials; returns everything it printed.
fn traced(args: &[&str], token: &str, secret: &str) -> String {
    let (_, stdout, stderr) = run(mapctl()
        .args(args)
        .env("RUST_LOG", "trace")
        .env("MAP_ACCESS_TOKEN", token)
        .env("MAP_CLIENT_SECRET", secret));
    format!("{stdout}{stderr}")
}

#[tokio::test]
async fn secrets_never_reach_output_or_logs() {
    let token = "tok-Q7w3-never-print";
    let secret = "sec-Z9k1-never-print";
    let sim = Simulator::start(
        SimConfig::default().with_credentials(map_auth::Credentials::new(token, secret)),
    )
    .await
    .unwrap();
    let base_url = sim.base_url().to_owned();
    let good = job_file("secrets-good.ndjson", NDJSON);
    let failing = job_file(
        "secrets-failing.ndjson",
        "{\"method\":\"DELETE\",\"path\":\"/Users/missing\"}\n",
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unreachable = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let good_path = good.display().to_string();
    let failing_path = failing.display().to_string();
    let captured = tokio::task::spawn_blocking(move || {
        let mut all = String::new();
        for output in ["human", "json", "ndjson"] {
            all += &traced(
                &[
                    "bulk",
                    &good_path,
                    "--base-url",
                    &base_url,
                    "--output",
                    output,
                ],
                token,
                secret,
            );
        }
        all += &traced(
            &[
                "bulk",
                &failing_path,
                "--base-url",
                &base_url,
                "--output",
                "json",
            ],
            token,
            secret,
        );
        all += &traced(
            &["bulk", &good_path, "--base-url", &base_url],
            token,
            "wrong-secret",
        );
        all += &traced(
            &["bulk", &good_path, "--base-url", &unreachable],
            token,
            secret,
        );
        all += &traced(
            &["bulk", &good_path, "--base-url", &base_url, "--dry-run"],
            token,
            secret,
        );
        all
    })
    .await
    .unwrap();
    assert!(captured.contains("succeeded"), "the runs ran: {captured}");
    assert!(
        captured.contains("TRACE") || captured.contains("DEBUG"),
        "tracing was on"
    );
    for value in [token, secret] {
        assert!(
            !captured.contains(value),
            "{value} appeared in mapctl's output"
        );
    }
    assert!(
        sim.counters().operations_applied >= 4,
        "the first run applied its four operations"
    );
}

const RESUMABLE: &str = r#"{"method":"POST","bulkId":"u1","path":"/Users","data":{"userName":"alice"}}
{"method":"POST","bulkId":"g1","path":"/Groups","data":{"id":"lab-a","displayName":"Lab A"}}
{"method":"POST","bulkId":"u2","path":"/Users","data":{"userName":"bob"}}
{"method":"PATCH","path":"/Groups/lab-a","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"type":"User","value":"bulkId:u1"}]}]}}
{"method":"PATCH","path":"/Groups/lab-a","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"type":"User","value":"bulkId:u2"}]}]}}
{"method":"POST","bulkId":"u3","path":"/Users","data":{"userName":"carol"}}
"#;

/// SIGKILLs a real `mapctl bulk --journal` while its second request is held by the server,
/// then runs the same job with the same journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_request_resumes_from_its_journal() {
    use map_sim::{Fault, FaultPlan};
    use std::time::Duration;

    let sim =
        Simulator::start(SimConfig::default().with_faults(
            FaultPlan::none().on_request(2, Fault::Delay(Duration::from_millis(1000))),
        ))
        .await
        .unwrap();
    let job = job_file("resumable.ndjson", RESUMABLE);
    let journal = job.with_file_name("resumable.journal");
    let _ = std::fs::remove_file(&journal);
    let bulk = |extra: &[&str]| {
        let mut command = mapctl();
        command
            .arg("bulk")
            .arg(&job)
            .args(["--base-url", sim.base_url(), "--max-operations", "2"])
            .arg("--journal")
            .arg(&journal)
            .args(extra)
            .env(
                "MAP_ACCESS_TOKEN",
                sim.credentials().access_token.expose_secret(),
            )
            .env(
                "MAP_CLIENT_SECRET",
                sim.credentials().client_secret.expose_secret(),
            );
        command
    };

    let mut child = bulk(&["--output", "ndjson"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut in_flight = false;
    for _ in 0..2000 {
        let written = std::fs::read_to_string(&journal).unwrap_or_default();
        if sim.counters().faults_injected == 1 && written.contains("\"request\":2") {
            in_flight = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(in_flight, "request 2 reached the server");
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    // Let the held request finish on the server, if it goes on without its client.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let requests_before = sim.counters().bulk_requests;

    let mut command = bulk(&["--output", "json"]);
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || run(&mut command))
        .await
        .unwrap();
    assert_eq!(
        code, 1,
        "an unknown outcome is not success: {stdout}{stderr}"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let outcomes: Vec<&str> = report["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "succeeded",
            "succeeded",
            "unknown",
            "succeeded",
            "skipped",
            "succeeded"
        ],
        "{stdout}"
    );
    assert_eq!(report["summary"]["resumed"], 2, "{stdout}");
    assert_eq!(report["summary"]["requests"], 2, "{stdout}");
    assert_eq!(sim.counters().bulk_requests, requests_before + 2);
    let counters = sim.counters();
    for bulk_id in ["u1", "g1", "u3"] {
        assert_eq!(
            counters.applied_by_bulk_id.get(bulk_id),
            Some(&1),
            "{bulk_id}"
        );
    }
    assert!(counters.applied_by_bulk_id.get("u2").copied().unwrap_or(0) <= 1);

    // Once more: nothing is sent, the report is the same.
    let mut command = bulk(&["--output", "json"]);
    let (code, again, _) = tokio::task::spawn_blocking(move || run(&mut command))
        .await
        .unwrap();
    assert_eq!(code, 1);
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["operations"], report["operations"]);
    assert_eq!(again["summary"]["requests"], 0);
    assert_eq!(sim.counters().bulk_requests, requests_before + 2);

    // The journal belongs to this job: another job is refused before anything is sent.
    std::fs::write(&job, RESUMABLE.replace("carol", "dave")).unwrap();
    let mut command = bulk(&[]);
    let (code, _, stderr) = tokio::task::spawn_blocking(move || run(&mut command))
        .await
        .unwrap();
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("written for a different job"), "{stderr}");
    assert_eq!(sim.counters().bulk_requests, requests_before + 2);
}

#[tokio::test]
async fn the_base_url_and_credentials_may_come_from_map_base_url_and_secret_files() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let path = job_file("from-files.ndjson", NDJSON);
    let token = job_file(
        "token",
        &format!("{}\n", sim.credentials().access_token.expose_secret()),
    );
    let secret = job_file(
        "secret",
        &format!("{}\n", sim.credentials().client_secret.expose_secret()),
    );
    let mut command = mapctl();
    command
        .arg("bulk")
        .arg(&path)
        .env("MAP_BASE_URL", sim.base_url())
        .env("MAP_ACCESS_TOKEN_FILE", &token)
        .env("MAP_CLIENT_SECRET_FILE", &secret);
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || run(&mut command))
        .await
        .unwrap();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        !stderr.contains("embedded"),
        "sent to MAP_BASE_URL: {stderr}"
    );
    assert!(stdout.contains("4 succeeded"), "{stdout}");
    assert_eq!(
        sim.counters().bulk_requests,
        1,
        "the job reached MAP_BASE_URL's server"
    );

    // A variable and its _FILE together: a usage error naming both, nothing sent.
    let before = sim.counters().bulk_requests;
    let mut command = mapctl();
    command
        .arg("bulk")
        .arg(&path)
        .env("MAP_BASE_URL", sim.base_url())
        .env("MAP_ACCESS_TOKEN", "token-in-the-environment")
        .env("MAP_ACCESS_TOKEN_FILE", &token)
        .env("MAP_CLIENT_SECRET_FILE", &secret);
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || run(&mut command))
        .await
        .unwrap();
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("both MAP_ACCESS_TOKEN and MAP_ACCESS_TOKEN_FILE are set"),
        "{stderr}"
    );
    assert!(!format!("{stdout}{stderr}").contains("token-in-the-environment"));
    assert_eq!(sim.counters().bulk_requests, before);
}

#[test]
fn bulk_and_sync_without_a_base_url_refuse_rather_than_run_on_a_simulator() {
    let job = job_file("no-url.ndjson", NDJSON);
    let people = job_file("no-url.csv", "userName\nAlice\n");
    // A typo in the variable's name leaves no base URL at all.
    for args in [
        ["bulk", job.to_str().unwrap()],
        ["sync", people.to_str().unwrap()],
    ] {
        let (code, stdout, stderr) = run(mapctl().args(args).env("MAP_BASE_ULR", "https://x"));
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("--base-url") && stderr.contains("MAP_BASE_URL"),
            "{stderr}"
        );
        assert!(stderr.contains("--simulator"), "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
    }
}

#[test]
fn a_journal_written_against_one_server_is_refused_against_another() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let a = runtime
        .block_on(Simulator::start(SimConfig::default()))
        .unwrap();
    let b = runtime
        .block_on(Simulator::start(SimConfig::default()))
        .unwrap();
    let path = job_file("two-servers.ndjson", NDJSON);
    let journal = path.with_extension("journal");
    let _ = std::fs::remove_file(&journal);
    let bulk = |sim: &Simulator| {
        let credentials = sim.credentials();
        run(mapctl()
            .arg("bulk")
            .arg(&path)
            .arg("--journal")
            .arg(&journal)
            .args(["--base-url", sim.base_url()])
            .env("MAP_ACCESS_TOKEN", credentials.access_token.expose_secret())
            .env(
                "MAP_CLIENT_SECRET",
                credentials.client_secret.expose_secret(),
            ))
    };
    let (code, stdout, stderr) = bulk(&a);
    assert!(code == 0 || code == 1, "{stdout}{stderr}");
    assert!(journal.exists(), "{stderr}");
    let (code, _, stderr) = bulk(&b);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("was written against {}", a.base_url()))
            && stderr.contains(b.base_url()),
        "{stderr}"
    );
    assert_eq!(b.counters().bulk_requests, 0);
}

#[test]
fn a_base_url_ending_in_api_v2_is_named_with_the_url_requested() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = runtime
        .block_on(Simulator::start(SimConfig::default()))
        .unwrap();
    let credentials = sim.credentials();
    let path = job_file(
        "wrong-base.ndjson",
        r#"{"method":"DELETE","path":"/Groups/x"}"#,
    );
    let wrong = format!("{}/api/v2", sim.base_url());
    let (code, stdout, stderr) = run(mapctl()
        .arg("bulk")
        .arg(&path)
        .args(["--base-url", &wrong])
        .env("MAP_ACCESS_TOKEN", credentials.access_token.expose_secret())
        .env(
            "MAP_CLIENT_SECRET",
            credentials.client_secret.expose_secret(),
        ));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "{wrong}/api/v2/Bulk: no such endpoint; is the base URL right?"
        )),
        "{stdout}"
    );
    // An empty secret is said to be empty, not missing.
    let (code, _, stderr) = run(mapctl()
        .arg("bulk")
        .arg(&path)
        .args(["--base-url", sim.base_url()])
        .env("MAP_ACCESS_TOKEN", "t")
        .env("MAP_CLIENT_SECRET", ""));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("MAP_CLIENT_SECRET is set but empty"),
        "{stderr}"
    );
}
