//! When a row of a generated batch is finished: after `max_new_tokens`, or at the first of its
//! stop tokens (an end-of-text id), which is kept as its last token.

/// Tracks which rows of a batch have finished.
#[derive(Debug, Clone)]
pub struct StopRule {
    stop_ids: Vec<u32>,
    finished: Vec<bool>,
}

impl StopRule {
    /// A rule for `batch` rows that stops a row at any of `stop_ids` (none: never early).
    pub fn new(batch: usize, stop_ids: &[u32]) -> Self {
        Self { stop_ids: stop_ids.to_vec(), finished: vec![false; batch] }
    }

    /// Whether `row` still takes tokens.
    pub fn is_running(&self, row: usize) -> bool {
        !self.finished[row]
    }

    /// Records that `row` produced `token`.
    pub fn observe(&mut self, row: usize, token: u32) {
        if self.stop_ids.contains(&token) {
            self.finished[row] = true;
        }
    }

    /// Whether every row has finished.
    pub fn all_finished(&self) -> bool {
        self.finished.iter().all(|&finished| finished)
    }
}
