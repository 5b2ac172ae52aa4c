//! How one global load is split across `N` instances (generator processes, possibly on
//! several machines) and, inside an instance, across its worker threads, with no
//! coordination between them: everything is a pure function of the global numbers.
//!
//! - Open model: the one global schedule numbers its arrivals 0, 1, 2, … ([`Arrivals`],
//!   from [`Profile::time_of_event`]); arrival `n` belongs to instance `n mod N`, and inside
//!   it to worker `(n div N) mod threads`. The union over instances and workers is exactly
//!   the single-machine schedule: same count, same instants.
//! - Closed model: user `u` belongs to instance `u mod N` (and inside it to a worker the
//!   same way); it is active while `u < level(t)` ([`Profile::users_at`]), so the active
//!   users of all instances add up to the global level at every instant.
//! - Anything else counted per run (CSV rows, `{{ counter }}`, held streams) is striped the
//!   same way: instance `I` takes `I, I + N, I + 2N, …` ([`Split::stripe`]).

use std::time::Duration;

use super::Profile;

/// Which share of a run this process runs: instance `instance` of `instances`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    instance: u32,
    instances: u32,
}

impl Default for Split {
    /// A run on one machine: instance 0 of 1.
    fn default() -> Self {
        Split {
            instance: 0,
            instances: 1,
        }
    }
}

/// Why an instance number cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// No instances at all.
    #[error("the number of instances must be at least 1")]
    NoInstances,
    /// The instance number is not below the number of instances.
    #[error("instance {instance} does not exist in a run of {instances} (instances are numbered 0 to {last})", last = instances - 1)]
    OutOfRange {
        /// The instance number given.
        instance: u32,
        /// The number of instances.
        instances: u32,
    },
}

impl Split {
    /// Instance `instance` of `instances` (`0 ≤ instance < instances`).
    pub fn new(instance: u32, instances: u32) -> Result<Self, SplitError> {
        if instances == 0 {
            return Err(SplitError::NoInstances);
        }
        if instance >= instances {
            return Err(SplitError::OutOfRange {
                instance,
                instances,
            });
        }
        Ok(Split {
            instance,
            instances,
        })
    }

    /// This instance's number.
    pub fn instance(self) -> u32 {
        self.instance
    }

    /// How many instances share the load.
    pub fn instances(self) -> u32 {
        self.instances
    }

    /// Whether the load is split at all (more than one instance).
    pub fn is_split(self) -> bool {
        self.instances > 1
    }

    /// Whether global number `n` (arrival, user, row…) is this instance's.
    pub fn owns(self, n: u64) -> bool {
        n % u64::from(self.instances) == u64::from(self.instance)
    }

    /// The global number of this instance's `local`-th item: `instance + instances · local`.
    pub fn stripe(self, local: u64) -> u64 {
        u64::from(self.instance) + u64::from(self.instances) * local
    }

    /// How many of the global numbers `0..count` are this instance's.
    pub fn share(self, count: u64) -> u64 {
        count
            .saturating_sub(u64::from(self.instance))
            .div_ceil(u64::from(self.instances))
    }

    /// How many of the global numbers `from..to` are this instance's.
    pub fn share_of_range(self, from: u64, to: u64) -> u64 {
        self.share(to) - self.share(from.min(to))
    }

    /// The open-model arrivals of worker `worker` of `threads` in this instance.
    pub fn arrivals(self, profile: &Profile, worker: usize, threads: usize) -> Arrivals<'_> {
        let (first, step) = self.worker_stripe(worker, threads);
        Arrivals::new(profile, first, step)
    }

    /// The global numbers of `0..total` (closed-model users, held streams) that worker
    /// `worker` of `threads` in this instance takes.
    pub fn numbers(
        self,
        total: u64,
        worker: usize,
        threads: usize,
    ) -> impl Iterator<Item = u64> + use<> {
        let (first, step) = self.worker_stripe(worker, threads);
        (first..total).step_by(step as usize)
    }

    /// First global number and stride of worker `worker` of `threads`.
    fn worker_stripe(self, worker: usize, threads: usize) -> (u64, u64) {
        let threads = threads.max(1) as u64;
        (
            self.stripe(worker as u64),
            u64::from(self.instances) * threads,
        )
    }
}

/// The arrivals `first`, `first + step`, … of a rate profile's global schedule, each with the
/// time it is due, up to the end of the profile (an arrival due at or after the end is
/// not scheduled). Pure and allocation-free: the engine's open model iterates it.
#[derive(Debug, Clone)]
pub struct Arrivals<'a> {
    profile: &'a Profile,
    next: u64,
    step: u64,
    end: Duration,
}

impl<'a> Arrivals<'a> {
    /// Arrivals `first`, `first + step`, … of `profile`.
    pub fn new(profile: &'a Profile, first: u64, step: u64) -> Self {
        Arrivals {
            profile,
            next: first,
            step: step.max(1),
            end: profile.duration(),
        }
    }

    /// Every arrival of `profile`, in order.
    pub fn all(profile: &'a Profile) -> Self {
        Arrivals::new(profile, 0, 1)
    }
}

impl Iterator for Arrivals<'_> {
    /// The global arrival number and when it is due from the start.
    type Item = (u64, Duration);

    fn next(&mut self) -> Option<(u64, Duration)> {
        let n = self.next;
        let due = self.profile.time_of_event(n as f64)?;
        if due >= self.end {
            return None;
        }
        self.next += self.step;
        Some((n, due))
    }
}

/// The number of arrivals of `profile` due before `t` (the global numbers `0..count`), as
/// [`Arrivals`] schedules them.
pub fn arrivals_before(profile: &Profile, t: Duration) -> u64 {
    let t = t.min(profile.duration());
    let due_before = |n: u64| profile.time_of_event(n as f64).is_some_and(|d| d < t);
    // The integral is the count up to rounding; step to the exact boundary.
    let mut count = profile.integral(t).ceil().max(0.0) as u64;
    while count > 0 && !due_before(count - 1) {
        count -= 1;
    }
    while due_before(count) {
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_numbers_are_checked() {
        assert_eq!(Split::new(0, 0), Err(SplitError::NoInstances));
        let e = Split::new(3, 3).unwrap_err();
        assert_eq!(
            e.to_string(),
            "instance 3 does not exist in a run of 3 (instances are numbered 0 to 2)"
        );
        assert!(Split::new(2, 3).is_ok());
    }

    #[test]
    fn five_users_over_three_instances_are_two_two_one() {
        let shares: Vec<u64> = (0..3).map(|i| Split::new(i, 3).unwrap().share(5)).collect();
        assert_eq!(shares, [2, 2, 1]);
        assert_eq!(Split::new(2, 3).unwrap().share_of_range(2, 9), 3); // 2, 5, 8
        assert_eq!(Split::new(2, 3).unwrap().share_of_range(3, 9), 2); // 5, 8
        assert_eq!(Split::new(1, 3).unwrap().stripe(4), 13);
    }

    #[test]
    fn arrivals_before_counts_the_schedule() {
        let p = Profile::constant(1000.0, Duration::from_secs(2));
        assert_eq!(arrivals_before(&p, Duration::from_secs(2)), 2000);
        assert_eq!(Arrivals::all(&p).count(), 2000);
        assert_eq!(arrivals_before(&p, Duration::from_millis(1)), 1);
        assert_eq!(arrivals_before(&p, Duration::ZERO), 0);
    }
}
