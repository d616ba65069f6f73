//! The thesis's ladder: `thesis run` trains and evaluates every rung for every seed (skipping
//! runs that finished), each in a process of its own, then writes the report; `thesis report`
//! writes the table and plots of a ladder's finished runs into results/thesis/<ladder>/.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use retrofit_core::training::latest_checkpoint;
use retrofit_experiments::bench_race::machine_description;
use retrofit_experiments::rung_cost::{LadderCost, RungCost};
use retrofit_experiments::thesis::{
    BudgetLadder, CostLadder, Rung, WindowLadder, answer_table, bits_per_byte_by_window, budget_table,
    control_comparisons, control_spread, control_table, cost_figure, epoch_correlation, ladder_steps, ladder_table,
    ladder_window, protocol, read_ladder, rungs_by_budget, runs_on_another_base, write_figure, write_plots,
};
use retrofit_experiments::{StageArgs, TrainArgs, run_main};
use retrofit_recurrent_generator::{BOOTSTRAP_RESAMPLES, RecurrentGeneratorConfig, STAGE, run};
use retrofit_runtime::config::load_config;
use retrofit_runtime::device::DeviceChoice;
use retrofit_runtime::summary::{RunStatus, RunSummary};

/// Run the thesis's ladder of recurrent-generator rungs, or report a ladder's runs.
#[derive(Debug, Parser)]
#[command(name = "thesis")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train and evaluate every rung for every seed as results/recurrent-generator/<ladder>-<rung>-s<seed>
    /// (runs with a summary.json are skipped), then write the report.
    Run {
        /// The ladder's name (default: ladder-<UTC time>).
        #[arg(long)]
        ladder: Option<String>,
        /// The recurrent generator's config every rung starts from.
        #[arg(long, default_value = "configs/recurrent-generator.toml", value_name = "FILE")]
        config: PathBuf,
        /// Seeds (`--seeds 0 1 2`).
        #[arg(long, num_args = 1.., default_values_t = [0u64])]
        seeds: Vec<u64>,
        /// Rungs to run (default: all, cheapest first).
        #[arg(long, value_enum, num_args = 1..)]
        rungs: Vec<Rung>,
        /// Override a config key of every rung (repeatable), before the rung's own changes: a
        /// rung's defining settings always hold, and none-long doubles the window set here.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        #[arg(long, default_value = "results", value_name = "DIR")]
        results: PathBuf,
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
    },
    /// Write results/thesis/<ladder>/README.md (table) and its plots, and print the table.
    Report {
        /// The ladder's name: its runs are results/recurrent-generator/<ladder>-<rung>-s<seed>.
        #[arg(long)]
        ladder: String,
        #[arg(long, default_value = "results", value_name = "DIR")]
        results: PathBuf,
    },
    /// Print each ladder's answer as one table (the top-level README's): each rung's difference
    /// from the control with its interval, its carried state's part, its step cost relative to
    /// the control (from the ladder's cost.json) and its trainable parameters.
    Answer {
        /// The ladders, e.g. `--ladders bytes-kjv-fixed smollm2-w64`.
        #[arg(long, num_args = 1.., required = true)]
        ladders: Vec<String>,
        #[arg(long, default_value = "results", value_name = "DIR")]
        results: PathBuf,
    },
    /// Plot each rung's test bits per byte against the window, and its difference from the
    /// control, over ladders that differ in their window (each ladder's window is its control's
    /// `data.context`), into results/thesis/<name>/bits_per_byte_by_window.svg; with the ladders'
    /// cost.json, bits per byte against step cost a panel per window into cost.svg; and a
    /// README.md that shows both.
    ByWindow {
        /// The ladders, e.g. `--ladders smollm2-w64 smollm2-w256`.
        #[arg(long, num_args = 1.., required = true)]
        ladders: Vec<String>,
        /// The directory under results/thesis/ the figure goes to.
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "results", value_name = "DIR")]
        results: PathBuf,
    },
    /// Plot each rung's difference from the control and its carried state's part against the
    /// training budget, over ladders that differ in their optimizer steps (each ladder's budget is
    /// its control's `training.epochs x data.steps_per_epoch`), into
    /// results/thesis/<name>/rungs_by_budget.svg, with a README.md that shows it and its table.
    ByBudget {
        /// The ladders, e.g. `--ladders bytes-kjv-fixed bytes-kjv-budget4x`.
        #[arg(long, num_args = 1.., required = true)]
        ladders: Vec<String>,
        /// The directory under results/thesis/ the figure goes to.
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "results", value_name = "DIR")]
        results: PathBuf,
    },
    /// Measure what each rung costs on this machine, back to back: each trains --steps steps
    /// (half of them warm-up, whatever the config's) in a process of its own (a scratch run under the system's temporary directory, removed after),
    /// and its trainable parameters, median step and peak memory go to
    /// results/thesis/<ladder>/cost.json and the ladder's README.
    Cost {
        /// The ladder whose report gets the table.
        #[arg(long)]
        ladder: String,
        /// The config the ladder's rungs start from.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Rungs to measure (default: all).
        #[arg(long, value_enum, num_args = 1..)]
        rungs: Vec<Rung>,
        /// Training steps each rung runs a pass (one epoch; its median step is the figure).
        #[arg(long, default_value_t = 12)]
        steps: usize,
        /// Passes over the rungs, each running every rung once in order: the figure is the median
        /// over the passes, so that a slow spell of the machine does not land on one rung only.
        #[arg(long, default_value_t = 3)]
        passes: usize,
        /// Override a config key of every rung (repeatable), as `thesis run --set`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        #[arg(long, default_value = "results", value_name = "DIR")]
        results: PathBuf,
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
    },
    /// One rung of one seed: what `thesis run` starts in a process of its own for each run, so
    /// that a run's peak memory (the process's high-water mark) is its own, not the largest of
    /// the runs before it, and a run that crashes leaves the ladder going.
    #[command(hide = true)]
    RunRung(RungRun),
}

