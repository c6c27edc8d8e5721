//! The issue lifecycle as a typed state machine: what a person's change or a new event does to
//! an issue's state, with the text recorded in its history. The store only loads a [`State`]
//! from its columns, asks it, and writes the next one back; no status is written as a literal
//! in SQL.
//!
//! - **Unresolved**: shown as open. A new event changes nothing.
//! - **Resolved** (now, or in the next release): a later event regresses it to unresolved,
//!   unless it was received before the resolution, or its release is older than the release
//!   the fix names (for "in the next release", that release itself does not regress it
//!   either). An event with no release, or a release never seen, regresses it.
//! - **Ignored** (forever, until a time, or until N more events): an event after the time, or
//!   the event that makes N, makes it unresolved again.

use std::cmp::Ordering;

use crate::store::StatusChange;

/// The three statuses, as stored and as the API shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Unresolved,
    Resolved,
    Ignored,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unresolved => "unresolved",
            Status::Resolved => "resolved",
            Status::Ignored => "ignored",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Some(match text {
            "unresolved" => Status::Unresolved,
            "resolved" => Status::Resolved,
            "ignored" => Status::Ignored,
            _ => return None,
        })
    }
}

/// An issue's state, with what each status needs to decide what comes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Unresolved,
    Resolved {
        at: i64,
        /// The release the fix is judged against: the last one seen when it was resolved.
        release: Option<String>,
        /// Fixed in the release after `release` (which itself does not regress it).
        in_next_release: bool,
    },
    Ignored {
        until: Option<i64>,
        /// The event count at which it wakes.
        until_events: Option<i64>,
    },
}

/// A change of state and the line it leaves in the issue's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub next: State,
    pub detail: String,
}

/// What is known of a new event when its issue's state is asked.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    pub received_at: i64,
    pub release: Option<&'a str>,
    /// The event's release against the resolved release, by first-seen order; `None` when
    /// either is missing or was never seen.
    pub against_fix: Option<Ordering>,
    /// Events the issue had before this one.
    pub times_seen: i64,
    pub event_id: &'a str,
}

/// The columns a state is stored in: status, resolved at, resolved release, in next release,
/// ignored until, ignored until events.
pub type Columns = (
    &'static str,
    Option<i64>,
    Option<String>,
    bool,
    Option<i64>,
    Option<i64>,
);

impl State {
    pub fn status(&self) -> Status {
        match self {
            State::Unresolved => Status::Unresolved,
            State::Resolved { .. } => Status::Resolved,
            State::Ignored { .. } => Status::Ignored,
        }
    }

    /// The state stored in an issue's columns; an unknown status reads as unresolved.
    pub fn from_columns(
        status: &str,
        resolved_at: Option<i64>,
        resolved_release: Option<String>,
        in_next_release: bool,
        ignored_until: Option<i64>,
        ignored_until_events: Option<i64>,
    ) -> State {
        match Status::parse(status) {
            Some(Status::Resolved) => State::Resolved {
                at: resolved_at.unwrap_or(0),
                release: resolved_release,
                in_next_release,
            },
            Some(Status::Ignored) => State::Ignored {
                until: ignored_until,
                until_events: ignored_until_events,
            },
            Some(Status::Unresolved) | None => State::Unresolved,
        }
    }

    /// The columns this state is stored in.
    pub fn columns(&self) -> Columns {
        let status = self.status().as_str();
        match self {
            State::Unresolved => (status, None, None, false, None, None),
            State::Resolved {
                at,
                release,
                in_next_release,
            } => (
                status,
                Some(*at),
                release.clone(),
                *in_next_release,
                None,
                None,
            ),
            State::Ignored {
                until,
                until_events,
            } => (status, None, None, false, *until, *until_events),
        }
    }

    /// A person's change at `at`, for an issue whose last release seen is `last_release` and
    /// which has had `times_seen` events.
    pub fn change(
        &self,
        change: &StatusChange,
        at: i64,
        last_release: Option<&str>,
        times_seen: i64,
    ) -> Transition {
        match change {
            StatusChange::Unresolve => Transition {
                next: State::Unresolved,
                detail: "unresolved".to_owned(),
            },
            StatusChange::Resolve | StatusChange::ResolveInNextRelease => {
                let next = matches!(change, StatusChange::ResolveInNextRelease);
                let detail = match (next, last_release) {
                    (true, Some(r)) => format!("resolved in the release after {r}"),
                    (true, None) => "resolved in the next release".to_owned(),
                    (false, _) => "resolved".to_owned(),
                };
                Transition {
                    next: State::Resolved {
                        at,
                        release: last_release.map(str::to_owned),
                        in_next_release: next,
                    },
                    detail,
                }
            }
            StatusChange::Ignore { until, more_events } => {
                let detail = match (until, more_events) {
                    (Some(t), _) => format!("ignored until {t}"),
                    (None, Some(n)) => format!("ignored for {n} more events"),
                    (None, None) => "ignored".to_owned(),
                };
                Transition {
                    next: State::Ignored {
                        until: *until,
                        until_events: more_events.map(|n| times_seen + n.max(1)),
                    },
                    detail,
                }
            }
        }
    }

