//! `dualprop train`: one training run (a DP variant or back-propagation) on MNIST or the embedded subset.

use std::path::PathBuf;

use dualprop::experiments::data::DataSource;
use dualprop::experiments::metrics::Status;
use dualprop::experiments::progress::Progress;
use dualprop::experiments::spec::{
    parse_init, parse_schedule, parse_widths, Algorithm, EngineKind, RunSpec, DEFAULT_INIT,
    PAPER_BATCH, PAPER_BETA, PAPER_WIDTHS,
};
use dualprop::experiments::train::RunOptions;
use dualprop::oracle::name_map::Preset;
use dualprop::reference::{AdamConfig, FloatType, Init, Schedule};

/// Layer widths given on the command line (a newtype so that clap takes one value, not a list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widths(pub Vec<usize>);

/// Flags shared by `train` and `reproduce`: data, network, optimiser, budget and engine.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Directory of the MNIST IDX files (gzip or raw); default: $DUALPROP_MNIST, else the embedded subset.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Epochs per run.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Layer widths, e.g. 784,1000,1000,1000,1000,10 (the paper's net, the default).
    #[arg(long, value_parser = |s: &str| parse_widths(s).map(Widths))]
    pub widths: Option<Widths>,
    /// Weight initialisation: lecun-normal (flax's Dense default, the public JAX code's; the default),
    /// normal-fan-in (the public Julia script's), torch-default, xavier-uniform, he-normal.
    #[arg(long, value_parser = parse_init)]
    pub init: Option<Init>,
    /// Start from the weights W.{k}, b.{k} of this safetensors file (the oracle's tensor names) instead of
    /// --init, e.g. another implementation's initial weights (other names: --names).
    #[arg(long, value_name = "FILE")]
    pub init_from: Option<PathBuf>,
    /// Read --init-from through a name map: torch-sequential (a PyTorch nn.Sequential state_dict), flax (flattened
    /// params, kernels transposed) or a JSON map file (docs/oracle.md, "Name maps").
    #[arg(long, value_name = "PRESET|FILE", requires = "init_from")]
    pub names: Option<String>,
    /// Nudging strength beta.
    #[arg(long, default_value_t = PAPER_BETA)]
    pub beta: f64,
    /// Inference schedule: up-down (the paper's), forward, backward, odd-even, even-odd, or the follow-up
    /// code's fwbwK, fwK, bwK (which that code runs once whatever K: use -K 1), oddeven, evenodd.
    #[arg(long, value_parser = parse_schedule, default_value = "up-down")]
    pub schedule: Schedule,
    /// Adam learning rate (the protocol's 3e-5).
    #[arg(long, default_value_t = 3e-5)]
    pub learning_rate: f64,
    /// Batch size (the protocol's 100).
    #[arg(long, default_value_t = PAPER_BATCH)]
    pub batch: usize,
    /// Train on the first N training images only (the validation and test sets stay whole).
    #[arg(long, value_name = "N")]
    pub train_subset: Option<usize>,
    /// Log the alignment with back-propagation every N steps (0: never).
    #[arg(long, value_name = "N")]
    pub alignment_every: Option<usize>,
    /// Log the loop gain of the inference iteration (loop_gain.jsonl, Figure 3) every N steps and at any step
    /// whose inference fails, estimated on the batch's first 4 examples (0: never). `reproduce` logs it in the
    /// K = 30 runs only.
    #[arg(long, value_name = "N")]
    pub loop_gain_every: Option<usize>,
    /// Which implementation trains.
    #[arg(long, value_enum, default_value = "kernels")]
    pub engine: EngineKind,
    /// Float type: f32 or f64 (the kernels' types; f16 and bf16 are refused).
    #[arg(long, value_enum, default_value = "f32")]
    pub precision: FloatType,
    /// Keep each run's last checkpoint after it ends (to extend it to more epochs later).
    #[arg(long)]
    pub keep_checkpoints: bool,
    /// No progress bars or log lines.
    #[arg(long, short)]
    pub quiet: bool,
}

