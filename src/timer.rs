//! Precise waits. tokio's timers have a resolution of one millisecond: an open-model arrival
//! that waits on one is sent up to a millisecond late (time that counts into its latency,
//! measured from the intended start), and the reference target's injected latency and
//! slow-down would be off by as much. [`Pacer`] instead arms a Linux `timerfd` (nanosecond
//! resolution) and waits for it through the runtime's reactor: the task sleeps (no
//! spinning) and wakes within microseconds of the instant. Used by the engine and the
//! reference target alike; depends on nothing else in the crate.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;

/// Gaps shorter than this are not worth a timer: the pacer yields until the instant instead.
const YIELD_BELOW: Duration = Duration::from_micros(20);

/// Waits longer than this go through tokio's timer first (the caller checks for a stop
/// between them); only the last part uses the precise timer.
const COARSE_ABOVE: Duration = Duration::from_millis(5);

/// A per-worker precise timer.
pub struct Pacer {
    fd: Option<AsyncFd<OwnedFd>>,
}

impl Pacer {
    /// A pacer on the current runtime; falls back to tokio's timer if no `timerfd` can be
    /// made (the waits are then up to a millisecond late, which shows in the schedule lag).
    pub fn new() -> Self {
        // SAFETY: timerfd_create has no memory-safety preconditions; the result is checked.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        let fd = (raw >= 0)
            // SAFETY: `raw` is a fresh descriptor that nothing else owns.
            .then(|| unsafe { OwnedFd::from_raw_fd(raw) })
            // SAFETY: an OwnedFd keeps its descriptor open and unchanged until it is dropped,
            // which happens only with the AsyncFd.
            .and_then(|fd| unsafe { AsyncFd::register(fd) }.ok());
        Pacer { fd }
    }

    /// Waits until `t`; never returns before it. Long waits should be split by the caller
    /// (see [`Pacer::coarse_until`]) so a stop is noticed.
    pub async fn wait_until(&mut self, t: Instant) {
        loop {
            let now = Instant::now();
            if now >= t {
                return;
            }
            let left = t - now;
            if left < YIELD_BELOW {
                tokio::task::yield_now().await;
                continue;
            }
            match &self.fd {
                Some(fd) => {
                    if arm(fd.get_ref(), left).is_err() {
                        tokio::time::sleep_until(t.into()).await;
                        continue;
                    }
                    if let Ok(mut guard) = fd.readable().await {
                        let mut buf = [0u8; 8];
                        // SAFETY: reading 8 bytes into an 8-byte buffer from a timerfd we own.
                        let n = unsafe {
                            libc::read(fd.get_ref().as_raw_fd(), buf.as_mut_ptr().cast(), 8)
                        };
                        if n < 0 {
                            guard.clear_ready();
                        }
                    }
                }
                None => tokio::time::sleep_until(t.into()).await,
            }
        }
    }

    /// The instant up to which a wait for `t` may use tokio's coarse timer: a few
    /// milliseconds before `t`, or `None` if `t` is close enough for [`Pacer::wait_until`].
    pub fn coarse_until(t: Instant, now: Instant) -> Option<Instant> {
        (t.saturating_duration_since(now) > COARSE_ABOVE).then(|| t - COARSE_ABOVE / 2)
    }
}

/// Sleeps for `d` precisely (a one-off [`Pacer`]).
pub async fn sleep(d: Duration) {
    let until = Instant::now() + d;
    Pacer::new().wait_until(until).await;
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new()
    }
}

/// Arms `fd` to expire once after `after`.
fn arm(fd: &OwnedFd, after: Duration) -> std::io::Result<()> {
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: after.as_secs() as libc::time_t,
            tv_nsec: after.subsec_nanos().max(1) as libc::c_long,
        },
    };
    // SAFETY: `spec` is a valid itimerspec and the old-value pointer may be null.
    let rc = unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn wakes_after_and_close_to_the_instant() {
        let mut pacer = Pacer::new();
        assert!(pacer.fd.is_some(), "timerfd is available on Linux");
        let mut late = Vec::new();
        for _ in 0..50 {
            let t = Instant::now() + Duration::from_micros(700);
            pacer.wait_until(t).await;
            let now = Instant::now();
            assert!(now >= t, "never early");
            late.push(now - t);
        }
        late.sort();
        // tokio's timer would be ~0.3-1 ms late here; the median must be far below that.
        // (Generous bound: the test machine is shared and noisy.)
        assert!(
            late[25] < Duration::from_micros(300),
            "median lateness {:?}",
            late[25]
        );
    }

    #[test]
    fn coarse_part_stops_short_of_the_instant() {
        let now = Instant::now();
        assert_eq!(
            Pacer::coarse_until(now + Duration::from_millis(2), now),
            None
        );
        let t = now + Duration::from_millis(50);
        let c = Pacer::coarse_until(t, now).unwrap();
        assert!(c < t && t - c <= COARSE_ABOVE);
    }
}
