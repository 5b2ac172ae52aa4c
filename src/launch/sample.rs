//! Resource sampling of a process tree from `/proc`: resident memory and CPU use of a root
//! process and all its descendants (found through the parent pid in `/proc/*/stat`).
//!
//! The sampler is a plain background thread: reading `/proc` is blocking file I/O, and a
//! thread keeps it off the async workers that drive the load.

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One reading of the target's process tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResourceSample {
    /// Milliseconds since sampling started.
    pub t_ms: f64,
    /// Resident memory of the whole tree, in bytes.
    pub rss_bytes: u64,
    /// CPU used by the whole tree since the previous sample, in percent of one core
    /// (200 means two cores busy).
    pub cpu_percent: f64,
}

/// What was measured about a launched target, returned by
/// [`Launched::stop`](super::Launched::stop).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessReport {
    /// From spawn until the readiness check first passed.
    pub time_to_ready: Duration,
    /// Resource samples in time order (empty if sampling was never started).
    pub samples: Vec<ResourceSample>,
    /// Highest resident memory seen, in bytes (0 without samples).
    pub rss_max_bytes: u64,
    /// Mean of the samples' CPU percentages (0 without samples).
    pub cpu_mean_percent: f64,
    /// Size of the executable that ran, if it could be read.
    pub exe_size_bytes: Option<u64>,
    /// How the process ended, e.g. `exit status: 0` or `signal: 15 (SIGTERM)`.
    pub exit: Option<String>,
}

impl ProcessReport {
    /// Builds a report, deriving the maximum and mean from the samples.
    pub(crate) fn new(
        time_to_ready: Duration,
        samples: Vec<ResourceSample>,
        exe_size_bytes: Option<u64>,
        exit: Option<String>,
    ) -> Self {
        let rss_max_bytes = samples.iter().map(|s| s.rss_bytes).max().unwrap_or(0);
        let cpu_mean_percent = if samples.is_empty() {
            0.0
        } else {
            samples.iter().map(|s| s.cpu_percent).sum::<f64>() / samples.len() as f64
        };
        ProcessReport {
            time_to_ready,
            samples,
            rss_max_bytes,
            cpu_mean_percent,
            exe_size_bytes,
            exit,
        }
    }
}

/// A running sampler thread; [`Sampler::finish`] stops it and hands back the samples.
pub struct Sampler {
    stop: mpsc::Sender<()>,
    samples: Arc<Mutex<Vec<ResourceSample>>>,
    thread: JoinHandle<()>,
}

impl Sampler {
    /// Starts sampling the tree under `root` every `interval`.
    pub fn start(root: u32, interval: Duration) -> Sampler {
        Self::spawn(root, interval, true)
    }

    /// Starts sampling the process `pid` alone (not its children) every `interval`: the
    /// generator's own use, without the embedded target it started.
    pub fn start_single(pid: u32, interval: Duration) -> Sampler {
        Self::spawn(pid, interval, false)
    }

    fn spawn(root: u32, interval: Duration, tree: bool) -> Sampler {
        let read = move |page| {
            if tree {
                tree_reading(root, page)
            } else {
                single_reading(root, page)
            }
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let samples = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&samples);
        let interval = interval.max(Duration::from_millis(1));
        let thread = std::thread::Builder::new()
            .name("nexus-sampler".into())
            .spawn(move || {
                let clk_tck = clock_ticks_per_second();
                let page = page_size();
                let start = Instant::now();
                let mut previous = read(page);
                let mut previous_at = Instant::now();
                loop {
                    match stopped.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    let now = Instant::now();
                    let reading = read(page);
                    if reading.is_empty() {
                        // The process is gone; a zero reading would only skew the figures.
                        continue;
                    }
                    let wall = now.duration_since(previous_at).as_secs_f64();
                    let ticks = cpu_ticks_since(&previous, &reading);
                    let cpu_percent = if wall > 0.0 {
                        ticks as f64 / clk_tck / wall * 100.0
                    } else {
                        0.0
                    };
                    let sample = ResourceSample {
                        t_ms: now.duration_since(start).as_secs_f64() * 1000.0,
                        rss_bytes: reading.values().map(|p| p.rss_bytes).sum(),
                        cpu_percent,
                    };
                    if let Ok(mut samples) = sink.lock() {
                        samples.push(sample);
                    }
                    previous = reading;
                    previous_at = now;
                }
            })
            .expect("spawning a thread only fails when the system is out of resources");
        Sampler {
            stop,
            samples,
            thread,
        }
    }

    /// Stops the thread and returns the samples taken.
    pub fn finish(self) -> Vec<ResourceSample> {
        let _ = self.stop.send(());
        let _ = self.thread.join();
        let mut samples = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        samples.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
        samples
    }
}

/// Resources of one process at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ProcStat {
    ppid: u32,
    /// utime + stime, in clock ticks.
    cpu_ticks: u64,
    rss_bytes: u64,
}

