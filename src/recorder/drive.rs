//! The aggregation loop of a run: the workers' finished [`Window`]s arrive over a channel and
//! are merged into one [`Aggregate`] until every worker has hung up. Between windows (at
//! least every `poll`) the caller looks at the aggregate so far: live progress, checkpoints
//! of the result file, watching the target. The loop knows nothing of those; `app` wires them.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::{Aggregate, Window};

/// Merges every window from `windows` into `agg` until all senders are gone.
///
/// `tick` is called after each window and at least every `poll` while none comes (it may
/// take what the aggregate has ready: sealed seconds for the interval log, checkpoints). An error
/// from `tick` ends the loop and is returned; windows not yet received stay in the channel.
pub fn collect<E>(
    windows: &Receiver<Window>,
    agg: &mut Aggregate,
    poll: Duration,
    mut tick: impl FnMut(&mut Aggregate) -> Result<(), E>,
) -> Result<(), E> {
    loop {
        match windows.recv_timeout(poll) {
            Ok(window) => agg.add(window),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        tick(agg)?;
    }
}

/// A period checked from a loop, e.g. "checkpoint every 10 s": [`Every::due`] is true once
/// per period, the first time one period after creation.
#[derive(Debug)]
pub struct Every {
    period: Duration,
    last: Instant,
}

impl Every {
    /// A period of `period`, starting now.
    pub fn new(period: Duration) -> Self {
        Every {
            period,
            last: Instant::now(),
        }
    }

    /// Whether a period has passed since the last time this returned true (or since
    /// creation); restarts the period when it returns true.
    pub fn due(&mut self) -> bool {
        if self.last.elapsed() >= self.period {
            self.last = Instant::now();
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(second: i64) -> Window {
        Window {
            second,
            warmup: false,
            endpoints: vec![None],
            dropped: 1,
            in_flight_max: 0,
            samples: Vec::new(),
            lag: None,
        }
    }

    #[test]
    fn collects_until_every_sender_hangs_up() {
        let (tx, rx) = std::sync::mpsc::channel();
        let tx2 = tx.clone();
        let worker = std::thread::spawn(move || {
            for s in 0..3 {
                tx2.send(window(s)).unwrap();
            }
        });
        tx.send(window(10)).unwrap();
        drop(tx);
        let mut agg = Aggregate::new(1);
        let mut ticks = 0;
        collect(&rx, &mut agg, Duration::from_millis(5), |_| {
            ticks += 1;
            Ok::<(), ()>(())
        })
        .unwrap();
        worker.join().unwrap();
        assert_eq!(
            agg.series.all_time().2,
            4,
            "every window's dropped arrivals"
        );
        assert!(ticks >= 4, "{ticks}");
    }

    #[test]
    fn a_tick_error_ends_the_loop() {
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(window(1)).unwrap();
        tx.send(window(2)).unwrap();
        let mut agg = Aggregate::new(1);
        let out = collect(&rx, &mut agg, Duration::from_millis(5), |a| {
            if a.series.all_time().2 == 1 {
                Err("stop")
            } else {
                Ok(())
            }
        });
        assert_eq!(out, Err("stop"));
        assert_eq!(agg.series.all_time().2, 1);
        drop(tx);
    }

    #[test]
    fn every_is_due_once_per_period() {
        let mut hourly = Every::new(Duration::from_secs(3600));
        assert!(!hourly.due());
        let mut always = Every::new(Duration::ZERO);
        assert!(always.due());
        assert!(always.due());
    }
}
