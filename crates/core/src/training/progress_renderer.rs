//! Live progress of a training run, through burn's renderer interface: in a terminal, a bar per
//! split and epoch (step / total, loss, the task metric, items/s, ETA); when stderr is not a
//! terminal, one plain `tracing` line every [`LOG_EVERY`] with the same figures, no escape codes.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation, MetricsRendererTraining,
};
use indicatif::{ProgressBar, ProgressStyle};

/// How often a plain progress line is logged when stderr is not a terminal.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressOutput {
    /// An indicatif bar on stderr (a terminal).
    Bar,
    /// A `tracing` line every [`LOG_EVERY`] (stderr is a file or a pipe).
    Lines,
}

impl ProgressOutput {
    /// A bar where stderr is a terminal, lines otherwise.
    pub fn detect() -> Self {
        if std::io::stderr().is_terminal() { Self::Bar } else { Self::Lines }
    }
}

/// The progress renderer: keeps the latest value of every numeric metric and shows them with the
/// position in the current split.
pub struct ProgressRenderer {
    output: ProgressOutput,
    names: HashMap<MetricId, String>,
    /// Latest per-step values of the current split, by metric name, in registration order.
    latest: Vec<(String, f64)>,
    epoch: usize,
    epochs: usize,
    split: String,
    total: usize,
    processed: usize,
    split_start: Instant,
    last_line: Instant,
    bar: Option<ProgressBar>,
}

impl ProgressRenderer {
    pub fn new(output: ProgressOutput) -> Self {
        Self {
            output,
            names: HashMap::new(),
            latest: Vec::new(),
            epoch: 0,
            epochs: 0,
            split: String::new(),
            total: 0,
            processed: 0,
            split_start: Instant::now(),
            last_line: Instant::now(),
            bar: None,
        }
    }

    fn record(&mut self, state: MetricState) {
        let MetricState::Numeric(entry, Some(numeric)) = state else { return };
        let value = match numeric {
            NumericEntry::Value(value) | NumericEntry::Final(value) => value,
            NumericEntry::Aggregated { aggregated_value, .. } => aggregated_value,
        };
        let Some(name) = self.names.get(&entry.metric_id) else { return };
        match self.latest.iter_mut().find(|(known, _)| known == name) {
            Some((_, latest)) => *latest = value,
            None => self.latest.push((name.clone(), value)),
        }
    }

    /// `loss 2.1345, bits per byte 1.2345, 123 items/s, ETA 1m 20s`.
    fn figures(&self) -> String {
        let mut parts: Vec<String> = self
            .latest
            .iter()
            .filter(|(name, _)| name != "Learning Rate")
            .map(|(name, value)| format!("{} {value:.4}", name.to_lowercase()))
            .collect();
        let elapsed = self.split_start.elapsed().as_secs_f64();
        if self.processed > 0 && elapsed > 0.0 {
            let rate = self.processed as f64 / elapsed;
            parts.push(if rate < 10.0 { format!("{rate:.3} items/s") } else { format!("{rate:.1} items/s") });
            if self.total > self.processed {
                let eta = Duration::from_secs_f64((self.total - self.processed) as f64 / rate);
                parts.push(format!("ETA {}", humantime::format_duration(Duration::from_secs(eta.as_secs()))));
            }
        }
        parts.join(", ")
    }

    fn refresh(&mut self) {
        match self.output {
            ProgressOutput::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_position(self.processed as u64);
                    bar.set_message(self.figures());
                }
            }
            ProgressOutput::Lines => {
                if self.last_line.elapsed() >= LOG_EVERY || (self.total > 0 && self.processed >= self.total) {
                    self.last_line = Instant::now();
                    tracing::info!(
                        "epoch {}/{} {}: {}/{} items, {}",
                        self.epoch,
                        self.epochs,
                        self.split,
                        self.processed,
                        self.total,
                        self.figures()
                    );
                }
            }
        }
    }
}

impl MetricsRendererTraining for ProgressRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.record(state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.record(state);
    }
}

impl MetricsRendererEvaluation for ProgressRenderer {
    fn update_test(&mut self, _name: EvaluationName, state: MetricState) {
        self.record(state);
    }
}

impl TrainingProgressLogger for ProgressRenderer {
    fn start(&mut self, epochs: usize, starting_epoch: usize, _total: Option<usize>, _label: Option<&str>) {
        self.epochs = epochs;
        self.epoch = starting_epoch.max(1);
    }

    fn update_epoch(&mut self, epoch: usize) {
        self.epoch = epoch + 1;
    }

    fn start_split(&mut self, split: &str, items: usize) {
        self.split = split.to_string();
        self.total = items;
        self.processed = 0;
        self.latest.clear();
        self.split_start = Instant::now();
        self.last_line = Instant::now();
        if self.output == ProgressOutput::Bar {
            let bar = ProgressBar::new(items as u64);
            let template = format!("epoch {}/{} {split} {{bar:30}} {{pos}}/{{len}} {{msg}}", self.epoch, self.epochs);
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style);
            }
            self.bar = Some(bar);
        }
    }

    fn update_split(&mut self, items: usize) {
        self.processed = items;
        self.refresh();
    }

    fn end_split(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        tracing::info!("epoch {}/{} {} done: {}", self.epoch, self.epochs, self.split, self.figures());
    }

    fn end(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn log_event_training(&mut self, event: String) {
        tracing::debug!(%event, "training event");
    }
}

impl EvaluationProgressLogger for ProgressRenderer {
    fn start_global_progress(&mut self, _total: usize) {}
    fn start_test(&mut self, _name: &str, _items: usize) {}
    fn update_test_progress(&mut self, _items: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for ProgressRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names.insert(definition.metric_id, definition.name.to_string());
    }
}
