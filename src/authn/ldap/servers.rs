//! Which of the configured LDAP servers are in use: a server that timed out, refused or broke a
//! connection is marked down and skipped by logins until the background prober (see
//! `connector`) finds it answering again. Probes of a server still down back off from
//! [`BACKOFF_MIN`] to [`BACKOFF_MAX`].
//!
//! Every mark-down starts a new *epoch* of the server: connections opened before it (pooled ones
//! included) are no longer current and are dropped instead of reused. Operations in flight are
//! counted per server, so that a server with one pending for long (it may be hanging, but has
//! not timed out yet) is tried after the others. Time is passed in.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The first wait before a down server is probed; it doubles after each failed probe.
pub(super) const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest wait between two probes of a down server.
pub(super) const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// The health of every configured server, in `urls` order.
pub(super) struct Servers {
    /// The server URLs (their order is the order of preference).
    urls: Vec<String>,
    /// Their state, and whether a prober runs.
    state: Mutex<State>,
}

/// What [`Servers`] guards.
struct State {
    /// One entry per URL.
    servers: Vec<Health>,
    /// Whether a background prober is running (it stops when no server is down).
    probing: bool,
    /// Operations in flight: (id, server, since when).
    pending: Vec<(u64, usize, Instant)>,
    /// The id of the next operation.
    next_id: u64,
}

/// One server's health.
#[derive(Debug, Clone)]
struct Health {
    /// Bumped at every mark-down: connections of older epochs are not reused.
    epoch: u64,
    /// Why and until when it is down; `None` while it is up.
    down: Option<Down>,
}

/// A server marked down.
#[derive(Debug, Clone)]
struct Down {
    /// What went wrong (never a password).
    reason: String,
    /// When it was marked down.
    since: Instant,
    /// When the prober tries it next.
    probe_at: Instant,
    /// The wait after the next failed probe.
    backoff: Duration,
}

/// A server a login may use now, and the epoch its connections belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Usable {
    /// Its index in `urls`.
    pub(super) index: usize,
    /// Its epoch now.
    pub(super) epoch: u64,
}

impl Servers {
    /// Every server of `urls`, all up.
    pub(super) fn new(urls: Vec<String>) -> Self {
        let servers = vec![Health { epoch: 0, down: None }; urls.len()];
        let state = State { servers, probing: false, pending: Vec::new(), next_id: 0 };
        Self { urls, state: Mutex::new(state) }
    }

    /// The URL of server `index`.
    pub(super) fn url(&self, index: usize) -> &str {
        &self.urls[index]
    }

    /// How many servers are configured.
    pub(super) fn len(&self) -> usize {
        self.urls.len()
    }

    /// The servers that are up, in order of preference; those with an operation pending since
    /// before `stalled_since` go last.
    pub(super) fn usable(&self, stalled_since: Instant) -> Vec<Usable> {
        let state = self.lock();
        let up = state.servers.iter().enumerate().filter(|(_, health)| health.down.is_none());
        let mut usable: Vec<Usable> =
            up.map(|(index, health)| Usable { index, epoch: health.epoch }).collect();
        let stalled = |server: &Usable| {
            state.pending.iter().any(|&(_, index, since)| index == server.index && since < stalled_since)
        };
        usable.sort_by_key(stalled);
        usable
    }

    /// Counts an operation on server `index` from `now` until [`Servers::end`] is called with
    /// the id returned.
    pub(super) fn begin(&self, index: usize, now: Instant) -> u64 {
        let mut state = self.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.pending.push((id, index, now));
        id
    }

    /// Operation `id` is over.
    pub(super) fn end(&self, id: u64) {
        self.lock().pending.retain(|&(pending, _, _)| pending != id);
    }

    /// Why each down server is down, as of `now` (for the error when none is up).
    pub(super) fn down_reasons(&self, now: Instant) -> Vec<String> {
        let state = self.lock();
        let down = state.servers.iter().enumerate().filter_map(|(index, health)| {
            let down = health.down.as_ref()?;
            let for_secs = now.saturating_duration_since(down.since).as_secs();
            Some(format!("{} (down for {for_secs}s: {})", self.urls[index], down.reason))
        });
        down.collect()
    }

    /// Whether a connection of `server` in its epoch may still be used: the server has not been
    /// marked down since it was opened.
    pub(super) fn is_current(&self, server: Usable) -> bool {
        let state = self.lock();
        state
            .servers
            .get(server.index)
            .is_some_and(|health| health.down.is_none() && health.epoch == server.epoch)
    }

    /// Marks `server` down at `now` for `reason`, unless it already was since that epoch.
    /// Returns whether a prober must be started (none was running).
    pub(super) fn mark_down(&self, server: Usable, reason: &str, now: Instant) -> MarkedDown {
        let mut state = self.lock();
        let Some(health) = state.servers.get_mut(server.index) else { return MarkedDown::Already };
        if health.epoch != server.epoch || health.down.is_some() {
            return MarkedDown::Already;
        }
        health.epoch += 1;
        let probe_at = now + BACKOFF_MIN;
        let backoff = (BACKOFF_MIN * 2).min(BACKOFF_MAX);
        health.down = Some(Down { reason: reason.to_owned(), since: now, probe_at, backoff });
        if std::mem::replace(&mut state.probing, true) { MarkedDown::Marked } else { MarkedDown::StartProber }
    }

