//! `mapctl users|groups|services …`, `eppn` and `self` end to end against map-sim: every verb,
//! every output mode, paging across pages of the server's default 20, error details and
//! exit codes, over both transports.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::PathBuf;

use map_sim::SimConfig;
use serde_json::{Value, json};
use support::{Server, run};

/// A server whose token belongs to a user, for `mapctl self`.
fn server() -> Server {
    Server::start_with(SimConfig::default().with_self_user(json!({
        "userName": "Operator",
        "eduPersonPrincipalNames": [{"value": "operator@example.ac.jp"}]
    })))
}

fn file(name: &str, contents: &Value) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mapctl-resources-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents.to_string()).unwrap();
    path
}

fn alice() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:User"],
        "userName": "Alice",
        "eduPersonPrincipalNames": [{"value": "alice@example.ac.jp"}],
        "emails": [{"value": "alice@example.ac.jp"}]
    })
}

#[test]
fn every_user_verb_in_every_output_mode_over_both_transports() {
    for transport in ["reqwest", "hyper"] {
        let server = server();
        let mapctl = |args: &[&str], stdin: Option<&str>| {
            let ran = run(server.mapctl(transport, args), stdin);
            assert_eq!(ran.code, 0, "{transport} {args:?}: {}", ran.stderr);
            ran
        };
        let path = file("alice.json", &alice());
        let created = mapctl(
            &[
                "users",
                "create",
                path.to_str().unwrap(),
                "--output",
                "json",
            ],
            None,
        )
        .json();
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(created["userName"], "Alice");

        let human = mapctl(&["users", "get", &id], None);
        assert!(
            human.stdout.contains("  \"userName\": \"Alice\""),
            "{}",
            human.stdout
        );
        let only = mapctl(
            &[
                "users",
                "get",
                &id,
                "--attributes",
                "userName",
                "--output",
                "json",
            ],
            None,
        )
        .json();
        assert!(only.get("emails").is_none() && only["userName"] == "Alice");

        let mut renamed = alice();
        renamed["userName"] = json!("Alice Liddell");
        let replaced = mapctl(
            &["users", "replace", &id, "-", "--output", "json"],
            Some(&renamed.to_string()),
        )
        .json();
        assert_eq!(replaced["userName"], "Alice Liddell");
        let bare = json!({"op": "replace", "path": "preferredLanguage", "value": "ja"});
        let patched = mapctl(
            &["users", "patch", &id, "-", "--output", "ndjson"],
            Some(&bare.to_string()),
        )
        .json();
        assert_eq!(patched["preferredLanguage"], "ja");

        let found = mapctl(&["eppn", "alice@example.ac.jp", "--output", "json"], None).json();
        assert_eq!(found["id"], json!(id));
        let me = mapctl(&["self", "--output", "json"], None).json();
        assert_eq!(me["userName"], "Operator");

        let table = mapctl(&["users", "list", "--sort-by", "userName"], None);
        let lines: Vec<&str> = table.stdout.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["id", "userName", "ePPNs", "emails"]
        );
        assert!(lines[1].contains("Alice Liddell") && lines[1].contains("alice@example.ac.jp"));
        assert_eq!(lines.last().unwrap(), &"2 of 2 users");
        let list = mapctl(&["users", "list", "--output", "json"], None).json();
        assert_eq!(list["totalResults"], 2);
        assert_eq!(list["Resources"].as_array().unwrap().len(), 2);
        let ndjson = mapctl(
            &[
                "users",
                "list",
                "--filter",
                r#"userName eq "Operator""#,
                "--output",
                "ndjson",
            ],
            None,
        );
        assert_eq!(ndjson.stdout.lines().count(), 1, "{}", ndjson.stdout);
    }
}