impl CommonArgs {
    /// A spec with everything but the algorithm, alpha, K and seed.
    pub fn base_spec(&self, data: &DataSource, default_epochs: usize) -> RunSpec {
        let mut spec = RunSpec::paper(
            Algorithm::DpPlus,
            0.0,
            1,
            1,
            self.epochs.unwrap_or(default_epochs),
        );
        spec.widths = self
            .widths
            .clone()
            .map_or_else(|| PAPER_WIDTHS.to_vec(), |w| w.0);
        spec.init = self.init.unwrap_or(DEFAULT_INIT);
        // Absolute, so that planned jobs started elsewhere find the file (and their specs match gather's).
        spec.init_from = self
            .init_from
            .as_ref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()));
        // A preset's name as given (presets win over files, as in NameMap::from_arg); a map file's absolute path.
        spec.init_names = self.names.as_ref().map(|n| {
            let preset = Preset::ALL.iter().any(|(name, _)| name == n);
            match std::path::absolute(n) {
                Ok(abs) if !preset && abs.exists() => abs.display().to_string(),
                _ => n.clone(),
            }
        });
        spec.beta = self.beta;
        spec.schedule = self.schedule;
        spec.adam = AdamConfig {
            learning_rate: self.learning_rate,
            ..AdamConfig::default()
        };
        spec.batch = self.batch;
        spec.train_limit = self.train_subset;
        spec.engine = self.engine;
        spec.precision = self.precision;
        spec.data = data.describe();
        spec.loop_gain_every = self.loop_gain_every.unwrap_or(0);
        spec
    }

    pub fn options(&self) -> RunOptions {
        RunOptions {
            keep_checkpoint: self.keep_checkpoints,
        }
    }
}

/// Arguments of `dualprop train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Gradient estimator.
    #[arg(long, value_enum, default_value = "dp+")]
    pub method: Algorithm,
    /// Weight of z+ in the mean state, in [0, 1].
    #[arg(long, default_value_t = 0.0)]
    pub alpha: f64,
    /// Alpha of the hidden layers apart from the output's, in [0, 1] (default: --alpha).
    #[arg(long = "hidden-alpha")]
    pub hidden_alpha: Option<f64>,
    /// Inference iterations K.
    #[arg(long = "iterations", short = 'K', default_value_t = 1)]
    pub iterations: usize,
    /// Seed of the initial weights and of the shuffling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory of the run (spec.json, metrics.jsonl, alignment.jsonl, checkpoint, result.json).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: Args) -> dualprop::Result<i32> {
    let source = DataSource::resolve(args.common.data.as_deref());
    let mut spec = args.common.base_spec(&source, 1);
    spec.algorithm = args.method;
    spec.alpha = args.alpha;
    spec.hidden_alpha = args.hidden_alpha;
    spec.iterations = args.iterations;
    spec.seed = args.seed;
    spec.alignment_every = args.common.alignment_every.unwrap_or(0);
    spec.validate()?;
    let progress = Progress::new(args.common.quiet);
    progress.log(&format!("loading MNIST from {}", source.describe()));
    let data = source.load()?;
    let dir = args
        .out
        .unwrap_or_else(|| PathBuf::from("out/train").join(spec.id()));
    let options = args.common.options();
    let result = dualprop::with_float!(
        spec.precision,
        kernels T => dualprop::experiments::train::run::<T>(&spec, &data, &dir, &options, &progress)
    )?;
    match (&result.status, &result.divergence, &result.last) {
        (Status::Diverged, Some(d), _) => println!(
            "{}: X — diverged at epoch {} step {} ({}); outputs in {}",
            spec.id(),
            d.epoch,
            d.step,
            d.reason,
            dir.display()
        ),
        (_, _, Some(m)) => println!(
            "{}: {} epochs, test accuracy {:.2}%, validation {:.2}%, {:.1} s; outputs in {}",
            spec.id(),
            result.epochs_completed,
            m.test_accuracy.unwrap_or(f64::NAN),
            m.validation_accuracy.unwrap_or(f64::NAN),
            result.wall_seconds,
            dir.display()
        ),
        _ => println!(
            "{}: no epoch completed; outputs in {}",
            spec.id(),
            dir.display()
        ),
    }
    Ok(0)
}
