//! Every figure kind built from a small ladder of known numbers, checked for what a reader relies
//! on (series told apart, the legend beside the data, every mean with its interval) and drawn.

use std::collections::HashSet;

use crate::figure::{Dash, Estimate, Figure, FigureProblem, Geometry, Layout, Panel, Point, Scale, Series, write_svg};
use crate::rung_cost::{LadderCost, RungCost};

use super::fixtures::{evaluation, ladder_run};
use super::{
    BudgetLadder, CostLadder, LadderRun, Rung, WindowLadder, bits_per_byte_by_window, control_comparisons, cost_figure,
    loss_curve_figure, rungs_by_budget, window_loss_figure,
};

/// A run of `windows` windows of `context` tokens whose loss is `nll` nats a token, plus `shift`
/// at the first quarter of every window (`reset_shift` there with its state reset).
fn run(seed: u64, context: usize, windows: usize, nll: f64, shift: f64, reset_shift: f64) -> LadderRun {
    let window_nll: Vec<f64> = (0..windows).map(|w| (nll + 0.01 * (w % 3) as f64) * context as f64).collect();
    let mut run = ladder_run(seed, evaluation(window_nll, context));
    let positions = |extra: f64| -> Vec<f64> {
        (0..context).map(|p| nll + if p < context / 4 { extra } else { 0.0 } + 0.001 * seed as f64).collect()
    };
    run.evaluation.carried.loss_by_position = positions(shift);
    run.evaluation.carried.bits_per_byte = nll / (10.0 * std::f64::consts::LN_2) + 0.001 * seed as f64;
    run.evaluation.reset = run.evaluation.carried.clone();
    run.evaluation.reset.loss_by_position = positions(reset_shift);
    run.evaluation.reset.loss_by_window.iter_mut().for_each(|loss| *loss += reset_shift / 4.0);
    run.summary.config = serde_json::json!({ "data": { "context": context } });
    run.train_loss = (0..60).map(|step| 5.0 - 0.02 * step as f64 + 0.05 * seed as f64).collect();
    run
}

/// A ladder of window `context`: the control and 3 rungs of 3 seeds, token-gru of 2 and the
/// zero-shot base of 1.
fn ladder(context: usize) -> Vec<(Rung, Vec<LadderRun>)> {
    let seeds = |rung: fn(u64) -> LadderRun, count: u64| (0..count).map(rung).collect::<Vec<_>>();
    let mut zero_shot = run(0, context, 16, 5.0, 0.0, 0.0);
    zero_shot.train_loss.clear();
    let mut rungs = vec![
        (Rung::ZeroShot, vec![zero_shot]),
        (Rung::None, seeds(|seed| run(seed, 8, 16, 3.0, 0.0, 0.0), 3)),
        // Twice the window: half the windows, and its first half of each window like the control's.
        (Rung::NoneLong, seeds(|seed| run(seed, 16, 8, 2.95, 0.0, 0.0), 3)),
        (Rung::TokenGru, seeds(|seed| run(seed, 8, 16, 2.98, 0.0, 0.0), 2)),
        (Rung::SegmentState, seeds(|seed| run(seed, 8, 16, 2.97, -0.2, 0.1), 3)),
    ];
    if context != 8 {
        for (_, runs) in &mut rungs {
            for run in runs {
                run.summary.config = serde_json::json!({ "data": { "context": context } });
            }
        }
    }
    rungs
}

fn cost() -> LadderCost {
    let rung = |name: &str, step: Option<f64>| RungCost {
        rung: name.to_string(),
        trainable_parameters: 1,
        total_parameters: 2,
        median_step_s: step,
        median_step_s_by_pass: step.into_iter().collect(),
        peak_memory_bytes: None,
        peak_gpu_memory_bytes: None,
    };
    LadderCost {
        machine: "test".to_string(),
        device: "cpu".to_string(),
        threads: None,
        git_commit: None,
        steps: 1,
        passes: 1,
        command: String::new(),
        rungs: vec![
            rung("zero-shot", None),
            rung("none", Some(1.0)),
            rung("none-long", Some(1.4)),
            rung("token-gru", Some(2.5)),
            rung("segment-state", Some(1.2)),
        ],
    }
}

