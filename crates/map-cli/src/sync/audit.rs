//! `--audit-log FILE`: one JSON line per change a run sent — when, which run,
//! the resource, the attributes before and after, the members added and removed, and how it
//! ended — appended, never truncated: the lasting record of who left which group, which the
//! journal (deleted once a run settles) is not.

use std::io::Write;
use std::path::Path;

use map_sync::{ChangeResult, Plan};
use serde_json::Value;

use super::print::{MemberLabels, json_change};
use crate::private_file;

/// A run's identity in the log: its start time and process, unique enough to tell runs apart.
pub(crate) fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{:x}", std::process::id())
}

/// Appends the changes of `plan` that have a result, in one write.
pub(crate) fn append(
    path: &Path,
    run: &str,
    plan: &Plan,
    results: &[ChangeResult],
) -> std::io::Result<()> {
    let labels = MemberLabels::new(plan);
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut lines = Vec::new();
    // What was sent: a skipped change never left.
    let sent = plan
        .changes
        .iter()
        .zip(results)
        .filter(|(_, r)| !matches!(r, ChangeResult::Skipped { .. }));
    for (change, result) in sent {
        let mut record = serde_json::Map::new();
        record.insert("time".into(), Value::String(time.clone()));
        record.insert("run".into(), Value::String(run.to_owned()));
        if let Value::Object(fields) = json_change(change, &labels, Some(result)) {
            record.extend(fields);
        }
        serde_json::to_writer(&mut lines, &record)?;
        lines.push(b'\n');
    }
    let mut file = private_file::append(path)?;
    file.write_all(&lines)?;
    file.sync_data()
}
