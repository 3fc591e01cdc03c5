//! Name maps: read a checkpoint exported by another framework without renaming its tensors.
//!
//! A map says, for each of our names (`W.{k}`, `b.{k}`, `x`, ... or the output names), which tensor of the file
//! holds it and whether it is stored transposed. Our weights are [out, in] (PyTorch's `nn.Linear.weight`); flax's
//! `Dense` kernel is [in, out], so the flax preset transposes. Two presets find the layers themselves:
//!
//! - `torch-sequential`: every `PREFIX.weight` with its `PREFIX.bias` (an `nn.Sequential` state_dict: `0.weight`,
//!   `2.weight`, ..., the activation modules' indices skipped), not transposed.
//! - `flax`: every `PREFIX/kernel` with its `PREFIX/bias` (separator `/` or `.`, as
//!   `flax.traverse_util.flatten_dict(params, sep=...)` writes them), transposed.
//!
//! Layers are ordered by the numbers in their prefix, compared in turn as integers: `0` < `2` < `10`,
//! `params/layers_0/d00` < `params/d01` < `params/d02` (the follow-up code's naming), `Dense_2` < `Dense_10`.
//! Tensors the map does not name keep their own names (so `x` and `y` need no entry). Every failure is an
//! [`Error::Format`] starting "name map".

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::store::{Tensor, TensorSet};

/// Where one of our tensors is stored in the foreign file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The tensor's name in the file.
    pub name: String,
    /// Stored as the transpose of ours (a rank-2 tensor, e.g. flax's [in, out] kernel).
    pub transpose: bool,
}

/// A preset that finds the layers by their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// PyTorch `nn.Sequential` state_dict: `N.weight` [out, in], `N.bias`.
    TorchSequential,
    /// Flattened flax params: `.../kernel` [in, out], `.../bias`.
    Flax,
}

impl Preset {
    /// Every preset with its command-line name.
    pub const ALL: [(&'static str, Preset); 2] = [
        ("torch-sequential", Preset::TorchSequential),
        ("flax", Preset::Flax),
    ];

    /// Splits `name` into (layer prefix, separator) when it is this preset's weight name.
    fn weight_prefix(self, name: &str) -> Option<(&str, char)> {
        let leaves: &[(&str, char)] = match self {
            Preset::TorchSequential => &[(".weight", '.')],
            Preset::Flax => &[("/kernel", '/'), (".kernel", '.')],
        };
        leaves
            .iter()
            .find_map(|(leaf, sep)| name.strip_suffix(leaf).map(|p| (p, *sep)))
    }

    fn transposed(self) -> bool {
        self == Preset::Flax
    }
}

/// Which of our names a preset's layers become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A case: the layers are the weights `W.{k}`, `b.{k}`.
    Case,
    /// A candidate: the layers are gradient estimates `grad_W.{k}`, `grad_b.{k}` (a state_dict of `.grad`s).
    Candidate,
}

impl Role {
    fn names(self, k: usize) -> (String, String) {
        match self {
            Role::Case => (format!("W.{k}"), format!("b.{k}")),
            Role::Candidate => (
                crate::oracle::names::grad_w(k),
                crate::oracle::names::grad_b(k),
            ),
        }
    }
}

/// A name map: explicit (our name -> source) or a preset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMap {
    /// Given by the user as JSON.
    Explicit(BTreeMap<String, Source>),
    /// Found by a preset.
    Preset(Preset),
}

/// One JSON entry: `"their name"` or `{"name": "their name", "transpose": true}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        transpose: bool,
    },
}

