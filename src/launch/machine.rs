//! Machine-wide CPU from `/proc/stat`, sampled beside a run: how busy all CPUs were, and how
//! much time the hypervisor stole. With the CPU of nexus-bench's own process tree (the
//! generator and any target it launched, from [`super::Sampler`]) this gives the *other*
//! work that competed with the run.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One reading of machine-wide CPU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MachineSample {
    /// Milliseconds since sampling started.
    pub t_ms: f64,
    /// Busy CPU of the whole machine since the previous reading, in percent of one core.
    pub busy_percent: f64,
    /// Steal since the previous reading, in percent of all CPU time.
    pub steal_percent: f64,
}

/// The aggregate `cpu` line of `/proc/stat`, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CpuTimes {
    /// user + nice + system + irq + softirq (guest time is inside user).
    pub busy: u64,
    /// idle + iowait.
    pub idle: u64,
    /// Time stolen by the hypervisor.
    pub steal: u64,
}

impl CpuTimes {
    /// Parses the first (`cpu `) line of `/proc/stat`.
    pub fn parse(stat: &str) -> Option<CpuTimes> {
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        Some(CpuTimes {
            busy: at(0) + at(1) + at(2) + at(5) + at(6),
            idle: at(3) + at(4),
            steal: at(7),
        })
    }

    fn read() -> Option<CpuTimes> {
        CpuTimes::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }
}

/// A running `/proc/stat` sampler; [`MachineSampler::finish`] stops it.
pub struct MachineSampler {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<Vec<MachineSample>>,
}

impl MachineSampler {
    /// Starts reading `/proc/stat` every `interval` (no readings where it cannot be read).
    pub fn start(interval: Duration) -> MachineSampler {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("nexus-machine".into())
            .spawn(move || {
                let mut out = Vec::new();
                let clk_tck = ticks_per_second();
                let start = Instant::now();
                let (mut prev, mut prev_at) = (CpuTimes::read(), Instant::now());
                loop {
                    match stopped.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return out,
                    }
                    let (now, at) = (CpuTimes::read(), Instant::now());
                    if let (Some(a), Some(b)) = (prev, now) {
                        let wall = at.duration_since(prev_at).as_secs_f64();
                        let busy = b.busy.saturating_sub(a.busy) as f64;
                        let steal = b.steal.saturating_sub(a.steal) as f64;
                        let total = busy + steal + b.idle.saturating_sub(a.idle) as f64;
                        if wall > 0.0 {
                            out.push(MachineSample {
                                t_ms: at.duration_since(start).as_secs_f64() * 1000.0,
                                busy_percent: busy / clk_tck / wall * 100.0,
                                steal_percent: if total > 0.0 {
                                    steal / total * 100.0
                                } else {
                                    0.0
                                },
                            });
                        }
                    }
                    (prev, prev_at) = (now, at);
                }
            })
            .expect("spawning a thread only fails when the system is out of resources");
        MachineSampler { stop, thread }
    }

    /// Stops the thread and returns its readings in time order.
    pub fn finish(self) -> Vec<MachineSample> {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or_default()
    }
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_line_is_split_into_busy_idle_and_steal() {
        let stat = "cpu  100 5 50 1000 20 3 2 7 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n";
        assert_eq!(
            CpuTimes::parse(stat),
            Some(CpuTimes {
                busy: 160,
                idle: 1020,
                steal: 7
            })
        );
        assert!(CpuTimes::read().is_some(), "/proc/stat is readable here");
    }
}
