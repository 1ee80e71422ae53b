//! `mapctl sync` end to end against map-sim: the NII groups manager's import file as it is
//! (CSV with a BOM, and XLSX), create / update / membership / prune, conflicts and bad rows
//! (nothing sent), `--dry-run` (no write, checked on the server), idempotence, `--undo`
//! (the state read before, compared on the server), and an interrupted run resumed with
//! `--journal`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use map_sim::{Fault, FaultPlan, SimConfig};
use serde_json::{Value, json};
use support::{Ran, Server, run};

const USER: &str = "urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:Group";

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sync")
        .join(name)
        .display()
        .to_string()
}

/// A scratch directory of its own for each test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mapctl-sync-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn sync(server: &Server, args: &[&str]) -> Ran {
    let mut all = vec!["sync"];
    all.extend_from_slice(args);
    run(server.mapctl("reqwest", &all), None)
}

/// Loads the server with a bulk job (one NDJSON operation per line).
fn seed(server: &Server, operations: &[Value]) {
    let job: String = operations.iter().map(|o| format!("{o}\n")).collect();
    let ran = run(server.mapctl("reqwest", &["bulk", "-"]), Some(&job));
    assert_eq!(ran.code, 0, "seeding: {}{}", ran.stdout, ran.stderr);
}

fn post_user(bulk_id: &str, name: &str, eppn: &str) -> Value {
    json!({"method": "POST", "bulkId": bulk_id, "path": "/Users", "data": {
        "schemas": [USER], "userName": name, "eduPersonPrincipalNames": [{"value": eppn}]}})
}

fn post_group(id: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members
        .iter()
        .map(|m| json!({"type": "User", "value": m}))
        .collect();
    json!({"method": "POST", "bulkId": id, "path": "/Groups", "data": {
        "schemas": [GROUP], "id": id, "displayName": id, "members": members}})
}