/// One rung of one seed of a ladder: the arguments of `thesis run-rung`, which `thesis run` and
/// `thesis cost` pass to the process they start for each run.
#[derive(Debug, Clone, Args)]
struct RungRun {
    #[arg(long)]
    ladder: String,
    #[arg(long, value_enum)]
    rung: Rung,
    #[arg(long)]
    seed: u64,
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    #[arg(long, value_name = "DIR")]
    results: PathBuf,
    #[arg(long)]
    device: DeviceChoice,
}

impl RungRun {
    /// The run's directory name, `<ladder>-<rung>-s<seed>`.
    fn run_name(&self) -> String {
        self.rung.run_name(&self.ladder, self.seed)
    }
}

fn main() -> ExitCode {
    run_main(|| match Cli::parse().command {
        Command::Run { ladder, config, seeds, rungs, overrides, results, device } => {
            let ladder =
                ladder.unwrap_or_else(|| format!("ladder-{}", retrofit_runtime::run_dir::timestamp_run_name()));
            let rungs = if rungs.is_empty() { rungs_the_base_takes(&config, &overrides)? } else { rungs };
            refuse_another_base(&config, &overrides, &results, &ladder)?;
            // Ctrl-C reaches the run's process and this one: the run stops after its step (its
            // checkpoint stays), and the ladder stops after it.
            retrofit_runtime::interrupt::install_ctrl_c_handler();
            let mut failed = Vec::new();
            for &seed in &seeds {
                for &rung in &rungs {
                    let run = RungRun {
                        ladder: ladder.clone(),
                        rung,
                        seed,
                        config: config.clone(),
                        overrides: overrides.clone(),
                        results: results.clone(),
                        device: device.clone(),
                    };
                    let run_name = run.run_name();
                    let status = run_rung_process(&run)?;
                    if status.success() {
                        continue;
                    }
                    if retrofit_runtime::interrupt::stop_requested() {
                        anyhow::bail!(
                            "{run_name} stopped: the ladder stops here; run the same command again to resume it"
                        );
                    }
                    // A failed rung (e.g. a diverging loss, its error printed above) is reported;
                    // the others still run.
                    eprintln!("thesis: {run_name} failed ({status})");
                    failed.push(run_name);
                }
            }
            report(&results, &ladder)?;
            anyhow::ensure!(failed.is_empty(), "{} run(s) failed: {}", failed.len(), failed.join(", "));
            Ok(())
        }
        Command::Report { ladder, results } => report(&results, &ladder),
        Command::Answer { ladders, results } => {
            for ladder in &ladders {
                print!("{}", ladder_answer(&results, ladder)?);
            }
            Ok(())
        }
        Command::ByWindow { ladders, name, results } => by_window(&results, &ladders, &name),
        Command::ByBudget { ladders, name, results } => by_budget(&results, &ladders, &name),
        Command::Cost { ladder, config, rungs, steps, passes, overrides, results, device } => {
            let rungs = if rungs.is_empty() { rungs_the_base_takes(&config, &overrides)? } else { rungs };
            anyhow::ensure!(steps >= 1, "--steps: must be at least 1");
            anyhow::ensure!(passes >= 1, "--passes: must be at least 1");
            retrofit_runtime::interrupt::install_ctrl_c_handler();
            let scratch = std::env::temp_dir().join(format!("retrofit-cost-{ladder}-{}", std::process::id()));
            let measured = measure_cost(&rungs, steps, passes, &config, &overrides, &scratch, &device);
            let _ = std::fs::remove_dir_all(&scratch);
            let cost = measured?;
            let file = cost.write(&results, &ladder)?;
            print!("{}", cost.section());
            println!("written: {}", file.display());
            // The ladder's README gets the table once the ladder has finished runs to report.
            if read_ladder(&results, &ladder).is_ok() {
                report(&results, &ladder)?;
            }
            Ok(())
        }
        Command::RunRung(run) => run_rung(&run),
    })
}

