//! How `mapctl sync` prints a plan, and after applying it each change's outcome: `human`
//! (one line per changed resource and a summary), `json` (one document), `ndjson` (one
//! change per line, then the summary).

use map_sync::{Action, AttributeChange, Change, ChangeResult, Kind, Member, Plan};
use std::io::Write;

use serde_json::{Value, json};

use crate::cli::OutputFormat;

pub(crate) struct Printer {
    format: OutputFormat,
}

impl Printer {
    pub(crate) fn new(format: OutputFormat) -> Self {
        Printer { format }
    }

    /// Prints `plan`, with each change's result when it was applied. A closed standard
    /// output (`| head`) ends the printing, nothing else: what must outlast the run was
    /// written before.
    pub(crate) fn plan(&self, plan: &Plan, results: Option<&[ChangeResult]>) {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let _ = self
            .write(&mut out, plan, results)
            .and_then(|()| out.flush());
    }

    /// Prints the plans of a run's rounds (a sync that planned again after reading back)
    /// with their results: one after the other, or for `json` in one document.
    pub(crate) fn rounds(&self, rounds: &[(&Plan, &[ChangeResult])]) {
        if self.format != OutputFormat::Json || rounds.len() < 2 {
            for (plan, results) in rounds {
                self.plan(plan, Some(results));
            }
            return;
        }
        let mut changes = Vec::new();
        let mut summaries = Vec::new();
        for (plan, results) in rounds {
            let labels = MemberLabels::new(plan);
            changes.extend(
                plan.changes
                    .iter()
                    .zip(results.iter())
                    .map(|(c, r)| json_change(c, &labels, Some(r))),
            );
            summaries.push(summary(plan, Some(results)));
        }
        let document =
            json!({"changes": changes, "summary": summaries.last(), "rounds": summaries});
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{document}");
    }

    fn write(
        &self,
        out: &mut dyn Write,
        plan: &Plan,
        results: Option<&[ChangeResult]>,
    ) -> std::io::Result<()> {
        let labels = MemberLabels::new(plan);
        let result = |n: usize| results.and_then(|r| r.get(n));
        match self.format {
            OutputFormat::Human => {
                for (n, change) in plan.changes.iter().enumerate() {
                    let outcome = result(n).map(human_result).unwrap_or_default();
                    writeln!(out, "{}{outcome}", human_line(change))?;
                }
                writeln!(out, "{}", human_summary(plan, results))
            }
            OutputFormat::Json => {
                let changes: Vec<Value> = plan
                    .changes
                    .iter()
                    .enumerate()
                    .map(|(n, c)| json_change(c, &labels, result(n)))
                    .collect();
                writeln!(
                    out,
                    "{}",
                    json!({"changes": changes, "summary": summary(plan, results)})
                )
            }
            OutputFormat::Ndjson => {
                for (n, change) in plan.changes.iter().enumerate() {
                    writeln!(out, "{}", json_change(change, &labels, result(n)))?;
                }
                writeln!(out, "{}", json!({"summary": summary(plan, results)}))
            }
        }
    }
}

/// How a member is named in reports: a new user by its key, others by id.
pub(crate) struct MemberLabels(Vec<String>);

impl MemberLabels {
    pub(crate) fn new(plan: &Plan) -> Self {
        MemberLabels(
            plan.changes
                .iter()
                .filter(|c| c.kind == Kind::User && c.action == Action::Create)
                .map(|c| c.key.clone())
                .collect(),
        )
    }

    fn of(&self, member: &Member) -> String {
        match member {
            Member::User(id) | Member::Group(id) => id.clone(),
            Member::NewUser(n) => self
                .0
                .get(*n)
                .cloned()
                .unwrap_or_else(|| format!("new user {n}")),
        }
    }
}

fn human_line(change: &Change) -> String {
    let sign = match change.action {
        Action::Create => '+',
        Action::Update => '~',
        Action::Delete => '-',
    };
    let mut parts = Vec::new();
    if !change.members_added.is_empty() || !change.members_removed.is_empty() {
        let mut members = String::from("members");
        if !change.members_added.is_empty() {
            members.push_str(&format!(" +{}", change.members_added.len()));
        }
        if !change.members_removed.is_empty() {
            members.push_str(&format!(" \u{2212}{}", change.members_removed.len()));
        }
        parts.push(members);
    }
    if change.action == Action::Update {
        parts.extend(change.attributes.iter().map(human_attribute));
    }
    let head = format!("{sign} {} {}", change.kind, printable(&change.key));
    if parts.is_empty() {
        head
    } else {
        format!("{head}: {}", parts.join(", "))
    }
}