    /// What a new event does: the transition, or `None` when the state stays.
    pub fn on_event(&self, event: &Arrival<'_>) -> Option<Transition> {
        match self {
            State::Unresolved => None,
            State::Resolved {
                at,
                in_next_release,
                ..
            } => {
                // Events that were on their way before the resolution do not reopen it.
                if event.received_at < *at {
                    return None;
                }
                let regresses = match event.against_fix {
                    Some(order) if *in_next_release => order == Ordering::Greater,
                    Some(order) => order != Ordering::Less,
                    None => true,
                };
                regresses.then(|| Transition {
                    next: State::Unresolved,
                    detail: match event.release {
                        Some(r) => format!("regressed: event {} in release {r}", event.event_id),
                        None => format!("regressed: event {}", event.event_id),
                    },
                })
            }
            State::Ignored {
                until,
                until_events,
            } => {
                let time_up = until.is_some_and(|t| event.received_at >= t);
                let count_up = until_events.is_some_and(|n| event.times_seen + 1 >= n);
                (time_up || count_up).then(|| Transition {
                    next: State::Unresolved,
                    detail: format!(
                        "no longer ignored: {}",
                        if time_up {
                            "its time passed"
                        } else {
                            "enough events came"
                        }
                    ),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering::{Equal, Greater, Less};

    use super::*;

    fn resolved(next: bool) -> State {
        State::Resolved {
            at: 100,
            release: Some("1.1".into()),
            in_next_release: next,
        }
    }

    fn ignored(until: Option<i64>, until_events: Option<i64>) -> State {
        State::Ignored {
            until,
            until_events,
        }
    }

    fn arrival(at: i64, against_fix: Option<Ordering>, times_seen: i64) -> Arrival<'static> {
        Arrival {
            received_at: at,
            release: against_fix.map(|_| "1.2"),
            against_fix,
            times_seen,
            event_id: "e1",
        }
    }

    /// Every status and every event that matters: (state, event, next status, history line).
    #[test]
    fn events_move_issues_as_the_table_says() {
        let table: Vec<(State, Arrival<'_>, Option<Status>, &str)> = vec![
            (State::Unresolved, arrival(200, None, 5), None, ""),
            (resolved(false), arrival(99, None, 5), None, ""),
            (
                resolved(false),
                arrival(200, None, 5),
                Some(Status::Unresolved),
                "regressed: event e1",
            ),
            (
                resolved(false),
                arrival(200, Some(Equal), 5),
                Some(Status::Unresolved),
                "regressed: event e1 in release 1.2",
            ),
            (resolved(false), arrival(200, Some(Less), 5), None, ""),
            (resolved(true), arrival(200, Some(Equal), 5), None, ""),
            (resolved(true), arrival(200, Some(Less), 5), None, ""),
            (
                resolved(true),
                arrival(200, Some(Greater), 5),
                Some(Status::Unresolved),
                "regressed: event e1 in release 1.2",
            ),
            (
                resolved(true),
                arrival(200, None, 5),
                Some(Status::Unresolved),
                "regressed: event e1",
            ),
            (ignored(None, None), arrival(10_000, None, 1_000), None, ""),
            (ignored(Some(300), None), arrival(299, None, 5), None, ""),
            (
                ignored(Some(300), None),
                arrival(300, None, 5),
                Some(Status::Unresolved),
                "no longer ignored: its time passed",
            ),
            (ignored(None, Some(10)), arrival(200, None, 8), None, ""),
            (
                ignored(None, Some(10)),
                arrival(200, None, 9),
                Some(Status::Unresolved),
                "no longer ignored: enough events came",
            ),
        ];
        for (state, event, next, detail) in table {
            let got = state.on_event(&event);
            assert_eq!(
                got.as_ref().map(|t| t.next.status()),
                next,
                "{state:?} on {event:?}"
            );
            assert_eq!(got.map(|t| t.detail).unwrap_or_default(), detail);
        }
    }

    /// Every change a person makes, from every status.
    #[test]
    fn changes_move_issues_as_the_table_says() {
        let states = [State::Unresolved, resolved(false), ignored(Some(5), None)];
        let table: Vec<(StatusChange, State, &str)> = vec![
            (StatusChange::Unresolve, State::Unresolved, "unresolved"),
            (
                StatusChange::Resolve,
                State::Resolved {
                    at: 50,
                    release: Some("2.0".into()),
                    in_next_release: false,
                },
                "resolved",
            ),
            (
                StatusChange::ResolveInNextRelease,
                State::Resolved {
                    at: 50,
                    release: Some("2.0".into()),
                    in_next_release: true,
                },
                "resolved in the release after 2.0",
            ),
            (
                StatusChange::Ignore {
                    until: Some(900),
                    more_events: None,
                },
                ignored(Some(900), None),
                "ignored until 900",
            ),
            (
                StatusChange::Ignore {
                    until: None,
                    more_events: Some(3),
                },
                ignored(None, Some(10)),
                "ignored for 3 more events",
            ),
            (
                StatusChange::Ignore {
                    until: None,
                    more_events: None,
                },
                ignored(None, None),
                "ignored",
            ),
        ];
        for from in &states {
            for (change, next, detail) in &table {
                let t = from.change(change, 50, Some("2.0"), 7);
                assert_eq!(&t.next, next, "{from:?} {change:?}");
                assert_eq!(t.detail, *detail);
            }
        }
        let t = State::Unresolved.change(&StatusChange::ResolveInNextRelease, 50, None, 7);
        assert_eq!(t.detail, "resolved in the next release");
    }

    #[test]
    fn states_round_trip_through_their_columns() {
        for state in [State::Unresolved, resolved(true), ignored(Some(5), Some(9))] {
            let (s, at, release, next, until, events) = state.columns();
            assert_eq!(
                State::from_columns(s, at, release, next, until, events),
                state
            );
        }
        assert_eq!(
            State::from_columns("archived", None, None, false, None, None),
            State::Unresolved
        );
    }
}