/// CPU ticks used between two readings. A process in both counts its difference; a new one
/// counts all its ticks; one that exited in between is lost (its last interval is small).
fn cpu_ticks_since(before: &HashMap<u32, ProcStat>, now: &HashMap<u32, ProcStat>) -> u64 {
    now.iter()
        .map(|(pid, stat)| match before.get(pid) {
            Some(old) => stat.cpu_ticks.saturating_sub(old.cpu_ticks),
            None => stat.cpu_ticks,
        })
        .sum()
}

/// Reads every process in the tree rooted at `root` (empty once the root is gone).
fn tree_reading(root: u32, page: u64) -> HashMap<u32, ProcStat> {
    let all = all_processes(page);
    tree_of(root, &all)
}

/// Reads one process (empty once it is gone).
fn single_reading(pid: u32, page: u64) -> HashMap<u32, ProcStat> {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|text| parse_stat(&text, page))
        .map(|stat| HashMap::from([(pid, stat)]))
        .unwrap_or_default()
}

/// Keeps `root` and its descendants out of a pid → stat table.
fn tree_of(root: u32, all: &HashMap<u32, ProcStat>) -> HashMap<u32, ProcStat> {
    let mut tree = HashMap::new();
    let Some(root_stat) = all.get(&root) else {
        return tree;
    };
    tree.insert(root, *root_stat);
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (pid, stat) in all {
        children.entry(stat.ppid).or_default().push(*pid);
    }
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for child in children.get(&pid).into_iter().flatten() {
            if tree.insert(*child, all[child]).is_none() {
                queue.push(*child);
            }
        }
    }
    tree
}

/// Reads `/proc/*/stat` of every process that can be read.
fn all_processes(page: u64) -> HashMap<u32, ProcStat> {
    let mut all = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return all;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // A process may exit between listing and reading: skip it.
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            && let Some(stat) = parse_stat(&text, page)
        {
            all.insert(pid, stat);
        }
    }
    all
}

/// Parses a `/proc/<pid>/stat` line. The command name is in parentheses and may itself
/// contain spaces and parentheses, so fields are counted from the last `)`.
fn parse_stat(text: &str, page: u64) -> Option<ProcStat> {
    let after = &text[text.rfind(')')? + 1..];
    // Fields after the name, numbered as in proc(5): 3 state, 4 ppid, 14 utime, 15 stime,
    // 24 rss (pages).
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    Some(ProcStat {
        ppid: u32::try_from(field(4)?).ok()?,
        cpu_ticks: field(14)? + field(15)?,
        rss_bytes: field(24)? * page,
    })
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as u64 } else { 4096 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (my (odd) srv) S 17 4242 4242 0 -1 4194560 1000 0 0 0 \
                        250 50 0 0 20 0 4 0 12345 123456789 300 18446744073709551615";

    #[test]
    fn parses_stat_with_parentheses_in_the_name() {
        let stat = parse_stat(STAT, 4096).unwrap();
        assert_eq!(stat.ppid, 17);
        assert_eq!(stat.cpu_ticks, 300);
        assert_eq!(stat.rss_bytes, 300 * 4096);
    }

    #[test]
    fn tree_follows_parent_pids_and_ignores_strangers() {
        let p = |ppid| ProcStat {
            ppid,
            cpu_ticks: 1,
            rss_bytes: 10,
        };
        let all = HashMap::from([(1, p(0)), (10, p(1)), (11, p(10)), (12, p(11)), (20, p(1))]);
        let tree = tree_of(10, &all);
        let mut pids: Vec<_> = tree.keys().copied().collect();
        pids.sort();
        assert_eq!(pids, [10, 11, 12]);
        assert!(tree_of(99, &all).is_empty());
    }

    #[test]
    fn cpu_ticks_count_new_processes_whole_and_old_ones_by_difference() {
        let p = |cpu_ticks| ProcStat {
            ppid: 1,
            cpu_ticks,
            rss_bytes: 0,
        };
        let before = HashMap::from([(10, p(100)), (11, p(50))]);
        let now = HashMap::from([(10, p(130)), (12, p(7))]);
        assert_eq!(cpu_ticks_since(&before, &now), 37);
    }

    #[test]
    fn report_derives_max_and_mean() {
        let s = |rss_bytes, cpu_percent| ResourceSample {
            t_ms: 0.0,
            rss_bytes,
            cpu_percent,
        };
        let report = ProcessReport::new(
            Duration::from_millis(5),
            vec![s(10, 50.0), s(30, 100.0)],
            None,
            None,
        );
        assert_eq!(report.rss_max_bytes, 30);
        assert_eq!(report.cpu_mean_percent, 75.0);
        let empty = ProcessReport::new(Duration::ZERO, vec![], None, None);
        assert_eq!((empty.rss_max_bytes, empty.cpu_mean_percent), (0, 0.0));
    }
}
