//! Model selection: the epoch a run reports is the one with the lowest validation loss (mean over
//! the epoch), and the stopping rule ends a run `patience` epochs after that epoch. Both read the
//! validation losses from the Learner's logs in the run directory (one file per epoch), so they
//! agree with each other, and a resumed run has the same stopping state as the uninterrupted one
//! (the logs of the epochs before its checkpoint are kept, those after it removed): the state of
//! the rule is those logs, not a counter in memory.

use burn::train::EarlyStoppingStrategy;
use burn::train::metric::store::{Aggregate, EventStoreClient, Split};

/// The selected epoch (1-based) of per-epoch validation losses: the first lowest one. `None`
/// when there are none (or only NaNs).
pub fn selected_epoch(valid_losses: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (index, &loss) in valid_losses.iter().enumerate() {
        if loss.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, lowest)| loss < lowest) {
            best = Some((index + 1, loss));
        }
    }
    best.map(|(epoch, _)| epoch)
}

/// The stopping rule: stop after epoch `e` when no epoch since the selected one (see
/// [`selected_epoch`] of epochs `1..=e`) improved on it, for `patience` epochs.
#[derive(Debug, Clone)]
pub struct NoImprovementStopping {
    /// The Learner's name of the loss metric (`Loss`).
    metric: String,
    patience: usize,
}

impl NoImprovementStopping {
    pub fn new(metric: &str, patience: usize) -> Self {
        Self { metric: metric.to_string(), patience }
    }

    /// Whether a run whose validation losses so far are `valid_losses` stops now.
    pub fn stops_after(&self, valid_losses: &[f64]) -> bool {
        match selected_epoch(valid_losses) {
            Some(best) => valid_losses.len() - best >= self.patience,
            None => false,
        }
    }

    /// The epoch (1-based) after which a run whose per-epoch validation losses are `valid_losses`
    /// stops, or `None` when the rule does not fire within them. The run then reports
    /// [`selected_epoch`] of the losses up to that epoch.
    pub fn stopping_epoch(&self, valid_losses: &[f64]) -> Option<usize> {
        (1..=valid_losses.len()).find(|&epoch| self.stops_after(&valid_losses[..epoch]))
    }
}

impl EarlyStoppingStrategy for NoImprovementStopping {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        let losses: Vec<f64> = (1..=epoch)
            .map(|past| store.find_metric(&self.metric, past, Aggregate::Mean, &Split::Valid).unwrap_or(f64::NAN))
            .collect();
        let stop = self.stops_after(&losses);
        if stop {
            tracing::info!(
                epoch,
                selected = selected_epoch(&losses),
                patience = self.patience,
                "stopping: no better validation loss for {} epochs",
                self.patience
            );
        }
        stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_lowest_loss_is_selected_and_nans_are_skipped() {
        assert_eq!(selected_epoch(&[]), None);
        assert_eq!(selected_epoch(&[f64::NAN]), None);
        assert_eq!(selected_epoch(&[3.0, 2.0, 2.0, 2.5]), Some(2));
        assert_eq!(selected_epoch(&[f64::NAN, 3.0, 1.0]), Some(3));
    }

    #[test]
    fn the_rule_stops_patience_epochs_after_the_selected_one() {
        let rule = NoImprovementStopping::new("Loss", 2);
        assert!(!rule.stops_after(&[3.0, 2.0]));
        assert!(!rule.stops_after(&[3.0, 2.0, 2.1]));
        assert!(rule.stops_after(&[3.0, 2.0, 2.1, 2.0]));
        assert!(!rule.stops_after(&[3.0, 2.0, 2.1, 1.9]));
    }

    /// A curve measured on an AMD EPYC with AVX-512 (issue 36): epochs 2 and 3 are worse than
    /// epoch 1, so patience 2 stops after epoch 3 and reports epoch 1, although the lowest loss of
    /// the whole curve is epoch 5's.
    #[test]
    fn the_rule_stops_on_the_first_run_of_patience_epochs_without_improvement() {
        let curve = [4.2934, 4.4143, 4.8654, 4.0467, 3.7286, 3.9134, 4.0411, 4.1695];
        let rule = NoImprovementStopping::new("Loss", 2);
        assert_eq!(rule.stopping_epoch(&curve), Some(3));
        assert_eq!(selected_epoch(&curve[..3]), Some(1));
        // Patience off: every epoch trained, the lowest selected.
        assert_eq!(selected_epoch(&curve), Some(5));
        // Patience 3 waits out the bad start, then stops 3 epochs after epoch 5.
        assert_eq!(NoImprovementStopping::new("Loss", 3).stopping_epoch(&curve), Some(8));
        // The rule never fires on a curve that keeps improving, nor before `patience` epochs.
        assert_eq!(rule.stopping_epoch(&[3.0, 2.0, 1.0]), None);
        assert_eq!(rule.stopping_epoch(&[3.0, 4.0]), None);
        assert_eq!(rule.stopping_epoch(&[]), None);
    }
}