/// The JSON object's entries in file order, duplicates kept (a map type would keep only the last of a repeated
/// key, silently).
struct Entries(Vec<(String, Entry)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> std::result::Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = access.next_entry::<String, Entry>()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

fn err(msg: String) -> Error {
    Error::Format(format!("name map: {msg}"))
}

impl NameMap {
    /// A preset's name (`torch-sequential`, `flax`), or else the path of a JSON map file.
    pub fn from_arg(arg: &str) -> Result<Self> {
        if let Some((_, p)) = Preset::ALL.iter().find(|(n, _)| *n == arg) {
            return Ok(NameMap::Preset(*p));
        }
        let path = std::path::Path::new(arg);
        if !path.exists() {
            let presets: Vec<&str> = Preset::ALL.iter().map(|(n, _)| *n).collect();
            return Err(err(format!(
                "{arg:?} is neither a preset ({}) nor a file",
                presets.join(", ")
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&bytes)
    }

    /// A JSON object from our names to theirs; each value a name, or `{"name": ..., "transpose": bool}`.
    /// Refuses two of ours mapped to one of theirs (which one would it be?).
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let Entries(raw) = serde_json::from_slice(bytes).map_err(|e| {
            err(format!(
                "not a JSON object of our name -> \"their name\" or {{\"name\": ..., \"transpose\": bool}} ({e})"
            ))
        })?;
        let mut map = BTreeMap::new();
        let mut taken: BTreeMap<String, String> = BTreeMap::new();
        for (ours, entry) in raw {
            if map.contains_key(&ours) {
                return Err(err(format!("ambiguous: {ours} is given twice")));
            }
            let source = match entry {
                Entry::Name(name) => Source {
                    name,
                    transpose: false,
                },
                Entry::Full { name, transpose } => Source { name, transpose },
            };
            if let Some(first) = taken.insert(source.name.clone(), ours.clone()) {
                return Err(err(format!(
                    "ambiguous: {first} and {ours} are both mapped to their tensor {:?}",
                    source.name
                )));
            }
            map.insert(ours, source);
        }
        Ok(NameMap::Explicit(map))
    }

    /// The explicit map a preset finds in `set` (our name -> source), in layer order.
    pub fn resolve(&self, set: &TensorSet, role: Role) -> Result<BTreeMap<String, Source>> {
        match self {
            NameMap::Explicit(map) => Ok(map.clone()),
            NameMap::Preset(preset) => resolve_preset(*preset, set, role),
        }
    }

    /// `set` with our names: mapped tensors renamed (and transposed where stated), the others kept.
    pub fn apply(&self, set: &TensorSet, role: Role) -> Result<TensorSet> {
        let map = self.resolve(set, role)?;
        let mut out = TensorSet {
            tensors: BTreeMap::new(),
            metadata: set.metadata.clone(),
        };
        for (ours, src) in &map {
            let t = set.tensors.get(&src.name).ok_or_else(|| {
                err(format!(
                    "{ours} is mapped to {:?}, which the file does not hold",
                    src.name
                ))
            })?;
            let t = if src.transpose {
                transpose(t).ok_or_else(|| {
                    err(format!(
                        "{ours} is mapped to {:?} transposed, but it has shape {:?} (only rank 2 transposes)",
                        src.name, t.shape
                    ))
                })?
            } else {
                t.clone()
            };
            out.tensors.insert(ours.clone(), t);
        }
        let consumed: std::collections::BTreeSet<&str> =
            map.values().map(|s| s.name.as_str()).collect();
        for (name, t) in &set.tensors {
            if consumed.contains(name.as_str()) {
                continue;
            }
            if let Some(src) = map.get(name) {
                return Err(err(format!(
                    "ambiguous: the file holds {name} itself, and the map also takes {name} from {:?}",
                    src.name
                )));
            }
            out.tensors.insert(name.clone(), t.clone());
        }
        check_layer_shapes(&out, &map, role)?;
        Ok(out)
    }
}

/// A rank-2 tensor transposed ([r, c] to [c, r]); `None` for another rank.
fn transpose(t: &Tensor) -> Option<Tensor> {
    let [r, c] = t.shape[..] else {
        return None;
    };
    let data = (0..c)
        .flat_map(|j| (0..r).map(move |i| t.data[i * c + j]))
        .collect();
    Some(Tensor::new(t.dtype, vec![c, r], data))
}

/// The numbers in a layer prefix, in order (`params/layers_0/d01` -> [0, 1]): the layer's position.
fn order_key(prefix: &str) -> Vec<u128> {
    prefix
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or(u128::MAX))
        .collect()
}

fn resolve_preset(preset: Preset, set: &TensorSet, role: Role) -> Result<BTreeMap<String, Source>> {
    let name = Preset::ALL
        .iter()
        .find(|(_, p)| *p == preset)
        .map_or("?", |(n, _)| *n);
    // (order key, prefix, weight name, bias name)
    let mut layers: Vec<(Vec<u128>, String, String, String)> = Vec::new();
    for (tensor, t) in &set.tensors {
        let Some((prefix, sep)) = preset.weight_prefix(tensor) else {
            continue;
        };
        if t.shape.len() != 2 {
            return Err(err(format!(
                "preset {name}: {tensor} has shape {:?}; only dense layers (rank-2 weights) are read",
                t.shape
            )));
        }
        let bias = format!("{prefix}{sep}bias");
        if !set.tensors.contains_key(&bias) {
            return Err(err(format!(
                "preset {name}: {tensor} has no bias {bias:?} (every layer of the oracle has a bias)"
            )));
        }
        layers.push((order_key(prefix), prefix.to_string(), tensor.clone(), bias));
    }
    if layers.is_empty() {
        return Err(err(format!(
            "preset {name} found no layer in the file (tensors: {:?})",
            set.tensors.keys().collect::<Vec<_>>()
        )));
    }
    layers.sort();
    for pair in layers.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(err(format!(
                "ambiguous: preset {name} cannot order layers {:?} and {:?} (their names carry the same \
                 numbers {:?}); give a JSON map instead",
                pair[0].1, pair[1].1, pair[0].0
            )));
        }
    }
    let mut map = BTreeMap::new();
    for (k, (_, _, weight, bias)) in layers.into_iter().enumerate() {
        let (w, b) = role.names(k);
        map.insert(
            w,
            Source {
                name: weight,
                transpose: preset.transposed(),
            },
        );
        map.insert(
            b,
            Source {
                name: bias,
                transpose: false,
            },
        );
    }
    Ok(map)
}