/// Trains every rung `steps` steps (one epoch; validation and the test evaluation cut to a
/// minimum, as they are not what is timed, though the peak memory covers them) in a process of
/// its own under `scratch`, `passes` times over the rungs in order.
fn measure_cost(
    rungs: &[Rung],
    steps: usize,
    passes: usize,
    config: &Path,
    overrides: &[String],
    scratch: &Path,
    device: &DeviceChoice,
) -> anyhow::Result<LadderCost> {
    let command = std::iter::once("thesis".to_string()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" ");
    let mut sets = overrides.to_vec();
    sets.extend([
        "training.epochs=1".to_string(),
        format!("data.steps_per_epoch={steps}"),
        "data.valid_steps=1".to_string(),
        "data.eval_streams=1".to_string(),
        "data.eval_windows=2".to_string(),
        // A step's time does not depend on its learning rate; a warm-up as long as the ladder's
        // would leave a cosine decay no steps in so short a run, which the schedule refuses.
        format!("training.warmup_steps={}", steps / 2),
    ]);
    let mut summaries: Vec<Vec<RunSummary>> = vec![Vec::new(); rungs.len()];
    for pass in 0..passes {
        for (&rung, rung_summaries) in rungs.iter().zip(&mut summaries) {
            eprintln!("thesis cost: pass {} of {passes}, rung {}", pass + 1, rung.name());
            let run = RungRun {
                ladder: "cost".to_string(),
                rung,
                seed: 0,
                config: config.to_path_buf(),
                overrides: sets.clone(),
                results: scratch.to_path_buf(),
                device: device.clone(),
            };
            let status = run_rung_process(&run)?;
            anyhow::ensure!(status.success(), "measuring the cost of {}: its run failed ({status})", rung.name());
            let dir = scratch.join(STAGE).join(run.run_name());
            rung_summaries.push(RunSummary::read(&dir.join(RunSummary::FILE_NAME))?);
            std::fs::remove_dir_all(&dir)?;
        }
    }
    let first = &summaries[0][0];
    Ok(LadderCost {
        machine: machine_description(),
        device: first.device.clone(),
        threads: first.threads,
        git_commit: first.git_commit.clone(),
        steps,
        passes,
        command,
        rungs: rungs.iter().zip(&summaries).filter_map(|(&rung, passes)| RungCost::from_passes(rung, passes)).collect(),
    })
}

/// Refuses to add runs to a ladder whose runs started on other base files than the config's: they
/// would not pair with its control. A base that is missing is left to the run to report.
fn refuse_another_base(config: &Path, overrides: &[String], results: &Path, ladder: &str) -> anyhow::Result<()> {
    let resolved: RecurrentGeneratorConfig = load_config(Some(config), overrides)?;
    let Ok(fingerprint) = retrofit_recurrent_generator::base_fingerprint(&resolved.base) else { return Ok(()) };
    let others = runs_on_another_base(results, ladder, &fingerprint);
    anyhow::ensure!(
        others.is_empty(),
        "ladder {ladder} has runs made on other base files than {} ({}): name another ladder, or move them away to run it again",
        resolved.base.display(),
        others.join(", ")
    );
    Ok(())
}

