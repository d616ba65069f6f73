//! A run's training curves, as the thesis tracked them in Weights & Biases: every metric per
//! training step and per validation epoch, kept in a compact `curves.json` (committed with the
//! summary) and drawn as one SVG per metric (`curve-<metric>.svg`) from it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::RuntimeError;
use crate::metric::Quantity;
use crate::plot::{Line, PlotError, line_plot};
use crate::run_dir::RunDir;

/// One metric's values in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub quantity: Quantity,
    /// float32 is plenty for a curve and keeps the file small.
    pub values: Vec<f32>,
}

/// Every metric of a run: training values per step, validation values per epoch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    /// Training steps per epoch (validation point `e` is drawn at step `e * steps_per_epoch`).
    pub steps_per_epoch: usize,
    /// By metric stem (`loss`, `grad_norm`, `learning_rate`, `bits_per_byte`, `accuracy`).
    pub train: BTreeMap<String, Series>,
    pub valid: BTreeMap<String, Series>,
}

impl Curves {
    pub const FILE_NAME: &'static str = "curves.json";

    /// Writes `curves.json` and the plots into the run directory; returns the plots written.
    pub fn write(&self, run_dir: &RunDir) -> Result<Vec<PathBuf>, RuntimeError> {
        run_dir.write_json(Self::FILE_NAME, self)?;
        self.plot(run_dir.path())
    }

    /// Reads a run's `curves.json`.
    pub fn read(path: &Path) -> Result<Self, RuntimeError> {
        let text =
            std::fs::read_to_string(path).map_err(|cause| RuntimeError::Read { path: path.to_path_buf(), cause })?;
        serde_json::from_str(&text).map_err(|cause| RuntimeError::SummaryFormat { path: path.to_path_buf(), cause })
    }

    /// One SVG per metric: training per step (and its mean over 10 steps), validation per epoch
    /// (dashed).
    pub fn plot(&self, dir: &Path) -> Result<Vec<PathBuf>, RuntimeError> {
        let mut written = Vec::new();
        let names: std::collections::BTreeSet<&String> = self.train.keys().chain(self.valid.keys()).collect();
        for name in names {
            let mut lines = Vec::new();
            if let Some(train) = self.train.get(name) {
                let raw: Vec<(f64, f64)> =
                    train.values.iter().enumerate().map(|(i, &v)| ((i + 1) as f64, f64::from(v))).collect();
                let smoothed = raw
                    .iter()
                    .enumerate()
                    .map(|(i, &(x, _))| {
                        let from = i.saturating_sub(9);
                        (x, raw[from..=i].iter().map(|&(_, y)| y).sum::<f64>() / (i + 1 - from) as f64)
                    })
                    .collect();
                lines.push(Line { label: "train (per step)".to_string(), color: 0, dashed: false, points: raw });
                lines.push(Line {
                    label: "train (mean of 10 steps)".to_string(),
                    color: 2,
                    dashed: false,
                    points: smoothed,
                });
            }
            if let Some(valid) = self.valid.get(name) {
                let points = valid
                    .values
                    .iter()
                    .enumerate()
                    .map(|(epoch, &v)| (((epoch + 1) * self.steps_per_epoch.max(1)) as f64, f64::from(v)))
                    .collect();
                lines.push(Line { label: "validation (per epoch)".to_string(), color: 1, dashed: true, points });
            }
            let quantity = self.train.get(name).or(self.valid.get(name)).map(|series| series.quantity);
            let unit = quantity.map_or("", Quantity::unit);
            let y_label =
                if unit.is_empty() { name.replace('_', " ") } else { format!("{} ({unit})", name.replace('_', " ")) };
            let path = dir.join(format!("curve-{name}.svg"));
            match line_plot(&path, &name.replace('_', " "), "training step", &y_label, &lines) {
                Ok(()) => written.push(path),
                Err(PlotError::Empty(_)) => {}
                Err(PlotError::Draw { path, message }) => {
                    return Err(RuntimeError::Write { path, cause: std::io::Error::other(message) });
                }
            }
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_round_trip_and_draw_one_plot_per_metric() {
        let root = tempfile::tempdir().unwrap();
        let run_dir = RunDir::create(root.path(), "test", "run").unwrap();
        let series = |quantity, values: &[f32]| Series { quantity, values: values.to_vec() };
        let curves = Curves {
            steps_per_epoch: 3,
            train: [("loss".to_string(), series(Quantity::Loss, &[3.0, 2.0, 1.5, 1.2, 1.1, 1.0]))].into(),
            valid: [
                ("loss".to_string(), series(Quantity::Loss, &[1.6, 1.2])),
                ("accuracy".to_string(), series(Quantity::Accuracy, &[60.0, 70.0])),
            ]
            .into(),
        };
        let written = curves.write(&run_dir).unwrap();
        let names: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().to_string()).collect();
        assert_eq!(names, ["curve-accuracy.svg", "curve-loss.svg"]);
        let svg = std::fs::read_to_string(&written[1]).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("validation (per epoch)"));
        assert_eq!(Curves::read(&run_dir.path().join(Curves::FILE_NAME)).unwrap(), curves);
    }
}
