//! Helpers of the unit tests (compiled only for them): the test backend, the δ modes every
//! step is tested in, a tolerance check, and the directories of real data.

use crate::model::delta::DeltaMode;

/// The backend of the unit tests: burn fixes a device's default float type at its first use,
/// so one test binary must not mix `NdArray<f32>` and `NdArray<f64>`; f64 makes the
/// finite-difference checks sharp.
pub(crate) type TestBackend = burn::backend::NdArray<f64>;

/// One δ mode of each kind, for the tests of every implementation of the step.
pub(crate) const TEST_MODES: [DeltaMode; 4] = [
    DeltaMode::None,
    DeltaMode::Shared,
    DeltaMode::PerLayer,
    DeltaMode::Fixed { beta: 0.5 },
];

/// Checks that every entry of `got` is within tol × max(max|want|, floor) of `want`'s.
pub(crate) fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64, floor: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs())).max(floor);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}[{i}]: {g} vs {w} (scale {scale})"
        );
    }
}

/// The directory of real data that a test reads, from the variable `var` that
/// scripts/test.sh sets (scripts/test-data.sh fetches the files); `None`, with one line
/// saying what the test needs, when it is unset: plain `cargo test` runs offline.
pub(crate) fn test_data_dir(var: &str, what: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os(var).map(Into::into);
    if dir.is_none() {
        eprintln!("skipped: needs {what} in ${var} (scripts/test-data.sh fetches it)");
    }
    dir
}

/// Registers the font native embeds as "sans-serif": plotters' ab_glyph draws text only in a
/// registered font.
pub(crate) fn register_font() {
    let font = include_bytes!("../../native/assets/DejaVuSans.ttf");
    let _ = plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, font);
}