/// Every rung, less those the config's base cannot take (xl-cache on a base with learned
/// positions), each left out with a line.
fn rungs_the_base_takes(config: &Path, overrides: &[String]) -> anyhow::Result<Vec<Rung>> {
    let resolved: RecurrentGeneratorConfig = load_config(Some(config), overrides)?;
    let family = retrofit_core::base::base_family(&resolved.base)?;
    let rotary = family != retrofit_core::base::BaseFamily::Gpt2;
    Ok(Rung::ALL
        .into_iter()
        .filter(|rung| {
            let takes = rotary || !rung.needs_rotary_base();
            if !takes {
                eprintln!(
                    "thesis: {} left out: it needs a base with rotary positions, and {} is {family}",
                    rung.name(),
                    resolved.base.display()
                );
            }
            takes
        })
        .collect())
}

/// Starts `thesis run-rung` for one rung and seed in a process of its own and waits for it.
fn run_rung_process(run: &RungRun) -> anyhow::Result<std::process::ExitStatus> {
    let thesis = std::env::current_exe()?;
    let mut command = std::process::Command::new(&thesis);
    command.arg("run-rung").args(["--ladder", &run.ladder, "--rung", run.rung.name(), "--seed", &run.seed.to_string()]);
    command.arg("--config").arg(&run.config);
    for set in &run.overrides {
        command.args(["--set", set]);
    }
    command.arg("--results").arg(&run.results).args(["--device", &run.device.to_string()]);
    command
        .status()
        .map_err(|error| anyhow::anyhow!("cannot start {} for {}: {error}", thesis.display(), run.run_name()))
}

/// Runs one rung unless it finished; a run directory left without a summary (a run that was
/// killed or interrupted) is resumed from its last epoch checkpoint, or run again from the start
/// when it has none.
fn run_rung(rung_run: &RungRun) -> anyhow::Result<()> {
    let RungRun { ladder, rung, seed, config, overrides, results, device } = rung_run;
    let (rung, seed) = (*rung, *seed);
    let run_name = rung_run.run_name();
    let dir = results.join(STAGE).join(&run_name);
    let summary_file = dir.join(RunSummary::FILE_NAME);
    if summary_file.is_file() {
        match RunSummary::read(&summary_file)?.status {
            RunStatus::Finished => eprintln!("thesis: {run_name} finished earlier, skipped"),
            RunStatus::Failed { reason } => {
                eprintln!(
                    "thesis: {run_name} failed earlier ({reason}), skipped: remove {} to run it again",
                    dir.display()
                )
            }
        }
        return Ok(());
    }
    let resume = dir.exists() && latest_checkpoint(&dir).is_some();
    if resume {
        eprintln!("thesis: {run_name} did not finish; resuming it");
        let args = TrainArgs {
            stage: StageArgs { config: None, overrides: Vec::new(), run_name: None, results: results.to_path_buf() },
            device: device.clone(),
            quiet: false,
            resume: Some(dir),
        };
        args.run_stage(STAGE, run)?;
        return Ok(());
    }
    if dir.exists() {
        eprintln!("thesis: {run_name} did not finish and has no checkpoint; running it again from the start");
        std::fs::remove_dir_all(&dir)?;
    }
    eprintln!("thesis: {ladder}, seed {seed}, rung {}", rung.name());
    let mut resolved: RecurrentGeneratorConfig = load_config(Some(config.as_path()), overrides)?;
    rung.apply(&mut resolved);
    resolved.training.seed = seed;
    let args = TrainArgs {
        stage: StageArgs {
            config: Some(config.to_path_buf()),
            overrides: Vec::new(),
            run_name: Some(run_name),
            results: results.to_path_buf(),
        },
        device: device.clone(),
        quiet: false,
        resume: None,
    };
    args.run_stage_with(STAGE, Some(resolved), run)?;
    Ok(())
}

/// A ladder's answer: its name and protocol, the answer table, the control's spread.
fn ladder_answer(results: &Path, ladder: &str) -> anyhow::Result<String> {
    let rungs = read_ladder(results, ladder)?;
    let comparisons = control_comparisons(&rungs)?;
    let cost = LadderCost::read(results, ladder)?;
    let table = answer_table(&rungs, &comparisons, |rung| cost.as_ref().and_then(|cost| cost.relative_step(rung)));
    let spread = control_spread(&rungs).map_or(String::new(), |spread| format!("\nControl, seed by seed: {spread}.\n"));
    Ok(format!("### `{ladder}`\n\n{}\n\n{table}{spread}\n", protocol(&rungs)))
}