/// Checks `figure` as a reader would and draws it: no problems, the legend beside every data
/// area, the legend's `labels`, every series' colour in the SVG.
fn check_and_draw(figure: &Figure, labels: &[&str]) {
    assert_eq!(figure.problems(), Vec::new(), "{figure:#?}");
    let layout = Layout::of(figure);
    assert!(layout.panels.iter().all(|(_, data)| !layout.legend.overlaps(data)));
    let legend: Vec<&str> = figure.legend().iter().map(|(label, ..)| *label).collect();
    assert_eq!(legend, labels);
    let looks: HashSet<_> = figure.legend().iter().map(|(_, look, dash, _)| (look.colour, *dash)).collect();
    assert_eq!(looks.len(), labels.len(), "no two entries share colour and dash");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("figure.svg");
    write_svg(figure, &path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
    for (label, look, ..) in figure.legend() {
        assert!(svg.contains(&look.colour.hex()), "{label}'s colour is drawn");
        assert!(svg.contains(&format!("\n{label}\n")), "{label} is in the legend");
    }
}

#[test]
fn the_loss_curves_are_one_trace_a_trained_rung_with_its_band() {
    let rungs = ladder(8);
    let figure = loss_curve_figure("x", &rungs).unwrap();
    check_and_draw(&figure, &["none", "none-long", "token-gru", "segment-state"]);
    let control = &figure.panels[0].series[0];
    assert_eq!(control.estimate, Estimate::OverSeeds { seeds: 3 });
    // Steps from 1, every point with the seeds' interval around the mean of 5 - 0.02 step + 0.05.
    assert_eq!(control.points[0].x, 1.0);
    assert!((control.points[0].y - 5.05).abs() < 1e-12);
    assert!(control.points.iter().all(|point| point.interval.is_some()));
    assert_eq!(figure.panels[0].x.scale, Scale::Integer);
}

#[test]
fn the_window_loss_is_each_rung_minus_the_control_by_position_and_along_the_text() {
    let rungs = ladder(8);
    let figure = window_loss_figure("x", &rungs).unwrap();
    check_and_draw(
        &figure,
        &["none (control)", "none-long", "token-gru", "segment-state, state carried", "segment-state, state reset"],
    );
    assert_eq!(figure.panels.len(), 2);
    let by_position = &figure.panels[0];
    let series = |label: &str| by_position.series.iter().find(|series| series.label == label).unwrap();
    // segment-state: 0.2 nats better than the control at the first quarter of the window with its
    // state carried, 0.1 worse with it reset, 0.03 better elsewhere; one colour, solid and dashed.
    let (carried, reset) = (series("segment-state, state carried"), series("segment-state, state reset"));
    assert_eq!((carried.look, carried.dash, reset.dash), (Rung::SegmentState.look(), Dash::Solid, Dash::Dashed));
    assert_eq!(carried.points.len(), 8);
    assert!((carried.points[0].y + 0.23).abs() < 1e-9 && (reset.points[1].y - 0.07).abs() < 1e-9);
    assert!((carried.points[7].y + 0.03).abs() < 1e-9);
    // none-long's 16 positions are folded onto the control's 8.
    assert_eq!(series("none-long").points.len(), 8);
    assert!((series("none-long").points[0].y + 0.05).abs() < 1e-9);
    // Along the text: bins of windows at their centres; none-long's window w/2 against the control's w.
    let along = &figure.panels[1];
    let long = along.series.iter().find(|series| series.label == "none-long").unwrap();
    assert_eq!(long.points.first().map(|point| point.x), Some(0.5));
    assert!(long.points.iter().all(|point| point.interval.is_some()));
}

#[test]
fn bits_per_byte_by_window_has_markers_on_a_log2_axis_and_the_difference_with_its_interval() {
    let (short, mut long) = (ladder(8), ladder(32));
    long.remove(0);
    let (short_comparisons, long_comparisons) =
        (control_comparisons(&short).unwrap(), control_comparisons(&long).unwrap());
    let figure = bits_per_byte_by_window(
        "t",
        &[
            WindowLadder { window: 32, rungs: &long, comparisons: &long_comparisons },
            WindowLadder { window: 8, rungs: &short, comparisons: &short_comparisons },
        ],
    );
    check_and_draw(&figure, &["zero-shot", "none", "none-long", "token-gru", "segment-state"]);
    let [absolute, difference] = &figure.panels[..] else { panic!("two panels") };
    assert_eq!((absolute.x.scale, difference.x.scale), (Scale::Log2, Scale::Log2));
    let control = &absolute.series[1];
    assert_eq!(control.geometry, Geometry::Measured);
    assert_eq!(control.points.iter().map(|point| point.x).collect::<Vec<_>>(), [8.0, 32.0]);
    // The zero-shot base ran at one window only.
    assert_eq!(absolute.series[0].points.len(), 1);
    // The difference panel: the control at 0, the others with the pooled interval of the tables.
    assert_eq!(difference.series[0].estimate, Estimate::Reference);
    let gru = difference.series.iter().find(|series| series.label == "token-gru").unwrap();
    let pooled = short_comparisons.iter().find(|comparison| comparison.rung == "token-gru").unwrap().pooled;
    assert_eq!(gru.points[0], Point::new(8.0, pooled.value, Some((pooled.low, pooled.high))));
}

#[test]
fn the_rungs_by_budget_have_the_difference_and_the_state_part_on_a_log2_axis_of_steps() {
    let (short, mut long) = (ladder(8), ladder(8));
    long.retain(|(rung, _)| matches!(rung, Rung::None | Rung::SegmentState));
    let (short_comparisons, long_comparisons) =
        (control_comparisons(&short).unwrap(), control_comparisons(&long).unwrap());
    let figure = rungs_by_budget(
        "b",
        &[
            BudgetLadder { steps: 2000, comparisons: &long_comparisons },
            BudgetLadder { steps: 500, comparisons: &short_comparisons },
        ],
    );
    check_and_draw(&figure, &["none", "zero-shot", "none-long", "token-gru", "segment-state"]);
    let [difference, part] = &figure.panels[..] else { panic!("two panels") };
    assert_eq!((difference.x.scale, part.x.scale), (Scale::Log2, Scale::Log2));
    // The control at 0 at both budgets, in order of steps.
    assert_eq!(difference.series[0].estimate, Estimate::Reference);
    assert_eq!(difference.series[0].points.iter().map(|point| point.x).collect::<Vec<_>>(), [500.0, 2000.0]);
    // A rung at the budgets whose ladder ran it, with the pooled interval of the tables.
    let gru = difference.series.iter().find(|series| series.label == "token-gru").unwrap();
    assert_eq!(gru.points.len(), 1);
    let segment = difference.series.iter().find(|series| series.label == "segment-state").unwrap();
    let pooled = long_comparisons.iter().find(|comparison| comparison.rung == "segment-state").unwrap().pooled;
    assert_eq!(segment.points[1], Point::new(2000.0, pooled.value, Some((pooled.low, pooled.high))));
    // Only a rung with a state has a part: segment-state's reset − carried at both budgets.
    assert_eq!(part.series.iter().map(|series| series.label.as_str()).collect::<Vec<_>>(), ["segment-state"]);
    let state = long_comparisons.iter().find(|comparison| comparison.rung == "segment-state").unwrap();
    let reset = state.state.as_ref().unwrap().reset_pooled;
    assert_eq!(part.series[0].points[1], Point::new(2000.0, reset.value, Some((reset.low, reset.high))));
}

#[test]
fn the_cost_figure_is_one_point_a_measured_rung_a_panel_a_ladder() {
    let rungs = ladder(8);
    let comparisons = control_comparisons(&rungs).unwrap();
    let cost = cost();
    let one = cost_figure("c", &[CostLadder { title: "w8", comparisons: &comparisons, cost: &cost }]).unwrap();
    // zero-shot has no measured step and is left out.
    check_and_draw(&one, &["none", "none-long", "token-gru", "segment-state"]);
    let gru = one.panels[0].series.iter().find(|series| series.label == "token-gru").unwrap();
    assert_eq!((gru.points.len(), gru.points[0].x, gru.geometry), (1, 2.5, Geometry::Points));
    assert!(gru.points[0].interval.is_some());
    let two = cost_figure(
        "c",
        &[
            CostLadder { title: "w8", comparisons: &comparisons, cost: &cost },
            CostLadder { title: "w32", comparisons: &comparisons, cost: &cost },
        ],
    )
    .unwrap();
    assert_eq!(two.panels.len(), 2);
    check_and_draw(&two, &["none", "none-long", "token-gru", "segment-state"]);
}

#[test]
fn the_checks_catch_a_shared_look_a_missing_interval_and_two_looks_of_one_label() {
    let series = |label: &str, rung: Rung, dash, interval| Series {
        label: label.to_string(),
        look: rung.look(),
        dash,
        geometry: Geometry::Trace,
        estimate: Estimate::OverSeeds { seeds: 2 },
        points: vec![Point::new(1.0, 1.0, interval), Point::new(2.0, 1.5, interval)],
    };
    let figure = |series: Vec<Series>| Figure {
        title: "t".to_string(),
        note: String::new(),
        columns: 1,
        panels: vec![Panel {
            title: "p".to_string(),
            x: crate::figure::Axis { label: "x".to_string(), scale: Scale::Integer },
            y: crate::figure::Axis { label: "y".to_string(), scale: Scale::Linear },
            series,
        }],
    };
    let band = Some((0.5, 2.0));
    assert_eq!(
        figure(vec![series("a", Rung::Memory, Dash::Solid, band), series("b", Rung::Memory, Dash::Solid, band)])
            .problems(),
        [FigureProblem::SameLook { first: "a".to_string(), second: "b".to_string() }]
    );
    assert_eq!(
        figure(vec![series("a", Rung::Memory, Dash::Solid, None)]).problems(),
        [FigureProblem::MissingInterval { label: "a".to_string(), x: 1.0 }]
    );
    assert_eq!(
        figure(vec![series("a", Rung::Memory, Dash::Solid, band), series("a", Rung::None, Dash::Solid, band)])
            .problems(),
        [FigureProblem::TwoLooks { label: "a".to_string() }]
    );
    assert_eq!(figure(vec![series("a", Rung::Memory, Dash::Solid, band)]).problems(), []);
}
