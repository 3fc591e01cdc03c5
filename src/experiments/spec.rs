//! What defines one training run, serialised next to its outputs so that a sweep can recognise finished runs.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reference::{AdamConfig, Config, Estimator, FloatType, Init, Method, Schedule};

/// The paper's net: 784-1000x4-10.
pub const PAPER_WIDTHS: [usize; 6] = [784, 1000, 1000, 1000, 1000, 10];
/// The paper's nudging strength.
pub const PAPER_BETA: f64 = 0.5;
/// The protocol's batch size.
pub const PAPER_BATCH: usize = 100;

/// How the weight gradient is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    /// DP+ (Eqs. 8 and 16).
    #[value(name = "dp+", alias = "dp-plus")]
    #[serde(rename = "dp+")]
    DpPlus,
    /// Original dual propagation (Eq. 3).
    OriginalDp,
    /// The Eq. 20 variant with the re-derived update of Eq. 21.
    Eq21,
    /// Exact back-propagation.
    Backprop,
}

impl Algorithm {
    /// Short name used in run ids, spec files and on the command line (`dp+`, `original-dp`, `eq21`, `backprop`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::DpPlus => "dp+",
            Algorithm::OriginalDp => "original-dp",
            Algorithm::Eq21 => "eq21",
            Algorithm::Backprop => "backprop",
        }
    }

    /// Name as printed in tables.
    pub fn label(self) -> &'static str {
        match self {
            Algorithm::DpPlus => "DP+ (improved)",
            Algorithm::OriginalDp => "original DP",
            Algorithm::Eq21 => "Eq. 21 variant",
            Algorithm::Backprop => "back-propagation",
        }
    }

    fn method(self) -> Option<Method> {
        match self {
            Algorithm::DpPlus => Some(Method::DpPlus),
            Algorithm::OriginalDp => Some(Method::OriginalDp),
            Algorithm::Eq21 => Some(Method::Eq21),
            Algorithm::Backprop => None,
        }
    }
}

/// Which implementation computes the steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// `dualprop::kernels::Trainer` (fast; the default).
    Kernels,
    /// The readable reference (slow; tiny nets only).
    Reference,
}

/// Everything that defines a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// The gradient estimator.
    pub algorithm: Algorithm,
    /// Weight of z+ in zbar = alpha z+ + (1 - alpha) z- (Eq. 6), in [0, 1] (ignored by back-propagation).
    pub alpha: f64,
    /// Alpha of the hidden layers apart from the output's ([`Config::hidden_alpha`]); absent means `alpha`, and
    /// from spec.json files written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_alpha: Option<f64>,
    /// Nudging strength beta > 0 (the paper's 1/2; ignored by back-propagation).
    pub beta: f64,
    /// Inference iterations K (ignored by back-propagation).
    pub iterations: usize,
    /// Layer order within an inference iteration.
    pub schedule: Schedule,
    /// Layer widths [in, hidden..., out].
    pub widths: Vec<usize>,
    /// Weight initialisation scheme.
    pub init: Init,
    /// Start from the weights `W.{k}`, `b.{k}` of this safetensors file instead of `init` (the oracle's tensor
    /// names), e.g. another implementation's initial weights.
    #[serde(default)]
    pub init_from: Option<std::path::PathBuf>,
    /// The name map `init_from` is read through (a preset, `torch-sequential` or `flax`, or a JSON map file;
    /// docs/oracle.md, "Name maps"); absent: the file uses our names. Not written when absent, so older specs
    /// compare equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_names: Option<String>,
    /// Seeds the initial weights and the shuffling.
    pub seed: u64,
    /// Epochs to train (passes over the training split).
    pub epochs: usize,
    /// Examples per step (the protocol's 100).
    pub batch: usize,
    /// Adam's hyper-parameters.
    pub adam: AdamConfig,
    /// Use only the first n training images (None: all of the training split).
    pub train_limit: Option<usize>,
    /// Log the alignment with back-propagation every this many steps (0: never).
    pub alignment_every: usize,
    /// Log the loop gain of the inference iteration every this many steps, and at every step whose inference
    /// fails (0: never); see `experiments::train::loop_gain`.
    #[serde(default)]
    pub loop_gain_every: usize,
    /// Which implementation computes the steps.
    pub engine: EngineKind,
    /// Float type of the run ("f32" or "f64": the kernels' types; f16 and bf16 are refused by [`Self::validate`]).
    pub precision: FloatType,
    /// Description of the data source.
    pub data: String,
    /// Stop after this many steps in total (a budget cap for costly runs; the last epoch is then partial).
    #[serde(default)]
    pub max_steps: Option<usize>,
}

impl RunSpec {
    /// The paper's setting for an algorithm, with the protocol's Adam and batch.
    pub fn paper(
        algorithm: Algorithm,
        alpha: f64,
        iterations: usize,
        seed: u64,
        epochs: usize,
    ) -> Self {
        Self {
            algorithm,
            alpha,
            hidden_alpha: None,
            beta: PAPER_BETA,
            iterations,
            schedule: Schedule::UpDown,
            widths: PAPER_WIDTHS.to_vec(),
            init: DEFAULT_INIT,
            init_from: None,
            init_names: None,
            seed,
            epochs,
            batch: PAPER_BATCH,
            adam: AdamConfig::default(),
            train_limit: None,
            alignment_every: 0,
            loop_gain_every: 0,
            engine: EngineKind::Kernels,
            precision: FloatType::F32,
            data: String::new(),
            max_steps: None,
        }
    }