/// Users and groups as the server holds them, without `meta`, members sorted: what a run
/// and its undo are compared by.
fn state(server: &Server) -> Value {
    let snapshot = server.sim.snapshot();
    let mut value = json!({"users": snapshot.users, "groups": snapshot.groups});
    for kind in ["users", "groups"] {
        for resource in value[kind].as_array_mut().unwrap() {
            let resource = resource.as_object_mut().unwrap();
            resource.remove("meta");
            for list in ["members", "groups"] {
                if let Some(Value::Array(items)) = resource.get_mut(list) {
                    items.sort_by_key(|i| i["value"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
    }
    value
}

fn user_by_eppn<'s>(state: &'s Value, eppn: &str) -> &'s Value {
    state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| {
            u["eduPersonPrincipalNames"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["value"] == eppn))
        })
        .unwrap_or_else(|| panic!("no user holds {eppn}: {state}"))
}

fn members(state: &Value, group: &str) -> Vec<String> {
    let group = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == group);
    let mut ids: Vec<String> = group
        .and_then(|g| g["members"].as_array())
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[test]
fn the_nii_import_file_as_it_is_syncs_to_the_state_it_describes_in_csv_and_xlsx() {
    for file in ["nii_import_bom.csv", "nii_import.xlsx"] {
        let server = Server::start();
        // John exists (id 000000000001, as the file's row names him) in jc_repo_c, which his
        // rows do not name.
        seed(
            &server,
            &[
                post_user("john", "J. Smith", "john@idp.example.ac.jp"),
                post_group("jc_repo_a", &[]),
                post_group("jc_repo_b", &[]),
                post_group("jc_repo_c", &["bulkId:john"]),
            ],
        );
        let ran = sync(&server, &[&fixture(file), "--exact-groups", "jc_repo_"]);
        assert_eq!(ran.code, 0, "{file}: {}{}", ran.stdout, ran.stderr);
        assert!(
            ran.stderr
                .contains("(role) is the NII groups manager's own notion: ignored"),
            "{}",
            ran.stderr
        );
        let state = state(&server);
        let taro = user_by_eppn(&state, "taro@idp.example.ac.jp");
        assert_eq!(taro["userName"], "Taro Yamada", "{file}");
        assert_eq!(
            taro["preferredLanguage"], "ja",
            "set on creation, unlike the NII tool"
        );
        assert_eq!(
            taro["eduPersonPrincipalNames"],
            json!([{"value": "taro@idp.example.ac.jp"}, {"value": "taro2@idp.example.ac.jp"}]),
            "the second row adds to the first"
        );
        let john = user_by_eppn(&state, "john@idp.example.ac.jp");
        assert_eq!(john["id"], "000000000001");
        assert_eq!(
            john["userName"], "John Smith",
            "an existing user's attributes made equal"
        );
        assert_eq!(john["preferredLanguage"], "en");
        let taro_id = taro["id"].as_str().unwrap().to_owned();
        assert_eq!(
            members(&state, "jc_repo_a"),
            vec!["000000000001".to_owned(), taro_id.clone()]
        );
        assert_eq!(members(&state, "jc_repo_b"), vec![taro_id]);
        assert!(
            members(&state, "jc_repo_c").is_empty(),
            "John left the group his rows do not name"
        );
        assert_eq!(state["users"].as_array().unwrap().len(), 2);

        let again = sync(&server, &[&fixture(file), "--exact-groups", "jc_repo_"]);
        assert_eq!(again.code, 0);
        assert!(
            again.stdout.contains("nothing to change, nothing sent"),
            "{}",
            again.stdout
        );
    }
}

#[test]
fn a_dry_run_sends_no_write_and_a_second_run_sends_no_bulk_request() {
    let server = Server::start();
    seed(
        &server,
        &[
            post_user("ann", "Ann", "ann@idp.example.ac.jp"),
            post_group("lab-a", &[]),
            post_group("jc_old", &[]),
        ],
    );
    let dir = scratch("dry-run");
    let people = write(
        &dir,
        "people.csv",
        "eduPersonPrincipalNames,userName,groups\nann@idp.example.ac.jp,Ann B,lab-a\nbo@idp.example.ac.jp,Bo,lab-a;lab-b\n",
    );
    let groups = write(
        &dir,
        "groups.ndjson",
        &format!(
            "{}\n",
            json!({"schemas": [GROUP], "id": "lab-b", "displayName": "Lab B"})
        ),
    );
    let before = server.sim.counters();
    let dry = sync(
        &server,
        &[&people, &groups, "--prune-groups", "jc_", "--dry-run"],
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(
        dry.stdout,
        "+ User bo@idp.example.ac.jp\n\
         ~ User ann@idp.example.ac.jp: userName \"Ann\" \u{2192} \"Ann B\"\n\
         + Group lab-b: members +1\n\
         ~ Group lab-a: members +2\n\
         - Group jc_old\n\
         plan: 2 create, 2 update, 1 delete, 0 unchanged (dry run: nothing was sent)\n"
    );
    let after_dry = server.sim.counters();
    assert_eq!(
        after_dry.bulk_requests, before.bulk_requests,
        "no bulk request"
    );
    assert_eq!(after_dry.operations_applied, before.operations_applied);

    let json = sync(
        &server,
        &[
            &people,
            &groups,
            "--prune-groups",
            "jc_",
            "--dry-run",
            "--output",
            "json",
        ],
    )
    .json();
    assert_eq!(
        json["summary"],
        json!({"create": 2, "update": 2, "delete": 1, "unchanged": 0})
    );
    assert_eq!(
        json["changes"][3]["members"],
        json!({"add": ["000000000001", "bo@idp.example.ac.jp"], "remove": []})
    );
    assert_eq!(json["changes"][4]["action"], "delete");

    let applied = sync(
        &server,
        &[
            &people,
            &groups,
            "--prune-groups",
            "jc_",
            "--output",
            "ndjson",
        ],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let lines: Vec<Value> = applied
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6, "five changes, then the summary");
    assert!(
        lines[..5]
            .iter()
            .all(|l| l["outcome"]["result"] == "succeeded"),
        "{}",
        applied.stdout
    );
    assert_eq!(lines[5]["summary"]["applied"]["succeeded"], 5);
    let state = state(&server);
    assert!(
        state["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["id"] != "jc_old")
    );
    assert_eq!(members(&state, "lab-b").len(), 1);

    let settled = server.sim.counters().bulk_requests;
    let again = sync(&server, &[&people, &groups, "--prune-groups", "jc_"]);
    assert_eq!(again.code, 0);
    assert_eq!(
        again.stdout,
        "plan: 0 create, 0 update, 0 delete, 3 unchanged: nothing to change, nothing sent\n"
    );
    assert_eq!(
        server.sim.counters().bulk_requests,
        settled,
        "idempotent: no bulk request"
    );
}

#[test]
fn bad_rows_name_file_line_and_column_and_nothing_is_sent() {
    let server = Server::start();
    seed(&server, &[post_group("lab-a", &[])]);
    let dir = scratch("bad-rows");
    let people = write(
        &dir,
        "people.csv",
        "eduPersonPrincipalNames,userName,groups\nok@idp.example.ac.jp,Ok,lab-a\nnot-an-eppn,Bad,lab-a\nfine@idp.example.ac.jp,Fine,bad group\n",
    );
    let before = server.sim.counters();
    let ran = sync(&server, &[&people]);
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains(&format!("{people}:3: column 1 (eduPersonPrincipalNames): \"not-an-eppn\" is not of the form name@domain")), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "{people}:4: column 3 (groups): \"bad group\" is not a group id"
        )),
        "{}",
        ran.stderr
    );

    // A groups cell naming a group that neither exists nor is described; an unknown column.
    let unknown = write(
        &dir,
        "unknown.csv",
        "eduPersonPrincipalNames,groups\nok@idp.example.ac.jp,lab-z\n",
    );
    let ran = sync(&server, &[&unknown]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains(&format!(
            "{unknown}:2: groups: \"lab-z\" neither exists nor is described"
        )),
        "{}",
        ran.stderr
    );
    let column = write(
        &dir,
        "column.csv",
        "eduPersonPrincipalNames,shoeSize\nok@idp.example.ac.jp,27\n",
    );
    let ran = sync(&server, &[&column]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains(&format!(
            "{column}:1: column 2 (\"shoeSize\"): not a user attribute"
        )),
        "{}",
        ran.stderr
    );

    let after = server.sim.counters();
    assert_eq!(after.bulk_requests, before.bulk_requests, "nothing sent");
    assert_eq!(server.sim.snapshot().users.len(), 0);
}

