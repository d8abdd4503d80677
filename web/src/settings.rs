//! The page's settings: the form's fields with their defaults, the URL query that carries
//! them (so that a view can be shared), and their check by core's sweep configuration, whose
//! errors name the field to mark.

use crate::engine::Choice;
use scaling_core::sweep::config::{
    ConfigError, DeltaName, InitName, OptimizerName, Plan, SweepConfig,
};
use scaling_core::sweep::reproduce::{Scale, EXPERIMENTS, OPTIMIZERS};
use scaling_core::Activation;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What a field holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldKind {
    /// One of these names.
    Select(&'static [&'static str]),
    /// A whole number ≥ 0.
    Count,
    /// A real number.
    Real,
    /// A real number or nothing.
    OptionalReal,
    /// Whole numbers separated by commas.
    Counts,
}

/// A field of the form, named by its key in the sweep configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub default: &'static str,
}

/// A field (`const`, for tables of fields).
pub const fn field(
    key: &'static str,
    label: &'static str,
    kind: FieldKind,
    default: &'static str,
) -> Field {
    Field {
        key,
        label,
        kind,
        default,
    }
}

/// The most depths one page trains side by side.
pub const MAX_DEPTHS: usize = 12;

/// How many Web Workers a view starts (0: one per core the browser reports), a field of the
/// views that compute in workers.
pub const WORKERS: Field = field(
    "workers",
    "workers (0: one per core)",
    FieldKind::Count,
    "0",
);

/// The most workers a view starts.
pub const MAX_WORKERS: usize = 64;

/// The fields, in the form's order. The defaults train tanh nets with a shared δ at 7 depths
/// 4..256 on 2000 synthetic samples: the smooth regime, in a minute on a laptop's GPU. All
/// but [`PAGE_FIELDS`] are keys of core's sweep configuration.
pub const FIELDS: [Field; 18] = [
    field(
        "dataset",
        "data set",
        FieldKind::Select(&["synthetic", "mnist"]),
        "synthetic",
    ),
    field("n_samples", "training samples", FieldKind::Count, "2000"),
    field(
        "activation",
        "activation σ",
        FieldKind::Select(&Activation::NAMES),
        "tanh",
    ),
    field(
        "delta",
        "δ mode",
        FieldKind::Select(&DeltaName::NAMES),
        "shared",
    ),
    field("beta", "β (fixed δ = L^−β)", FieldKind::OptionalReal, ""),
    field(
        "init",
        "init",
        FieldKind::Select(&InitName::NAMES),
        "xavier",
    ),
    field("initial_sd", "init scale s", FieldKind::Real, "1e-6"),
    field("width", "width d", FieldKind::Count, "10"),
    field(
        "depths",
        "depths L",
        FieldKind::Counts,
        "4,8,16,32,64,128,256",
    ),
    field(
        "optimizer",
        "optimizer",
        FieldKind::Select(&OptimizerName::NAMES),
        "sgd",
    ),
    field("lr", "learning rate η", FieldKind::Real, "0.2"),
    field("batch_size", "batch size B", FieldKind::Count, "100"),
    field("max_steps", "max steps Tmax", FieldKind::Count, "2000"),
    field("epsilon", "target loss ε", FieldKind::Real, "1e-3"),
    field("log_every", "loss measured every", FieldKind::Count, "20"),
    field("seed", "seed", FieldKind::Count, "0"),
    field(
        "engine",
        "engine",
        FieldKind::Select(&Choice::NAMES),
        "auto",
    ),
    WORKERS,
];

/// The fields about the page rather than the sweep: where it trains ([`crate::engine`]) and
/// on how many workers.
pub const PAGE_FIELDS: [&str; 2] = ["engine", "workers"];

/// The values of a form's fields, as typed, with the fields they belong to: the training
/// form's [`Settings`] and the phase diagram's
/// [`PhaseSettings`](crate::phase_settings::PhaseSettings) each hold one.
#[derive(Clone, Debug, PartialEq)]
pub struct Values {
    fields: &'static [Field],
    map: BTreeMap<&'static str, String>,
}

