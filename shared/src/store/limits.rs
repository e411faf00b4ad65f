//! The limiter's store operations: check-and-charge in one atomic step (one conditional write
//! in DynamoDB, one critical section in memory), and the in-flight markers of inbound
//! deliveries. The decisions are made here, once, so that both stores decide alike: the
//! DynamoDB store turns them into condition expressions, and reads an item that failed its
//! condition back through [`SlidingLog::judge`] to answer `Retry-After`.

/// The longest event log a sliding limit may keep (DynamoDB attributes `n0..n63` on one item).
pub const MAX_LOG: u32 = 64;

/// One window of a sliding limit: at most `max` events in any `secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub max: u32,
    pub secs: i64,
}

/// A limit, charged one event at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    /// Exact sliding windows over the events of one key, all kept on one record: the store
    /// keeps the newest `max` event times (`max` ≤ [`MAX_LOG`]), so an event is allowed when
    /// every window's `max`-th newest event is at least `secs` old. No window edges.
    Sliding(Vec<Window>),
    /// A count that refuses past `max` until `expires_at`: a window named by the key (its
    /// start is in the key) or a budget for a record's life. For limits too large for a log.
    Count { max: u64, expires_at: i64 },
}

impl Limit {
    /// How long the store must keep the record.
    pub fn expires_at(&self, now: i64) -> i64 {
        match self {
            Limit::Sliding(windows) => now + windows.iter().map(|w| w.secs).max().unwrap_or(0),
            Limit::Count { expires_at, .. } => *expires_at,
        }
    }

    /// The number of event times a sliding limit keeps.
    pub fn log_len(windows: &[Window]) -> usize {
        windows.iter().map(|w| w.max as usize).max().unwrap_or(0)
    }
}

/// The answer to a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    Charged,
    /// Nothing charged: the limit is reached. `window` is the index of the window that waits
    /// longest (0 for a count); the charge can succeed in `retry_after` seconds at the earliest.
    Refused {
        window: usize,
        retry_after: i64,
    },
}

/// The events of a sliding limit, newest first (what both stores keep).
pub struct SlidingLog;

impl SlidingLog {
    /// `None` when one more event fits at `now` in every window; else the refusal.
    /// `newest_first[i]` is the (i+1)-th newest event time (absent ones are 0: long ago).
    pub fn judge(newest_first: &[i64], windows: &[Window], now: i64) -> Option<Charge> {
        let mut refusal: Option<(usize, i64)> = None;
        for (i, w) in windows.iter().enumerate() {
            let Some(&stamp) = newest_first.get(w.max as usize - 1) else {
                continue;
            };
            // An event exactly `secs` old is out of the window.
            if stamp > now - w.secs {
                let retry = stamp + w.secs - now;
                if refusal.is_none_or(|(_, r)| retry > r) {
                    refusal = Some((i, retry));
                }
            }
        }
        refusal.map(|(window, retry_after)| Charge::Refused {
            window,
            retry_after,
        })
    }
}

/// Where an inbound delivery stands, for the provider's retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// This call holds the delivery until its lease ends (then a retry may take it over).
    Claimed,
    /// Another call is delivering it right now: the provider should retry later.
    InFlight,
    /// Delivered already: a retry has nothing to do.
    Done,
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: fn(u32, i64) -> Window = |max, secs| Window { max, secs };

    #[test]
    fn judge_waits_for_the_window_that_waits_longest() {
        let windows = [W(1, 30), W(3, 600)];
        assert_eq!(SlidingLog::judge(&[], &windows, 1000), None);
        assert_eq!(
            SlidingLog::judge(&[990], &windows, 1000),
            Some(Charge::Refused {
                window: 0,
                retry_after: 20
            })
        );
        assert_eq!(SlidingLog::judge(&[970, 960], &windows, 1000), None);
        assert_eq!(
            SlidingLog::judge(&[960, 950, 300], &windows, 1000),
            None,
            "the third newest is older than 600 s"
        );
        assert_eq!(
            SlidingLog::judge(&[980, 950, 900], &windows, 1000),
            Some(Charge::Refused {
                window: 1,
                retry_after: 500
            })
        );
    }
}
