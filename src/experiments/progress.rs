//! Progress bars (indicatif, with rate and ETA) on a terminal; plain log lines on stderr otherwise; nothing
//! with `--quiet`.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where progress goes.
#[derive(Clone)]
pub struct Progress {
    multi: MultiProgress,
    bars: bool,
    quiet: bool,
}

impl Progress {
    /// Bars when stderr is a terminal and not `quiet`; log lines when it is not a terminal.
    pub fn new(quiet: bool) -> Self {
        let bars = !quiet && std::io::stderr().is_terminal();
        let target = if bars {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
            bars,
            quiet,
        }
    }

    /// Silent progress (tests).
    pub fn silent() -> Self {
        Self::new(true)
    }

    /// A bar over `len` units (steps or runs) with rate and ETA.
    pub fn bar(&self, len: u64, unit: &str, prefix: String) -> ProgressBar {
        if !self.bars {
            return ProgressBar::hidden();
        }
        let style = ProgressStyle::with_template(&format!(
            "{{prefix:>28}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{per_sec}} ETA {{eta}} {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = self.multi.add(ProgressBar::new(len).with_style(style));
        bar.set_prefix(prefix);
        bar
    }

    /// A line of log only where there are no bars (long runs in the background report their steps).
    pub fn log_without_bars(&self, line: &str) {
        if !self.quiet && !self.bars {
            eprintln!("{line}");
        }
    }

    /// A line of log: above the bars on a terminal, on stderr otherwise, nowhere when quiet.
    pub fn log(&self, line: &str) {
        if self.quiet {
            return;
        }
        if self.bars {
            let _ = self.multi.println(line);
        } else {
            eprintln!("{line}");
        }
    }
}
