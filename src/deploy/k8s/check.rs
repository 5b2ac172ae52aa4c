//! Checks of the render options and the names derived from them (DNS labels, Kubernetes
//! quantities), so a mistake is reported by nexus-bench rather than by the API server.

use super::{JobSpec, MAX_INSTANCES, RenderError};

/// The Job's name: `nexus-bench-` and the run id in DNS-label form, at most 52 characters
/// (an Indexed Job's pods are named `<job>-<index>-<suffix>` and their host names
/// `<job>-<index>`, which must fit 63).
pub fn job_name(run_id: &str) -> String {
    let mut name = String::from("nexus-bench-");
    for c in run_id.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    name.truncate(52);
    name.trim_end_matches('-').to_owned()
}

/// Generator worker threads for a CPU request: its whole CPUs, at least 1.
pub fn threads_for_cpu(cpu: &str) -> Result<usize, RenderError> {
    let bad = || RenderError::Quantity {
        flag: "--cpu",
        value: cpu.to_owned(),
        example: "`2` or `1500m`",
    };
    let cores = if let Some(milli) = cpu.strip_suffix('m') {
        milli.parse::<u64>().map_err(|_| bad())? as f64 / 1000.0
    } else {
        let ok = !cpu.is_empty()
            && cpu.chars().all(|c| c.is_ascii_digit() || c == '.')
            && cpu.matches('.').count() <= 1
            && !cpu.starts_with('.')
            && !cpu.ends_with('.');
        if !ok {
            return Err(bad());
        }
        cpu.parse::<f64>().map_err(|_| bad())?
    };
    if cores <= 0.0 {
        return Err(bad());
    }
    Ok((cores.floor() as usize).max(1))
}

/// Every option of `spec` that Kubernetes would refuse.
pub(super) fn spec(spec: &JobSpec<'_>) -> Result<(), RenderError> {
    if spec.instances == 0 || spec.instances > MAX_INSTANCES {
        return Err(RenderError::Instances(spec.instances));
    }
    if let Some(ns) = spec.namespace {
        let ok = !ns.is_empty()
            && ns.len() <= 63
            && ns
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !ns.starts_with('-')
            && !ns.ends_with('-');
        if !ok {
            return Err(RenderError::Namespace(ns.to_owned()));
        }
    }
    if spec.image.is_empty()
        || spec
            .image
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(RenderError::Image(spec.image.to_owned()));
    }
    let id = spec.run_id;
    let id_ok = !id.is_empty()
        && id.len() <= 128
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !id_ok {
        return Err(RenderError::RunId(id.to_owned()));
    }
    if !memory_quantity(spec.memory) {
        return Err(RenderError::Quantity {
            flag: "--memory",
            value: spec.memory.to_owned(),
            example: "`1Gi` or `512Mi`",
        });
    }
    Ok(())
}

/// `<digits>[.<digits>]` with an optional binary or decimal suffix.
fn memory_quantity(q: &str) -> bool {
    let number = ["Ki", "Mi", "Gi", "Ti", "Pi", "k", "M", "G", "T", "P"]
        .iter()
        .find_map(|s| q.strip_suffix(s))
        .unwrap_or(q);
    let mut parts = number.split('.');
    let whole = parts.next().unwrap_or_default();
    let frac = parts.next();
    parts.next().is_none()
        && !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_dns_labels_that_fit() {
        assert_eq!(
            job_name("smoke-20260101T000000Z"),
            "nexus-bench-smoke-20260101t000000z"
        );
        assert_eq!(job_name("a__b..c"), "nexus-bench-a-b-c");
        let long = job_name(&"x".repeat(100));
        assert_eq!(long.len(), 52);
        // Cut where a dash would end the name: the dash goes too.
        let cut = job_name(&format!("{}-yyyy", "x".repeat(39)));
        assert_eq!(cut, format!("nexus-bench-{}", "x".repeat(39)));
    }

    #[test]
    fn threads_follow_whole_cpus() {
        assert_eq!(threads_for_cpu("2"), Ok(2));
        assert_eq!(threads_for_cpu("2.5"), Ok(2));
        assert_eq!(threads_for_cpu("500m"), Ok(1));
        assert_eq!(threads_for_cpu("4000m"), Ok(4));
        for bad in ["", "0", "two", "1.", ".5", "1e3", "-1", "m"] {
            assert!(threads_for_cpu(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn memory_quantities() {
        for ok in ["1Gi", "512Mi", "1.5Gi", "1000000", "2G"] {
            assert!(memory_quantity(ok), "{ok}");
        }
        for bad in ["", "Gi", "1 Gi", "1.Gi", "1GB", "-1Gi"] {
            assert!(!memory_quantity(bad), "{bad}");
        }
    }
}
