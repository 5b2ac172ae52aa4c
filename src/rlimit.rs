//! The generator's own resource limits: the open-file limit (`RLIMIT_NOFILE`) is raised from
//! its soft to its hard value at start (a launched target inherits it), and a plan is checked
//! against the hard value before any traffic, so the generator's limit is never reported as
//! the target's failure.

use crate::plan::{Action, LoadModel, Plan, TargetBase};

/// Descriptors every process needs beside its connections: stdio, the runtime's epoll and
/// wake-up descriptors, result and report files, `/proc` readings.
const SLACK: u64 = 64;
/// Descriptors per worker thread (its runtime's epoll instance and wake-up pipe).
const PER_THREAD: u64 = 4;

/// The open-file limit of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoFile {
    /// The limit in force (soft).
    pub soft: u64,
    /// The ceiling an unprivileged process may raise the soft limit to.
    pub hard: u64,
}

/// Why the open-file limit could not be read or raised.
#[derive(Debug, thiserror::Error)]
#[error("open-file limit (RLIMIT_NOFILE): {0}")]
pub struct LimitError(#[from] std::io::Error);

/// Reads the open-file limit.
pub fn nofile() -> Result<NoFile, LimitError> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes into the struct it is given and nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(NoFile {
        soft: lim.rlim_cur,
        hard: lim.rlim_max,
    })
}

/// Raises the soft open-file limit to the hard one (capped at what the kernel accepts) and
/// returns the limit now in force. Children started afterwards inherit it.
pub fn raise_nofile() -> Result<NoFile, LimitError> {
    let now = nofile()?;
    if now.soft >= now.hard {
        return Ok(now);
    }
    let mut want = now.hard;
    if now.hard == libc::RLIM_INFINITY {
        // "Unlimited" is refused for the soft value; the kernel's per-process ceiling is not.
        want = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1 << 20);
    }
    let lim = libc::rlimit {
        rlim_cur: want as libc::rlim_t,
        rlim_max: now.hard as libc::rlim_t,
    };
    // SAFETY: `setrlimit` only reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    nofile()
}

/// The descriptors a plan needs, by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// Load connections at the peak: virtual users (closed) or `max_in_flight` (open), times
    /// the connections one of them holds (the target, its WebSocket, other hosts).
    pub load: u64,
    /// Held WebSocket connections (`[[streams]]`).
    pub streams: u64,
    /// Probes and the profile fetch, one connection each.
    pub probes: u64,
    /// Worker threads' runtimes and the fixed slack.
    pub overhead: u64,
    /// Whether nexus-bench launches the target, which then accepts every connection under
    /// the same (inherited) limit.
    pub launched: bool,
}

impl Need {
    /// The generator's total.
    pub fn generator(&self) -> u64 {
        self.load + self.streams + self.probes + self.overhead
    }

    /// The launched target's total (0 when the target runs elsewhere).
    pub fn target(&self) -> u64 {
        if self.launched {
            self.load + self.streams + SLACK
        } else {
            0
        }
    }

    /// The limit both processes need.
    pub fn total(&self) -> u64 {
        self.generator().max(self.target())
    }
}

/// Estimates the descriptors `plan` needs with `threads` worker threads (for this
/// instance's share of a split run).
pub fn estimate(plan: &Plan, threads: usize) -> Need {
    let split = plan.split;
    let actors = match plan.load.model {
        LoadModel::Closed { .. } => split.share(plan.load.profile.max_users()),
        // Idle users keep their connections; at most `max_in_flight` (plus one per worker
        // from rounding the cap up) exist at once.
        LoadModel::Open { max_in_flight } => {
            (max_in_flight.div_ceil(split.instances() as usize) + threads) as u64
        }
    };
    let mut per_actor = 1;
    if plan
        .requests
        .iter()
        .any(|r| matches!(r.action, Action::WsMessage(_)))
    {
        per_actor += 1;
    }
    if plan.requests.iter().any(|r| match &r.action {
        Action::Http(h) => h.url.to_string().starts_with("http"),
        _ => false,
    }) {
        per_actor += 1;
    }
    Need {
        load: actors * per_actor,
        streams: plan
            .streams
            .iter()
            .map(|s| split.share(u64::from(s.connections)))
            .sum(),
        probes: plan.probes.len() as u64 + u64::from(plan.target_profile.is_some()),
        overhead: SLACK + PER_THREAD * threads as u64,
        launched: plan.launch.is_some() || matches!(plan.target.base, TargetBase::Embedded { .. }),
    }
}

/// The plan needs more open files than even the hard limit allows.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct LimitTooLow {
    /// Descriptors the plan needs (generator and, if launched, target).
    pub needed: u64,
    /// The hard limit.
    pub hard: u64,
    message: String,
}

/// Checks `need` against `limit`: `Err` naming the numbers and how to raise the limit when
/// even the hard limit is too low.
pub fn preflight(need: &Need, limit: NoFile) -> Result<(), LimitTooLow> {
    let total = need.total();
    if total <= limit.hard {
        return Ok(());
    }
    let suggest = total.next_multiple_of(1024).max(total + SLACK);
    let target = if need.launched {
        format!(
            "; the launched target, which inherits the limit, needs about {}",
            need.target()
        )
    } else {
        String::new()
    };
    let message = format!(
        "this plan needs about {} open files in the generator ({} load connections, {} held streams, {} probes, {} for threads and files){target}, \
         but the hard open-file limit is {} (soft {}); nothing was sent.\n  \
         help: raise the limit to at least {suggest}: `ulimit -n {suggest}` in the shell (raising the hard limit needs root or /etc/security/limits.conf), \
         `LimitNOFILE={suggest}` in a systemd unit; in Kubernetes a pod has no limit field of its own: it inherits the container runtime's (`LimitNOFILE` in the containerd or CRI-O unit on the node); \
         or lower the load (users, max_in_flight, streams.connections)",
        need.generator(),
        need.load,
        need.streams,
        need.probes,
        need.overhead,
        limit.hard,
        limit.soft,
    );
    Err(LimitTooLow {
        needed: total,
        hard: limit.hard,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(load: u64, launched: bool) -> Need {
        Need {
            load,
            streams: 1000,
            probes: 2,
            overhead: 72,
            launched,
        }
    }

    #[test]
    fn preflight_names_the_numbers_and_the_ways_to_raise_the_limit() {
        let limit = NoFile {
            soft: 1024,
            hard: 1024,
        };
        assert!(preflight(&need(10, false), limit).is_err());
        let msg = preflight(&need(10, true), limit).unwrap_err().to_string();
        assert!(msg.contains("1084 open files"), "{msg}");
        assert!(msg.contains("hard open-file limit is 1024"), "{msg}");
        assert!(msg.contains("ulimit -n 2048"), "{msg}");
        assert!(
            msg.contains("LimitNOFILE") && msg.contains("Kubernetes"),
            "{msg}"
        );
        assert!(msg.contains("launched target"), "{msg}");
        let roomy = NoFile {
            soft: 1024,
            hard: 4096,
        };
        assert!(preflight(&need(10, true), roomy).is_ok());
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let l = raise_nofile().unwrap();
        assert_eq!(nofile().unwrap(), l);
        assert!(l.soft == l.hard || l.hard == libc::RLIM_INFINITY);
    }
}
