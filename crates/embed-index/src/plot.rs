//! Histograms of pair distances on a log axis, like the paper's Figure 3 (PNG and SVG).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::stats::LogHistogram;

/// The font family of the SVG text. When a PNG is rendered, it resolves to the font compiled
/// in (Ubuntu Light from `epaint_default_fonts`), so drawing needs no system font.
const FONT: &str = "sans-serif";

/// Renders an SVG document to PNG bytes with resvg, text in the compiled-in font.
fn svg_to_png(svg: &str) -> std::result::Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let mut opt = resvg::usvg::Options::default();
    let db = opt.fontdb_mut();
    db.load_font_data(epaint_default_fonts::UBUNTU_LIGHT.to_vec());
    let family = db
        .faces()
        .next()
        .and_then(|f| f.families.first())
        .map(|(name, _)| name.clone());
    if let Some(family) = family {
        opt.fontdb_mut().set_sans_serif_family(family.clone());
        opt.font_family = family;
    }
    let tree = resvg::usvg::Tree::from_str(svg, &opt)?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or("image size out of range")?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    Ok(pixmap.encode_png()?)
}

/// Settings of a pair-distance histogram ([`pair_histogram`]), unchecked;
/// [`check`](Self::check) gives the [`ValidHistogramPlot`] that draws. [`svg`](Self::svg),
/// [`png`](Self::png) and [`pair_histogram`] check and draw in one call.
///
/// ```
/// use embed_index::HistogramPlot;
/// let p = HistogramPlot::default().title("HTTP, one month apart").bins(40);
/// assert!(p.check().is_ok());
/// assert!(HistogramPlot::default().range(0.0, -1.0).check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistogramPlot(ValidHistogramPlot);

/// Histogram settings that passed [`HistogramPlot::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidHistogramPlot {
    title: String,
    bins: usize,
    lo: f64,
    hi: f64,
    size: (u32, u32),
    labels: [String; 2],
}

impl Default for ValidHistogramPlot {
    /// 60 bins from 1e-6 to 2 (the largest distance of unit vectors), 800 x 500 pixels.
    fn default() -> Self {
        Self {
            title: "Distance between embeddings of banner pairs".into(),
            bins: 60,
            lo: -6.0,
            hi: 2f64.log10(),
            size: (800, 500),
            labels: ["matching pairs".into(), "random pairs".into()],
        }
    }
}

impl HistogramPlot {
    /// The title above the plot.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.0.title = title.into();
        self
    }
    /// Number of bins (equal width in log10 units).
    #[must_use]
    pub fn bins(mut self, bins: usize) -> Self {
        self.0.bins = bins;
        self
    }
    /// The x range in log10 units (default -6 to log10 2).
    #[must_use]
    pub fn range(mut self, lo_log10: f64, hi_log10: f64) -> Self {
        self.0.lo = lo_log10;
        self.0.hi = hi_log10;
        self
    }
    /// Image size in pixels.
    #[must_use]
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.0.size = (width, height);
        self
    }
    /// Legend names of the two pair sets (default "matching pairs", "random pairs").
    #[must_use]
    pub fn labels(mut self, first: impl Into<String>, second: impl Into<String>) -> Self {
        self.0.labels = [first.into(), second.into()];
        self
    }

    /// Validates the settings.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for no bins, an empty or non-finite range, or an image
    /// smaller than 200 x 150.
    pub fn check(self) -> Result<ValidHistogramPlot> {
        self.check_ref()?;
        Ok(self.0)
    }

    /// Validates the settings without consuming them.
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn check_ref(&self) -> Result<&ValidHistogramPlot> {
        let p = &self.0;
        if p.bins == 0 {
            return Err(Error::InvalidParam {
                name: "bins",
                reason: "must be at least 1".into(),
            });
        }
        if !(p.lo.is_finite() && p.hi.is_finite() && p.lo < p.hi) {
            return Err(Error::InvalidParam {
                name: "range",
                reason: format!("need finite lo < hi, got {} .. {}", p.lo, p.hi),
            });
        }
        if p.size.0 < 200 || p.size.1 < 150 {
            return Err(Error::InvalidParam {
                name: "size",
                reason: format!("{}x{} is smaller than 200x150", p.size.0, p.size.1),
            });
        }
        Ok(p)
    }

    /// Validates, then draws the plot as SVG ([`ValidHistogramPlot::svg`]).
    ///
    /// ```
    /// use embed_index::HistogramPlot;
    /// let svg = HistogramPlot::default().svg(&[0.001, 0.002, 0.01], &[0.5, 0.9, 1.1])?;
    /// assert!(svg.starts_with("<svg") && svg.contains("matching pairs"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParam`]; [`Error::Plot`] when drawing fails.
    pub fn svg(&self, first: &[f32], second: &[f32]) -> Result<String> {
        self.check_ref()?.svg(first, second)
    }

    /// Validates, then draws the plot as PNG bytes ([`ValidHistogramPlot::png`]).
    ///
    /// ```
    /// use embed_index::HistogramPlot;
    /// let png = HistogramPlot::default().png(&[0.001, 0.01], &[0.5, 1.1])?;
    /// assert!(png.starts_with(b"\x89PNG"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParam`]; [`Error::Plot`] when drawing or rendering fails.
    pub fn png(&self, first: &[f32], second: &[f32]) -> Result<Vec<u8>> {
        self.check_ref()?.png(first, second)
    }
}

