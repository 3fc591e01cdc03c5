//! The naming contract of oracle files. States use the paper's layer index k = 1..L (z_0 = x is not written);
//! weights, biases and their gradients use the index of PyTorch's layer list, k = 0..L-1 (W_k maps z_k to a_{k+1}).

/// z_k^+ for k = 1..L, shape [batch, width_k].
pub fn z_plus(k: usize) -> String {
    format!("z_plus.{k}")
}

/// z_k^- for k = 1..L, shape [batch, width_k].
pub fn z_minus(k: usize) -> String {
    format!("z_minus.{k}")
}

/// Dual-propagation estimate of d loss / d W_k, k = 0..L-1, shape [out, in].
pub fn grad_w(k: usize) -> String {
    format!("grad_W.{k}")
}

/// Dual-propagation estimate of d loss / d b_k, k = 0..L-1, shape \[out\].
pub fn grad_b(k: usize) -> String {
    format!("grad_b.{k}")
}

/// Prefix of the back-propagation gradients: `bp_grad_W.{k}`, `bp_grad_b.{k}`.
pub const BACKPROP_PREFIX: &str = "bp_";

/// Largest |residual| of each KKT equation of layer k (1..L), in the order of the metadata entry [`kkt_labels`].
pub fn kkt(k: usize) -> String {
    format!("kkt.{k}")
}

/// Metadata key holding the JSON list of equation names of `kkt.{k}`.
pub fn kkt_labels(k: usize) -> String {
    format!("kkt.{k}.equations")
}

/// [plus, minus]: largest change of one more update of layer k (1..L) (fixed point of Eq. 8 / 3 / 21).
pub fn fixed_point(k: usize) -> String {
    format!("fixed_point.{k}")
}
