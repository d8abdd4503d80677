//! The settings of the page's second view, "At initialisation": the grid of the (β, H) phase
//! diagram as form fields with defaults that finish in seconds on the wasm CPU, their URL
//! query, and their check by core's [`PhaseConfig::check`], whose errors name the field to
//! mark.

use crate::settings::{field, Field, FieldError, FieldKind, Form, Values, MAX_DEPTHS, WORKERS};
use scaling_core::phase::{Axis, BadKey, Block, PhaseConfig};
use scaling_core::Activation;
use serde_json::Value;

/// The fields, in the form's order: width 40, depths 50 and 200, 14 β in [0, 1.3] × 10 H in
/// [0.05, 0.95], 3 networks × 8 inputs per cell, tanh on Eq. (1); one worker per core.
pub const PHASE_FIELDS: [Field; 14] = [
    field("width", "width d", FieldKind::Count, "40"),
    field("depths", "depths L", FieldKind::Counts, "50,200"),
    field("beta_from", "β from", FieldKind::Real, "0"),
    field("beta_to", "β to", FieldKind::Real, "1.3"),
    field("beta_count", "number of β", FieldKind::Count, "14"),
    field("hurst_from", "H from", FieldKind::Real, "0.05"),
    field("hurst_to", "H to", FieldKind::Real, "0.95"),
    field("hurst_count", "number of H", FieldKind::Count, "10"),
    field("n_networks", "networks per cell", FieldKind::Count, "3"),
    field("n_inputs", "inputs per network", FieldKind::Count, "8"),
    field(
        "activation",
        "activation σ",
        FieldKind::Select(&Activation::NAMES),
        "tanh",
    ),
    field(
        "block",
        "block (eq1: σ(A h); res3: V σ(W h))",
        FieldKind::Select(&Block::NAMES),
        "eq1",
    ),
    field("seed", "seed", FieldKind::Count, "0"),
    WORKERS,
];

/// The grid's axes: core's key, and the fields of their `from`, `to` and `count`.
const AXES: [(&str, [&str; 3]); 2] = [
    ("betas", ["beta_from", "beta_to", "beta_count"]),
    ("hursts", ["hurst_from", "hurst_to", "hurst_count"]),
];

/// The value of every field of the phase form, as typed.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseSettings(Values);

impl Default for PhaseSettings {
    fn default() -> Self {
        Self(Values::new(&PHASE_FIELDS))
    }
}

impl Form for PhaseSettings {
    fn values(&self) -> &Values {
        &self.0
    }

    fn values_mut(&mut self) -> &mut Values {
        &mut self.0
    }
}

impl PhaseSettings {
    /// The defaults, overridden by the pairs of a URL query (unknown keys, `view` among
    /// them, are ignored).
    pub fn from_query(query: &str) -> Self {
        Self(Values::from_query(&PHASE_FIELDS, query))
    }

    /// The phase diagram these settings describe, checked by core; the error names the first
    /// bad field.
    pub fn config(&self) -> Result<PhaseConfig, FieldError> {
        self.workers()?;
        let config = PhaseConfig {
            width: self.count("width")?,
            depths: self.counts("depths")?,
            betas: self.axis(AXES[0].1)?,
            hursts: self.axis(AXES[1].1)?,
            n_networks: self.count("n_networks")?,
            n_inputs: self.count("n_inputs")?,
            activation: self.selected("activation")?,
            block: self.selected("block")?,
            seed: self.count("seed")? as u64,
        };
        if config.depths.len() > MAX_DEPTHS {
            return Err(FieldError {
                key: "depths",
                message: format!("at most {MAX_DEPTHS} depths on one page"),
            });
        }
        config.check().map_err(|e| self.field_error(&config, e))?;
        Ok(config)
    }

    /// The workers asked for (0: one per core).
    pub fn workers(&self) -> Result<usize, FieldError> {
        self.0.workers()
    }

    /// A whole number that fits a `usize` of this machine (wasm32's has 32 bits).
    fn count(&self, key: &'static str) -> Result<usize, FieldError> {
        let value = self.0.parse(key)?.expect("a count is never empty");
        usize_of(key, &value)
    }

    fn counts(&self, key: &'static str) -> Result<Vec<usize>, FieldError> {
        let value = self.0.parse(key)?.expect("a list is never empty");
        let values = value.as_array().expect("counts parse to a list");
        values.iter().map(|v| usize_of(key, v)).collect()
    }

    fn real(&self, key: &'static str) -> Result<f64, FieldError> {
        let value = self.0.parse(key)?.expect("a real is never empty");
        Ok(value.as_f64().expect("reals parse to numbers"))
    }

