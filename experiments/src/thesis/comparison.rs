//! Each rung against the control, paired window by window and seed by seed, with what its
//! carried state contributes and how the differences go with the selected epochs.

use anyhow::Context;
use retrofit_core::language_model::{GainInterval, PairedUnit, bootstrap_difference, paired_units};
use retrofit_recurrent_generator::BOOTSTRAP_RESAMPLES;
use serde::Serialize;

use super::statistics::{PooledInterval, mean_sd, pearson, pooled_interval};
use super::{LadderRun, Rung};

/// What a rung's carried state contributes on its own evaluation text, per seed and pooled:
/// bits per byte with the state reset before every window minus with it carried (positive: the
/// carried state helps), and with every stream reading another stream's state minus carried
/// (positive: the state knows something of its own stream).
#[derive(Debug, Clone, Serialize)]
pub struct StateContribution {
    pub seeds: Vec<u64>,
    pub reset_minus_carried: Vec<GainInterval>,
    pub reset_pooled: PooledInterval,
    /// Seeds evaluated with shuffled states (runs made before that evaluation existed have none).
    pub shuffled_seeds: Vec<u64>,
    pub shuffled_minus_carried: Vec<GainInterval>,
    pub shuffled_pooled: Option<PooledInterval>,
}

/// A rung against the control (`none`): the difference rung − control in bits per byte on the
/// same text (negative: the rung predicts better), paired window by window, per seed and pooled.
#[derive(Debug, Clone, Serialize)]
pub struct ControlComparison {
    pub rung: String,
    /// Seeds paired (the zero-shot base, the same for every seed, pairs its one run with every
    /// seed of the control).
    pub seeds: Vec<u64>,
    /// Per seed: the paired bootstrap over its windows.
    pub per_seed: Vec<GainInterval>,
    /// Pooled over seeds: the wider of a t-interval over the per-seed differences and a two-stage
    /// bootstrap (seeds with replacement, then windows within each drawn seed); one seed marked.
    pub pooled: PooledInterval,
    /// Per seed: the rung's selected epoch minus the control's (`None` where one has none).
    pub selected_epoch_difference: Vec<Option<i64>>,
    /// For the rungs that carry a state.
    pub state: Option<StateContribution>,
}

/// The pooled interval of per-seed paired unit groups.
fn pooled_of(groups: &[Vec<PairedUnit>], per_seed: &[GainInterval]) -> anyhow::Result<PooledInterval> {
    let bootstrap = bootstrap_difference(groups, 0.95, BOOTSTRAP_RESAMPLES, 0)?;
    let values: Vec<f64> = per_seed.iter().map(|interval| interval.gain).collect();
    Ok(pooled_interval(&values, &bootstrap))
}

/// What the carried state of `runs` contributes (`None` for a rung that carries none).
fn state_contribution(rung: Rung, runs: &[LadderRun]) -> anyhow::Result<Option<StateContribution>> {
    if !rung.carries_state() {
        return Ok(None);
    }
    let mut groups = Vec::new();
    for run in runs {
        groups.push(paired_units(&run.evaluation.reset, &run.evaluation.carried)?);
    }
    let reset_minus_carried: Vec<GainInterval> = runs.iter().map(|run| run.evaluation.gain).collect();
    let reset_pooled = pooled_of(&groups, &reset_minus_carried)?;
    let (mut shuffled_seeds, mut shuffled_groups, mut shuffled_minus_carried) = (Vec::new(), Vec::new(), Vec::new());
    for run in runs {
        if let (Some(shuffled), Some(gain)) = (&run.evaluation.shuffled, &run.evaluation.shuffle_gain) {
            shuffled_seeds.push(run.seed);
            shuffled_groups.push(paired_units(shuffled, &run.evaluation.carried)?);
            shuffled_minus_carried.push(*gain);
        }
    }
    let shuffled_pooled =
        if shuffled_groups.is_empty() { None } else { Some(pooled_of(&shuffled_groups, &shuffled_minus_carried)?) };
    Ok(Some(StateContribution {
        seeds: runs.iter().map(|run| run.seed).collect(),
        reset_minus_carried,
        reset_pooled,
        shuffled_seeds,
        shuffled_minus_carried,
        shuffled_pooled,
    }))
}

