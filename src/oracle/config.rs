//! The oracle's configuration: the reference's [`Config`] plus the network's activation and loss and the float
//! type to compute in, read from JSON (a file, command-line flags, or both, flags winning).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reference::{
    Activation, Config, Damping, FloatType, Loss, Method, OutputRule, Schedule,
};

/// Float type the oracle computes in: a fixed type, or the case file's own. Serialized as the type's name
/// (`"f64"`, `"f32"`, `"bf16"`, `"f16"`) or `"case"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ComputeFloat {
    /// This type whatever the case holds (default: f64, the oracle is the judge).
    Fixed(FloatType),
    /// The case file's own dtype.
    Case,
}

impl Default for ComputeFloat {
    fn default() -> Self {
        ComputeFloat::Fixed(FloatType::F64)
    }
}

impl TryFrom<String> for ComputeFloat {
    type Error = String;

    fn try_from(s: String) -> std::result::Result<Self, String> {
        match s.as_str() {
            "case" => Ok(ComputeFloat::Case),
            other => other.parse().map(ComputeFloat::Fixed).map_err(|_| {
                format!(
                    "unknown float {other:?} (f64, f32, bf16, f16, or case: the case file's own)"
                )
            }),
        }
    }
}

impl From<ComputeFloat> for String {
    fn from(f: ComputeFloat) -> String {
        match f {
            ComputeFloat::Fixed(t) => t.name().into(),
            ComputeFloat::Case => "case".into(),
        }
    }
}

impl ComputeFloat {
    /// The float type for a case stored in `case_dtype`.
    pub fn resolve(self, case_dtype: FloatType) -> FloatType {
        match self {
            ComputeFloat::Fixed(t) => t,
            ComputeFloat::Case => case_dtype,
        }
    }
}

/// Everything `dualprop oracle` needs besides the case. JSON field names are the ones below;
/// `"K"` is accepted for `iterations`. Unknown fields are refused (a typo must not silently use a default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OracleConfig {
    /// The dual-propagation variant (`dp_plus`, `original_dp`, `eq21`, `eq21_printed`, `original_dp_dampened`).
    pub method: Method,
    /// Weight of z+ in zbar = alpha z+ + (1 - alpha) z- (Eq. 6), in [0, 1].
    pub alpha: f64,
    /// Nudging strength beta > 0 (the loss is beta/2 ||z - y||^2 for least squares).
    pub beta: f64,
    /// Inference iterations K >= 1 (JSON `iterations` or `K`).
    #[serde(alias = "K")]
    pub iterations: usize,
    /// Layer order within an iteration; default the paper's up-down schedule.
    #[serde(default = "default_schedule")]
    pub schedule: Schedule,
    /// The hidden-layer activation f (the output layer is linear).
    pub activation: Activation,
    /// The output loss; default least squares.
    #[serde(default = "default_loss")]
    pub loss: Loss,
    /// Output rule; absent means the method's own (Eq. 16, or Eq. 3's exact min/max for original DP).
    #[serde(default)]
    pub output: Option<OutputRule>,
    /// Float type to compute in; default f64.
    #[serde(default)]
    pub float: ComputeFloat,
    /// L_k of `original_dp_dampened` (`"spectral_norm"`, the default; `{"explicit": [..]}`;
    /// `{"power_iteration": {"iterations": 50, "seed": 0, "with_bias": true}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damping: Option<Damping>,
    /// Alpha of the hidden layers, in [0, 1]; absent means `alpha` (the output layer always uses `alpha`).
    /// [`Config::hidden_alpha`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_alpha: Option<f64>,
}

fn default_schedule() -> Schedule {
    Schedule::UpDown
}

fn default_loss() -> Loss {
    Loss::LeastSquares
}

impl OracleConfig {
    /// Parses and validates JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::Format(format!("configuration is not JSON: {e}")))?;
        Self::from_value(value)
    }

    /// Builds from a JSON object, then applies `overrides` (field name, value text). A value text that is
    /// not valid JSON is taken as a string, so `--method dp_plus` and `--alpha 0.5` both work.
    pub fn from_parts(base: Option<&[u8]>, overrides: &[(&str, String)]) -> Result<Self> {
        let mut value = match base {
            Some(bytes) => serde_json::from_slice(bytes)
                .map_err(|e| Error::Format(format!("configuration is not JSON: {e}")))?,
            None => serde_json::Value::Object(Default::default()),
        };
        let obj = value
            .as_object_mut()
            .ok_or_else(|| Error::Format("configuration must be a JSON object".into()))?;
        for (key, text) in overrides {
            let v = serde_json::from_str(text)
                .unwrap_or_else(|_| serde_json::Value::String(text.clone()));
            if *key == "iterations" {
                obj.remove("K");
            }
            obj.insert(key.to_string(), v);
        }
        Self::from_value(value)
    }

    fn from_value(value: serde_json::Value) -> Result<Self> {
        let cfg: Self = serde_json::from_value(value)
            .map_err(|e| Error::Format(format!("bad configuration: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The reference's inference configuration.
    pub fn reference(&self) -> Config {
        let mut cfg = Config::new(self.method, self.alpha, self.beta, self.iterations)
            .with_schedule(self.schedule);
        cfg.output = self.output;
        cfg.damping = self.damping;
        cfg.hidden_alpha = self.hidden_alpha;
        cfg
    }

    /// Checks alpha, hidden_alpha, beta, K, the output rule against the loss, and the activation's parameters.
    pub fn validate(&self) -> Result<()> {
        self.activation.validate()?;
        self.reference().validate(self.loss)
    }

    /// The configuration as compact JSON, in the field names above (written into oracle files' metadata).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
