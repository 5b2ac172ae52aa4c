//! Requests that never reached the target: a generator-side connect failure is its own error
//! kind and not a request; a request that cannot be built is a `template_error` with no
//! latency sample.

use std::time::{Duration, Instant};

use nexus_bench::engine::transport::generator_side;
use nexus_bench::recorder::{Aggregate, Clock, ErrorKind, Sample, WorkerRecorder};

#[test]
fn generator_side_errnos_are_classified_as_such() {
    for errno in [
        libc::EMFILE,
        libc::ENFILE,
        libc::EADDRNOTAVAIL,
        libc::ENOBUFS,
        libc::ENOMEM,
    ] {
        assert!(
            generator_side(&std::io::Error::from_raw_os_error(errno)),
            "{errno}"
        );
    }
    for errno in [libc::ECONNREFUSED, libc::ETIMEDOUT, libc::ENETUNREACH] {
        assert!(
            !generator_side(&std::io::Error::from_raw_os_error(errno)),
            "{errno}"
        );
    }
}

#[test]
fn unsent_requests_have_no_latency_and_generator_errors_are_not_requests() {
    let clock = Clock::start(Duration::ZERO);
    let (tx, rx) = std::sync::mpsc::channel();
    let mut rec = WorkerRecorder::new(clock, 1, tx);
    let at = Instant::now();
    let sample = |error| Sample {
        request: 0,
        latency: Duration::from_micros(2),
        service: Duration::from_micros(2),
        status: None,
        error,
        end: at,
    };
    rec.record(sample(Some(ErrorKind::GeneratorError)));
    rec.record(sample(Some(ErrorKind::GeneratorError)));
    rec.record(sample(Some(ErrorKind::TemplateError)));
    rec.record(sample(None));
    rec.finish();
    let mut agg = Aggregate::new(1);
    for w in rx.try_iter() {
        agg.add(w);
    }
    let e = &agg.endpoints[0];
    assert_eq!(agg.generator_errors, 2);
    assert_eq!(e.kinds[ErrorKind::GeneratorError as usize], 2);
    assert_eq!(e.kinds[ErrorKind::TemplateError as usize], 1);
    assert_eq!(
        (e.requests, e.errors),
        (2, 1),
        "the template error counts, the generator errors do not"
    );
    assert_eq!(
        e.latency.len(),
        1,
        "only the request that was sent has a latency"
    );
}