/// Every rung but the control against the control, from the runs' carried evaluations. Rungs
/// without a control run to pair with are left out.
pub fn control_comparisons(rungs: &[(Rung, Vec<LadderRun>)]) -> anyhow::Result<Vec<ControlComparison>> {
    let Some((_, control)) = rungs.iter().find(|(rung, _)| *rung == Rung::None) else { return Ok(Vec::new()) };
    let mut comparisons = Vec::new();
    for (rung, runs) in rungs.iter().filter(|(rung, _)| *rung != Rung::None) {
        let mut seeds = Vec::new();
        let mut groups: Vec<Vec<PairedUnit>> = Vec::new();
        let mut selected_epoch_difference = Vec::new();
        for reference in control {
            // The zero-shot base is the same model for every seed: its one run pairs with each.
            // A trained rung pairs seed with seed, also while a ladder has not run every seed.
            let paired = match runs.as_slice() {
                [only] if rung.is_zero_shot() => Some(only),
                _ => runs.iter().find(|run| run.seed == reference.seed),
            };
            let Some(run) = paired else { continue };
            let units = paired_units(&run.evaluation.carried, &reference.evaluation.carried)
                .with_context(|| format!("{} seed {} against none", rung.name(), reference.seed))?;
            seeds.push(reference.seed);
            groups.push(units);
            selected_epoch_difference.push(match (run.summary.selected_epoch, reference.summary.selected_epoch) {
                (Some(rung_epoch), Some(control_epoch)) => Some(rung_epoch as i64 - control_epoch as i64),
                _ => None,
            });
        }
        if groups.is_empty() {
            continue;
        }
        let per_seed: Vec<GainInterval> = groups
            .iter()
            .map(|group| bootstrap_difference(std::slice::from_ref(group), 0.95, BOOTSTRAP_RESAMPLES, 0))
            .collect::<Result<_, _>>()?;
        comparisons.push(ControlComparison {
            rung: rung.name().to_string(),
            seeds,
            pooled: pooled_of(&groups, &per_seed)?,
            per_seed,
            selected_epoch_difference,
            state: state_contribution(*rung, runs)?,
        });
    }
    Ok(comparisons)
}

/// How a rung's difference from the control goes with its difference in selected epoch, over
/// every paired seed of the rungs with inserted blocks: what a stopping rule does to a
/// comparison (under a fixed budget with a decaying rate, runs select alike and this is empty).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochCorrelation {
    /// Paired comparisons with a selected epoch on both sides.
    pub pairs: usize,
    /// Of them, the ones that selected the same epoch as the control.
    pub same_epoch: usize,
    /// Pearson's r of (selected epoch − control's, rung − control), `None` where undefined.
    pub r: Option<f64>,
}

/// [`EpochCorrelation`] of `comparisons`.
pub fn epoch_correlation(comparisons: &[ControlComparison]) -> EpochCorrelation {
    let pairs: Vec<(f64, f64)> = comparisons
        .iter()
        .filter(|comparison| !matches!(comparison.rung.as_str(), "zero-shot" | "zero-shot-cache" | "head-bias"))
        .flat_map(|comparison| {
            comparison
                .selected_epoch_difference
                .iter()
                .zip(&comparison.per_seed)
                .filter_map(|(epochs, interval)| epochs.map(|epochs| (epochs as f64, interval.gain)))
        })
        .collect();
    EpochCorrelation {
        pairs: pairs.len(),
        same_epoch: pairs.iter().filter(|(epochs, _)| *epochs == 0.0).count(),
        r: pearson(&pairs),
    }
}

