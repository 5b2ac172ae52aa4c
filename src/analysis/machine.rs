//! Machine health beside a run: the CPU that neither nexus-bench nor a target it launched
//! used ("other work", e.g. a build next to the benchmark) and the hypervisor's steal. Either
//! one competes with the run for the CPUs, so latencies then include waiting for a CPU.
//! Pure: readings in, judgement out.

use crate::result::{MachineLoad, MachineReading, ResourceReading};

/// Other work above this mean (percent of one core) marks the machine busy.
pub const OTHER_WORK_LIMIT_PERCENT: f64 = 25.0;
/// Mean steal above this (percent of all CPU time) marks the machine busy.
pub const STEAL_LIMIT_PERCENT: f64 = 5.0;

/// Judges the machine from its readings (`other_percent` is filled in here) and the CPU of
/// nexus-bench's own process tree (`own`, paired by time). `None` without readings.
pub fn machine_load(
    mut machine: Vec<MachineReading>,
    own: &[ResourceReading],
) -> Option<MachineLoad> {
    if machine.is_empty() {
        return None;
    }
    for m in &mut machine {
        let own_cpu = own
            .iter()
            .min_by(|a, b| (a.t_ms - m.t_ms).abs().total_cmp(&(b.t_ms - m.t_ms).abs()))
            .map_or(0.0, |o| o.cpu_percent);
        m.other_percent = (m.busy_percent - own_cpu).max(0.0);
    }
    let mean =
        |f: fn(&MachineReading) -> f64| machine.iter().map(f).sum::<f64>() / machine.len() as f64;
    let busy_mean_percent = mean(|m| m.busy_percent);
    let other_mean_percent = mean(|m| m.other_percent);
    let steal_mean_percent = mean(|m| m.steal_percent);
    Some(MachineLoad {
        busy_mean_percent,
        other_mean_percent,
        steal_mean_percent,
        busy: other_mean_percent > OTHER_WORK_LIMIT_PERCENT
            || steal_mean_percent > STEAL_LIMIT_PERCENT,
        samples: machine,
    })
}

/// The warning recorded when the machine was busy.
pub fn warning(m: &MachineLoad) -> Option<String> {
    m.busy.then(|| {
        format!(
            "the machine was busy with other work: {:.0}% of a core on average outside nexus-bench and its target, steal {:.1}% (limits {OTHER_WORK_LIMIT_PERCENT:.0}% and {STEAL_LIMIT_PERCENT:.0}%); latencies may include waiting for a CPU",
            m.other_mean_percent, m.steal_mean_percent
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(t_ms: f64, busy: f64, steal: f64) -> MachineReading {
        MachineReading {
            t_ms,
            busy_percent: busy,
            other_percent: 0.0,
            steal_percent: steal,
        }
    }

    fn own(t_ms: f64, cpu: f64) -> ResourceReading {
        ResourceReading {
            t_ms,
            rss_bytes: 0,
            cpu_percent: cpu,
        }
    }

    #[test]
    fn other_work_is_the_machine_minus_our_own_tree() {
        let m = machine_load(
            vec![reading(100.0, 150.0, 0.0), reading(200.0, 130.0, 0.0)],
            &[own(101.0, 100.0), own(199.0, 100.0)],
        )
        .unwrap();
        assert!((m.other_mean_percent - 40.0).abs() < 1e-9);
        assert!(m.busy);
        let idle = machine_load(vec![reading(100.0, 110.0, 0.0)], &[own(100.0, 100.0)]).unwrap();
        assert!(!idle.busy && warning(&idle).is_none());
        let stolen = machine_load(vec![reading(100.0, 100.0, 8.0)], &[own(100.0, 100.0)]).unwrap();
        assert!(stolen.busy && warning(&stolen).unwrap().contains("steal 8.0%"));
        assert!(machine_load(vec![], &[]).is_none());
    }
}