impl ValidHistogramPlot {
    /// The plot as an SVG document (e.g. to inline in an HTML report).
    ///
    /// # Errors
    /// [`Error::Plot`] when drawing fails.
    pub fn svg(&self, first: &[f32], second: &[f32]) -> Result<String> {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, self.size).into_drawing_area();
            self.draw(&root, first, second)
                .map_err(|source| plot_error(Path::new("<svg>"), source))?;
        }
        Ok(out)
    }

    /// The plot as PNG bytes (the SVG rendered by resvg).
    ///
    /// # Errors
    /// [`Error::Plot`] when drawing or rendering fails.
    pub fn png(&self, first: &[f32], second: &[f32]) -> Result<Vec<u8>> {
        let svg = self.svg(first, second)?;
        svg_to_png(&svg).map_err(|source| plot_error(Path::new("<png>"), source))
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        first: &[f32],
        second: &[f32],
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let sets = [first, second];
        let hists: Vec<LogHistogram> = sets
            .iter()
            .map(|d| LogHistogram::new(d, self.lo, self.hi, self.bins))
            .collect();
        let shares: Vec<Vec<f64>> = hists
            .iter()
            .zip(sets)
            .map(|(h, d)| {
                let n = d.iter().filter(|x| x.is_finite()).count().max(1) as f64;
                h.counts.iter().map(|&c| c as f64 / n).collect()
            })
            .collect();
        let ymax = shares
            .iter()
            .flatten()
            .copied()
            .fold(0.0f64, f64::max)
            .max(1e-3)
            * 1.1;
        let (x0, x1) = (10f64.powf(self.lo), 10f64.powf(self.hi));
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((x0..x1).log_scale(), 0f64..ymax)?;
        chart
            .configure_mesh()
            .x_desc("Euclidean distance (log scale)")
            .y_desc("share of pairs per bin")
            .x_label_formatter(&|x| format!("{x:.0e}"))
            .label_style((FONT, 13))
            .draw()?;
        let width = (self.hi - self.lo) / self.bins as f64;
        let colours = [RGBColor(31, 119, 180), RGBColor(214, 39, 40)];
        for (k, share) in shares.iter().enumerate() {
            // A step outline: each bin a flat segment.
            let mut points = Vec::with_capacity(2 * share.len() + 2);
            points.push((x0, 0.0));
            for (b, &y) in share.iter().enumerate() {
                let left = 10f64.powf(self.lo + b as f64 * width);
                let right = 10f64.powf(self.lo + (b + 1) as f64 * width);
                points.push((left, y));
                points.push((right, y));
            }
            points.push((x1, 0.0));
            let h = &hists[k];
            let n = sets[k].iter().filter(|x| x.is_finite()).count();
            let zero_share = if n == 0 {
                0.0
            } else {
                100.0 * h.zeros as f64 / n as f64
            };
            let colour = colours[k];
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
                .label(format!(
                    "{} (n = {n}; {zero_share:.1}% at 0, {} below and {} above the axis)",
                    self.labels[k], h.under, h.over
                ))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        root.present()?;
        Ok(())
    }
}

fn plot_error(path: &Path, source: Box<dyn std::error::Error + Send + Sync>) -> Error {
    Error::Plot {
        path: path.to_path_buf(),
        source,
    }
}

/// Draws the distance histograms of two pair sets (the paper's Figure 3: matching pairs,
/// same ip/port in two snapshots, against random pairs) on a log x-axis, and writes
/// `<stem>.png` and `<stem>.svg`. Returns the two paths. Each curve is the share of its own
/// pairs per bin; exact zeros, which a log axis cannot show, are reported in the legend.
///
/// ```no_run
/// use embed_index::{HistogramPlot, pair_histogram};
/// let (png, svg) = pair_histogram(&[1e-4, 3e-3], &[0.6, 1.2], "figure3", &HistogramPlot::default())?;
/// # let _ = (png, svg);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParam`]; [`Error::Plot`] when drawing fails; [`Error::Io`] when the SVG
/// cannot be written.
pub fn pair_histogram(
    matching: &[f32],
    random: &[f32],
    stem: impl AsRef<Path>,
    plot: &HistogramPlot,
) -> Result<(PathBuf, PathBuf)> {
    let stem = stem.as_ref();
    let with_ext = |ext: &str| {
        let mut s = stem.as_os_str().to_owned();
        s.push(ext);
        PathBuf::from(s)
    };
    let (png, svg) = (with_ext(".png"), with_ext(".svg"));
    let text = plot.check_ref()?.svg(matching, random)?;
    let image = svg_to_png(&text).map_err(|source| plot_error(&png, source))?;
    crate::atomic_write(&svg, text.as_bytes())?;
    crate::atomic_write(&png, &image)?;
    Ok((png, svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_png_and_svg() {
        let dir = tempfile::tempdir().expect("tempdir");
        let matching: Vec<f32> = (0..500).map(|i| 1e-4 * (1.0 + i as f32 / 50.0)).collect();
        let mut random: Vec<f32> = (0..500).map(|i| 0.3 + i as f32 / 600.0).collect();
        random.push(0.0);
        let (png, svg) = pair_histogram(
            &matching,
            &random,
            dir.path().join("fig"),
            &HistogramPlot::default(),
        )
        .expect("plot");
        let png = std::fs::read(png).expect("png");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let svg = std::fs::read_to_string(svg).expect("svg");
        assert!(svg.contains("random pairs (n = 501; 0.2% at 0"), "{svg}");
    }

    #[test]
    fn empty_sets_still_draw() {
        let svg = HistogramPlot::default().svg(&[], &[]).expect("svg");
        assert!(svg.contains("n = 0"));
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(matches!(
            HistogramPlot::default().bins(0).check(),
            Err(Error::InvalidParam { name: "bins", .. })
        ));
        assert!(matches!(
            HistogramPlot::default().size(10, 10).check(),
            Err(Error::InvalidParam { name: "size", .. })
        ));
    }
}
