//! Which existing resource each desired one is: users by `id` when given (a row of the NII
//! groups manager's file that names the user), otherwise by the [`UserKey`]; groups and
//! services by `id`. Ambiguity is a problem, never a guess.

use std::collections::HashMap;

use crate::error::Problems;
use crate::state::{Current, Desired, DesiredResource, Kind, UserKey};

/// The existing resource a desired one is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    /// The current resource at this index.
    Existing(usize),
    /// None: it is to be created.
    New,
}

/// Current users by each value of the key they hold, and by id.
#[derive(Debug)]
pub(crate) struct UserIndex<'a> {
    key: UserKey,
    by_key: HashMap<String, Vec<usize>>,
    by_id: HashMap<&'a str, usize>,
}

impl<'a> UserIndex<'a> {
    pub(crate) fn new(current: &'a Current, key: UserKey) -> Self {
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_id = HashMap::new();
        for (index, user) in current.users.iter().enumerate() {
            for value in key.values(user) {
                let holders = by_key.entry(value).or_default();
                if !holders.contains(&index) {
                    holders.push(index);
                }
            }
            if let Some(id) = user.plain_str("id") {
                by_id.insert(id, index);
            }
        }
        UserIndex { key, by_key, by_id }
    }

    /// The current users holding `value` of the key.
    pub(crate) fn by_key(&self, value: &str) -> &[usize] {
        self.by_key.get(value).map_or(&[], Vec::as_slice)
    }

    /// The current user with this id.
    pub(crate) fn by_id(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The key in use.
    pub(crate) fn key(&self) -> UserKey {
        self.key
    }
}

/// The match of every desired user, in order.
pub(crate) fn match_users(
    desired: &Desired,
    index: &UserIndex<'_>,
    problems: &mut Problems,
) -> Vec<Match> {
    let key = index.key();
    let mut taken: HashMap<usize, usize> = HashMap::new();
    let mut new_keys: HashMap<String, usize> = HashMap::new();
    let mut matches = Vec::with_capacity(desired.users.len());
    for (n, user) in desired.users.iter().enumerate() {
        let found = match_user(user, index, key, problems);
        match found {
            Some(Match::Existing(existing)) => {
                if let Some(first) = taken.insert(existing, n) {
                    problems.add(
                        Some(&user.origin),
                        format!(
                            "this user and the one at {} are both the existing user {}",
                            desired.users[first].origin,
                            current_id(index, existing)
                        ),
                    );
                }
            }
            Some(Match::New) => {
                for value in key.values(&user.attributes) {
                    if let Some(first) = new_keys.insert(value.clone(), n)
                        && first != n
                    {
                        problems.add(
                            Some(&user.origin),
                            format!(
                                "{} {value:?} is also the new user's at {}",
                                key.attribute(),
                                desired.users[first].origin
                            ),
                        );
                    }
                }
            }
            None => {}
        }
        matches.push(found.unwrap_or(Match::New));
    }
    matches
}

fn current_id(index: &UserIndex<'_>, existing: usize) -> String {
    index
        .by_id
        .iter()
        .find(|(_, i)| **i == existing)
        .map_or_else(|| format!("#{existing}"), |(id, _)| (*id).to_owned())
}

/// One desired user's match, or `None` (with a problem) when it cannot be told.
fn match_user(
    user: &DesiredResource,
    index: &UserIndex<'_>,
    key: UserKey,
    problems: &mut Problems,
) -> Option<Match> {
    if let Some(id) = user.id() {
        return match index.by_id(id) {
            Some(existing) => Some(Match::Existing(existing)),
            None => {
                problems.add(Some(&user.origin), format!("id {id:?}: no such user"));
                None
            }
        };
    }
    let values = key.values(&user.attributes);
    if values.is_empty() {
        problems.add(
            Some(&user.origin),
            format!("no {} (the key) and no id", key.attribute()),
        );
        return None;
    }
    let mut holders: Vec<usize> = values
        .iter()
        .flat_map(|v| index.by_key(v))
        .copied()
        .collect();
    holders.sort_unstable();
    holders.dedup();
    match holders.as_slice() {
        [] => Some(Match::New),
        [one] => Some(Match::Existing(*one)),
        several => {
            let ids: Vec<String> = several.iter().map(|i| current_id(index, *i)).collect();
            problems.add(
                Some(&user.origin),
                format!(
                    "{} {} {} several existing users: {}",
                    key.attribute(),
                    values.join(", "),
                    if values.len() == 1 {
                        "matches"
                    } else {
                        "match"
                    },
                    ids.join(", ")
                ),
            );
            None
        }
    }
}

/// The match of every desired group or service, by `id`; one without an id is a problem.
pub(crate) fn match_by_id(
    desired: &Desired,
    current: &Current,
    kind: Kind,
    problems: &mut Problems,
) -> Vec<Match> {
    let ids: HashMap<&str, usize> = current
        .of(kind)
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((r.plain_str("id")?, i)))
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let resources = desired.of(kind);
    resources
        .iter()
        .enumerate()
        .map(|(n, resource)| {
            let Some(id) = resource.id() else {
                problems.add(Some(&resource.origin), format!("a {kind} needs an id"));
                return Match::New;
            };
            if let Some(first) = seen.insert(id, n) {
                problems.add(
                    Some(&resource.origin),
                    format!(
                        "{kind} {id:?} is described again (first at {})",
                        resources[first].origin
                    ),
                );
            }
            ids.get(id).map_or(Match::New, |i| Match::Existing(*i))
        })
        .collect()
}