/// The control's test bits per byte seed by seed and its spread: `s0 1.2345, s1 1.2400 (sd 0.0039)`.
pub fn control_spread(rungs: &[(Rung, Vec<LadderRun>)]) -> Option<String> {
    let (_, control) = rungs.iter().find(|(rung, _)| *rung == Rung::None)?;
    let values: Vec<f64> = control.iter().map(|run| run.evaluation.carried.bits_per_byte).collect();
    let seeds: Vec<String> =
        control.iter().zip(&values).map(|(run, value)| format!("s{} {value:.4}", run.seed)).collect();
    let spread = match mean_sd(&values) {
        Some((_, sd)) => format!(
            " (sd {sd:.4}, range {:.4})",
            values.iter().cloned().fold(f64::MIN, f64::max) - values.iter().cloned().fold(f64::MAX, f64::min)
        ),
        None => " (one seed: no spread measured)".to_string(),
    };
    Some(format!("{}{spread}", seeds.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{evaluation, ladder_run};
    use super::super::statistics::IntervalMethod;
    use super::super::tables::{control_table, reading};
    use super::*;
    use retrofit_core::language_model::paired_gain_interval;

    #[test]
    fn every_rung_is_paired_with_the_control_by_seed_and_the_zero_shot_run_with_every_seed() {
        let control = |seed| ladder_run(seed, evaluation(vec![4.0, 6.0, 4.0, 6.0], 4));
        // Twice the window: one of its windows against two of the control's, 1 nat better each.
        let long = |seed| ladder_run(seed, evaluation(vec![9.0, 9.0], 8));
        let rungs = vec![
            (Rung::ZeroShot, vec![ladder_run(0, evaluation(vec![8.0; 4], 4))]),
            (Rung::None, vec![control(0), control(1)]),
            (Rung::NoneLong, vec![long(0), long(1)]),
            // A trained rung whose seed 1 has not run yet pairs only with the control's seed 0.
            (Rung::SegmentState, vec![control(0)]),
        ];
        let comparisons = control_comparisons(&rungs).unwrap();
        assert_eq!(comparisons.len(), 3);
        assert_eq!((comparisons[2].rung.as_str(), comparisons[2].seeds.as_slice()), ("segment-state", &[0][..]));
        let zero_shot = &comparisons[0];
        assert_eq!((zero_shot.rung.as_str(), zero_shot.seeds.as_slice()), ("zero-shot", &[0, 1][..]));
        let long = &comparisons[1];
        let expected = -2.0 / (160.0 * std::f64::consts::LN_2);
        assert!((long.pooled.value - expected).abs() < 1e-12, "{:?}", long.pooled);
        assert!(long.per_seed.iter().all(|interval| (interval.gain - expected).abs() < 1e-12));
        let table = control_table(&rungs, &comparisons);
        assert!(table.contains("| none | (control) |"), "{table}");
        // Two seeds that agree exactly: the t-interval has no width and the bootstrap decides.
        assert_eq!(long.pooled.method, IntervalMethod::HierarchicalBootstrap);
        // One seed of segment-state: marked, and its carried state's part is there (0 here:
        // these fixtures' reset evaluation equals the carried one).
        assert_eq!(comparisons[2].pooled.method, IntervalMethod::OneSeed);
        let state = comparisons[2].state.as_ref().unwrap();
        assert_eq!((state.reset_pooled.value, state.shuffled_pooled), (0.0, None));
        assert!(comparisons[1].state.is_none(), "none-long carries nothing");
        assert!(table.contains("(1 seed)") && table.contains("(not evaluated)"), "{table}");
    }

    /// A rung whose carried state helps in every seed (reset 1 nat worse a window, shuffled half a
    /// nat), and the correlation of differences with selected epochs, on numbers whose answer is
    /// known.
    #[test]
    fn the_state_part_and_the_epoch_correlation_of_known_numbers() {
        let with_state = |seed, carried: Vec<f64>, epoch: usize| {
            let mut run = ladder_run(seed, evaluation(carried.clone(), 4));
            run.evaluation.reset = evaluation(carried.iter().map(|nll| nll + 1.0).collect(), 4);
            run.evaluation.shuffled = Some(evaluation(carried.iter().map(|nll| nll + 0.5).collect(), 4));
            run.evaluation.gain =
                paired_gain_interval(&run.evaluation.carried, &run.evaluation.reset, 0.95, 100, 0).unwrap();
            run.evaluation.shuffle_gain = Some(
                paired_gain_interval(&run.evaluation.carried, run.evaluation.shuffled.as_ref().unwrap(), 0.95, 100, 0)
                    .unwrap(),
            );
            run.summary.selected_epoch = Some(epoch);
            run
        };
        let control = |seed| with_state(seed, vec![4.0, 6.0, 4.0, 6.0], 10);
        // Seeds 0, 1, 2 of the rung select 2 epochs later, the same, 2 earlier than the control,
        // and are 0.5 nats a window better, equal, 0.5 worse: the difference falls as the epoch
        // difference grows, r = -1.
        let rung =
            |seed, shift: f64, epoch| with_state(seed, vec![4.0 + shift, 6.0 + shift, 4.0 + shift, 6.0 + shift], epoch);
        let rungs = vec![
            (Rung::None, vec![control(0), control(1), control(2)]),
            (Rung::SegmentState, vec![rung(0, -0.5, 12), rung(1, 0.0, 10), rung(2, 0.5, 8)]),
        ];
        let comparisons = control_comparisons(&rungs).unwrap();
        let state = comparisons[0].state.as_ref().unwrap();
        // 1 nat over 4 tokens of 10 bytes: 0.1 / ln 2 bits per byte, in every window.
        let one_nat = 1.0 / (40.0 * std::f64::consts::LN_2);
        assert!((state.reset_pooled.value - one_nat).abs() < 1e-12 && state.reset_pooled.excludes_zero());
        let shuffled = state.shuffled_pooled.unwrap();
        assert!((shuffled.value - one_nat / 2.0).abs() < 1e-12);
        assert_eq!(comparisons[0].selected_epoch_difference, vec![Some(2), Some(0), Some(-2)]);
        let correlation = epoch_correlation(&comparisons);
        assert_eq!((correlation.pairs, correlation.same_epoch), (3, 1));
        assert!((correlation.r.unwrap() + 1.0).abs() < 1e-12, "{correlation:?}");
        // Seeds that disagree in sign: the t-interval over seeds is the wider and includes 0.
        assert_eq!(comparisons[0].pooled.method, IntervalMethod::TOverSeeds);
        assert!(!comparisons[0].pooled.excludes_zero());
        assert!(reading(&comparisons[0]).contains("its carried state helps"));
        assert!(control_spread(&rungs).unwrap().contains("sd 0.0000"));
    }
}