#[test]
fn groups_and_services_are_created_patched_listed_and_deleted() {
    let server = server();
    let mapctl = |args: &[&str], stdin: Option<&str>| run(server.mapctl("hyper", args), stdin);
    let user = mapctl(
        &["users", "create", "-", "--output", "json"],
        Some(&alice().to_string()),
    )
    .json();
    let group = json!({"id": "lab-a", "displayName": "Lab A"});
    assert_eq!(
        mapctl(&["groups", "create", "-"], Some(&group.to_string())).code,
        0
    );
    let add = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"type": "User", "value": user["id"]}]}]
    });
    assert_eq!(
        mapctl(&["groups", "patch", "lab-a", "-"], Some(&add.to_string())).code,
        0
    );
    let table = mapctl(&["groups", "list"], None);
    assert!(
        table
            .stdout
            .lines()
            .any(|line| line.split_whitespace().collect::<Vec<_>>() == ["lab-a", "Lab", "A", "1"]),
        "{}",
        table.stdout
    );
    let deleted = mapctl(&["groups", "delete", "lab-a"], None);
    assert_eq!(
        (deleted.code, deleted.stdout.trim()),
        (0, "deleted Groups/lab-a")
    );
    assert!(server.sim.snapshot().groups.is_empty());

    let again = mapctl(&["groups", "delete", "lab-a"], None);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again.stderr.contains("'lab-a' Not Found"),
        "{}",
        again.stderr
    );
    let missing = mapctl(&["groups", "get", "lab-a", "--output", "json"], None);
    assert_eq!((missing.code, missing.stdout.as_str()), (1, ""));

    let service = json!({"id": "repo", "serviceName": "Repository"});
    let created = mapctl(
        &["services", "create", "-", "--output", "json"],
        Some(&service.to_string()),
    );
    assert_eq!(created.json()["serviceName"], "Repository");
    let duplicate = mapctl(&["services", "create", "-"], Some(&service.to_string()));
    assert_eq!(duplicate.code, 1);
    assert!(
        duplicate
            .stderr
            .contains("conflict (mAP Core answered 409)"),
        "{}",
        duplicate.stderr
    );
    let listed = mapctl(&["services", "list", "--output", "ndjson"], None);
    assert_eq!(listed.stdout.lines().count(), 1);
    let deleted = mapctl(&["services", "delete", "repo", "--output", "json"], None).json();
    assert_eq!(deleted, json!({"deleted": "Services/repo"}));
}

#[test]
fn list_pages_through_every_user_with_the_default_page_of_twenty() {
    let server = server();
    let mapctl = |args: &[&str]| {
        let ran = run(server.mapctl("reqwest", args), None);
        assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
        ran
    };
    let users: Vec<String> = (0..44)
        .map(|n| {
            json!({"userName": format!("Member {n:02}"), "eduPersonPrincipalNames": [{"value": format!("m{n}@example.ac.jp")}]})
                .to_string()
        })
        .collect();
    for user in &users {
        assert_eq!(
            run(
                server.mapctl("reqwest", &["users", "create", "-"]),
                Some(user)
            )
            .code,
            0
        );
    }
    // 45 users with the token's own.
    let one_page = mapctl(&["users", "list"]);
    assert_eq!(one_page.stdout.lines().count(), 1 + 20 + 1);
    assert!(
        one_page
            .stdout
            .ends_with("20 of 45 users (--all for every page)\n"),
        "{}",
        one_page.stdout
    );

    let all = mapctl(&["users", "list", "--all", "--output", "ndjson"]);
    let ids: std::collections::BTreeSet<String> = all
        .stdout
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        (all.stdout.lines().count(), ids.len()),
        (45, 45),
        "each user once"
    );
    let table = mapctl(&["users", "list", "--all"]);
    assert_eq!(table.stdout.lines().count(), 1 + 45 + 1);
    assert!(table.stdout.ends_with("45 of 45 users\n"));

    let json = mapctl(&[
        "users",
        "list",
        "--all",
        "--count",
        "7",
        "--sort-by",
        "userName",
        "--sort-order",
        "descending",
        "--output",
        "json",
    ])
    .json();
    assert_eq!(json["totalResults"], 45);
    let names: Vec<&str> = json["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 45);
    assert_eq!(&names[..2], ["Operator", "Member 43"]);

    let tail = mapctl(&[
        "users",
        "list",
        "--start-index",
        "41",
        "--all",
        "--output",
        "ndjson",
        "--excluded-attributes",
        "emails,meta",
    ]);
    assert_eq!(tail.stdout.lines().count(), 5);
    assert!(!tail.stdout.contains("\"meta\""));
}