#[test]
fn a_desired_user_matching_two_existing_users_is_a_conflict_and_nothing_is_sent() {
    let server = Server::start();
    seed(
        &server,
        &[
            post_user("a", "A", "a@idp.example.ac.jp"),
            post_user("b", "B", "b@idp.example.ac.jp"),
        ],
    );
    let dir = scratch("conflict");
    let people = write(
        &dir,
        "people.ndjson",
        &format!(
            "{}\n{}\n",
            json!({"schemas": [USER], "userName": "New", "eduPersonPrincipalNames": [{"value": "new@idp.example.ac.jp"}]}),
            json!({"schemas": [USER], "userName": "Both", "eduPersonPrincipalNames": [{"value": "a@idp.example.ac.jp"}, {"value": "b@idp.example.ac.jp"}]})
        ),
    );
    let before = server.sim.counters();
    let ran = sync(&server, &[&people]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains(&format!("{people}:2: eduPersonPrincipalNames a@idp.example.ac.jp, b@idp.example.ac.jp match several existing users: 000000000001, 000000000002")),
        "{}",
        ran.stderr
    );
    assert_eq!(server.sim.counters().bulk_requests, before.bulk_requests);
    assert_eq!(
        server.sim.snapshot().users.len(),
        2,
        "not even the unambiguous user was created"
    );
}

#[test]
fn undo_restores_the_state_read_before() {
    let server = Server::start();
    seed(
        &server,
        &[
            post_user("ann", "Ann", "ann@idp.example.ac.jp"),
            post_user("bo", "Bo", "bo@idp.example.ac.jp"),
            post_group("lab-a", &["bulkId:ann", "bulkId:bo"]),
            post_group("jc_repo_old", &["bulkId:bo"]),
        ],
    );
    let before = state(&server);
    let dir = scratch("undo");
    let people = write(
        &dir,
        "people.tsv",
        "eduPersonPrincipalNames\tuserName\temails\tgroups\nann@idp.example.ac.jp\tAnn Lee\tann@example.ac.jp\tlab-b\nbo@idp.example.ac.jp\tBo\t\tlab-a\ncy@idp.example.ac.jp\tCy\t\tlab-a\n",
    );
    let groups = write(
        &dir,
        "groups.json",
        &json!([{"schemas": [GROUP], "id": "lab-a", "displayName": "Lab A, renamed"},
                {"schemas": [GROUP], "id": "lab-b", "displayName": "Lab B"}])
        .to_string(),
    );
    let undo = dir.join("undo.ndjson").display().to_string();
    let ran = sync(
        &server,
        &[
            &people,
            &groups,
            "--exact-groups",
            "lab-",
            "--prune-groups",
            "jc_repo_",
            "--undo",
            &undo,
        ],
    );
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    let changed = state(&server);
    assert_ne!(changed, before);
    assert_eq!(
        members(&changed, "lab-a").len(),
        2,
        "Ann left, Cy joined: {changed}"
    );
    assert!(ran.stderr.contains("not undone: 1 user created by the run stays: mAP Core's API deletes no user (cy@idp.example.ac.jp (id 000000000003))"), "{}", ran.stderr);

    let undone = run(server.mapctl("reqwest", &["bulk", &undo]), None);
    assert_eq!(undone.code, 0, "{}{}", undone.stdout, undone.stderr);
    let mut after = state(&server);
    // The one thing undo cannot take back: Cy, created by the run.
    let users = after["users"].as_array_mut().unwrap();
    users.retain(|u| u["id"] != "000000000003");
    assert_eq!(after, before);
}