    /// The down servers whose probe is due at `now`, and when the next one after them is due;
    /// `None` (and the prober is recorded as stopped) when no server is down.
    pub(super) fn due(&self, now: Instant) -> Option<(Vec<usize>, Instant)> {
        let mut state = self.lock();
        let down = state
            .servers
            .iter()
            .enumerate()
            .filter_map(|(index, health)| Some((index, health.down.as_ref()?)));
        let due: Vec<usize> =
            down.clone().filter(|(_, down)| down.probe_at <= now).map(|(index, _)| index).collect();
        let next = down.filter(|(_, down)| down.probe_at > now).map(|(_, down)| down.probe_at).min();
        if due.is_empty() && next.is_none() {
            state.probing = false;
            return None;
        }
        Some((due, next.unwrap_or(now + BACKOFF_MIN)))
    }

    /// A probe of down server `index` at `now` went as `answered` says: up again, or probed
    /// again after a longer wait. Returns how long it was down, when it came back.
    pub(super) fn probed(
        &self,
        index: usize,
        answered: Result<(), String>,
        now: Instant,
    ) -> Option<Duration> {
        let mut state = self.lock();
        let health = state.servers.get_mut(index)?;
        let down = health.down.as_mut()?;
        match answered {
            Ok(()) => {
                let was_down = now.saturating_duration_since(down.since);
                health.down = None;
                Some(was_down)
            }
            Err(reason) => {
                down.reason = reason;
                down.probe_at = now + down.backoff;
                down.backoff = (down.backoff * 2).min(BACKOFF_MAX);
                None
            }
        }
    }

    /// Each server's URL and whether it is up (for the `regent_ldap_server_up` gauge).
    pub(super) fn states(&self) -> Vec<(String, bool)> {
        let state = self.lock();
        self.urls
            .iter()
            .zip(&state.servers)
            .map(|(url, health)| (url.clone(), health.down.is_none()))
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Plain data stays consistent after a panic elsewhere: keep using it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What [`Servers::mark_down`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MarkedDown {
    /// Another caller marked it down already (or the epoch is past).
    Already,
    /// Marked down; the running prober will probe it.
    Marked,
    /// Marked down, and no prober runs: start one.
    StartProber,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers() -> Servers {
        Servers::new(vec!["ldap://a".to_owned(), "ldap://b".to_owned()])
    }

    #[test]
    fn a_server_marked_down_is_skipped_and_its_old_connections_are_not_current() {
        let (servers, now) = (servers(), Instant::now());
        let [a, b] = servers.usable(now)[..] else { panic!("two servers") };
        assert_eq!(servers.mark_down(a, "timed out", now), MarkedDown::StartProber);
        assert_eq!(servers.mark_down(a, "timed out again", now), MarkedDown::Already, "one mark per epoch");
        assert_eq!(servers.mark_down(b, "refused", now), MarkedDown::Marked, "the prober runs already");
        assert!(servers.usable(now).is_empty());
        assert!(!servers.is_current(a));
        let reasons = servers.down_reasons(now + Duration::from_secs(3));
        assert_eq!(reasons, ["ldap://a (down for 3s: timed out)", "ldap://b (down for 3s: refused)"]);
        assert_eq!(servers.states(), [("ldap://a".to_owned(), false), ("ldap://b".to_owned(), false)]);
    }

    #[test]
    fn probes_back_off_and_a_good_probe_brings_the_server_back_in_a_new_epoch() {
        let (servers, start) = (servers(), Instant::now());
        let a = servers.usable(start)[0];
        servers.mark_down(a, "timed out", start);
        assert_eq!(servers.due(start), Some((vec![], start + BACKOFF_MIN)));
        let mut now = start + BACKOFF_MIN;
        let mut waits = Vec::new();
        for _ in 0..5 {
            let (due, _) = servers.due(now).unwrap();
            assert_eq!(due, [0]);
            assert_eq!(servers.probed(0, Err("still hung".to_owned()), now), None);
            let (_, next) = servers.due(now).unwrap();
            waits.push(next - now);
            now = next;
        }
        let secs: Vec<u64> = waits.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [2, 4, 8, 10, 10], "doubling up to BACKOFF_MAX");
        assert_eq!(servers.probed(0, Ok(()), now), Some(now - start));
        let again = servers.usable(now)[0];
        assert_eq!((again.index, again.epoch), (0, 1), "up again, in a new epoch");
        assert!(!servers.is_current(a) && servers.is_current(again));
        assert_eq!(servers.due(now), None, "nothing down: the prober stops");
        assert_eq!(servers.mark_down(again, "refused", now), MarkedDown::StartProber);
    }

    #[test]
    fn a_server_with_an_operation_pending_for_long_is_tried_last() {
        let (servers, start) = (servers(), Instant::now());
        let order = |at: Instant| servers.usable(at).iter().map(|server| server.index).collect::<Vec<_>>();
        let slow = servers.begin(0, start);
        let quick = servers.begin(1, start + Duration::from_secs(1));
        assert_eq!(order(start), [0, 1], "pending, but not since before `stalled_since`");
        let half = start + Duration::from_millis(500);
        assert_eq!(order(half), [1, 0], "only the first has one pending since before");
        assert_eq!(order(start + Duration::from_secs(2)), [0, 1], "both have: the order stays");
        servers.end(slow);
        assert_eq!(order(half), [0, 1]);
        servers.end(quick);
    }
}