impl Values {
    /// Every field at its default.
    pub fn new(fields: &'static [Field]) -> Self {
        let map = fields
            .iter()
            .map(|f| (f.key, f.default.to_string()))
            .collect();
        Self { fields, map }
    }

    pub fn fields(&self) -> &'static [Field] {
        self.fields
    }

    pub fn get(&self, key: &str) -> &str {
        self.map.get(key).map_or("", |v| v.as_str())
    }

    /// Sets a field (unknown keys are ignored).
    pub fn set(&mut self, key: &str, value: &str) {
        if let Some(f) = self.fields.iter().find(|f| f.key == key) {
            self.map.insert(f.key, value.trim().to_string());
        }
    }

    /// The defaults, overridden by the pairs of a URL query (`?a=1&b=2`; unknown keys are
    /// ignored).
    pub fn from_query(fields: &'static [Field], query: &str) -> Self {
        let mut values = Self::new(fields);
        for pair in query.trim_start_matches('?').split('&') {
            if let Some((key, value)) = pair.split_once('=') {
                values.set(&decode(key), &decode(value));
            }
        }
        values
    }

    /// The fields that differ from their defaults, as a URL query without the `?`.
    pub fn to_query(&self) -> String {
        self.fields
            .iter()
            .filter(|f| self.get(f.key) != f.default)
            .map(|f| format!("{}={}", f.key, encode(self.get(f.key))))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The value of field `key` parsed by its kind, as JSON (`None`: an optional field left
    /// empty); the error names the field.
    pub fn parse(&self, key: &'static str) -> Result<Option<Value>, FieldError> {
        let f = self
            .fields
            .iter()
            .find(|f| f.key == key)
            .expect("a field of this form");
        let text = self.get(f.key);
        let bad = |message: String| FieldError {
            key: f.key,
            message,
        };
        let value = match f.kind {
            FieldKind::Select(names) if names.contains(&text) => Value::from(text),
            FieldKind::Select(names) => {
                return Err(bad(format!("must be one of {}", names.join(", "))))
            }
            FieldKind::Count => Value::from(count(text).map_err(bad)?),
            FieldKind::Real => Value::from(real(text).map_err(bad)?),
            FieldKind::OptionalReal if text.is_empty() => return Ok(None),
            FieldKind::OptionalReal => Value::from(real(text).map_err(bad)?),
            FieldKind::Counts => {
                let values = text
                    .split(',')
                    .map(|v| count(v.trim()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(bad)?;
                Value::from(values)
            }
        };
        Ok(Some(value))
    }
}

impl Values {
    /// The [`WORKERS`] field: how many workers to start (0: one per core).
    pub fn workers(&self) -> Result<usize, FieldError> {
        let value = self.parse(WORKERS.key)?.expect("a count");
        let n = value.as_u64().expect("counts parse to whole numbers");
        match usize::try_from(n) {
            Ok(n) if n <= MAX_WORKERS => Ok(n),
            _ => Err(FieldError {
                key: WORKERS.key,
                message: format!("at most {MAX_WORKERS}"),
            }),
        }
    }
}

/// A form of the page: its values, and which of its fields apply given the others (the
/// page's form component draws any form from this).
pub trait Form {
    fn values(&self) -> &Values;
    fn values_mut(&mut self) -> &mut Values;

    fn get(&self, key: &str) -> &str {
        self.values().get(key)
    }

    /// Sets a field (unknown keys are ignored).
    fn set(&mut self, key: &str, value: &str) {
        self.values_mut().set(key, value)
    }

    /// The fields that differ from their defaults, as a URL query without the `?`.
    fn to_query(&self) -> String {
        self.values().to_query()
    }

    /// Whether a field is used with the other values (a field that does not apply is
    /// disabled and not checked).
    fn applies(&self, _key: &str) -> bool {
        true
    }
}

/// The value of every field of the training form, as typed.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings(Values);

/// A field and what is wrong with its value.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    pub key: &'static str,
    pub message: String,
}

impl From<ConfigError> for FieldError {
    fn from(e: ConfigError) -> Self {
        Self {
            key: e.key,
            message: e.message,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self(Values::new(&FIELDS))
    }
}

impl Form for Settings {
    fn values(&self) -> &Values {
        &self.0
    }

    fn values_mut(&mut self) -> &mut Values {
        &mut self.0
    }

    /// β only for a fixed δ, the width only for synthetic data: the MNIST embedding has
    /// width 25.
    fn applies(&self, key: &str) -> bool {
        match key {
            "beta" => self.get("delta") == "fixed",
            "width" => self.get("dataset") == "synthetic",
            _ => true,
        }
    }
}

impl Settings {
    /// The defaults, overridden by the pairs of a URL query (`?a=1&b=2`; unknown keys are
    /// ignored).
    pub fn from_query(query: &str) -> Self {
        Self(Values::from_query(&FIELDS, query))
    }

    /// The sweep these settings describe, checked by core (and the page's own fields); the
    /// error names the first bad field.
    pub fn plan(&self) -> Result<Plan, FieldError> {
        for key in PAGE_FIELDS {
            self.0.parse(key)?;
        }
        self.workers()?;
        let config = self.config()?;
        let plan = config.plan()?;
        if plan.depths.len() > MAX_DEPTHS {
            return Err(FieldError {
                key: "depths",
                message: format!("at most {MAX_DEPTHS} depths on one page"),
            });
        }
        Ok(plan)
    }

    /// The workers asked for to train on the CPU (0: one per core).
    pub fn workers(&self) -> Result<usize, FieldError> {
        self.0.workers()
    }

    /// Where the settings ask to train.
    pub fn engine(&self) -> Choice {
        Choice::named(self.get("engine"))
    }

    /// The sweep configuration of these settings, each field parsed by its kind.
    pub fn config(&self) -> Result<SweepConfig, FieldError> {
        let mut map = Map::new();
        let sweep_fields = FIELDS.iter().filter(|f| !PAGE_FIELDS.contains(&f.key));
        for f in sweep_fields.filter(|f| self.applies(f.key)) {
            if let Some(value) = self.0.parse(f.key)? {
                map.insert(f.key.into(), value);
            }
        }
        serde_json::from_value(Value::Object(map)).map_err(|e| FieldError {
            key: "dataset",
            message: e.to_string(),
        })
    }
}

/// The paper's experiments of `native reproduce` at its quick scale, under SGD and under Adam,
/// as settings of the page ("synthetic-tanh-shared, adam", ...): every field of the sweep
/// takes the experiment's value, but the depths (the page's own few) and the plateau rule,
/// which the page does not have; the page's fields keep their defaults.
pub fn presets() -> Vec<(String, Settings)> {
    let mut out = Vec::new();
    for e in &EXPERIMENTS {
        for &optimizer in &OPTIMIZERS {
            let config = serde_json::to_value(e.config(optimizer, Scale::Quick))
                .expect("a sweep config serialises");
            let mut settings = Settings::default();
            for f in FIELDS.iter().filter(|f| f.key != "depths") {
                match &config[f.key] {
                    Value::String(v) => settings.set(f.key, v),
                    Value::Number(v) => settings.set(f.key, &v.to_string()),
                    _ => {}
                }
            }
            out.push((format!("{}, {}", e.name, optimizer.name()), settings));
        }
    }
    out
}

fn count(text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("“{text}” is not a whole number"))
}

fn real(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("“{text}” is not a number")),
    }
}