#[test]
fn bad_usage_and_input_exit_2_and_send_nothing() {
    let server = server();
    let mapctl = |args: &[&str], stdin: Option<&str>| run(server.mapctl("reqwest", args), stdin);

    let no_url = run(
        server
            .mapctl("reqwest", &["users", "list"])
            .env_remove("MAP_BASE_URL"),
        None,
    );
    assert_eq!(no_url.code, 2);
    assert!(
        no_url.stderr.contains("--base-url or MAP_BASE_URL"),
        "{}",
        no_url.stderr
    );
    assert!(no_url.stderr.contains("mapctl serve"));

    let not_json = mapctl(&["users", "create", "-"], Some("{\"userName\": "));
    assert_eq!(not_json.code, 2);
    assert!(
        not_json.stderr.contains("stdin: not a User document"),
        "{}",
        not_json.stderr
    );
    let path = file(
        "group-as-user.json",
        &json!({"schemas": ["urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:Group"], "id": "g"}),
    );
    let wrong_kind = mapctl(&["users", "create", path.to_str().unwrap()], None);
    assert_eq!(wrong_kind.code, 2);
    assert!(
        wrong_kind.stderr.contains("a Group document, not a User"),
        "{}",
        wrong_kind.stderr
    );
    let wrong_type = mapctl(
        &["groups", "create", "-"],
        Some(r#"{"id": "g", "members": "everyone"}"#),
    );
    assert_eq!(wrong_type.code, 2);
    assert!(
        wrong_type.stderr.contains("members"),
        "{}",
        wrong_type.stderr
    );
    let bad_patch = mapctl(&["groups", "patch", "g", "-"], Some(r#"{"op": "merge"}"#));
    assert_eq!(bad_patch.code, 2, "{}", bad_patch.stderr);
    let no_file = mapctl(&["users", "create", "/nonexistent/user.json"], None);
    assert_eq!(no_file.code, 2);
    let users_are_not_deleted = mapctl(&["users", "delete", "u1"], None);
    assert_eq!(users_are_not_deleted.code, 2);

    let snapshot = server.sim.snapshot();
    assert_eq!(
        (snapshot.users.len(), snapshot.groups.len()),
        (1, 0),
        "only the token's own user"
    );
    let counters = server.sim.counters();
    assert_eq!(
        (counters.operations_applied, counters.operations_failed),
        (0, 0),
        "no write reached the server"
    );
}

#[test]
fn refused_credentials_and_an_unreachable_server_exit_3_without_the_secret() {
    let server = server();
    let wrong = run(
        server
            .mapctl("hyper", &["users", "list"])
            .env("MAP_CLIENT_SECRET", "wrong-secret-value"),
        None,
    );
    assert_eq!(wrong.code, 3, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains("refused the credentials"),
        "{}",
        wrong.stderr
    );
    assert!(!format!("{}{}", wrong.stdout, wrong.stderr).contains("wrong-secret-value"));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let unreachable = run(
        server
            .mapctl("reqwest", &["self", "--timeout", "2"])
            .env("MAP_BASE_URL", format!("http://{address}")),
        None,
    );
    assert_eq!(unreachable.code, 3, "{}", unreachable.stderr);
    assert!(
        unreachable.stderr.contains("unreachable"),
        "{}",
        unreachable.stderr
    );
}

#[test]
fn a_table_of_japanese_names_lines_up_by_display_width() {
    let server = server();
    for (name, eppn) in [
        ("山田 太郎", "yamada@example.ac.jp"),
        ("Bob", "bob@example.ac.jp"),
    ] {
        let user = json!({"userName": name, "eduPersonPrincipalNames": [{"value": eppn}]});
        let created = run(
            server.mapctl("reqwest", &["users", "create", "-"]),
            Some(&user.to_string()),
        );
        assert_eq!(created.code, 0, "{}", created.stderr);
    }
    let table = run(server.mapctl("reqwest", &["users", "list"]), None);
    assert_eq!(table.code, 0, "{}", table.stderr);
    // The ePPN column starts at the same display column on every line.
    let starts: Vec<usize> = table
        .stdout
        .lines()
        .filter_map(|line| {
            let at = line.find("@example.ac.jp").or_else(|| line.find("ePPNs"))?;
            let before = &line[..at];
            let start = before.rfind("  ").map_or(0, |i| i + 2);
            Some(unicode_width::UnicodeWidthStr::width(&line[..start]))
        })
        .collect();
    assert_eq!(starts.len(), 4, "{}", table.stdout);
    assert!(
        starts.windows(2).all(|w| w[0] == w[1]),
        "{starts:?}\n{}",
        table.stdout
    );
}

#[test]
fn the_resource_commands_refuse_simulator_rather_than_write_to_the_base_url() {
    let server = server();
    let ran = run(
        server.mapctl("reqwest", &["groups", "delete", "lab-a", "--simulator"]),
        None,
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("does not take --simulator"),
        "{}",
        ran.stderr
    );
}