    /// The estimator of the run; checks alpha, beta and K for the dual methods.
    pub fn estimator(&self) -> Result<Estimator> {
        match self.algorithm.method() {
            None => Ok(Estimator::Backprop),
            Some(method) => {
                let mut cfg = Config::new(method, self.alpha, self.beta, self.iterations)
                    .with_schedule(self.schedule);
                cfg.hidden_alpha = self.hidden_alpha;
                cfg.validate(crate::reference::Loss::LeastSquares)?;
                Ok(Estimator::Dual(cfg))
            }
        }
    }

    /// Directory name of the run inside a sweep's output directory; epochs are not part of it.
    pub fn id(&self) -> String {
        match self.algorithm {
            Algorithm::Backprop => format!("backprop_seed{}", self.seed),
            a => format!(
                "{}_alpha{}{}_K{}_seed{}",
                a.name(),
                self.alpha,
                // Only when set, so that the ids of runs without it are unchanged.
                self.hidden_alpha
                    .map_or(String::new(), |h| format!("_hidden{h}")),
                self.iterations,
                self.seed
            ),
        }
    }

    /// Checks the budget and the shapes before any work.
    pub fn validate(&self) -> Result<()> {
        self.estimator()?;
        if self.widths.len() < 2 || self.widths.contains(&0) {
            return Err(Error::Unsupported(format!(
                "layer widths {:?} need >= 2 non-zero entries",
                self.widths
            )));
        }
        if self.batch == 0 {
            return Err(Error::EmptyBatch);
        }
        if self.max_steps == Some(0) {
            return Err(Error::Unsupported("a step cap of 0".into()));
        }
        if !matches!(self.precision, FloatType::F32 | FloatType::F64) {
            return Err(self.precision.kernels_unsupported());
        }
        if self.train_limit == Some(0) {
            return Err(Error::Unsupported("a training subset of 0 images".into()));
        }
        Ok(())
    }

    /// Same run up to the number of epochs (used to recognise existing results). Data directories are not
    /// compared by path (the same files may be reached by several paths); the embedded subset and a directory
    /// are told apart.
    pub fn same_run(&self, other: &RunSpec) -> bool {
        let embedded = |s: &RunSpec| s.data.starts_with("embedded");
        let mut a = self.clone();
        a.epochs = other.epochs;
        a.data = other.data.clone();
        a == *other && embedded(self) == embedded(other)
    }
}

/// Parses a schedule name: up-down (the paper's), forward, backward, odd-even, even-odd; or any name the oracle's
/// configuration takes, which is [`Schedule`]'s serde name or alias (`up_down`, ..., and the follow-up code's
/// `fwbwK`, `fwK`, `bwK`, `oddeven`, `evenodd`), so the aliases are listed once, on the enum.
pub fn parse_schedule(s: &str) -> std::result::Result<Schedule, String> {
    match s {
        "up-down" => Ok(Schedule::UpDown),
        "forward" => Ok(Schedule::ForwardOnly),
        "backward" => Ok(Schedule::BackwardOnly),
        "odd-even" => Ok(Schedule::OddEven),
        "even-odd" => Ok(Schedule::EvenOdd),
        _ => serde_json::from_value(serde_json::Value::String(s.into())).map_err(|_| {
            format!(
                "unknown schedule {s:?} (up-down, forward, backward, odd-even, even-odd; the oracle's \
                 up_down, forward_only, ...; or the follow-up code's fwbwK, fwK, bwK, oddeven, evenodd)"
            )
        }),
    }
}

/// The initialisation the paper's experiments most likely used: both public codes draw W with variance
/// 1/fan_in and zero bias, and the JAX/flax code, whose `nn.Dense` default this is, carries the paper's
/// experiment scripts (evidence in docs/experiments.md).
pub const DEFAULT_INIT: Init = Init::LecunNormal;

/// Initialisation names on the command line.
pub const INIT_NAMES: [(&str, Init); 5] = [
    ("lecun-normal", Init::LecunNormal),
    ("normal-fan-in", Init::NormalFanIn),
    ("torch-default", Init::TorchDefault),
    ("xavier-uniform", Init::XavierUniform),
    ("he-normal", Init::HeNormal),
];

/// Parses an initialisation name (see [`INIT_NAMES`]).
pub fn parse_init(s: &str) -> std::result::Result<Init, String> {
    INIT_NAMES
        .iter()
        .find(|(name, _)| *name == s)
        .map(|&(_, init)| init)
        .ok_or_else(|| {
            let names: Vec<&str> = INIT_NAMES.iter().map(|(n, _)| *n).collect();
            format!("unknown init {s:?} ({})", names.join(", "))
        })
}

/// The command-line name of an initialisation.
pub fn init_name(init: Init) -> &'static str {
    INIT_NAMES
        .iter()
        .find(|(_, i)| *i == init)
        .map_or("?", |(n, _)| n)
}

/// Parses widths like "784,1000,1000,10" or "784-1000-10".
pub fn parse_widths(s: &str) -> std::result::Result<Vec<usize>, String> {
    s.split([',', '-'])
        .map(|p| {
            p.trim()
                .parse::<usize>()
                .map_err(|e| format!("bad width {p:?} in {s:?}: {e}"))
        })
        .collect()
}