/// `thesis by-window`: the figures of ladders that differ only in their window.
fn by_window(results: &Path, ladders: &[String], name: &str) -> anyhow::Result<()> {
    let mut read = Vec::new();
    for ladder in ladders {
        let rungs = read_ladder(results, ladder)?;
        let window = ladder_window(&rungs)
            .ok_or_else(|| anyhow::anyhow!("ladder {ladder} has no finished control run to read its window from"))?;
        let comparisons = control_comparisons(&rungs)?;
        let cost = LadderCost::read(results, ladder)?;
        read.push((ladder.as_str(), window, rungs, comparisons, cost));
    }
    read.sort_by_key(|(_, window, ..)| *window);
    let dir = results.join("thesis").join(name);
    std::fs::create_dir_all(&dir)?;
    let window_ladders: Vec<WindowLadder> = read
        .iter()
        .map(|(_, window, rungs, comparisons, _)| WindowLadder { window: *window, rungs, comparisons })
        .collect();
    let names = ladders.join(", ");
    let path = dir.join("bits_per_byte_by_window.svg");
    write_figure(
        &bits_per_byte_by_window(&format!("Test bits per byte against the window ({names})"), &window_ladders),
        &path,
    )?;
    println!("written: {}", path.display());
    let titles: Vec<String> = read.iter().map(|(ladder, window, ..)| format!("window {window} ({ladder})")).collect();
    let cost_ladders: Vec<CostLadder> = read
        .iter()
        .zip(&titles)
        .filter_map(|((_, _, _, comparisons, cost), title)| {
            cost.as_ref().map(|cost| CostLadder { title, comparisons, cost })
        })
        .collect();
    let cost_path = dir.join("cost.svg");
    let cost = cost_figure(&format!("Bits per byte against step cost, by window ({names})"), &cost_ladders);
    if let Some(figure) = &cost {
        write_figure(figure, &cost_path)?;
        println!("written: {}", cost_path.display());
    }
    let cost_section = if cost.is_some() {
        "\n![bits per byte against step cost, a panel per window](cost.svg)\n\nEach rung's test bits per byte minus the control's (bars: the pooled 95% interval of the ladder's tables) against its median training step relative to the control's, measured back to back (the ladder's cost.json); rungs without a measured step are left out.\n"
    } else {
        ""
    };
    let readme = format!(
        "# Bits per byte by window: {names}\n\n![bits per byte against the window](bits_per_byte_by_window.svg)\n\n\
         Left: each rung's test bits per byte with its state carried, mean over seeds (bars: 95% t-interval over seeds, the range with 2 seeds). \
         Right: the rung minus the control on the same text, paired window by window (bars: the pooled 95% interval of each ladder's table). \
         Windows on a log2 axis; a rung appears at the windows whose ladder ran it.\n{cost_section}\n\
         Written by `thesis by-window --name {name} --ladders {}`; each ladder's tables are in results/thesis/<ladder>/README.md.\n",
        ladders.join(" ")
    );
    std::fs::write(dir.join("README.md"), readme)?;
    Ok(())
}

/// `thesis by-budget`: the figure and table of ladders that differ only in their optimizer steps.
fn by_budget(results: &Path, ladders: &[String], name: &str) -> anyhow::Result<()> {
    let mut read = Vec::new();
    for ladder in ladders {
        let rungs = read_ladder(results, ladder)?;
        let steps = ladder_steps(&rungs).ok_or_else(|| {
            anyhow::anyhow!("ladder {ladder} has no finished control run with a fixed budget (training.epochs x data.steps_per_epoch)")
        })?;
        read.push((ladder.as_str(), steps, control_comparisons(&rungs)?));
    }
    read.sort_by_key(|(_, steps, _)| *steps);
    let dir = results.join("thesis").join(name);
    std::fs::create_dir_all(&dir)?;
    let budget_ladders: Vec<BudgetLadder> =
        read.iter().map(|(_, steps, comparisons)| BudgetLadder { steps: *steps, comparisons }).collect();
    let names = ladders.join(", ");
    let path = dir.join("rungs_by_budget.svg");
    write_figure(
        &rungs_by_budget(&format!("The rungs against the training budget ({names})"), &budget_ladders),
        &path,
    )?;
    println!("written: {}", path.display());
    let table = budget_table(
        &read.iter().map(|(ladder, steps, comparisons)| (*ladder, *steps, comparisons.as_slice())).collect::<Vec<_>>(),
    );
    print!("{table}");
    let readme = format!(
        "# The rungs by training budget: {names}\n\n![each rung against the control, and its carried state's part, by optimizer steps](rungs_by_budget.svg)\n\n\
         Left: each rung's test bits per byte minus the control's of the same budget, paired window by window. \
         Right: the rung's carried state's part, its bits per byte with the state reset before every window (solid) or read from another stream (dashed) minus carried. \
         Bars: the pooled 95% interval of each ladder's table (over windows where a ladder has one seed). Steps on a log2 axis.\n\n{table}\n\
         Written by `thesis by-budget --name {name} --ladders {}`; each ladder's tables are in results/thesis/<ladder>/README.md.\n",
        ladders.join(" ")
    );
    std::fs::write(dir.join("README.md"), readme)?;
    Ok(())
}

