//! What a person sees of the embedded flamegraph, checked in the headless Chromium of
//! [`super::browser`]: a capture of the frame through the DevTools protocol (which composites
//! the out-of-process frame, unlike `chromium --screenshot`), its pixels, the labels inside
//! the frame, and click-to-zoom in the sandbox. The capture is saved to
//! `target/test-artifacts/flamegraph.png`.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::browser::Cdp;

/// A pixel of inferno's "hot" palette (reds, oranges, yellows), as opposed to the white and
/// grey of the page, the frame's border and the text.
fn hot(rgb: &[u8]) -> bool {
    let (r, g, b) = (i32::from(rgb[0]), i32::from(rgb[1]), i32::from(rgb[2]));
    r > 180 && r - b > 80 && g < 235
}

/// Decodes an RGB(A) PNG into (width, height, channels, pixels).
fn decode(png_bytes: &[u8]) -> (usize, usize, usize, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    buf.truncate(info.buffer_size());
    (info.width as usize, info.height as usize, channels, buf)
}

/// The session of the out-of-process frame whose graph title contains `title`.
pub(super) async fn frame_session(cdp: &mut Cdp, load_events: &[Value], title: &str) -> String {
    let sessions: Vec<String> = load_events
        .iter()
        .filter(|e| {
            e["method"] == "Target.attachedToTarget"
                && e["params"]["targetInfo"]["type"] == "iframe"
        })
        .filter_map(|e| e["params"]["sessionId"].as_str())
        .map(str::to_string)
        .collect();
    assert!(
        !sessions.is_empty(),
        "the sandboxed flamegraph frames are out-of-process frames attached to the page"
    );
    for s in sessions {
        let t = cdp
            .eval_in(&s, "document.getElementById('title').textContent")
            .await;
        if t.as_str().is_some_and(|t| t.contains(title)) {
            return s;
        }
    }
    panic!("no frame shows a graph titled {title:?}");
}

/// The differential flamegraph of the profile-diff section renders in its frame, across the
/// frame's width, with inferno's script running.
pub(super) async fn diff_flamegraph_renders(cdp: &mut Cdp, load_events: &[Value]) {
    let session = frame_session(cdp, load_events, "baseline").await;
    let frames = cdp
        .eval_in(&session, "document.querySelectorAll('#frames g').length")
        .await;
    assert!(frames.as_u64().unwrap() > 3, "{frames}");
    let png_bytes = capture_painted(
        cdp,
        "#profile-diff iframe.flamegraph",
        "flamegraph-diff.png",
    )
    .await;
    let (pw, ph, ch, px) = decode(&png_bytes);
    // Differential colours are reds, blues and near-white: count saturated pixels per row.
    let coloured = |p: &[u8]| {
        let (mx, mn) = (p.iter().max().unwrap(), p.iter().min().unwrap());
        mx - mn > 40
    };
    let widest = (0..ph)
        .map(|row| {
            (0..pw)
                .filter(|&col| coloured(&px[(row * pw + col) * ch..(row * pw + col) * ch + 3]))
                .count()
        })
        .max()
        .unwrap();
    assert!(
        widest as f64 >= 0.9 * pw as f64,
        "the diff graph's widest bar covers {widest} of {pw} px"
    );
}

/// Captures the first element matching `selector` (an iframe) through DevTools, scrolled into
/// view, into `target/test-artifacts/<file>`. An out-of-process frame that has not painted
/// yet captures as blank white: that is retried (a few times, 300 ms apart), never accepted.
pub(super) async fn capture_painted(cdp: &mut Cdp, selector: &str, file: &str) -> Vec<u8> {
    use base64::Engine as _;
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    for _attempt in 0..8 {
        let rect = cdp
            .eval(&format!(
                "(() => {{ const f = document.querySelector('{selector}'); \
                 f.scrollIntoView(); const r = f.getBoundingClientRect(); \
                 return {{x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height}}; }})()"
            ))
            .await;
        assert!(rect.is_object(), "{selector} is on the page");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let shot = cdp
            .call(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true,
                       "clip": {"x": rect["x"], "y": rect["y"], "width": rect["w"],
                                "height": rect["h"], "scale": 1}}),
            )
            .await;
        let png_bytes = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(artifacts.join(file), &png_bytes).unwrap();
        let (_, _, ch, px) = decode(&png_bytes);
        let painted = px.chunks(ch).any(|p| {
            let (mx, mn) = (p[..3].iter().max().unwrap(), p[..3].iter().min().unwrap());
            mx - mn > 40
        });
        if painted {
            return png_bytes;
        }
    }
    panic!("{selector} stayed blank in every capture");
}

