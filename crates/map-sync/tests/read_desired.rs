//! Desired files of every format: what each gives, and errors that name file, line and
//! column.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use map_sync::{Desired, read_desired};
use serde_json::json;

const USER: &str = "urn:ietf:params:scim:schemas:mace:example.jp:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:Group";

fn read(name: &str, text: &str) -> Result<Desired, Vec<String>> {
    let mut desired = Desired::default();
    read_desired(name, text.as_bytes(), &mut desired).map_err(|e| e.problems)?;
    Ok(desired)
}

#[test]
fn a_json_array_keeps_each_document_s_line_and_tells_kinds_by_the_schema_suffix() {
    let text = format!(
        "[\n  {},\n\n  {}\n]\n",
        json!({"schemas": [USER], "userName": "A", "groups": [{"value": "lab-a"}, "lab-b"]}),
        json!({"schemas": [GROUP], "id": "lab-a", "members": []})
    );
    let desired = read("all.json", &text).unwrap();
    assert_eq!(desired.users[0].origin.to_string(), "all.json:2");
    assert_eq!(
        desired.users[0].groups,
        Some(vec!["lab-a".to_owned(), "lab-b".to_owned()])
    );
    assert!(
        !desired.users[0].attributes.contains("groups"),
        "memberships are not an attribute"
    );
    assert_eq!(desired.groups[0].origin.to_string(), "all.json:4");
}

#[test]
fn ndjson_errors_name_every_bad_line() {
    let text = format!(
        "{}\n{{\"userName\": \"no schemas\"}}\nnot json\n",
        json!({"schemas": [USER], "userName": "A"})
    );
    let problems = read("people.ndjson", &text).unwrap_err();
    assert_eq!(problems.len(), 2);
    assert!(
        problems[0].starts_with("people.ndjson:2: schemas: missing"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("people.ndjson:3: not a JSON object"),
        "{problems:?}"
    );
}

#[test]
fn tables_split_cells_on_semicolons_and_leave_empty_cells_absent() {
    let desired = read(
        "people.tsv",
        "eduPersonPrincipalNames\temails\tpreferredLanguage\tgroups\na@idp.example.ac.jp;a2@idp.example.ac.jp\t\tja\t\n",
    )
    .unwrap();
    let user = &desired.users[0];
    assert_eq!(
        user.attributes.get("eduPersonPrincipalNames").unwrap(),
        json!([{"value": "a@idp.example.ac.jp"}, {"value": "a2@idp.example.ac.jp"}])
    );
    assert!(
        !user.attributes.contains("emails"),
        "an empty cell is absent"
    );
    assert_eq!(user.groups, None);
    assert_eq!(user.origin.to_string(), "people.tsv:2");
}

#[test]
fn the_nii_layout_joins_rows_by_id_or_user_name_and_refuses_contradictions() {
    let text = "\u{feff}title,,,,,,,\n\
                id,user_name,preferred_language,role,edu_person_principal_names[],emails[],groups[].id,groups[].name\n\
                flags,,,,,,,\n\
                ,Taro,ja,member,taro@idp.example.ac.jp,,jc_a,A\n\
                u9,Hana,en,,hana@idp.example.ac.jp,,,\n\
                ,Taro,,,taro2@idp.example.ac.jp,,jc_b,B\n\
                u9,Hana,ja,,,,,\n";
    let problems = read("nii.csv", text).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .starts_with("nii.csv:7: column 3 (preferred_language): \"ja\" differs from \"en\""),
        "{problems:?}"
    );

    let mut desired = Desired::default();
    let consistent = text.replace("u9,Hana,ja,,,,,\n", "u9,Hana,,,,,jc_a,A\n");
    let notices = read_desired("nii.csv", consistent.as_bytes(), &mut desired).unwrap();
    assert_eq!(
        notices.len(),
        1,
        "role is ignored, and said so: {notices:?}"
    );
    assert_eq!(desired.users.len(), 2);
    let taro = &desired.users[0];
    assert_eq!(taro.origin.to_string(), "nii.csv:4");
    assert_eq!(taro.attributes.get("userName").unwrap(), "Taro");
    assert_eq!(
        taro.groups,
        Some(vec!["jc_a".to_owned(), "jc_b".to_owned()])
    );
    let hana = &desired.users[1];
    assert_eq!(hana.attributes.get("id").unwrap(), "u9");
    assert_eq!(hana.groups, Some(vec!["jc_a".to_owned()]));
}

