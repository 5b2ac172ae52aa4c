//! Folded stacks and the flamegraph SVG (drawn by inferno).

use super::decode::stacks;
use super::{Profile, ProfileError};

/// The profile as folded stacks, one `root;caller;leaf COUNT` line per distinct stack,
/// sorted — the input format of flamegraph tools.
pub fn folded_stacks(p: &Profile) -> Vec<String> {
    stacks(p)
        .into_iter()
        .map(|(frames, count)| format!("{} {count}", frames.join(";")))
        .collect()
}

/// Renders the profile as an interactive flamegraph SVG (inferno's, with its embedded
/// search and zoom script; self-contained). Function names are XML-escaped by inferno.
pub fn flamegraph_svg(p: &Profile, title: &str) -> Result<String, ProfileError> {
    let lines = folded_stacks(p);
    if lines.is_empty() {
        return Err(ProfileError::Empty);
    }
    let mut options = icicle_options(title, "samples");
    // Colour by name hash, so the same function has the same colour in every report.
    options.hash = true;
    render(&mut options, &lines)
}

/// inferno options shared by every graph nexus-bench draws: an icicle (the root and the
/// widest frames at the top, right under the title, so the part a reader looks at first is
/// in view however deep the stacks go), no fixed width (the graph fills the width it is
/// shown at and its script truncates the labels for that width), deterministic output.
pub(crate) fn icicle_options(
    title: &str,
    count_name: &str,
) -> inferno::flamegraph::Options<'static> {
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.count_name = count_name.to_string();
    options.deterministic = true;
    options.direction = inferno::flamegraph::Direction::Inverted;
    options.image_width = None;
    options
}

/// Renders folded `lines` to an SVG string with `options`.
pub(crate) fn render(
    options: &mut inferno::flamegraph::Options<'_>,
    lines: &[String],
) -> Result<String, ProfileError> {
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(options, lines.iter().map(String::as_str), &mut svg)
        .map_err(ProfileError::Render)?;
    String::from_utf8(svg).map_err(|e| ProfileError::Render(std::io::Error::other(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiler::decode::tests::small_profile;

    #[test]
    fn folded_lines_are_root_first() {
        assert_eq!(
            folded_stacks(&small_profile()),
            ["main 1", "main;work;leaf 5"]
        );
    }

    #[test]
    fn svg_names_every_function_and_escapes_the_title() {
        let svg = flamegraph_svg(&small_profile(), "cache <run 1>").unwrap();
        assert!(svg.contains("<svg"));
        for name in ["main", "work", "leaf"] {
            assert!(svg.contains(name), "{name} missing");
        }
        assert!(svg.contains("cache &lt;run 1&gt;"));
        assert!(!svg.contains("cache <run 1>"));
    }

    #[test]
    fn an_empty_profile_is_an_error() {
        let empty = Profile {
            string_table: vec![String::new()],
            ..Default::default()
        };
        assert!(matches!(
            flamegraph_svg(&empty, "t"),
            Err(ProfileError::Empty)
        ));
    }
}