pub(super) async fn flamegraph_is_readable(cdp: &mut Cdp, load_events: &[Value]) {
    cdp.call("Runtime.runIfWaitingForDebugger", json!({})).await;
    let frame_session = frame_session(cdp, load_events, "target CPU profile").await;
    // inferno fits its drawing to the width in a `setTimeout(0)` after load: wait for it.
    let mut fitted = json!(false);
    for _ in 0..50 {
        fitted = cdp
            .eval_in(
                &frame_session,
                "!document.querySelector('svg').hasAttribute('width')",
            )
            .await;
        if fitted == json!(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(fitted, json!(true), "inferno's script ran in the frame");

    // The frame in page coordinates, scrolled into view.
    let rect = cdp
        .eval(
            "(() => { const f = document.querySelector('iframe.flamegraph'); \
             f.scrollIntoView(); const r = f.getBoundingClientRect(); \
             return {x: r.left + scrollX, y: r.top + scrollY, vx: r.left, vy: r.top, \
                     w: r.width, h: r.height, page: document.body.clientWidth}; })()",
        )
        .await;
    let h = rect["h"].as_f64().unwrap();
    let inner_height = cdp
        .eval_in(&frame_session, "document.documentElement.scrollHeight")
        .await
        .as_f64()
        .unwrap();
    assert!(
        inner_height <= h + 1.0,
        "the frame ({h}px) is as tall as the graph ({inner_height}px): the base is in view"
    );

    let png_bytes = capture_painted(cdp, "iframe.flamegraph", "flamegraph.png").await;

    // What a person sees: the coloured frames span the frame's width (the root is one bar
    // across it), and they reach down to the bottom part of the frame (nothing is scaled
    // into a corner or cut off).
    let (pw, ph, ch, px) = decode(&png_bytes);
    let at = |col: usize, row: usize| &px[(row * pw + col) * ch..(row * pw + col) * ch + 3];
    let widest_row = (0..ph)
        .map(|row| (0..pw).filter(|&col| hot(at(col, row))).count())
        .max()
        .unwrap();
    assert!(
        widest_row as f64 >= 0.9 * pw as f64,
        "the widest bar covers {widest_row} of {pw} px: the graph does not fill the width"
    );
    let lowest_hot_row = (0..ph)
        .rev()
        .find(|&row| (0..pw).any(|col| hot(at(col, row))))
        .unwrap();
    assert!(
        lowest_hot_row as f64 >= 0.6 * ph as f64,
        "frames end at row {lowest_hot_row} of {ph}: the graph does not fill the frame"
    );

    // Readable labels: many frames show their name, not "..".
    let labels = cdp
        .eval_in(
            &frame_session,
            "[...document.querySelectorAll('#frames text')].map(t => t.textContent)\
             .filter(t => t.length >= 6 && !t.endsWith('..')).length",
        )
        .await
        .as_u64()
        .unwrap();
    assert!(labels >= 10, "only {labels} labels are readable");
    let fib = cdp
        .eval_in(
            &frame_session,
            "[...document.querySelectorAll('#frames text')]\
             .some(t => t.textContent.includes('fib_recursive'))",
        )
        .await;
    assert_eq!(fib, json!(true), "the hot function's name is shown");

    // Click-to-zoom works inside the sandbox: click a frame narrower than the root.
    let target = cdp
        .eval_in(
            &frame_session,
            "(() => { const all = document.querySelector('#frames').getBoundingClientRect().width; \
             const r = [...document.querySelectorAll('#frames rect')].map(r => r.getBoundingClientRect()) \
             .find(r => r.width > 20 && r.width < all * 0.8); \
             return r ? {x: r.left + r.width / 2, y: r.top + r.height / 2} : null; })()",
        )
        .await;
    assert!(target.is_object(), "a frame narrower than the root exists");
    // The capture above may have moved the page: place the frame again, and let the
    // compositor settle, since it routes the click to the out-of-process frame. On a loaded
    // machine the first click can land before that: a few attempts, each a whole click.
    let mut zoomed = json!(false);
    for _attempt in 0..5 {
        let rect = cdp
            .eval(
                "(() => { const f = document.querySelector('iframe.flamegraph'); \
                 f.scrollIntoView(); const r = f.getBoundingClientRect(); \
                 return {vx: r.left, vy: r.top}; })()",
            )
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (cx, cy) = (
            rect["vx"].as_f64().unwrap() + 1.0 + target["x"].as_f64().unwrap(),
            rect["vy"].as_f64().unwrap() + 1.0 + target["y"].as_f64().unwrap(),
        );
        for kind in ["mousePressed", "mouseReleased"] {
            cdp.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": cx, "y": cy, "button": "left", "clickCount": 1}),
            )
            .await;
        }
        for _ in 0..10 {
            zoomed = cdp
                .eval_in(
                    &frame_session,
                    "!document.getElementById('unzoom').classList.contains('hide')",
                )
                .await;
            if zoomed == json!(true) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if zoomed == json!(true) {
            break;
        }
    }
    assert_eq!(zoomed, json!(true), "clicking a frame zooms into it");
}
