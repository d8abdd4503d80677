//! The names of the weight paths k ↦ W_k the analysis measures, one type for all: the
//! analysis, its file, the figures and the report.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A weight path: A, b, δ and the effective weights |δ_k| A_k, |δ_k| b_k of a fully connected
/// net, or the conv1, conv2 layers of the conv ResNet. In files: "A", "b", "delta",
/// "delta_A", "delta_b", "conv1", "conv2".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PathName {
    #[serde(rename = "A")]
    A,
    #[serde(rename = "b")]
    B,
    #[serde(rename = "delta")]
    Delta,
    #[serde(rename = "delta_A")]
    DeltaA,
    #[serde(rename = "delta_b")]
    DeltaB,
    #[serde(rename = "conv1")]
    Conv1,
    #[serde(rename = "conv2")]
    Conv2,
}

impl PathName {
    /// Its name in files.
    pub fn name(self) -> &'static str {
        match self {
            PathName::A => "A",
            PathName::B => "b",
            PathName::Delta => "delta",
            PathName::DeltaA => "delta_A",
            PathName::DeltaB => "delta_b",
            PathName::Conv1 => "conv1",
            PathName::Conv2 => "conv2",
        }
    }

    /// Its label in figures and reports: "A_k", "|δ_k| A_k", ...
    pub fn label(self) -> &'static str {
        match self {
            PathName::A => "A_k",
            PathName::B => "b_k",
            PathName::Delta => "δ_k",
            PathName::DeltaA => "|δ_k| A_k",
            PathName::DeltaB => "|δ_k| b_k",
            PathName::Conv1 => "conv1_k",
            PathName::Conv2 => "conv2_k",
        }
    }

    /// A conv layer's path (measured by spectral norms).
    pub fn is_conv(self) -> bool {
        matches!(self, PathName::Conv1 | PathName::Conv2)
    }
}

impl fmt::Display for PathName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_files_are_the_serialised_ones() {
        let all = [
            PathName::A,
            PathName::B,
            PathName::Delta,
            PathName::DeltaA,
            PathName::DeltaB,
            PathName::Conv1,
            PathName::Conv2,
        ];
        for p in all {
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.name())
            );
        }
    }
}