    /// The axis of the fields (from, to, count).
    fn axis(&self, [from, to, count]: [&'static str; 3]) -> Result<Axis, FieldError> {
        Ok(Axis::Linspace {
            from: self.real(from)?,
            to: self.real(to)?,
            count: self.count(count)?,
        })
    }

    /// The value of a select field, by its name.
    fn selected<T: serde::de::DeserializeOwned>(&self, key: &'static str) -> Result<T, FieldError> {
        let name = self.0.parse(key)?.unwrap_or_default();
        serde_json::from_value(name).map_err(|e| FieldError {
            key,
            message: e.to_string(),
        })
    }

    /// The field of an error of [`PhaseConfig::check`], whose first word is the bad key: an
    /// axis's error goes to its count when it is about the number of values, else to its
    /// `from` if core refuses `from` alone, else to its `to`.
    fn field_error(&self, config: &PhaseConfig, error: BadKey) -> FieldError {
        let (key, message) = (error.key, error.why);
        let Some(&(_, [from, to, count])) = AXES.iter().find(|a| a.0 == key) else {
            // The other keys of core are the fields' own.
            let field = PHASE_FIELDS.iter().find(|f| f.key == key);
            let key = field.map_or(PHASE_FIELDS[0].key, |f| f.key);
            return FieldError { key, message };
        };
        let key = if message.contains("count") || message.contains("values") {
            count
        } else if self.refused_alone(config, key, from) {
            from
        } else {
            to
        };
        FieldError { key, message }
    }

    /// Whether core refuses the axis `key` (`betas` or `hursts`) of `config` when it holds
    /// only the value of the field `from`.
    fn refused_alone(&self, config: &PhaseConfig, key: &str, from: &'static str) -> bool {
        let Ok(value) = self.real(from) else {
            return true;
        };
        let mut alone = config.clone();
        let axis = match key {
            "betas" => &mut alone.betas,
            _ => &mut alone.hursts,
        };
        *axis = Axis::List(vec![value]);
        alone.check().is_err_and(|e| e.key == key)
    }
}

/// A parsed count as a `usize`, or the error that it does not fit one.
fn usize_of(key: &'static str, value: &Value) -> Result<usize, FieldError> {
    let v = value.as_u64().expect("counts parse to whole numbers");
    usize::try_from(v).map_err(|_| FieldError {
        key,
        message: format!("{v} is too large"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_make_a_small_valid_grid() {
        let config = PhaseSettings::default().config().unwrap();
        let want = PhaseConfig {
            width: 40,
            depths: vec![50, 200],
            betas: Axis::Linspace {
                from: 0.0,
                to: 1.3,
                count: 14,
            },
            hursts: Axis::Linspace {
                from: 0.05,
                to: 0.95,
                count: 10,
            },
            n_networks: 3,
            n_inputs: 8,
            activation: Activation::Tanh,
            block: Block::Eq1,
            seed: 0,
        };
        assert_eq!(config, want);
        assert_eq!(config.columns().len(), 20);
        assert_eq!(PhaseSettings::default().to_query(), "");
    }

    #[test]
    fn the_query_round_trips_and_ignores_unknown_keys() {
        let mut s = PhaseSettings::default();
        s.set("depths", "10, 40");
        s.set("beta_count", "4");
        s.set("hurst_to", "0.5");
        s.set("hurst_count", "4");
        s.set("activation", "relu");
        let query = s.to_query();
        assert_eq!(
            query,
            "depths=10%2C%2040&beta_count=4&hurst_to=0.5&hurst_count=4&activation=relu"
                .replace("%2C", ",")
        );
        let back = PhaseSettings::from_query(&format!("?view=phase&{query}&lr=1&=&x"));
        assert_eq!(back, s);
        let config = back.config().unwrap();
        assert_eq!(config.depths, [10, 40]);
        assert_eq!(config.betas.values().len(), 4);
        let hursts = config.hursts.values();
        assert_eq!(hursts.len(), 4);
        for (h, want) in hursts.iter().zip([0.05, 0.2, 0.35, 0.5]) {
            assert!((h - want).abs() < 1e-12, "{hursts:?}");
        }
        assert_eq!(config.activation, Activation::Relu);
    }

    #[test]
    fn bad_values_are_refused_at_their_field() {
        // (the fields set, the field refused, what its message says)
        type Case = (
            &'static [(&'static str, &'static str)],
            &'static str,
            &'static str,
        );
        let cases: &[Case] = &[
            (&[("width", "0")], "width", "must be in 1..="),
            (&[("width", "wide")], "width", "not a whole number"),
            (&[("depths", "")], "depths", "not a whole number"),
            (&[("depths", "0,10")], "depths", "non-empty list"),
            (
                &[("depths", "1,2,3,4,5,6,7,8,9,10,11,12,13")],
                "depths",
                "at most 12",
            ),
            (&[("beta_count", "0")], "beta_count", "count"),
            (&[("beta_from", "-0.5")], "beta_from", "≥ 0"),
            (&[("beta_to", "-1")], "beta_to", "≥ 0"),
            (
                &[("beta_from", "1e308"), ("beta_to", "-1e308")],
                "beta_to",
                "finite",
            ),
            (&[("hurst_from", "0")], "hurst_from", "(0, 1)"),
            (&[("hurst_to", "1.2")], "hurst_to", "(0, 1)"),
            (&[("hurst_from", "NaN")], "hurst_from", "not a number"),
            (&[("hurst_count", "10001")], "hurst_count", "count"),
            (&[("n_networks", "0")], "n_networks", "must be in"),
            (&[("n_inputs", "0")], "n_inputs", "must be in"),
            (&[("activation", "swish")], "activation", "one of"),
            (&[("seed", "-1")], "seed", "not a whole number"),
            (&[("workers", "65")], "workers", "at most 64"),
        ];
        for &(set, at, says) in cases {
            let mut s = PhaseSettings::default();
            for &(key, value) in set {
                s.set(key, value);
            }
            let err = s.config().unwrap_err();
            assert_eq!(err.key, at, "{set:?}: {err:?}");
            assert!(err.message.contains(says), "{set:?}: {err:?}");
        }
    }
}