#[test]
fn an_interrupted_run_resumes_its_saved_plan_with_the_journal() {
    // The run's third request (a PATCH: Ann's new name) is held for a minute; the run is
    // killed while it waits.
    let faults =
        FaultPlan::default().on_request(4, Fault::Delay(std::time::Duration::from_secs(60)));
    let server = Server::start_with(SimConfig::default().with_faults(faults));
    seed(&server, &[post_user("ann", "Ann", "ann@idp.example.ac.jp")]);
    let dir = scratch("journal");
    let people = write(
        &dir,
        "people.csv",
        "eduPersonPrincipalNames,userName\nbo@idp.example.ac.jp,Bo\ncy@idp.example.ac.jp,Cy\nann@idp.example.ac.jp,Ann Lee\n",
    );
    let groups = write(
        &dir,
        "groups.ndjson",
        &format!(
            "{}\n",
            json!({"schemas": [GROUP], "id": "lab-a", "members": [{"value": "bo@idp.example.ac.jp"}, {"value": "cy@idp.example.ac.jp"}]})
        ),
    );
    let journal = dir.join("sync.journal").display().to_string();
    let args = [
        "sync",
        &people,
        &groups,
        "--journal",
        &journal,
        "--max-operations",
        "1",
        "--concurrency",
        "1",
    ];
    let mut child = server
        .mapctl("reqwest", &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Request 1 was the seed; 2 and 3 create Bo and Cy; 4 is held (the fault is counted as
    // it strikes, before the hold).
    wait_for_fault(&server);
    child.kill().unwrap();
    child.wait().unwrap();
    let saved_plan = format!("{journal}.plan.json");
    assert!(Path::new(&saved_plan).exists(), "the plan was saved");
    #[cfg(unix)]
    for file in [&journal, &saved_plan] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file} holds names: its owner's alone");
    }
    let stale_plan = dir.join("stale.journal.plan.json");
    std::fs::copy(&saved_plan, &stale_plan).unwrap();

    // Against another server, the saved plan (and its ids) are refused, naming both.
    let other = Server::start();
    let elsewhere = run(other.mapctl("reqwest", &args), None);
    assert_eq!(
        elsewhere.code, 2,
        "{}{}",
        elsewhere.stdout, elsewhere.stderr
    );
    assert!(
        elsewhere
            .stderr
            .contains(&format!("was planned against {}", server.sim.base_url()))
            && elsewhere.stderr.contains(other.sim.base_url()),
        "{}",
        elsewhere.stderr
    );
    assert_eq!(
        other.sim.counters().bulk_requests,
        0,
        "nothing sent to the other server"
    );

    // With a desired file changed in between, the saved plan is not resumed, nor replaced.
    let original = std::fs::read_to_string(&people).unwrap();
    std::fs::write(&people, original.replace("Ann Lee", "Ann Smith")).unwrap();
    let refused = run(server.mapctl("reqwest", &args), None);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("was planned from other desired files or options"),
        "{}",
        refused.stderr
    );
    std::fs::write(&people, original).unwrap();

    // Planning anew now would plan other changes (Bo and Cy exist); the saved plan resumes.
    let resumed = run(server.mapctl("reqwest", &args), None);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    assert!(
        resumed.stderr.contains("resuming the plan saved in"),
        "{}",
        resumed.stderr
    );
    assert!(
        resumed.stdout.contains(
            "~ User ann@idp.example.ac.jp: userName \"Ann\" \u{2192} \"Ann Lee\"  ✓ succeeded"
        ),
        "in flight, sent again: {}",
        resumed.stdout
    );
    let counters = server.sim.counters();
    assert_eq!(
        counters.applied_by_bulk_id.len(),
        4,
        "Ann, Bo, Cy, lab-a: {:?}",
        counters.applied_by_bulk_id
    );
    assert!(
        counters.applied_by_bulk_id.values().all(|&n| n == 1),
        "no POST applied twice: {:?}",
        counters.applied_by_bulk_id
    );
    let state = state(&server);
    assert_eq!(state["users"].as_array().unwrap().len(), 3);
    assert_eq!(
        user_by_eppn(&state, "ann@idp.example.ac.jp")["userName"],
        "Ann Lee"
    );
    assert_eq!(members(&state, "lab-a").len(), 2);
    assert!(
        !Path::new(&format!("{journal}.plan.json")).exists(),
        "finished: the next run plans anew"
    );
    assert!(!Path::new(&journal).exists());

    let again = run(server.mapctl("reqwest", &args), None);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("nothing to change"),
        "{}",
        again.stdout
    );

    // A saved plan whose journal never recorded a send (killed between the two) is
    // discarded and planned anew, not left to refuse every later run.
    let stale_journal = dir.join("stale.journal").display().to_string();
    let mut stale_args = args;
    stale_args[4] = &stale_journal;
    let replanned = run(server.mapctl("reqwest", &stale_args), None);
    assert_eq!(
        replanned.code, 0,
        "{}{}",
        replanned.stdout, replanned.stderr
    );
    assert!(
        replanned.stderr.contains("nothing of it was sent")
            && replanned.stderr.contains("planning anew"),
        "{}",
        replanned.stderr
    );
    assert!(
        replanned.stdout.contains("nothing to change"),
        "{}",
        replanned.stdout
    );
    assert!(!stale_plan.exists());
}