#[test]
fn a_file_that_is_neither_json_nor_a_table_nor_a_workbook_says_so() {
    let problems = read("broken.xlsx", "PK\u{3}\u{4}not really a zip").unwrap_err();
    assert!(
        problems[0].starts_with("broken.xlsx: not a readable XLSX workbook"),
        "{problems:?}"
    );
    let problems = read(
        "quoted.csv",
        "eduPersonPrincipalNames,userName\n\"a@idp.example.ac.jp,\"A\n",
    )
    .unwrap_err();
    assert!(problems[0].starts_with("quoted.csv:2: column 1 (eduPersonPrincipalNames): \"a@idp.example.ac.jp,A\" is not of the form"), "{problems:?}");
    let mut desired = Desired::default();
    let latin1 = b"eduPersonPrincipalNames,userName\na@idp.example.ac.jp,Jos\xe9\n";
    let problems = read_desired("latin1.csv", latin1, &mut desired)
        .unwrap_err()
        .problems;
    assert!(
        problems[0].starts_with("latin1.csv:2: not UTF-8 text"),
        "{problems:?}"
    );
}

/// Excel's exports, as a nightly run meets them: each case read as it is must not change
/// what the file meant.
mod exports {
    use super::*;
    use map_sync::{Encoding, read_desired_as};

    #[test]
    fn a_stray_quote_is_refused_naming_its_line_rather_than_swallowing_the_rows_after_it() {
        let text = "eduPersonPrincipalNames,userName,preferredLanguage\r\n\
                    a@idp.example.ac.jp,\"Alice,en\r\n\
                    b@idp.example.ac.jp,Bob,ja\r\n";
        let problems = read("people.csv", text).unwrap_err();
        assert_eq!(
            problems,
            [
                "people.csv:2: a quote opened here is never closed: the rest of the file would be one cell"
            ]
        );
    }

    #[test]
    fn a_header_naming_a_column_twice_is_refused_naming_both() {
        let text = "eduPersonPrincipalNames,userName,eduPersonPrincipalNames\n\
                    a@idp.example.ac.jp,Alice,alice@idp.example.ac.jp\n";
        let problems = read("people.csv", text).unwrap_err();
        assert_eq!(
            problems,
            ["people.csv:1: columns 1 and 3 both name \"eduPersonPrincipalNames\": say it once"]
        );
    }

    #[test]
    fn a_row_with_more_cells_than_the_header_is_refused() {
        let problems = read("people.csv", "userName,emails\nAlice,a@x.jp,\n").unwrap_err();
        assert_eq!(
            problems,
            ["people.csv:2: column 3: the row has 3 cells, the header 2 columns"]
        );
    }

    #[test]
    fn crlf_files_name_the_same_lines_as_lf_ones() {
        let lf = "userName,emails\nAlice,a@x.jp\n\nBob,not-an-address\n";
        let crlf = lf.replace('\n', "\r\n");
        let expected =
            ["people.csv:4: column 2 (emails): \"not-an-address\" is not of the form name@domain"];
        assert_eq!(read("people.csv", lf).unwrap_err(), expected);
        assert_eq!(read("people.csv", &crlf).unwrap_err(), expected);
        let desired = read("people.csv", &crlf.replace("not-an-address", "b@x.jp")).unwrap();
        assert_eq!(desired.users[1].origin.to_string(), "people.csv:4");
    }

    #[test]
    fn a_shift_jis_export_is_read_as_cp932_and_said() {
        // "userName,emails\r\n山田 太郎,taro@example.ac.jp\r\n" in CP932.
        let mut bytes = b"userName,emails\r\n".to_vec();
        bytes.extend_from_slice(b"\x8eR\x93c \x91\xbe\x98Y,taro@example.ac.jp\r\n");
        let mut desired = Desired::default();
        let notices = read_desired("people.csv", &bytes, &mut desired).unwrap();
        assert_eq!(
            desired.users[0].attributes.string("userName").as_deref(),
            Some("山田 太郎")
        );
        assert!(
            notices.iter().any(|n| n.contains("read as CP932")),
            "{notices:?}"
        );
        // Told to read UTF-8, it is refused, naming the line and the flag.
        let mut desired = Desired::default();
        let error =
            read_desired_as("people.csv", &bytes, Encoding::Utf8, &mut desired).unwrap_err();
        assert_eq!(
            error.problems,
            [
                "people.csv:2: not UTF-8 text; say which encoding it is with --encoding utf-8|utf-16|cp932"
            ]
        );
    }

    #[test]
    fn a_utf16_unicode_text_export_is_read_by_its_bom() {
        let text = "userName\temails\r\n山田\tyamada@example.ac.jp\r\n";
        let bytes: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let mut desired = Desired::default();
        read_desired("people.txt", &bytes, &mut desired).unwrap();
        assert_eq!(
            desired.users[0].attributes.string("userName").as_deref(),
            Some("山田")
        );
        assert_eq!(desired.users[0].origin.to_string(), "people.txt:2");
    }
}
