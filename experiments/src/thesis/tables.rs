//! The ladder's tables: the headline against the control, every run, and how the runs were made.

use retrofit_core::language_model::{GainInterval, StreamEvaluation};
use retrofit_recurrent_generator::WindowLoss;

use super::statistics::epoch_noise;
use super::{ControlComparison, LadderRun, Rung};

/// `mean ± sample standard deviation` (just the mean for one value).
pub fn mean_spread(values: &[f64], digits: usize) -> String {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return format!("{mean:.digits$}");
    }
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    format!("{mean:.digits$} ± {sd:.digits$}")
}

/// The ladder as a markdown table: the reported split's bits per byte with the state carried and
/// reset, the state's part reset − carried (mean ± sd over seeds, and each seed's 95% paired
/// bootstrap interval), the loss within and beyond the back-propagation horizon, and the costs.
pub fn ladder_table(rungs: &[(Rung, Vec<LadderRun>)]) -> String {
    let mut table = String::from(
        "| rung | what it adds | seeds | selected / trained epochs | trainable / total params | bits/byte | bits/byte, state reset | state's part (reset − carried) | its 95% interval per seed | loss within / beyond horizon | perplexity | median step | tokens/s | peak memory | wall time |\n\
         |---|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (rung, runs) in rungs {
        let what = rung.what();
        let split = runs[0].evaluation.split().prefix();
        let evaluated = |value: fn(&WindowLoss) -> Option<f64>| -> Vec<f64> {
            runs.iter().filter_map(|run| value(&run.evaluation)).collect()
        };
        let plain =
            |key: &str| -> Vec<f64> { runs.iter().filter_map(|run| run.summary.final_metrics.get(key)).collect() };
        let spread = |values: Vec<f64>, digits: usize| {
            if values.is_empty() { "-".to_string() } else { mean_spread(&values, digits) }
        };
        let intervals: Vec<String> = runs
            .iter()
            .map(|run| format!("[{:+.4}, {:+.4}]", run.evaluation.gain.low, run.evaluation.gain.high))
            .collect();
        // Without a state, carried and reset are the same model: no part to show.
        let stateful = rung.carries_state();
        let horizon = format!(
            "{} / {}",
            spread(evaluated(WindowLoss::loss_within_horizon), 4),
            spread(evaluated(WindowLoss::loss_beyond_horizon), 4)
        );
        let first = &runs[0].summary;
        let throughput: Vec<f64> =
            runs.iter().filter_map(|run| run.summary.throughput.as_ref().map(|t| t.value)).collect();
        let memory: Vec<f64> =
            runs.iter().filter_map(|run| run.summary.peak_memory_bytes.map(|b| b as f64 / (1024.0 * 1024.0))).collect();
        let gpu_memory: Vec<f64> = runs
            .iter()
            .filter_map(|run| run.summary.peak_gpu_memory_bytes.map(|b| b as f64 / (1024.0 * 1024.0)))
            .collect();
        let memory = match (memory.is_empty(), gpu_memory.is_empty()) {
            (true, _) => "-".to_string(),
            (false, true) => format!("{} MiB", mean_spread(&memory, 0)),
            (false, false) => format!("{} MiB, GPU {} MiB", mean_spread(&memory, 0), mean_spread(&gpu_memory, 0)),
        };
        let wall: Vec<f64> = runs.iter().map(|run| run.summary.wall_time_s).collect();
        let epochs = runs
            .iter()
            .map(|run| match (run.summary.selected_epoch, run.summary.epochs_trained) {
                (Some(selected), Some(trained)) => format!("{selected}/{trained}"),
                _ => "-".to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        let step = spread(plain("median_step_s"), 3);
        table.push_str(&format!(
            "| {} | {what} | {} | {epochs} | {} / {} | {} ({split}) | {} | {} | {} | {horizon} | {} | {} | {} | {} | {} s |\n",
            rung.name(),
            runs.len(),
            first.parameters.trainable,
            first.parameters.total,
            spread(evaluated(|evaluation| Some(evaluation.carried.bits_per_byte)), 4),
            if stateful {
                spread(evaluated(|evaluation| Some(evaluation.reset.bits_per_byte)), 4)
            } else {
                "(no state)".to_string()
            },
            if stateful { spread(evaluated(|evaluation| Some(evaluation.gain.gain)), 4) } else { "-".to_string() },
            if !stateful || intervals.is_empty() { "-".to_string() } else { intervals.join(" ") },
            spread(evaluated(|evaluation| Some(evaluation.carried.perplexity)), 3),
            if step == "-" { step } else { format!("{step} s") },
            spread(throughput, 0),
            memory,
            mean_spread(&wall, 0),
        ));
    }
    table
}

/// How the ladder's trained runs were made, from their configs: the old protocol (a stopping
/// rule, a constant learning rate) or a fixed budget with a decaying rate; the budget, the
/// validation set, and each trained run's selected epoch.
pub fn protocol(rungs: &[(Rung, Vec<LadderRun>)]) -> String {
    let trained: Vec<&LadderRun> =
        rungs.iter().filter(|(rung, _)| !rung.is_zero_shot()).flat_map(|(_, runs)| runs.iter()).collect();
    let Some(first) = trained.first() else { return "No trained runs.".to_string() };
    let config = &first.summary.config;
    let number = |pointer: &str| config.pointer(pointer).and_then(serde_json::Value::as_u64);
    let (epochs, steps, valid) =
        (number("/training/epochs"), number("/data/steps_per_epoch"), config.pointer("/data/valid_steps"));
    let patience = number("/training/patience");
    let decay = config.pointer("/training/lr_decay/kind").and_then(serde_json::Value::as_str).unwrap_or("constant");
    let budget = match (epochs, steps) {
        (Some(epochs), Some(steps)) => format!("{epochs} epochs of {steps} steps ({} optimizer steps)", epochs * steps),
        _ => "epochs of the config".to_string(),
    };
    let valid = match valid {
        Some(serde_json::Value::Number(steps)) => format!("{steps} validation steps an epoch"),
        _ => "the whole validation split every epoch".to_string(),
    };
    let rule = match patience {
        Some(patience) => format!(
            "**Old protocol**: each run ended by the stopping rule (patience {patience}) within at most {budget}, the learning rate {decay} after the warm-up, {valid}; the comparisons follow when the rule fired as much as the rungs (issue 37), so they are not mixed with fixed-budget ladders."
        ),
        None => {
            let floor = config
                .pointer("/training/lr_decay/final_fraction")
                .and_then(serde_json::Value::as_f64)
                .map_or(String::new(), |fraction| {
                    format!(" to {:.0} % of its peak at the last step", 100.0 * fraction)
                });
            format!(
                "**Fixed budget**: every trained run takes {budget}, the learning rate {decay}{floor} after the warm-up, no stopping rule; the model reported is the best epoch on {valid}."
            )
        }
    };
    let noise: Vec<f64> = trained.iter().filter_map(|run| epoch_noise(&run.valid_bits_per_byte)).collect();
    let noise = match noise.len() {
        0 => String::new(),
        _ => {
            let mut sorted = noise.clone();
            sorted.sort_by(f64::total_cmp);
            format!(
                " Epoch-to-epoch noise of the validation bits per byte (sd of second differences / √6 over each run's last half): median {:.4}, largest {:.4}.",
                sorted[sorted.len() / 2],
                sorted[sorted.len() - 1]
            )
        }
    };
    format!("{rule}{noise}")
}

fn signed_interval(interval: &GainInterval) -> String {
    format!("{:+.4} [{:+.4}, {:+.4}]", interval.gain, interval.low, interval.high)
}

/// Mean over runs of a value of their carried evaluation, `-` when none has it.
fn mean_of(runs: &[LadderRun], value: impl Fn(&StreamEvaluation) -> f64) -> String {
    let values: Vec<f64> = runs.iter().map(|run| value(&run.evaluation.carried)).filter(|v| v.is_finite()).collect();
    if values.is_empty() { "-".to_string() } else { mean_spread(&values, 4) }
}

/// What a row says, from its intervals only: better / worse than the control where the pooled
/// interval excludes 0, and whether the carried state's own part excludes 0.
pub(super) fn reading(comparison: &ControlComparison) -> String {
    let pooled = &comparison.pooled;
    let mut text = if !pooled.excludes_zero() {
        "no difference shown".to_string()
    } else if pooled.value < 0.0 {
        "better than the control".to_string()
    } else {
        "worse than the control".to_string()
    };
    if let Some(state) = &comparison.state {
        let carries = state.reset_pooled.excludes_zero() && state.reset_pooled.value > 0.0;
        text.push_str(if carries { "; its carried state helps" } else { "; its carried state: no help shown" });
    }
    text
}

/// The headline table: each rung against the control (pooled and per seed), the part its carried
/// state makes (reset − carried, shuffled − carried), the selected epochs against the control's,
/// and the loss where only a memory can help (recall targets) and at the window's first position.
pub fn control_table(rungs: &[(Rung, Vec<LadderRun>)], comparisons: &[ControlComparison]) -> String {
    let mut table = String::from(
        "| rung | bits/byte − none, pooled [95%] | per seed [95%] | state's part: reset − carried, pooled [95%] | shuffled − carried, pooled [95%] | selected epoch − none's | reading | loss, recall targets | loss at position 0 |\n\
         |---|---:|---|---:|---:|---|---|---:|---:|\n",
    );
    for (rung, runs) in rungs {
        let comparison = comparisons.iter().find(|comparison| comparison.rung == rung.name());
        let (pooled, per_seed, epochs, read) = match comparison {
            Some(comparison) => (
                comparison.pooled.marked(),
                comparison
                    .seeds
                    .iter()
                    .zip(&comparison.per_seed)
                    .map(|(seed, interval)| format!("s{seed} {}", signed_interval(interval)))
                    .collect::<Vec<_>>()
                    .join("; "),
                comparison
                    .selected_epoch_difference
                    .iter()
                    .map(|difference| difference.map_or("-".to_string(), |d| format!("{d:+}")))
                    .collect::<Vec<_>>()
                    .join(" "),
                reading(comparison),
            ),
            None if *rung == Rung::None => ("(control)".to_string(), "-".to_string(), "-".to_string(), "-".to_string()),
            None => ("-".to_string(), "-".to_string(), "-".to_string(), "-".to_string()),
        };
        let state = comparison.and_then(|comparison| comparison.state.as_ref());
        let (reset_part, shuffled_part) = match state {
            Some(state) => (
                state.reset_pooled.marked(),
                state.shuffled_pooled.map_or("(not evaluated)".to_string(), |pooled| pooled.marked()),
            ),
            None => ("(no state)".to_string(), "-".to_string()),
        };
        table.push_str(&format!(
            "| {} | {pooled} | {per_seed} | {reset_part} | {shuffled_part} | {epochs} | {read} | {} | {} |\n",
            rung.name(),
            mean_of(runs, |evaluation| evaluation.recall.recall_loss),
            mean_of(runs, |evaluation| evaluation.loss_by_position.first().copied().unwrap_or(f64::NAN)),
        ));
    }
    table
}

/// The answer of one ladder in one table, as the top-level README shows it: each rung's difference
/// from the control (negative: better) with its pooled interval, the part its carried state makes
/// (reset − carried, positive: the state helps), its step time relative to the control's where
/// `relative_step` knows it, and its trainable parameters.
pub fn answer_table(
    rungs: &[(Rung, Vec<LadderRun>)],
    comparisons: &[ControlComparison],
    relative_step: impl Fn(&str) -> Option<f64>,
) -> String {
    let mut table = String::from(
        "| rung | bits/byte − control [95%] | carried state's part: reset − carried [95%] | step (x control) | trainable params |\n\
         |---|---:|---:|---:|---:|\n",
    );
    for (rung, runs) in rungs {
        let comparison = comparisons.iter().find(|comparison| comparison.rung == rung.name());
        let difference = match comparison {
            Some(comparison) => comparison.pooled.signed(),
            None if *rung == Rung::None => {
                let seeds = runs.len();
                format!("(control, {seeds} seed{})", if seeds == 1 { "" } else { "s" })
            }
            None => "-".to_string(),
        };
        let state = comparison
            .and_then(|comparison| comparison.state.as_ref())
            .map_or("-".to_string(), |state| state.reset_pooled.signed());
        let step = relative_step(rung.name()).map_or("-".to_string(), |step| format!("{step:.2}x"));
        table.push_str(&format!(
            "| {} | {difference} | {state} | {step} | {} |\n",
            rung.name(),
            runs[0].summary.parameters.trainable
        ));
    }
    table
}

/// Ladders that differ only in their budget, one row a rung and two columns a ladder (given as its
/// name, optimizer steps and comparisons): the rung's difference from that ladder's control, and
/// its carried state's part (reset − carried) where it carries one.
pub fn budget_table(ladders: &[(&str, usize, &[ControlComparison])]) -> String {
    let mut table = String::from("| rung |");
    for (ladder, steps, _) in ladders {
        table.push_str(&format!(" {steps} steps (`{ladder}`): bits/byte − control [95%] | reset − carried [95%] |"));
    }
    table.push_str("\n|---|");
    table.push_str(&"---:|---:|".repeat(ladders.len()));
    table.push('\n');
    for rung in Rung::ALL {
        let cells: Vec<Option<&ControlComparison>> = ladders
            .iter()
            .map(|(_, _, comparisons)| comparisons.iter().find(|comparison| comparison.rung == rung.name()))
            .collect();
        if cells.iter().all(Option::is_none) {
            continue;
        }
        table.push_str(&format!("| {} |", rung.name()));
        for cell in cells {
            let difference = cell.map_or("-".to_string(), |comparison| comparison.pooled.signed());
            let part = cell
                .and_then(|comparison| comparison.state.as_ref())
                .map_or("-".to_string(), |state| state.reset_pooled.signed());
            table.push_str(&format!(" {difference} | {part} |"));
        }
        table.push('\n');
    }
    table
}

#[cfg(test)]
mod tests {
    use super::super::control_comparisons;
    use super::super::fixtures::{evaluation, ladder_run};
    use super::*;

    #[test]
    fn the_answer_table_has_one_row_a_rung_with_its_difference_state_part_cost_and_parameters() {
        let control = |seed| ladder_run(seed, evaluation(vec![4.0, 6.0], 4));
        let rungs = vec![
            (Rung::None, vec![control(0), control(1)]),
            (Rung::SegmentState, vec![ladder_run(0, evaluation(vec![3.0, 5.0], 4))]),
        ];
        let comparisons = control_comparisons(&rungs).unwrap();
        let table = answer_table(&rungs, &comparisons, |rung| (rung == "segment-state").then_some(1.2));
        let rows: Vec<&str> = table.lines().skip(2).collect();
        assert_eq!(rows.len(), 2, "{table}");
        assert!(rows[0].starts_with("| none | (control, 2 seeds) |"), "{table}");
        // 1 nat less a window of 40 bytes, one seed: marked; its state's part is there; 1.20x.
        let expected = format!("{:+.4}", -1.0 / (40.0 * std::f64::consts::LN_2));
        assert!(rows[1].contains(&expected) && rows[1].contains("(1 seed)"), "{table}");
        assert!(rows[1].contains("| 1.20x | 1 |"), "{table}");
    }

    #[test]
    fn the_budget_table_has_a_row_a_rung_and_two_columns_a_budget() {
        let control = |seed| ladder_run(seed, evaluation(vec![4.0, 6.0], 4));
        let short = vec![
            (Rung::None, vec![control(0)]),
            (Rung::SegmentState, vec![ladder_run(0, evaluation(vec![3.0, 5.0], 4))]),
        ];
        let long =
            vec![(Rung::None, vec![control(0)]), (Rung::TokenGru, vec![ladder_run(0, evaluation(vec![4.0, 5.0], 4))])];
        let (short_comparisons, long_comparisons) =
            (control_comparisons(&short).unwrap(), control_comparisons(&long).unwrap());
        let table = budget_table(&[("a", 500, &short_comparisons), ("b", 2000, &long_comparisons)]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].contains("500 steps (`a`)") && lines[0].contains("2000 steps (`b`)"), "{table}");
        assert_eq!(lines[1], "|---|---:|---:|---:|---:|");
        // The control is no row (it is each column's reference); each rung where its ladder ran it.
        assert_eq!(lines.len(), 4, "{table}");
        let (gru, segment) = (lines[2], lines[3]);
        let difference = |nats: f64| format!("{:+.4}", -nats / (40.0 * std::f64::consts::LN_2));
        assert!(segment.starts_with("| segment-state |") && segment.contains(&difference(1.0)), "{table}");
        assert!(segment.ends_with("| - | - |"), "{table}");
        assert!(gru.starts_with("| token-gru | - | - |") && gru.contains(&difference(0.5)), "{table}");
    }
}
