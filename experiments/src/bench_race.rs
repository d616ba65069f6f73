//! `just bench`: our bench workloads raced against the PyTorch reference (`scripts/bench_reference.py`)
//! with its explicit attention and with its fused `sdpa` attention, back to back per workload, over
//! several passes (this machine is noisy); the medians, the step split and the machine they ran
//! on go to `results/bench/<run>/`.

use serde::{Deserialize, Serialize};

use crate::bench::{StepSplit, median};

/// The workloads of `scripts/bench_reference.py` (its module docstring), in its order.
pub const WORKLOADS: [&str; 9] = [
    "attention-classifier",
    "transformer-classifier",
    "generator",
    "gpt2-iblocks",
    "gpt2-iblocks-gru",
    "gpt2-generate",
    "llama-iblocks",
    "llama-iblocks-gru",
    "llama-generate",
];

/// Who runs a workload, in the order they run for each workload of a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Contender {
    /// Our `bench` binary (burn on libtorch).
    Ours,
    /// `bench_reference.py --attn explicit`: PyTorch eager, attention written out as matmuls and softmax.
    PytorchExplicit,
    /// `bench_reference.py --attn sdpa`: PyTorch eager with `F.scaled_dot_product_attention`.
    PytorchSdpa,
    /// `generation_floor.py`, generation workloads only: nothing but the matrix-vector products
    /// that read every weight once a token, the bound of batch-1 generation on this machine.
    WeightsFloor,
}

impl Contender {
    pub const ALL: [Contender; 4] =
        [Contender::Ours, Contender::PytorchExplicit, Contender::PytorchSdpa, Contender::WeightsFloor];

    /// Its name in progress lines.
    pub fn label(self) -> &'static str {
        match self {
            Contender::Ours => "ours",
            Contender::PytorchExplicit => "pytorch-explicit",
            Contender::PytorchSdpa => "pytorch-sdpa",
            Contender::WeightsFloor => "weights-floor",
        }
    }

    /// Whether it runs `workload` (the floor is one of generation only).
    pub fn runs(self, workload: &str) -> bool {
        self != Contender::WeightsFloor || workload.ends_with("-generate")
    }
}

/// The last line of a bench run, ours or the reference's:
/// `BENCH <workload> backend=<name> threads=<n> median_step_s=<x> throughput=<y> <unit>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchLine {
    pub workload: String,
    pub backend: String,
    pub threads: usize,
    pub median_step_s: f64,
    pub throughput: f64,
    pub unit: String,
}

impl BenchLine {
    /// Reads a `BENCH` line; `None` for any other line.
    pub fn parse(line: &str) -> Option<Self> {
        let mut fields = line.strip_prefix("BENCH ")?.split_whitespace();
        let workload = fields.next()?.to_string();
        let mut value = |key: &str| fields.next()?.strip_prefix(key)?.strip_prefix('=').map(str::to_string);
        let backend = value("backend")?;
        let threads = value("threads")?.parse().ok()?;
        let median_step_s = value("median_step_s")?.parse().ok()?;
        let throughput = value("throughput")?.parse().ok()?;
        let unit = fields.next()?.to_string();
        Some(Self { workload, backend, threads, median_step_s, throughput, unit })
    }
}

/// One contender's run of one workload in one pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// 0-based.
    pub pass: usize,
    pub contender: Contender,
    pub median_step_s: f64,
    pub throughput: f64,
    pub unit: String,
    /// Ours, training workloads: the median step's forward / backward / optimizer seconds.
    pub split: Option<StepSplit>,
}

/// Every measurement of one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadRace {
    pub workload: String,
    pub measurements: Vec<Measurement>,
}

impl WorkloadRace {
    pub fn new(workload: &str) -> Self {
        Self { workload: workload.to_string(), measurements: Vec::new() }
    }

    /// The median over passes of a contender's median step; `None` if it never ran.
    pub fn median_step_s(&self, contender: Contender) -> Option<f64> {
        let steps: Vec<f64> =
            self.measurements.iter().filter(|m| m.contender == contender).map(|m| m.median_step_s).collect();
        (!steps.is_empty()).then(|| median(&steps))
    }

    /// Their median step over ours: above 1, ours is faster.
    pub fn ratio(&self, against: Contender) -> Option<f64> {
        Some(self.median_step_s(against)? / self.median_step_s(Contender::Ours)?)
    }

    /// Our step split, per phase the median over passes.
    pub fn split(&self) -> Option<StepSplit> {
        let splits: Vec<StepSplit> = self.measurements.iter().filter_map(|m| m.split).collect();
        StepSplit::median_of(&splits)
    }

    /// How many passes a contender ran.
    pub fn passes(&self, contender: Contender) -> usize {
        self.measurements.iter().filter(|m| m.contender == contender).count()
    }
}