fn report(results: &Path, ladder: &str) -> anyhow::Result<()> {
    let rungs = read_ladder(results, ladder)?;
    let comparisons = control_comparisons(&rungs)?;
    let headline = control_table(&rungs, &comparisons);
    let table = ladder_table(&rungs);
    let ladder_cost = LadderCost::read(results, ladder)?;
    let answer =
        answer_table(&rungs, &comparisons, |rung| ladder_cost.as_ref().and_then(|cost| cost.relative_step(rung)));
    let dir = results.join("thesis").join(ladder);
    let written = write_plots(ladder, &rungs, &comparisons, ladder_cost.as_ref(), &dir)?;
    let has = |name: &str| written.iter().any(|path| path.ends_with(name));
    let cost = match &ladder_cost {
        Some(cost) if has("cost.svg") => format!(
            "\n{}\n![bits per byte against step cost](cost.svg)\n\nEach rung's difference from the control (bars: the pooled 95% interval above) against its median step relative to the control's, from this table; rungs without a measured step are left out.\n",
            cost.section()
        ),
        Some(cost) => format!("\n{}", cost.section()),
        None => String::new(),
    };
    let mut figures = String::new();
    if has("loss_curves.svg") {
        figures.push_str("![training loss](loss_curves.svg)\n\nTraining loss by step, each seed's averaged over its last 10 steps, mean over seeds (band: 95% t-interval over seeds, the range with 2).\n\n");
    }
    if has("window_loss.svg") {
        figures.push_str("![held-out loss against the control, by position in the window and along the text](window_loss.svg)\n\nHeld-out loss of each rung with inserted blocks minus the control's on the same text, by position in the window and along the text (a few windows averaged), mean over seeds (band: 95% t-interval over seeds, the range with 2); solid: state carried, dashed: reset before every window.\n\n");
    }
    std::fs::write(dir.join("comparison.json"), serde_json::to_string_pretty(&comparisons)? + "\n")?;
    let data = &rungs[0].1[0].summary.data;
    let protocol = protocol(&rungs);
    let spread = control_spread(&rungs)
        .map_or(String::new(), |spread| format!("The control's test bits per byte, seed by seed: {spread}.\n\n"));
    let correlation = epoch_correlation(&comparisons);
    let correlation = format!(
        "Rung minus control against selected epoch minus control's, over the {} paired seeds of the rungs with inserted blocks ({} at the control's epoch): {}.\n\n",
        correlation.pairs,
        correlation.same_epoch,
        correlation.r.map_or("r undefined (no variation)".to_string(), |r| format!("r = {r:+.2}"))
    );
    let readme = format!(
        "# Ladder `{ladder}`\n\nData: {data}.\n\n{protocol}\n\n{answer}\n## Each rung against the control\n\n\
         Bits per byte of the rung minus the control's (`none`) on the same text, paired window by window (negative: the rung predicts better); \
         per seed a 95% percentile interval from {BOOTSTRAP_RESAMPLES} bootstrap resamples of the windows; pooled over seeds, the wider of a 95% t-interval \
         over the per-seed differences (`t`) and a two-stage bootstrap, seeds then windows (`boot`); `1 seed` marks a row with no seed variance. \
         The state's part: the rung's own bits per byte with its state reset before every window minus carried (positive: the carried state helps), \
         and with every stream reading another stream's state minus carried (positive: the state knows its own stream); a difference is called the \
         recurrence's only where that interval excludes 0. Recall targets are tokens that occurred earlier in the stream but not yet in the window \
         (what only a memory can predict); position 0 is a window's first target.\n\n\
         {headline}\n{spread}{correlation}{cost}\n## Every run\n\n{table}\n## Figures\n\n{figures}\
         Written by `thesis report --ladder {ladder}` from results/recurrent-generator/{ladder}-*; the intervals are in comparison.json.\n"
    );
    std::fs::write(dir.join("README.md"), readme)?;
    print!("{headline}\n{table}");
    println!("written: {}", dir.display());
    Ok(())
}
