//! Injected faults: what can be configured (`Faults`, serialized for the
//! control endpoint and set from command-line flags) and the counters that
//! decide, request by request, when a fault fires (`FaultState`).

use serde::{Deserialize, Serialize};

/// Faults the emulator injects. `Faults::default()` injects none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Delay before answering any request, in milliseconds.
    pub latency_ms: u64,
    /// Extra delay per item in an answer, in microseconds.
    pub item_latency_us: u64,
    /// A fault on track listing pages (`type=10` with a page size above 0).
    pub page_fault: Option<PageFault>,
    /// After this many authenticated requests, every request gets 401.
    pub unauthorized_after: Option<u64>,
    /// After serving this many items in total, go offline.
    pub offline_after_items: Option<u64>,
    /// Change the library after every track page.
    pub shift_per_page: Option<Shift>,
    /// Never return more than this many items in a page.
    pub page_size_cap: Option<u32>,
    /// Paged answers lack `totalSize` and `X-Plex-Container-Total-Size`.
    pub omit_total_size: bool,
    /// Listings sorted by one of these fields (`ratingKey`, `id`, `addedAt`,
    /// ...; the name before any `:asc`) get 500, as some servers answer.
    pub refuse_sorts: Vec<String>,
    /// The first this many tracks of every track listing are listed twice
    /// (each right after itself), and counted twice in `totalSize`.
    pub duplicate_tracks: u32,
    /// Delta filters (`updatedAt>=…`) are ignored: listings hold the whole
    /// section, as from a server that does not know them.
    pub ignore_delta_filters: bool,
    /// Every notification stream closes after sending this many frames
    /// (pings not counted).
    pub notifications_drop_after: Option<u32>,
}

impl Faults {
    /// Whether a listing asking for `sort` must be refused.
    pub fn refuses_sort(&self, sort: Option<&str>) -> bool {
        let Some(sort) = sort.filter(|s| !s.is_empty()) else {
            return false;
        };
        let first = sort.split(',').next().unwrap_or(sort);
        let name = first.split_once(':').map_or(first, |(name, _)| name);
        self.refuse_sorts.iter().any(|refused| refused == name)
    }
}

/// Which track pages fail, and how: the first `after` succeed, the next
/// `times` fail (0 = all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageFault {
    pub kind: PageFaultKind,
    #[serde(default)]
    pub after: u32,
    #[serde(default)]
    pub times: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageFaultKind {
    /// 500 with a small body.
    Error500,
    /// No answer at all; the connection stays open.
    Hang,
    /// The connection closes before the announced body is complete.
    Drop,
    /// 200 with a body that is not valid JSON or XML.
    Malformed,
    /// 200 with a complete HTTP message whose document is cut in the middle.
    Truncated,
    /// 200 with a well-formed document holding values of the wrong type.
    WrongTypes,
}

impl std::str::FromStr for PageFaultKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(text.to_string())).map_err(|_| {
            format!("unknown page fault {text:?} (error500, hang, drop, malformed, truncated, wrong_types)")
        })
    }
}

/// Library changes after each track page: `add` new tracks, and remove the
/// `remove` tracks at the lowest offsets of the page's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shift {
    pub add: u32,
    pub remove: u32,
}

/// A page fault that fired, with how many times it fired before (so that
/// answers can vary from one hit to the next).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageFaultHit {
    pub kind: PageFaultKind,
    pub hit: u64,
}

/// The faults in force and the counters behind them. Setting new faults
/// restarts every counter.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    faults: Faults,
    track_pages: u64,
    page_fault_hits: u64,
    authenticated: u64,
    items: u64,
    went_offline: bool,
}

impl FaultState {
    pub fn new(faults: Faults) -> Self {
        FaultState {
            faults,
            ..FaultState::default()
        }
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn set(&mut self, faults: Faults) {
        *self = FaultState::new(faults);
    }

    /// Counts one track page request and says whether it must fail.
    pub fn next_track_page(&mut self) -> Option<PageFaultHit> {
        let number = self.track_pages;
        self.track_pages += 1;
        let fault = self.faults.page_fault?;
        let after = u64::from(fault.after);
        let failing =
            number >= after && (fault.times == 0 || number < after + u64::from(fault.times));
        if !failing {
            return None;
        }
        let hit = self.page_fault_hits;
        self.page_fault_hits += 1;
        Some(PageFaultHit {
            kind: fault.kind,
            hit,
        })
    }

    /// Counts one request with a good token; true when it must get 401.
    pub fn count_authenticated(&mut self) -> bool {
        self.authenticated += 1;
        self.faults
            .unauthorized_after
            .is_some_and(|limit| self.authenticated > limit)
    }

    /// Counts served items; true exactly once, when the server must go
    /// offline.
    pub fn count_items(&mut self, served: u64) -> bool {
        self.items += served;
        match self.faults.offline_after_items {
            Some(limit) if !self.went_offline && self.items >= limit => {
                self.went_offline = true;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_page_fault(after: u32, times: u32) -> FaultState {
        let kind = PageFaultKind::Error500;
        FaultState::new(Faults {
            page_fault: Some(PageFault { kind, after, times }),
            ..Faults::default()
        })
    }

    #[test]
    fn page_fault_fires_after_the_first_pages_for_the_given_times() {
        let mut state = with_page_fault(2, 2);
        let fired: Vec<bool> = (0..6).map(|_| state.next_track_page().is_some()).collect();
        assert_eq!(fired, [false, false, true, true, false, false]);
    }

    #[test]
    fn page_fault_with_zero_times_fires_forever() {
        let mut state = with_page_fault(1, 0);
        let fired: Vec<bool> = (0..5).map(|_| state.next_track_page().is_some()).collect();
        assert_eq!(fired, [false, true, true, true, true]);
    }

    #[test]
    fn faults_parse_from_partial_json() {
        let faults: Faults =
            serde_json::from_str(r#"{"page_fault":{"kind":"wrong_types"},"omit_total_size":true}"#)
                .expect("valid faults");
        assert_eq!(
            faults.page_fault.map(|p| p.kind),
            Some(PageFaultKind::WrongTypes)
        );
        assert!(faults.omit_total_size);
        assert_eq!(faults.latency_ms, 0);
    }

    #[test]
    fn refused_sorts_match_the_field_name_whatever_the_direction() {
        let faults = Faults {
            refuse_sorts: vec!["ratingKey".into(), "addedAt".into()],
            ..Faults::default()
        };
        assert!(faults.refuses_sort(Some("ratingKey")));
        assert!(faults.refuses_sort(Some("addedAt:asc")));
        assert!(!faults.refuses_sort(Some("id")));
        assert!(!faults.refuses_sort(None));
        assert!(!Faults::default().refuses_sort(Some("ratingKey")));
    }

    #[test]
    fn unknown_fault_fields_are_rejected() {
        assert!(serde_json::from_str::<Faults>(r#"{"latency":5}"#).is_err());
    }

    #[test]
    fn offline_fires_once_when_the_item_count_is_reached() {
        let mut state = FaultState::new(Faults {
            offline_after_items: Some(10),
            ..Faults::default()
        });
        assert!(!state.count_items(6));
        assert!(state.count_items(6));
        assert!(!state.count_items(6));
    }
}
