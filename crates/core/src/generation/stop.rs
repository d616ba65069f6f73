//! When a row of a generated batch is finished: after `max_new_tokens`, or at the first of its
//! stop tokens (the model's end-of-sequence ids), which is kept as its last token.

use std::fmt;

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

/// Why a generated sequence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// It produced this end-of-sequence id (its last token).
    EndOfSequence(u32),
    /// It used every new token it was allowed.
    TokenBudget,
}

impl StopReason {
    /// Why `new_tokens`, generated with `stop_ids` as the stop rule, ended: at a stop id when it
    /// is their last token (generation ends a row at its first), else at the token budget.
    pub fn of(new_tokens: &[u32], stop_ids: &[u32]) -> Self {
        match new_tokens.last() {
            Some(&last) if stop_ids.contains(&last) => Self::EndOfSequence(last),
            _ => Self::TokenBudget,
        }
    }

    /// The tokens that are text: `new_tokens` without the end-of-sequence id that ended them.
    pub fn text_tokens<'a>(&self, new_tokens: &'a [u32]) -> &'a [u32] {
        match self {
            Self::EndOfSequence(_) => &new_tokens[..new_tokens.len().saturating_sub(1)],
            Self::TokenBudget => new_tokens,
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EndOfSequence(id) => write!(f, "end of sequence (id {id})"),
            Self::TokenBudget => f.write_str("token budget"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_is_the_last_token_when_it_is_a_stop_id() {
        assert_eq!(StopReason::of(&[5, 7, 2], &[2, 9]), StopReason::EndOfSequence(2));
        assert_eq!(StopReason::of(&[5, 7, 3], &[2, 9]), StopReason::TokenBudget);
        assert_eq!(StopReason::of(&[5, 2, 3], &[2]), StopReason::TokenBudget);
        assert_eq!(StopReason::of(&[5, 2], &[]), StopReason::TokenBudget);
        assert_eq!(StopReason::of(&[], &[2]), StopReason::TokenBudget);
        assert_eq!(StopReason::EndOfSequence(2).text_tokens(&[5, 7, 2]), &[5, 7]);
        assert_eq!(StopReason::TokenBudget.text_tokens(&[5, 7, 3]), &[5, 7, 3]);
    }
}