/// Where and how a race ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RaceContext {
    /// The directory name under `results/bench/`.
    pub run: String,
    /// e.g. "Intel(R) Xeon(R) ..., 2 cores, 23 GiB".
    pub machine: String,
    pub threads: usize,
    pub commit: Option<String>,
    pub libtorch: Option<String>,
    /// UTC, as run names are.
    pub started: String,
    pub passes: usize,
    /// The command line, to repeat the race.
    pub command: String,
}

/// The vector-instruction flags a timing here depends on (AVX2, AVX-512 and its bf16, AMX) among
/// `/proc/cpuinfo`'s, sorted and without repeats; `["no avx2"]` when it lists none of them.
pub fn simd_flags(cpuinfo: &str) -> Vec<String> {
    let mut flags: Vec<String> = cpuinfo
        .lines()
        .filter(|line| line.starts_with("flags"))
        .flat_map(|line| line.split(':').nth(1).unwrap_or("").split_whitespace())
        .filter(|flag| *flag == "avx2" || flag.starts_with("avx512") || flag.starts_with("amx"))
        .map(str::to_string)
        .collect();
    flags.sort();
    flags.dedup();
    if flags.is_empty() {
        flags.push("no avx2".to_string());
    }
    flags
}

/// The CPU model and its vector flags, core count and memory of this machine, from `/proc` where
/// readable.
pub fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok();
    let cpu = cpuinfo.as_deref().and_then(|text| {
        text.lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split(':').nth(1))
            .map(|name| name.trim().to_string())
    });
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory_gib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        let line = text.lines().find(|line| line.starts_with("MemTotal:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / (1024.0 * 1024.0))
    });
    let mut cpu = cpu.unwrap_or_else(|| std::env::consts::ARCH.to_string());
    if let Some(text) = &cpuinfo {
        cpu.push_str(&format!(" ({})", simd_flags(text).join(" ")));
    }
    let mut parts = vec![cpu, format!("{cores} cores")];
    if let Some(gib) = memory_gib {
        parts.push(format!("{gib:.0} GiB"));
    }
    parts.join(", ")
}

fn seconds(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |s| format!("{s:.3} s"))
}

fn ratio(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |r| format!("{r:.2}"))
}

/// The race as a markdown table: medians over passes, both ratios, our step split.
pub fn race_table(races: &[WorkloadRace]) -> String {
    let mut table = String::from(
        "| workload | ours | forward / backward / optimizer | PyTorch, explicit attention | ratio | PyTorch, fused sdpa | ratio | weights floor |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for race in races {
        let split = race
            .split()
            .map_or("-".to_string(), |s| format!("{:.3} / {:.3} / {:.3} s", s.forward_s, s.backward_s, s.optimizer_s));
        table.push_str(&format!(
            "| {} | {} | {split} | {} | {} | {} | {} | {} |\n",
            race.workload,
            seconds(race.median_step_s(Contender::Ours)),
            seconds(race.median_step_s(Contender::PytorchExplicit)),
            ratio(race.ratio(Contender::PytorchExplicit)),
            seconds(race.median_step_s(Contender::PytorchSdpa)),
            ratio(race.ratio(Contender::PytorchSdpa)),
            seconds(race.median_step_s(Contender::WeightsFloor)),
        ));
    }
    table
}

/// The most expensive symbols of one workload's profile (`perf report` lines).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadProfile {
    pub workload: String,
    /// `(share of samples in percent, symbol)`, most expensive first.
    pub symbols: Vec<(f64, String)>,
}

impl WorkloadProfile {
    /// Reads `perf report --stdio --no-children --sort dso,symbol` output: lines
    /// `  12.34%  libtorch_cpu.so  [.] at::native::...`, comments skipped.
    pub fn from_perf_report(workload: &str, report: &str, top: usize) -> Self {
        let symbols = report
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| {
                let (share, rest) = line.trim().split_once('%')?;
                let share: f64 = share.trim().parse().ok()?;
                // `<dso> [.] <symbol> - -`: the symbol may hold spaces; `-` columns are empty.
                let mut fields = rest.split_whitespace().filter(|field| *field != "-");
                let dso = fields.next()?;
                let symbol: Vec<&str> =
                    fields.skip_while(|field| field.starts_with('[') && field.ends_with(']')).collect();
                (!symbol.is_empty()).then(|| (share, format!("{dso}: {}", symbol.join(" "))))
            })
            .take(top)
            .collect();
        Self { workload: workload.to_string(), symbols }
    }
}