#[test]
fn a_small_desired_state_reads_only_what_it_names_and_a_large_one_reads_the_lists() {
    let server = Server::start();
    let mut seeded: Vec<Value> = (0..30)
        .map(|i| {
            post_user(
                &format!("u{i}"),
                &format!("U{i}"),
                &format!("u{i}@idp.example.ac.jp"),
            )
        })
        .collect();
    seeded.push(post_group("jc_repo_a", &["bulkId:u1", "bulkId:u2"]));
    seeded.push(post_group("jc_repo_b", &["bulkId:u1"]));
    seeded.push(post_group("lab-x", &["bulkId:u3"]));
    seed(&server, &seeded);
    let dir = scratch("lookups");
    let people = write(
        &dir,
        "people.csv",
        "eduPersonPrincipalNames,userName,groups\nu1@idp.example.ac.jp,U1,jc_repo_a\nnew@idp.example.ac.jp,New,jc_repo_a\n",
    );
    let ran = sync(
        &server,
        &[&people, "--exact-groups", "jc_repo_", "--dry-run"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    // u1 by its ePPN (the new ePPN finds no one), and the groups named or held by u1 within
    // the prefix: not the 30 users, not lab-x.
    assert!(
        ran.stderr.contains("read 1 users, 2 groups and 0 services"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        ran.stdout,
        "+ User new@idp.example.ac.jp\n\
         ~ Group jc_repo_a: members +1\n\
         ~ Group jc_repo_b: members \u{2212}1\n\
         plan: 1 create, 2 update, 0 delete, 1 unchanged (dry run: nothing was sent)\n"
    );
    // Pruning needs every group: the lists are read.
    let ran = sync(
        &server,
        &[&people, "--prune-groups", "jc_repo_", "--dry-run"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("read 30 users, 3 groups and 0 services"),
        "{}",
        ran.stderr
    );
    assert!(ran.stdout.contains("- Group jc_repo_b\n"), "{}", ran.stdout);
}

#[test]
fn an_empty_or_header_only_export_is_refused_before_mapctl_reads_map_core() {
    let server = Server::start();
    let groups: Vec<Value> = (0..23)
        .map(|n| post_group(&format!("u-{n}"), &[]))
        .collect();
    seed(&server, &groups);
    let before = state(&server);
    let dir = scratch("empty-export");
    for (name, text) in [
        ("empty.csv", ""),
        ("header.csv", "eduPersonPrincipalNames,userName\r\n"),
    ] {
        let file = write(&dir, name, text);
        let ran = sync(&server, &[&file, "--prune-groups", "u-"]);
        assert_eq!(ran.code, 2, "{name}: {}{}", ran.stdout, ran.stderr);
        assert!(
            ran.stderr
                .contains(&format!("{file}: no users, groups or services in it"))
                && ran.stderr.contains("--allow-empty"),
            "{}",
            ran.stderr
        );
        assert!(
            !ran.stderr.contains("from mAP Core"),
            "read nothing: {}",
            ran.stderr
        );
    }
    assert_eq!(state(&server), before, "no group deleted");
}

#[test]
fn desired_users_may_come_from_standard_input() {
    let server = Server::start();
    let mut command = server.mapctl("reqwest", &["sync", "-", "--dry-run"]);
    let ran = run(
        &mut command,
        Some("eduPersonPrincipalNames,userName\na@idp.example.ac.jp,A\n"),
    );
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains("+ User a@idp.example.ac.jp"),
        "{}",
        ran.stdout
    );
}

#[test]
fn a_plan_over_a_safety_limit_is_held_back_with_exit_4_and_sends_nothing() {
    let server = Server::start();
    let mut operations: Vec<Value> = (0..30)
        .map(|n| {
            post_user(
                &format!("m{n}"),
                &format!("M{n}"),
                &format!("m{n}@idp.example.ac.jp"),
            )
        })
        .collect();
    let refs: Vec<String> = (0..30).map(|n| format!("bulkId:m{n}")).collect();
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    operations.push(post_group("lab-big", &refs));
    operations.extend((0..23).map(|n| post_group(&format!("u-{n}"), &[])));
    seed(&server, &operations);
    let before = state(&server);
    let dir = scratch("safety-limits");
    let keep = json!({"schemas": [GROUP], "id": "u-0", "displayName": "u-0"});
    let groups = write(&dir, "groups.ndjson", &format!("{keep}\n"));

    // 22 of 23 groups pruned: over 10% (at least 10).
    let dry = sync(&server, &[&groups, "--prune-groups", "u-", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    assert!(
        dry.stderr
            .contains("an apply would be held back by a safety limit"),
        "{}",
        dry.stderr
    );
    let held = sync(&server, &[&groups, "--prune-groups", "u-"]);
    assert_eq!(held.code, 4, "{}{}", held.stdout, held.stderr);
    assert!(
        held.stderr.contains("the plan makes 22 group deletions, over the 10 allowed by --max-deletes 10% of 23 groups under the prune prefix")
            && held.stderr.contains("raise it with --max-deletes"),
        "{}",
        held.stderr
    );

    // lab-big keeps 5 of its 30 members: 25 removals.
    let lab = json!({"schemas": [GROUP], "id": "lab-big", "displayName": "lab-big",
        "members": (0..5).map(|n| json!({"value": format!("m{n}@idp.example.ac.jp")})).collect::<Vec<_>>()});
    let lab = write(&dir, "lab.ndjson", &format!("{lab}\n"));
    let held = sync(&server, &[&lab]);
    assert_eq!(held.code, 4, "{}{}", held.stdout, held.stderr);
    assert!(
        held.stderr
            .contains("25 membership removals, over the 10 allowed by --max-removals"),
        "{}",
        held.stderr
    );
    assert_eq!(state(&server), before, "nothing was sent");

    // A person who means it raises the limits.
    let applied = sync(&server, &[&lab, "--max-removals", "25"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    assert_eq!(members(&state(&server), "lab-big").len(), 5);
    let applied = sync(
        &server,
        &[&groups, "--prune-groups", "u-", "--max-deletes", "100%"],
    );
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
}

#[test]
fn a_closed_standard_output_loses_no_undo_file_and_panics_nowhere() {
    for output in ["json", "human"] {
        let server = Server::start();
        seed(&server, &[post_user("ann", "Ann", "ann@idp.example.ac.jp")]);
        let dir = scratch(&format!("closed-stdout-{output}"));
        let people = write(
            &dir,
            "people.csv",
            "eduPersonPrincipalNames,userName\nann@idp.example.ac.jp,Ann Lee\nbo@idp.example.ac.jp,Bo\n",
        );
        let undo = dir.join("u.ndjson").display().to_string();
        // A pipe whose reader is gone before mapctl writes: every write fails (`| head -c 0`).
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let ran = server
            .mapctl(
                "reqwest",
                &["sync", &people, "--output", output, "--undo", &undo],
            )
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&ran.stderr);
        assert_eq!(ran.status.code(), Some(0), "{output}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let undo = std::fs::read_to_string(&undo).unwrap();
        assert_eq!(undo.lines().count(), 1, "Ann's name restored: {undo}");
    }
}

#[test]
fn the_audit_log_gains_a_line_per_change_and_keeps_what_it_had() {
    let server = Server::start();
    seed(&server, &[post_user("ann", "Ann", "ann@idp.example.ac.jp")]);
    let dir = scratch("audit-log");
    let log = dir.join("audit.ndjson").display().to_string();
    let people = write(
        &dir,
        "people.csv",
        "eduPersonPrincipalNames,userName\nann@idp.example.ac.jp,Ann Lee\n",
    );
    let first = sync(&server, &[&people, "--audit-log", &log]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    std::fs::write(&people, "eduPersonPrincipalNames,userName\nann@idp.example.ac.jp,Ann Smith\nbo@idp.example.ac.jp,Bo\n").unwrap();
    let second = sync(&server, &[&people, "--audit-log", &log]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["action"], "update");
    assert_eq!(lines[0]["attributes"][0]["from"], "Ann");
    assert_eq!(lines[0]["attributes"][0]["to"], "Ann Lee");
    assert_eq!(lines[0]["outcome"]["result"], "succeeded");
    assert_ne!(lines[0]["run"], lines[1]["run"], "two runs");
    assert_eq!(lines[1]["run"], lines[2]["run"]);
    assert!(
        lines
            .iter()
            .all(|l| l["time"].as_str().is_some_and(|t| t.ends_with('Z')))
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// Waits until `server` has struck its first fault (the run reached the request it holds);
/// polled gently, since a spinning reader of the counters would starve the server.
fn wait_for_fault(server: &Server) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while server.sim.counters().faults_injected < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never reached the held request"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Runs mapctl `args` against `server`, sends `signal` once the server holds the run's
/// first faulted request, and returns what it printed.
fn interrupted(server: &Server, args: &[&str], signal: &str) -> Ran {
    let child = server
        .mapctl("reqwest", args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_fault(server);
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    Ran {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[test]
fn an_interrupted_sync_sees_its_request_in_flight_through_reports_and_resumes() {
    // The run's second request is held for 2 s; SIGINT comes while it is held.
    let faults =
        FaultPlan::default().on_request(3, Fault::Delay(std::time::Duration::from_secs(2)));
    let server = Server::start_with(SimConfig::default().with_faults(faults));
    seed(&server, &[post_user("ann", "Ann", "ann@idp.example.ac.jp")]);
    let dir = scratch("sigint");
    let people = write(
        &dir,
        "people.csv",
        "eduPersonPrincipalNames,userName\nbo@idp.example.ac.jp,Bo\ncy@idp.example.ac.jp,Cy\nann@idp.example.ac.jp,Ann Lee\n",
    );
    let journal = dir.join("sync.journal").display().to_string();
    let undo = dir.join("undo.ndjson").display().to_string();
    let args = [
        "sync",
        &people,
        "--journal",
        &journal,
        "--undo",
        &undo,
        "--max-operations",
        "1",
        "--concurrency",
        "1",
    ];
    let ran = interrupted(&server, &args, "-INT");
    assert_eq!(ran.code, 130, "{}{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr.contains("SIGINT: no new request is sent"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("--journal"),
        "says how to resume: {}",
        ran.stderr
    );
    // Bo's create came back, Cy's was in flight and came back too; Ann's rename never left.
    assert!(
        ran.stdout
            .contains("+ User cy@idp.example.ac.jp  ✓ succeeded"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("interrupted before it was sent"),
        "{}",
        ran.stdout
    );
    assert!(Path::new(&journal).exists());
    assert!(
        Path::new(&undo).exists() || ran.stderr.contains("nothing to undo"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        server.sim.counters().bulk_requests,
        3,
        "seed, Bo, Cy: nothing after the signal"
    );

    let resumed = run(server.mapctl("reqwest", &args), None);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    assert!(
        resumed
            .stdout
            .contains("\"Ann\" \u{2192} \"Ann Lee\"  ✓ succeeded"),
        "{}",
        resumed.stdout
    );
    let counters = server.sim.counters();
    assert!(
        counters.applied_by_bulk_id.values().all(|&n| n == 1),
        "{:?}",
        counters.applied_by_bulk_id
    );
}

#[test]
fn an_interrupted_bulk_job_exits_143_on_sigterm_with_its_report() {
    let faults =
        FaultPlan::default().on_request(2, Fault::Delay(std::time::Duration::from_secs(2)));
    let server = Server::start_with(SimConfig::default().with_faults(faults));
    let dir = scratch("sigterm");
    let job: String = (0..4)
        .map(|n| {
            format!(
                "{}\n",
                post_user(
                    &format!("u{n}"),
                    &format!("U{n}"),
                    &format!("u{n}@idp.example.ac.jp")
                )
            )
        })
        .collect();
    let job = write(&dir, "job.ndjson", &job);
    let journal = dir.join("job.journal").display().to_string();
    let args = [
        "bulk",
        &job,
        "--journal",
        &journal,
        "--max-operations",
        "1",
        "--concurrency",
        "1",
        "--output",
        "json",
    ];
    let ran = interrupted(&server, &args, "-TERM");
    assert_eq!(ran.code, 143, "{}{}", ran.stdout, ran.stderr);
    let report: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(report["summary"]["succeeded"], 2, "{report}");
    assert_eq!(report["summary"]["skipped"], 2, "{report}");
    let resumed = run(server.mapctl("reqwest", &args), None);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    assert_eq!(server.sim.snapshot().users.len(), 4);
}

#[test]
fn groups_larger_than_one_operation_are_written_in_parts() {
    let server = Server::start();
    // 30,000 existing users and an existing group without members.
    let mut seeded: Vec<Value> = (0..30_000)
        .map(|n| post_user(&format!("e{n}"), "E", &format!("e{n}@idp.example.ac.jp")))
        .collect();
    seeded.push(post_group("all-old", &[]));
    seed(&server, &seeded);
    let dir = scratch("large-groups");
    let mut people = String::from("eduPersonPrincipalNames,userName\n");
    for n in 0..12_000 {
        people.push_str(&format!("n{n}@idp.example.ac.jp,N{n}\n"));
    }
    let people = write(&dir, "people.csv", &people);
    let eppns = |prefix: &str, count: usize| -> Vec<Value> {
        (0..count)
            .map(|n| json!({"value": format!("{prefix}{n}@idp.example.ac.jp")}))
            .collect()
    };
    let groups = format!(
        "{}\n{}\n",
        json!({"schemas": [GROUP], "id": "all-new", "displayName": "New", "members": eppns("n", 12_000)}),
        json!({"schemas": [GROUP], "id": "all-old", "displayName": "all-old", "members": eppns("e", 30_000)}),
    );
    let groups = write(&dir, "groups.ndjson", &groups);
    let undo = dir.join("undo.ndjson").display().to_string();
    let started = std::time::Instant::now();
    let ran = sync(&server, &[&people, &groups, "--undo", &undo]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    eprintln!(
        "wrote a new group of 12,000 new users and 30,000 members of an existing one in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let human_lines: Vec<&str> = ran
        .stdout
        .lines()
        .filter(|l| l.contains("Group all-"))
        .collect();
    assert!(
        human_lines.len() > 2,
        "each group in several parts: {human_lines:?}"
    );
    assert!(
        human_lines.iter().all(|l| l.ends_with("✓ succeeded")),
        "{human_lines:?}"
    );
    let state = state(&server);
    assert_eq!(members(&state, "all-new").len(), 12_000);
    assert_eq!(members(&state, "all-old").len(), 30_000);
    let again = sync(&server, &[&people, &groups]);
    assert!(
        again.stdout.contains("nothing to change"),
        "{}",
        again.stdout
    );

    // The undo is in parts too: every operation within the limit (validated, not sent).
    let undo_text = std::fs::read_to_string(&undo).unwrap();
    let patches = undo_text
        .lines()
        .filter(|l| l.contains("\"PATCH\"") && l.contains("all-old"))
        .count();
    assert!(patches > 1, "the 30,000 taken out in parts: {patches}");
    let checked = run(
        server.mapctl("reqwest", &["bulk", &undo, "--dry-run"]),
        None,
    );
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    assert!(
        ran.stderr.contains("12000 users created by the run stay"),
        "one line for them: {}",
        ran.stderr
    );
}

#[test]
fn a_value_too_large_for_any_request_is_refused_by_the_dry_run_naming_its_cell() {
    let server = Server::start();
    let dir = scratch("huge-cell");
    let huge = "x".repeat(10 * 1024 * 1024);
    let people = write(
        &dir,
        "people.csv",
        &format!(
            "eduPersonPrincipalNames,userName\r\na@idp.example.ac.jp,A\r\nb@idp.example.ac.jp,{huge}\r\n"
        ),
    );
    for dry_run in [true, false] {
        let mut args = vec![people.as_str()];
        if dry_run {
            args.push("--dry-run");
        }
        let ran = sync(&server, &args);
        assert_eq!(ran.code, 2, "dry run {dry_run}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(&format!("{people}:3: column 2 (userName): the value is 10485762 bytes; one operation may carry at most")),
            "{}",
            ran.stderr
        );
    }
    assert_eq!(server.sim.counters().bulk_requests, 0);
}

/// A server holding Ann whose second bulk request strikes `fault`, and desired files that
/// add Bo and Cy and put all three in lab-a; returns the server, the scratch directory and
/// the two files.
fn ann_bo_cy_in_lab_a(fault: Fault, test: &str) -> (Server, PathBuf, String, String) {
    let faults = FaultPlan::default().on_request(2, fault);
    let server = Server::start_with(SimConfig::default().with_faults(faults));
    seed(&server, &[post_user("ann", "Ann", "ann@idp.example.ac.jp")]);
    let dir = scratch(test);
    let people = write(
        &dir,
        "people.csv",
        "eduPersonPrincipalNames,userName\nbo@idp.example.ac.jp,Bo\ncy@idp.example.ac.jp,Cy\n",
    );
    let wanted = ["ann", "bo", "cy"].map(|n| json!({"value": format!("{n}@idp.example.ac.jp")}));
    let group = json!({"schemas": [GROUP], "id": "lab-a", "members": wanted});
    let groups = write(&dir, "groups.ndjson", &format!("{group}\n"));
    (server, dir, people, groups)
}

#[test]
fn a_rerun_after_a_kill_reads_back_what_was_in_flight_and_ends_as_the_files_say() {
    // The run's one request (Bo, Cy and lab-a) is held for a minute; the run is killed
    // (SIGKILL) while it waits, and never hears of it again.
    let (server, dir, people, groups) = ann_bo_cy_in_lab_a(
        Fault::Delay(std::time::Duration::from_secs(60)),
        "kill-read-back",
    );
    let journal = dir.join("sync.journal").display().to_string();
    let args = ["sync", &people, &groups, "--journal", &journal];
    let mut child = server
        .mapctl("reqwest", &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_fault(&server);
    child.kill().unwrap();
    child.wait().unwrap();

    let rerun = run(server.mapctl("reqwest", &args), None);
    assert_eq!(rerun.code, 0, "{}{}", rerun.stdout, rerun.stderr);
    assert!(
        rerun
            .stderr
            .contains("read back 3 changes whose outcome was unknown: 0 applied, 3 not applied"),
        "{}",
        rerun.stderr
    );
    assert!(rerun.stderr.contains("planning again"), "{}", rerun.stderr);
    assert!(!rerun.stderr.contains("never answered"), "{}", rerun.stderr);
    let state = state(&server);
    assert_eq!(state["users"].as_array().unwrap().len(), 3);
    assert_eq!(members(&state, "lab-a").len(), 3);
    let again = sync(&server, &[&people, &groups]);
    assert!(
        again.stdout.contains("nothing to change"),
        "{}",
        again.stdout
    );
}

#[test]
fn an_answer_lost_after_applying_is_read_back_and_what_waited_on_it_is_carried_out() {
    // Bo's and Cy's creates are applied, and the connection closes before the answer.
    let (server, _, people, groups) = ann_bo_cy_in_lab_a(Fault::CloseAfterApplying, "lost-answer");
    let ran = sync(
        &server,
        &[
            &people,
            &groups,
            "--max-operations",
            "2",
            "--concurrency",
            "1",
        ],
    );
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains("+ User bo@idp.example.ac.jp  ✓ succeeded (read back)"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stderr
            .contains("2 applied, 0 not applied, 0 still unknown"),
        "{}",
        ran.stderr
    );
    let state = state(&server);
    assert_eq!(
        state["users"].as_array().unwrap().len(),
        3,
        "no user created twice"
    );
    assert_eq!(members(&state, "lab-a").len(), 3);
}

#[test]
fn a_second_run_with_the_same_journal_is_refused_while_the_first_lives() {
    let dir = scratch("two-runs");
    let people = write(
        &dir,
        "people.csv",
        "eduPersonPrincipalNames,userName\nbo@idp.example.ac.jp,Bo\n",
    );
    let job = write(
        &dir,
        "job.ndjson",
        &format!("{}\n", post_user("cy", "Cy", "cy@idp.example.ac.jp")),
    );
    for (command, file) in [("sync", &people), ("bulk", &job)] {
        // The first run's request is held for 3 s.
        let faults =
            FaultPlan::default().on_request(1, Fault::Delay(std::time::Duration::from_secs(3)));
        let server = Server::start_with(SimConfig::default().with_faults(faults));
        let journal = dir.join(format!("{command}.journal")).display().to_string();
        let args = [command, file.as_str(), "--journal", &journal];
        let mut first = server
            .mapctl("reqwest", &args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_fault(&server);
        let second = run(server.mapctl("reqwest", &args), None);
        assert_eq!(
            second.code, 2,
            "{command}: {}{}",
            second.stdout, second.stderr
        );
        assert!(
            second.stderr.contains(&format!(
                "journal {journal} is in use by another run (process {})",
                first.id()
            )),
            "{}",
            second.stderr
        );
        assert!(first.wait().unwrap().success());
        let counters = server.sim.counters();
        assert_eq!(
            counters.bulk_requests, 1,
            "{command}: only the first run's request"
        );
        assert!(
            counters.applied_by_bulk_id.values().all(|&n| n == 1),
            "{:?}",
            counters.applied_by_bulk_id
        );
    }
}
