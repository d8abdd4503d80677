//! Which engine trains the page's networks: WebGPU (burn-wgpu) or the CPU (core's fused step
//! compiled to wasm). The settings' `engine` field forces either; `auto` (the default) times
//! both on the settings' deepest network at Start and trains on the faster, since a software
//! WebGPU adapter (SwiftShader where the machine has no GPU driver) can be 50 times slower than
//! the CPU, and a real GPU slower than the CPU on small networks.

/// What the user chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The faster of the two, measured at Start.
    Auto,
    Gpu,
    Cpu,
}

impl Choice {
    pub const ALL: [Choice; 3] = [Choice::Auto, Choice::Gpu, Choice::Cpu];

    /// Its value in the settings' `engine` field.
    pub const fn name(self) -> &'static str {
        match self {
            Choice::Auto => "auto",
            Choice::Gpu => "webgpu",
            Choice::Cpu => "cpu",
        }
    }

    /// The values of the `engine` field, in [`Choice::ALL`]'s order.
    pub const NAMES: [&'static str; 3] = {
        let mut names = [""; 3];
        let mut i = 0;
        while i < names.len() {
            names[i] = Choice::ALL[i].name();
            i += 1;
        }
        names
    };

    /// The choice a value of the `engine` field names (the field is checked against
    /// [`Choice::NAMES`]; anything else is `auto`).
    pub fn named(value: &str) -> Self {
        Choice::ALL
            .into_iter()
            .find(|c| c.name() == value)
            .unwrap_or(Choice::Auto)
    }
}

/// Where the networks train.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gpu,
    Cpu,
}

impl Kind {
    /// Its name in the page (and in the `data-engine` attribute the end-to-end test reads).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Gpu => "webgpu",
            Kind::Cpu => "cpu",
        }
    }

    /// What it is, for the engine line.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Gpu => "the GPU through WebGPU (burn-wgpu)",
            Kind::Cpu => {
                "the CPU (core's fused step compiled to wasm, one thread per depth, in the \
                 page's Web Workers)"
            }
        }
    }
}

/// Updates per second of the two engines on the deepest network of the settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trial {
    /// The depth L timed.
    pub depth: usize,
    pub cpu: f64,
    pub gpu: f64,
}

impl Trial {
    /// The faster engine; the CPU on a tie or when WebGPU's rate is not a number.
    pub fn faster(&self) -> Kind {
        if self.gpu > self.cpu {
            Kind::Gpu
        } else {
            Kind::Cpu
        }
    }

    /// The engine line after the trial: which engine, and the two rates.
    pub fn line(&self) -> String {
        format!(
            "Training on {}, the faster here: timed on these settings at L = {}, the CPU made \
             {:.1} updates/s and WebGPU {:.1} (engine = auto).",
            self.faster().describe(),
            self.depth,
            self.cpu,
            self.gpu
        )
    }
}

/// The engine line when the settings force `kind`.
pub fn chosen_line(kind: Kind) -> String {
    format!("Training on {}, as the settings ask.", kind.describe())
}

/// The engine line when the browser has no WebGPU, and why.
pub fn no_webgpu_line(why: &str) -> String {
    format!(
        "No WebGPU here ({why}): training on {} instead.",
        Kind::Cpu.describe()
    )
}

/// The engine line before Start when WebGPU answers, with its adapter.
pub fn ready_line(adapter: &str, choice: Choice) -> String {
    let plan = match choice {
        Choice::Auto => "Start times both engines on these settings and trains on the faster",
        Choice::Gpu => "the settings ask for WebGPU",
        Choice::Cpu => "the settings ask for the CPU",
    };
    format!(
        "WebGPU adapter: {adapter}. Engine {}: {plan}.",
        choice.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_faster_engine_trains() {
        let trial = |cpu, gpu| Trial {
            depth: 12,
            cpu,
            gpu,
        };
        assert_eq!(trial(180.0, 4.0).faster(), Kind::Cpu);
        assert_eq!(trial(40.0, 900.0).faster(), Kind::Gpu);
        assert_eq!(trial(50.0, 50.0).faster(), Kind::Cpu);
        assert_eq!(trial(50.0, f64::NAN).faster(), Kind::Cpu);
        let line = trial(180.0, 4.0).line();
        assert!(line.starts_with("Training on the CPU"), "{line}");
        assert!(line.contains("L = 12") && line.contains("180.0") && line.contains("4.0"));
    }

    #[test]
    fn choices_round_trip_through_their_names() {
        for (i, name) in Choice::NAMES.iter().enumerate() {
            assert_eq!(Choice::named(name) as usize, i);
        }
        assert_eq!(Choice::named("gpu"), Choice::Auto);
        assert!(ready_line("swiftshader", Choice::Gpu).contains("Engine webgpu"));
    }
}
