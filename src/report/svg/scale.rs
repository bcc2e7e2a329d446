//! The picture's measures: sizes in pixels and caps in counts, read by its
//! layout and its drawing.

/// Width of the host labels at the left, in pixels.
pub(crate) const LABEL_WIDTH_PX: f64 = 110.0;
/// Width of the time axis, in pixels.
pub(crate) const PLOT_WIDTH_PX: f64 = 960.0;
/// Space at the right for the labels of the last events, in pixels.
pub(crate) const RIGHT_PX: f64 = 190.0;
/// Height of one host's lane at least, in pixels: a lane with many
/// overlapping requests grows a row for each.
pub(crate) const LANE_HEIGHT_PX: f64 = 56.0;
/// Height of one row of requests, in pixels.
pub(crate) const ROW_HEIGHT_PX: f64 = 10.0;
/// Rows of requests in one lane at most; past it, labels may overprint.
pub(crate) const ROWS_MAX: usize = 16;
/// Width of one character of a request's label (9 px text), in pixels.
pub(crate) const LABEL_CHAR_PX: f64 = 5.2;
/// Height of one row of step labels, in pixels.
pub(crate) const STEP_ROW_HEIGHT_PX: f64 = 13.0;
/// Width of one character of a step's label (11 px text), in pixels.
pub(crate) const STEP_CHAR_PX: f64 = 6.2;
/// Space above the lanes (title, axis), in pixels.
pub(crate) const TOP_PX: f64 = 56.0;
/// Requests drawn at most, so a long trace stays a picture.
pub(crate) const REQUESTS_MAX: usize = 200;
/// Characters of the violation's reason per line of text.
pub(crate) const REASON_LINE_CHARS: usize = 190;