/// `results/bench/<run>/README.md`.
pub fn race_readme(context: &RaceContext, races: &[WorkloadRace], profiles: &[WorkloadProfile]) -> String {
    let mut text = format!(
        "# Bench `{}`\n\nMachine: {}; {} threads; commit {}; libtorch {}; started {} (UTC).\n\n\
         Each workload ran back to back as ours, then PyTorch eager with explicit attention, then PyTorch \
         with fused `scaled_dot_product_attention`, {} pass(es); each figure is the median over passes of a \
         run's median step. Ratio = PyTorch's step / ours: above 1, ours is faster. The split is our \
         median step's forward (with the loss), backward and optimizer. For the generation workloads \
         (batch 1, 128 new tokens) the weights floor is `scripts/generation_floor.py`: only the \
         matrix-vector products that read every weight once a token, in PyTorch; no generator with \
         this libtorch on this machine can be faster than that by more than noise.\n\n",
        context.run,
        context.machine,
        context.threads,
        context.commit.as_deref().unwrap_or("unknown"),
        context.libtorch.as_deref().unwrap_or("unknown"),
        context.started,
        context.passes,
    );
    text.push_str(&race_table(races));
    if !profiles.is_empty() {
        text.push_str(
            "\n## Where our time goes\n\nShare of CPU samples (`perf record -e cpu-clock`, a short run with \
             model set-up included) of the most expensive symbols per workload; the whole reports are the \
             `profile-<workload>.txt` files beside this one.\n\n",
        );
        for profile in profiles {
            text.push_str(&format!("**{}**\n\n", profile.workload));
            for (share, symbol) in &profile.symbols {
                let symbol: String = symbol.chars().take(140).collect();
                text.push_str(&format!("- {share:.1}% `{symbol}`\n"));
            }
            text.push('\n');
        }
    }
    text.push_str(&format!("\nWritten by `{}`.\n", context.command));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(pass: usize, contender: Contender, median_step_s: f64) -> Measurement {
        Measurement {
            pass,
            contender,
            median_step_s,
            throughput: 1.0 / median_step_s,
            unit: "tokens/s".into(),
            split: None,
        }
    }

    #[test]
    fn bench_lines_of_both_sides_parse() {
        let ours = BenchLine::parse(
            "BENCH gpt2-iblocks backend=burn-tch threads=2 median_step_s=2.0500 throughput=249.8 tokens/s",
        )
        .unwrap();
        assert_eq!(ours.workload, "gpt2-iblocks");
        assert_eq!(ours.backend, "burn-tch");
        assert_eq!(ours.threads, 2);
        assert_eq!(ours.median_step_s, 2.05);
        assert_eq!(ours.unit, "tokens/s");
        let theirs = BenchLine::parse(
            "BENCH gpt2-generate backend=pytorch-eager threads=2 median_step_s=3.7500 throughput=34.1 generated_tokens/s",
        )
        .unwrap();
        assert_eq!(theirs.backend, "pytorch-eager");
        assert_eq!(theirs.unit, "generated_tokens/s");
        assert_eq!(BenchLine::parse("INFO step times [1.0]"), None);
        assert_eq!(BenchLine::parse("BENCH generator backend=x threads=two median_step_s=1 throughput=1 u"), None);
    }

    #[test]
    fn medians_are_over_passes_and_ratios_are_theirs_over_ours() {
        let mut race = WorkloadRace::new("generator");
        for (pass, (ours, explicit)) in [(2.0, 3.0), (9.0, 4.0), (2.2, 5.0)].into_iter().enumerate() {
            race.measurements.push(measurement(pass, Contender::Ours, ours));
            race.measurements.push(measurement(pass, Contender::PytorchExplicit, explicit));
        }
        assert_eq!(race.median_step_s(Contender::Ours), Some(2.2));
        assert_eq!(race.passes(Contender::Ours), 3);
        assert_eq!(race.ratio(Contender::PytorchExplicit), Some(4.0 / 2.2));
        assert_eq!(race.ratio(Contender::PytorchSdpa), None);
        let table = race_table(&[race]);
        assert!(table.contains("| generator | 2.200 s | - | 4.000 s | 1.82 | - | - | - |"), "{table}");
    }

    #[test]
    fn the_machine_line_names_the_vector_flags_timings_depend_on() {
        let cpuinfo = "model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 fma\n\nflags\t\t: fpu avx2 fma\n";
        assert_eq!(simd_flags(cpuinfo), vec!["avx2"]);
        let intel = "flags\t: avx2 avx512f avx512_bf16 amx_tile amx_bf16 avx512vl\n";
        assert_eq!(simd_flags(intel), vec!["amx_bf16", "amx_tile", "avx2", "avx512_bf16", "avx512f", "avx512vl"]);
        assert_eq!(simd_flags("flags\t: sse2\n"), vec!["no avx2"]);
        assert!(Contender::WeightsFloor.runs("llama-generate") && !Contender::WeightsFloor.runs("generator"));
        assert!(Contender::Ours.runs("generator"));
    }

    #[test]
    fn perf_report_lines_become_symbols() {
        let report = "# Samples: 1K of event 'cpu-clock'\n#\n    41.20%  libtorch_cpu.so  [.] at::native::gemm<float>(int, float const&) - -\n     3.10%  libc.so.6  [.] memcpy\n\n";
        let profile = WorkloadProfile::from_perf_report("generator", report, 1);
        assert_eq!(
            profile.symbols,
            vec![(41.2, "libtorch_cpu.so: at::native::gemm<float>(int, float const&)".to_string())]
        );
    }
}
