//! The arrival math: a load level over time (a piecewise-linear [`Profile`]), its integral
//! (how many arrivals are due by a time) and its inverse (when the n-th arrival is due). Pure
//! functions, used by the engine's schedule and by the judgement of whether the generator
//! kept to it.

use std::time::Duration;

/// A piecewise-linear level over time: `start`, then each stage moves linearly to its target.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Level at time zero.
    pub start: f64,
    /// Consecutive stages.
    pub stages: Vec<Stage>,
}

/// One stage of a [`Profile`].
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// Level reached at the end of the stage.
    pub target: f64,
}

impl Profile {
    /// A constant level for `duration`.
    pub fn constant(level: f64, duration: Duration) -> Self {
        Profile {
            start: level,
            stages: vec![Stage {
                duration,
                target: level,
            }],
        }
    }

    /// Total length of the profile.
    pub fn duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// The highest level the profile reaches.
    pub fn peak(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| s.target)
            .fold(self.start, f64::max)
    }

    /// The level at `t` from the start (the last target after the end).
    pub fn level_at(&self, t: Duration) -> f64 {
        let mut from = self.start;
        let mut elapsed = Duration::ZERO;
        for stage in &self.stages {
            if t < elapsed + stage.duration {
                let frac = (t - elapsed).as_secs_f64() / stage.duration.as_secs_f64();
                return from + (stage.target - from) * frac;
            }
            elapsed += stage.duration;
            from = stage.target;
        }
        from
    }

    /// Closed model: how many users are active at `t` (the level, rounded). User `u` is
    /// active while `u < users_at(t)`.
    pub fn users_at(&self, t: Duration) -> u64 {
        self.level_at(t).round().max(0.0) as u64
    }

    /// Closed model: the most users ever active (users `0..max_users()` exist).
    pub fn max_users(&self) -> u64 {
        self.peak().round().max(0.0) as u64
    }

    /// The number of events the level (as a rate per second) schedules in `[0, t)`: the
    /// integral of the profile.
    pub fn integral(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let mut from = self.start;
        let mut begin = 0.0;
        let mut total = 0.0;
        for stage in &self.stages {
            let d = stage.duration.as_secs_f64();
            if t <= begin {
                break;
            }
            let span = (t - begin).min(d);
            let slope = if d > 0.0 {
                (stage.target - from) / d
            } else {
                0.0
            };
            total += from * span + 0.5 * slope * span * span;
            begin += d;
            from = stage.target;
        }
        if t > begin {
            total += from * (t - begin);
        }
        total
    }

    /// The time at which the `n`-th event (0-based) of a rate profile is due: the smallest
    /// `t` with `integral(t) >= n`, or `None` if the profile ends first.
    pub fn time_of_event(&self, n: f64) -> Option<Duration> {
        let mut from = self.start;
        let mut begin = 0.0;
        let mut done = 0.0;
        for stage in &self.stages {
            let d = stage.duration.as_secs_f64();
            let slope = if d > 0.0 {
                (stage.target - from) / d
            } else {
                0.0
            };
            let area = from * d + 0.5 * slope * d * d;
            if done + area >= n && area > 0.0 {
                let need = n - done;
                // Solve from*x + slope/2*x^2 = need for x in [0, d].
                let x = if slope.abs() < 1e-12 {
                    need / from
                } else {
                    let disc = (from * from + 2.0 * slope * need).max(0.0);
                    (-from + disc.sqrt()) / slope
                };
                return Some(Duration::from_secs_f64(begin + x.clamp(0.0, d)));
            }
            done += area;
            begin += d;
            from = stage.target;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_profile_integrates_linearly() {
        let p = Profile::constant(1000.0, Duration::from_secs(10));
        assert_eq!(p.integral(Duration::from_secs(10)), 10_000.0);
        assert_eq!(p.time_of_event(500.0), Some(Duration::from_millis(500)));
        assert_eq!(p.time_of_event(10_001.0), None);
    }

    #[test]
    fn ramp_schedule_matches_closed_form() {
        // 0 → 100/s over 10 s: integral is 50 t², total 500 events.
        let p = Profile {
            start: 0.0,
            stages: vec![Stage {
                duration: Duration::from_secs(10),
                target: 100.0,
            }],
        };
        assert!((p.integral(Duration::from_secs(10)) - 500.0).abs() < 1e-9);
        assert!((p.level_at(Duration::from_secs(5)) - 50.0).abs() < 1e-9);
        // Event 125 is due at t where 5 t² = 125 → t = 5 s.
        let t = p.time_of_event(125.0).unwrap().as_secs_f64();
        assert!((t - 5.0).abs() < 1e-6, "{t}");
        assert_eq!(p.peak(), 100.0);
    }
}
