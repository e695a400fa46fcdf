//! Caps on open connections, in total and per client address, shared by every listener of the
//! process; and a log throttle so that a flood of refused connections or accept errors costs
//! one WARN line per interval, not one per event.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Counts open connections and refuses those over the caps (which a reload may change: the
/// new caps apply to the next connection, open ones are never closed for them).
#[derive(Debug)]
pub struct ConnectionLimiter {
    /// Open connections over all listeners.
    max_total: AtomicUsize,
    /// Open connections from one address.
    max_per_client: AtomicUsize,
    /// What is open now.
    open: Mutex<OpenConnections>,
}

/// The open connections, in total and by client address.
#[derive(Debug, Default)]
struct OpenConnections {
    /// All of them.
    total: usize,
    /// By client address (an entry is removed when its count drops to zero).
    per_client: HashMap<IpAddr, usize>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `max_connections` are open.
    Total,
    /// `max_connections_per_client` are open from this address.
    PerClient,
}

/// One counted connection; dropping it releases its place.
#[derive(Debug)]
pub struct ConnectionPermit {
    /// Where it is counted.
    limiter: Arc<ConnectionLimiter>,
    /// Its client's address, when counted per client.
    client: Option<IpAddr>,
}

impl ConnectionLimiter {
    /// A limiter with these caps (each at least 1).
    pub fn new(max_total: usize, max_per_client: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total: AtomicUsize::new(max_total),
            max_per_client: AtomicUsize::new(max_per_client),
            open: Mutex::default(),
        })
    }

    /// Changes the caps for the connections accepted from now on.
    pub fn set_caps(&self, max_total: usize, max_per_client: usize) {
        self.max_total.store(max_total, Ordering::Relaxed);
        self.max_per_client.store(max_per_client, Ordering::Relaxed);
    }

    /// Counts a connection from `client`, or says which cap it is over. A `trusted` client (a
    /// proxy carrying many clients' connections) counts only towards the total.
    pub fn try_open(self: &Arc<Self>, client: IpAddr, trusted: bool) -> Result<ConnectionPermit, Refusal> {
        let client = client.to_canonical();
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.max_total.load(Ordering::Relaxed) {
            return Err(Refusal::Total);
        }
        if !trusted {
            let from_client = open.per_client.entry(client).or_default();
            if *from_client >= self.max_per_client.load(Ordering::Relaxed) {
                return Err(Refusal::PerClient);
            }
            *from_client += 1;
        }
        open.total += 1;
        Ok(ConnectionPermit { limiter: self.clone(), client: (!trusted).then_some(client) })
    }

    /// How many connections are open.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).total
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = self.limiter.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(client) = self.client
            && let Some(count) = open.per_client.get_mut(&client)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.per_client.remove(&client);
            }
        }
    }
}

/// Lets one log line through per `interval` and counts the ones held back.
#[derive(Debug)]
pub struct LogThrottle {
    /// The least time between two lines.
    interval: Duration,
    /// When the last line went out.
    last: Option<Instant>,
    /// Events since then that were not logged.
    held_back: u64,
}

impl LogThrottle {
    /// A throttle letting one line through per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self { interval, last: None, held_back: 0 }
    }

    /// Whether an event at `now` should be logged; if so, with how many were held back before it.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.interval => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_total_and_per_client_and_releases_on_drop() {
        let limiter = ConnectionLimiter::new(3, 2);
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        let first = limiter.try_open(a, false).unwrap();
        let _second = limiter.try_open(a, false).unwrap();
        assert_eq!(limiter.try_open(a, false).unwrap_err(), Refusal::PerClient);
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(
            limiter.try_open(mapped, false).unwrap_err(),
            Refusal::PerClient,
            "v4-mapped is the same client"
        );
        let _third = limiter.try_open(b, false).unwrap();
        assert_eq!(limiter.try_open(b, false).unwrap_err(), Refusal::Total);
        assert_eq!(limiter.open(), 3);
        drop(first);
        assert_eq!(limiter.open(), 2);
        let _again = limiter.try_open(a, false).unwrap();
        assert_eq!(limiter.open(), 3);
    }

    #[test]
    fn new_caps_apply_to_the_next_connection_and_close_none() {
        let limiter = ConnectionLimiter::new(2, 2);
        let client: IpAddr = "127.0.0.1".parse().unwrap();
        let open: Vec<_> = (0..2).map(|_| limiter.try_open(client, false).unwrap()).collect();
        limiter.set_caps(1, 1);
        assert_eq!(limiter.open(), 2, "lower caps close nothing");
        assert_eq!(limiter.try_open(client, false).unwrap_err(), Refusal::Total);
        limiter.set_caps(10, 3);
        let third = limiter.try_open(client, false).unwrap();
        assert_eq!(limiter.try_open(client, false).unwrap_err(), Refusal::PerClient);
        drop((open, third));
        assert_eq!(limiter.open(), 0);
    }

    #[test]
    fn a_trusted_proxy_counts_only_towards_the_total() {
        let limiter = ConnectionLimiter::new(4, 1);
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let permits: Vec<_> = (0..3).map(|_| limiter.try_open(proxy, true).unwrap()).collect();
        let _untrusted = limiter.try_open(proxy, false).unwrap();
        assert_eq!(limiter.try_open(proxy, false).unwrap_err(), Refusal::Total);
        drop(permits);
        assert_eq!(limiter.try_open(proxy, false).unwrap_err(), Refusal::PerClient);
        assert_eq!(limiter.open(), 1);
    }

    #[test]
    fn throttle_lets_one_line_per_interval_and_counts_the_rest() {
        let mut throttle = LogThrottle::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(throttle.allow(start), Some(0));
        assert_eq!(throttle.allow(start + Duration::from_secs(1)), None);
        assert_eq!(throttle.allow(start + Duration::from_secs(9)), None);
        assert_eq!(throttle.allow(start + Duration::from_secs(10)), Some(2));
        assert_eq!(throttle.allow(start + Duration::from_secs(11)), None);
    }
}
