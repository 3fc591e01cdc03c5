//! Where a predicate on the weight scale first holds along the grid ([`Crossing`]): a scan of the grid, then
//! bisection inside the first interval that changes.

use crate::error::Result;

/// Where a predicate on the weight scale first holds along the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Crossing {
    /// It holds already at the smallest scale of the grid.
    Below(f64),
    /// It fails at `lo` and holds at `hi` (hi / lo - 1 <= the resolution; both are on the grid or bisection
    /// points, and it fails at every grid point below `lo`).
    Between {
        /// Largest scale known to fail.
        lo: f64,
        /// Smallest scale known to hold.
        hi: f64,
    },
    /// It holds at no grid point up to the largest scale.
    Beyond(f64),
}

impl Crossing {
    /// The crossing for known values on the grid, bisecting (geometric midpoints) inside the first interval where
    /// the predicate turns true until hi / lo - 1 <= `resolution`.
    pub fn find(
        grid: &[f64],
        on_grid: &[bool],
        resolution: f64,
        mut holds: impl FnMut(f64) -> Result<bool>,
    ) -> Result<Self> {
        let Some(first) = on_grid.iter().position(|&h| h) else {
            return Ok(Crossing::Beyond(grid.last().copied().unwrap_or(0.0)));
        };
        if first == 0 {
            return Ok(Crossing::Below(grid[0]));
        }
        let (mut lo, mut hi) = (grid[first - 1], grid[first]);
        while hi / lo - 1.0 > resolution {
            let mid = (lo * hi).sqrt();
            if holds(mid)? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(Crossing::Between { lo, hi })
    }

    /// Rounded to 3 significant digits (geometric midpoint of the bracket), "< s" or "> s" at the grid's ends.
    pub fn label(self) -> String {
        match self {
            Crossing::Below(s) => format!("< {}", sig3(s)),
            Crossing::Between { lo, hi } => sig3((lo * hi).sqrt()),
            Crossing::Beyond(s) => format!("> {}", sig3(s)),
        }
    }
}

/// 3 significant digits in plain notation (the sweep's scales and gains are between 1e-3 and 1e3).
pub fn sig3(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}