/// Percent-encodes everything but letters, digits and `-._~,`.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Undoes [`encode`] (and `+` for a space); malformed escapes are kept as they are.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| {
            bytes
                .get(j..j + 2)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        };
        match bytes[i] {
            b'%' if hex(i + 1).is_some() => {
                out.push(hex(i + 1).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scaling_core::model::delta::DeltaMode;

    #[test]
    fn the_defaults_make_a_valid_plan() {
        let plan = Settings::default().plan().unwrap();
        assert_eq!(plan.depths, [4, 8, 16, 32, 64, 128, 256]);
        assert_eq!(plan.width(), Some(10));
        assert_eq!(
            (plan.activation, plan.delta),
            (Activation::Tanh, DeltaMode::Shared)
        );
        assert_eq!(plan.train.batch_size, 100);
        assert_eq!(plan.train.log_every, 20);
        assert_eq!(Settings::default().to_query(), "");
    }

    #[test]
    fn the_query_round_trips_and_ignores_unknown_keys() {
        let mut s = Settings::default();
        s.set("depths", "3, 9,27");
        s.set("delta", "fixed");
        s.set("beta", "0.5");
        s.set("lr", "1e-2");
        s.set("optimizer", "adam");
        s.set("engine", "cpu");
        let query = s.to_query();
        assert_eq!(
            query,
            "delta=fixed&beta=0.5&depths=3%2C%209%2C27&optimizer=adam&lr=1e-2&engine=cpu"
                .replace("%2C", ",")
        );
        let back = Settings::from_query(&format!("?{query}&nonsense=1&=&x"));
        assert_eq!(back, s);
        let plan = back.plan().unwrap();
        assert_eq!(plan.depths, [3, 9, 27]);
        assert_eq!(plan.delta, DeltaMode::Fixed { beta: 0.5 });
        assert_eq!(
            plan.train.optim.optimizer,
            scaling_core::train::optim::Optimizer::ADAM
        );
        assert_eq!(back.engine(), Choice::Cpu);
        assert_eq!(Settings::default().engine(), Choice::Auto);
        assert_eq!(Settings::from_query("lr=%31%2e5+").get("lr"), "1.5");
    }

    #[test]
    fn bad_values_are_refused_at_their_field() {
        let cases = [
            ("lr", "fast", "lr", "not a number"),
            ("lr", "-1", "lr", "> 0"),
            ("lr", "inf", "lr", "not a number"),
            ("depths", "4,x,16", "depths", "not a whole number"),
            (
                "depths",
                "1,2,3,4,5,6,7,8,9,10,11,12,13",
                "depths",
                "at most 12",
            ),
            ("batch_size", "5000", "batch_size", "exceeds"),
            ("batch_size", "0", "batch_size", "at least 1"),
            ("width", "-3", "width", "not a whole number"),
            ("activation", "swish", "activation", "one of"),
            ("optimizer", "lbfgs", "optimizer", "one of"),
            ("delta", "fixed", "beta", "needs β"),
            ("engine", "cuda", "engine", "one of"),
            ("epsilon", "", "epsilon", "not a number"),
        ];
        for (key, value, at, says) in cases {
            let mut s = Settings::default();
            s.set(key, value);
            let err = s.plan().unwrap_err();
            assert_eq!(err.key, at, "{key} = {value}: {err:?}");
            assert!(err.message.contains(says), "{key} = {value}: {err:?}");
        }
    }

    #[test]
    fn presets_fill_the_form_with_the_papers_experiments() {
        let presets = presets();
        assert_eq!(presets.len(), 8);
        for (name, settings) in &presets {
            let plan = settings.plan().unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(plan.train.batch_size, 32, "{name}");
            assert_eq!(plan.depths, [4, 8, 16, 32, 64, 128, 256], "{name}");
        }
        let (name, adam) = &presets[1];
        assert_eq!(name, "synthetic-tanh-shared, adam");
        assert_eq!(
            (adam.get("optimizer"), adam.get("lr"), adam.get("init")),
            ("adam", "0.01", "xavier-depth")
        );
        let (name, sgd) = &presets[4];
        assert_eq!(name, "mnist-relu-per-layer, sgd");
        assert_eq!(
            (
                sgd.get("dataset"),
                sgd.get("activation"),
                sgd.get("delta"),
                sgd.get("lr")
            ),
            ("mnist", "relu", "per-layer", "0.1")
        );
    }

    #[test]
    fn fields_that_do_not_apply_are_not_checked() {
        let mut s = Settings::default();
        s.set("beta", "not a number");
        assert!(s.plan().is_ok(), "β is only read for a fixed δ");
        s.set("dataset", "mnist");
        s.set("width", "10");
        s.set("n_samples", "5000");
        let plan = s.plan().unwrap();
        assert_eq!(plan.width(), Some(25));
    }
}