/// After renaming: each mapped layer's weight has as many rows as its bias has entries, and as many columns as
/// the previous layer's weight has rows, so that a wrong transpose is named with the file's tensors.
fn check_layer_shapes(out: &TensorSet, map: &BTreeMap<String, Source>, role: Role) -> Result<()> {
    let origin = |ours: &str| match map.get(ours) {
        Some(s) if s.transpose => format!("{ours} (their {:?}, transposed)", s.name),
        Some(s) => format!("{ours} (their {:?})", s.name),
        None => ours.to_string(),
    };
    let mut previous_rows: Option<(String, usize)> = None;
    for k in 0.. {
        let (w, b) = role.names(k);
        let (Some(wt), Some(bt)) = (out.tensors.get(&w), out.tensors.get(&b)) else {
            break;
        };
        if !map.contains_key(&w) && !map.contains_key(&b) {
            previous_rows = wt.shape.first().map(|r| (w.clone(), *r));
            continue;
        }
        let [rows, cols] = wt.shape[..] else {
            return Err(err(format!(
                "{} has shape {:?}; a weight is [out, in]",
                origin(&w),
                wt.shape
            )));
        };
        if bt.shape != [rows] {
            return Err(err(format!(
                "{} has shape [{rows}, {cols}] (ours: [out, in]) but {} has shape {:?}: a wrong transpose?",
                origin(&w),
                origin(&b),
                bt.shape
            )));
        }
        if let Some((prev, prev_rows)) = &previous_rows {
            if *prev_rows != cols {
                return Err(err(format!(
                    "{} has {cols} inputs but {} has {prev_rows} outputs: a wrong transpose or a layer out of order?",
                    origin(&w),
                    origin(prev)
                )));
            }
        }
        previous_rows = Some((w, rows));
    }
    Ok(())
}