fn human_attribute(change: &AttributeChange) -> String {
    match (&change.from, &change.to) {
        (_, None) => format!("{} cleared", change.name),
        (None, Some(to)) => format!("{} {}", change.name, short(to)),
        (Some(from), Some(to)) => format!("{} {} \u{2192} {}", change.name, short(from), short(to)),
    }
}

/// A value in one short line: JSON, cut at 60 characters, control characters escaped.
fn short(value: &Value) -> String {
    let text = printable(&value.to_string());
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(59).collect::<String>())
    } else {
        text
    }
}

/// Text from a file or a server with its control characters escaped.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn human_result(result: &ChangeResult) -> String {
    match result {
        ChangeResult::Succeeded {
            read_back: false, ..
        } => "  ✓ succeeded".to_owned(),
        ChangeResult::Succeeded {
            read_back: true, ..
        } => "  ✓ succeeded (read back)".to_owned(),
        ChangeResult::NotApplied { reason } => format!("  ✗ not applied: {}", printable(reason)),
        ChangeResult::Skipped { reason } => {
            format!(
                "  ✗ not applied: skipped: {}",
                printable(&reason.to_string())
            )
        }
        ChangeResult::Unknown { reason } => format!("  ? unknown: {}", printable(reason)),
    }
}

fn human_summary(plan: &Plan, results: Option<&[ChangeResult]>) -> String {
    let planned = format!(
        "plan: {} create, {} update, {} delete, {} unchanged",
        plan.count(Action::Create),
        plan.count(Action::Update),
        plan.count(Action::Delete),
        plan.unchanged
    );
    match results {
        None if plan.is_empty() => format!("{planned}: nothing to change, nothing sent"),
        None => format!("{planned} (dry run: nothing was sent)"),
        Some(results) => {
            let (succeeded, not_applied, unknown) = tally(results);
            format!(
                "{planned}; applied: {succeeded} succeeded, {not_applied} not applied, {unknown} unknown"
            )
        }
    }
}

fn tally(results: &[ChangeResult]) -> (usize, usize, usize) {
    let count = |f: fn(&ChangeResult) -> bool| results.iter().filter(|r| f(r)).count();
    (
        count(|r| matches!(r, ChangeResult::Succeeded { .. })),
        count(|r| {
            matches!(
                r,
                ChangeResult::NotApplied { .. } | ChangeResult::Skipped { .. }
            )
        }),
        count(|r| matches!(r, ChangeResult::Unknown { .. })),
    )
}

pub(crate) fn json_change(
    change: &Change,
    labels: &MemberLabels,
    result: Option<&ChangeResult>,
) -> Value {
    let mut value = json!({
        "action": change.action.as_str(),
        "kind": change.kind.as_str(),
        "key": change.key,
        "id": change.id,
        "attributes": change.attributes,
    });
    if !change.members_added.is_empty() || !change.members_removed.is_empty() {
        let names = |members: &[Member]| members.iter().map(|m| labels.of(m)).collect::<Vec<_>>();
        value["members"] =
            json!({"add": names(&change.members_added), "remove": names(&change.members_removed)});
    }
    if let Some(result) = result {
        value["outcome"] = match result {
            ChangeResult::Succeeded { id, read_back } => {
                json!({"result": "succeeded", "id": id, "read_back": read_back})
            }
            ChangeResult::NotApplied { reason } => {
                json!({"result": "not applied", "reason": reason})
            }
            ChangeResult::Skipped { reason } => {
                json!({"result": "not applied", "reason": format!("skipped: {reason}"), "skipped": true})
            }
            ChangeResult::Unknown { reason } => json!({"result": "unknown", "reason": reason}),
        };
    }
    value
}

fn summary(plan: &Plan, results: Option<&[ChangeResult]>) -> Value {
    let mut summary = json!({
        "create": plan.count(Action::Create),
        "update": plan.count(Action::Update),
        "delete": plan.count(Action::Delete),
        "unchanged": plan.unchanged,
    });
    if let Some(results) = results {
        let (succeeded, not_applied, unknown) = tally(results);
        summary["applied"] =
            json!({"succeeded": succeeded, "not applied": not_applied, "unknown": unknown});
    }
    summary
}
