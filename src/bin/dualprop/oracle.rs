//! `dualprop oracle` and `dualprop verify`: argument parsing only; the work is in [`dualprop::oracle`].

use std::path::PathBuf;

use dualprop::error::{Error, Result};
use dualprop::oracle::name_map::{NameMap, Role};
use dualprop::oracle::{self, Case, OracleConfig};
use dualprop::store::TensorSet;

/// The configuration: a JSON file, flags, or both (flags override the file's fields).
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// JSON configuration file (fields: method, alpha, beta, iterations, schedule, activation, loss, output, float,
    /// damping, hidden_alpha).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// dp_plus | original_dp | eq21 | eq21_printed | original_dp_dampened
    #[arg(long)]
    pub method: Option<String>,
    /// Negative numbers are taken as values (and then refused by validation), not as flags.
    #[arg(long, allow_negative_numbers = true)]
    pub alpha: Option<String>,
    #[arg(long, allow_negative_numbers = true)]
    pub beta: Option<String>,
    /// Alpha of the hidden layers apart from the output's (default: alpha).
    #[arg(long = "hidden-alpha", allow_negative_numbers = true)]
    pub hidden_alpha: Option<String>,
    /// Number of inference iterations K.
    #[arg(long, short = 'K')]
    pub iterations: Option<String>,
    /// up_down | forward_only | backward_only | odd_even | even_odd (or the follow-up code's fwbwK, fwK, bwK,
    /// oddeven, evenodd)
    #[arg(long)]
    pub schedule: Option<String>,
    /// identity | relu | tanh | sigmoid | softplus | '{"leaky_relu":{"slope":0.1}}'
    #[arg(long)]
    pub activation: Option<String>,
    /// least_squares | softmax_cross_entropy
    #[arg(long)]
    pub loss: Option<String>,
    /// eq16 | eq16_frozen_gradient | original_exact | original_linearized | original_linearized_frozen_gradient
    /// (default: the method's own)
    #[arg(long = "output-rule")]
    pub output_rule: Option<String>,
    /// f64 (default) | f32 | bf16 | f16 | case (the case file's own)
    #[arg(long)]
    pub float: Option<String>,
    /// original_dp_dampened's L_k: spectral_norm (default) | '{"explicit":[0.5,1.2]}' |
    /// '{"power_iteration":{"iterations":50,"seed":0,"with_bias":true}}'
    #[arg(long)]
    pub damping: Option<String>,
}

impl ConfigArgs {
    fn load(&self) -> Result<OracleConfig> {
        let base = match &self.config {
            Some(p) => Some(read(p)?),
            None => None,
        };
        let fields = [
            ("method", &self.method),
            ("alpha", &self.alpha),
            ("beta", &self.beta),
            ("iterations", &self.iterations),
            ("schedule", &self.schedule),
            ("activation", &self.activation),
            ("loss", &self.loss),
            ("output", &self.output_rule),
            ("float", &self.float),
            ("damping", &self.damping),
            ("hidden_alpha", &self.hidden_alpha),
        ];
        let overrides: Vec<(&str, String)> = fields
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v.clone())))
            .collect();
        OracleConfig::from_parts(base.as_deref(), &overrides)
    }
}

/// Arguments of `dualprop oracle`.
#[derive(Debug, clap::Args)]
pub struct OracleArgs {
    /// Case file (safetensors: W.{k}, b.{k}, x, y).
    #[arg(required_unless_present = "regenerate_vectors")]
    pub case: Option<PathBuf>,
    /// Output safetensors file (written atomically).
    #[arg(long, required_unless_present = "regenerate_vectors")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Read the case through a name map: torch-sequential | flax | a JSON file {"W.0": "their name" or
    /// {"name": ..., "transpose": true}, ...} (docs/oracle.md, "Name maps").
    #[arg(long, value_name = "PRESET|FILE")]
    pub names: Option<String>,
    /// Rewrite the committed test vectors into this directory (e.g. tests/vectors) and exit.
    #[arg(long)]
    pub regenerate_vectors: Option<PathBuf>,
}

/// Arguments of `dualprop verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Case file (safetensors: W.{k}, b.{k}, x, y).
    pub case: PathBuf,
    /// The other implementation's output (safetensors, the oracle's tensor names).
    pub candidate: PathBuf,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Read the case through a name map: torch-sequential | flax | a JSON file (docs/oracle.md, "Name maps").
    #[arg(long, value_name = "PRESET|FILE")]
    pub names: Option<String>,
    /// Read the candidate through a name map (a preset's layers are then grad_W.{k}, grad_b.{k}).
    #[arg(long, value_name = "PRESET|FILE")]
    pub candidate_names: Option<String>,
    /// json (default, for programs; fields are only ever added) | text (for people: summary line first).
    #[arg(long, value_enum, default_value_t = ReportFormat::Json)]
    pub format: ReportFormat,
}

/// How `verify` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Json,
    Text,
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// A tensor file, renamed through `names` (a preset or a JSON map file) when given.
fn read_tensors(path: &std::path::Path, names: Option<&str>, role: Role) -> Result<TensorSet> {
    let set = TensorSet::read(path)?;
    match names {
        Some(arg) => NameMap::from_arg(arg)?.apply(&set, role),
        None => Ok(set),
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Format(format!("cannot print the summary: {e}")))?;
    emit(&format!("{text}\n"))
}

/// Writes to stdout; a reader that closed the pipe early (`| head -1`) is not an error, and nothing panics
/// (`println!` does on a broken pipe).
fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io(std::path::Path::new("stdout"), e))
        }
        _ => Ok(()),
    }
}

pub fn run_oracle(args: OracleArgs) -> Result<i32> {
    if let Some(dir) = &args.regenerate_vectors {
        let written = oracle::vectors::regenerate(dir)?;
        eprintln!("wrote {} vectors to {}", written, dir.display());
        return Ok(0);
    }
    let (Some(case_path), Some(out)) = (&args.case, &args.out) else {
        return Err(Error::Format("a case file and --out are required".into()));
    };
    let cfg = args.config.load()?;
    let case = Case::from_tensors(&read_tensors(case_path, args.names.as_deref(), Role::Case)?)?;
    let run = oracle::run(&case, &cfg)?;
    run.tensors.write_atomic(out)?;
    print_json(&run.summary)?;
    Ok(0)
}

pub fn run_verify(args: VerifyArgs) -> Result<i32> {
    let cfg = args.config.load()?;
    let case = Case::from_tensors(&read_tensors(
        &args.case,
        args.names.as_deref(),
        Role::Case,
    )?)?;
    let candidate = read_tensors(
        &args.candidate,
        args.candidate_names.as_deref(),
        Role::Candidate,
    )?;
    let report = oracle::verify(&case, &cfg, &candidate)?;
    match args.format {
        ReportFormat::Json => print_json(&report)?,
        ReportFormat::Text => emit(&oracle::report::text(&report))?,
    }
    // 0 agrees, 1 disagrees, 3 both diverge, 4 the candidate overflowed its type (2: unusable input).
    Ok(report.outcome.exit_code())
}
