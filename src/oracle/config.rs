//! The oracle's configuration: the reference's [`Config`] plus the network's activation and loss and the float
//! type to compute in, read from JSON (a file, command-line flags, or both, flags winning).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reference::{Activation, Config, Loss, Method, OutputRule, Schedule};

/// Float type the oracle computes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComputeFloat {
    /// Double precision whatever the case holds (the default: the oracle is the judge).
    #[default]
    F64,
    F32,
    /// The case file's own dtype.
    Case,
}

/// Everything `dualprop oracle` needs besides the case. JSON field names are the ones below;
/// `"K"` is accepted for `iterations`. Unknown fields are refused (a typo must not silently use a default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OracleConfig {
    pub method: Method,
    pub alpha: f64,
    pub beta: f64,
    #[serde(alias = "K")]
    pub iterations: usize,
    #[serde(default = "default_schedule")]
    pub schedule: Schedule,
    pub activation: Activation,
    #[serde(default = "default_loss")]
    pub loss: Loss,
    /// Output rule; absent means the method's own (Eq. 16, or Eq. 3's exact min/max for original DP).
    #[serde(default)]
    pub output: Option<OutputRule>,
    #[serde(default)]
    pub float: ComputeFloat,
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
        cfg
    }

    /// Checks alpha, beta, K, the output rule against the loss, and the activation's parameters.
    pub fn validate(&self) -> Result<()> {
        self.activation.validate()?;
        self.reference().validate(self.loss)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
