//! The engine a Start trains on ([`crate::engine`]): the browser's WebGPU, found once when the
//! page loads, and the choice at Start, which times both engines when the settings say `auto`.

use crate::browser::{self, now, sleep};
use crate::engine::{chosen_line, no_webgpu_line, Choice, Kind, Trial};
use crate::run::updates_per_second;
use burn::backend::wgpu::{graphics::AutoGraphicsApi, init_setup_async, WgpuDevice};
use burn::backend::Wgpu;
use scaling_core::data::synthetic::Dataset;
use scaling_core::sweep::config::Plan;
use scaling_core::train::fused::FusedStepper;
use scaling_core::train::session::BurnStepper;

/// How long each engine is timed when the settings say `auto`, in seconds.
const TRIAL_SECONDS: f64 = 1.0;

/// What the browser offers.
#[derive(Clone, Debug, PartialEq)]
pub enum Gpu {
    /// burn's wgpu device, initialised on the adapter named.
    Ready { device: WgpuDevice, adapter: String },
    /// No WebGPU, and why.
    Missing(String),
}

/// Finds WebGPU and initialises burn's wgpu device on it.
pub async fn find() -> Gpu {
    match browser::webgpu_adapter().await {
        Ok(adapter) => {
            let device = WgpuDevice::default();
            init_setup_async::<AutoGraphicsApi>(&device, Default::default()).await;
            Gpu::Ready { device, adapter }
        }
        Err(why) => Gpu::Missing(why),
    }
}

/// Where the networks train.
#[derive(Clone, Debug, PartialEq)]
pub enum Engine {
    Gpu(WgpuDevice),
    Cpu,
}

impl Engine {
    pub fn kind(&self) -> Kind {
        match self {
            Engine::Gpu(_) => Kind::Gpu,
            Engine::Cpu => Kind::Cpu,
        }
    }
}

/// The engine of a Start, the line that says why, and the timing when there was one.
#[derive(Clone, Debug, PartialEq)]
pub struct Chosen {
    pub engine: Engine,
    pub line: String,
    pub trial: Option<Trial>,
}

/// The engine for `plan`: the one the settings force; the CPU without WebGPU; else the faster
/// on the deepest network, each timed for about a second on `rows`, the data set (made only
/// where WebGPU may be chosen). An error when the settings ask for WebGPU and there is none.
pub async fn choose(
    choice: Choice,
    gpu: &Gpu,
    plan: &Plan,
    rows: Option<&Dataset>,
) -> Result<Chosen, String> {
    let cpu = |line: String, trial| Chosen {
        engine: Engine::Cpu,
        line,
        trial,
    };
    let on_gpu = |device: &WgpuDevice, line: String, trial| Chosen {
        engine: Engine::Gpu(device.clone()),
        line,
        trial,
    };
    match (choice, gpu) {
        (Choice::Cpu, _) => Ok(cpu(chosen_line(Kind::Cpu), None)),
        (Choice::Gpu, Gpu::Ready { device, .. }) => {
            Ok(on_gpu(device, chosen_line(Kind::Gpu), None))
        }
        (Choice::Gpu, Gpu::Missing(why)) => Err(format!("the settings ask for WebGPU, but {why}")),
        (Choice::Auto, Gpu::Missing(why)) => Ok(cpu(no_webgpu_line(why), None)),
        (Choice::Auto, Gpu::Ready { device, .. }) => {
            let rows = rows.ok_or("no rows to time the engines on")?;
            let trial = time_both(plan, rows, device).await;
            Ok(match trial.faster() {
                Kind::Cpu => cpu(trial.line(), Some(trial)),
                Kind::Gpu => on_gpu(device, trial.line(), Some(trial)),
            })
        }
    }
}

/// Updates per second of both engines on the deepest network of `plan`.
async fn time_both(plan: &Plan, data: &Dataset, device: &WgpuDevice) -> Trial {
    let depth = plan.depths.iter().copied().max().unwrap_or(1);
    let pause = || sleep(0);
    let cpu =
        updates_per_second::<FusedStepper, _>(plan, data, depth, &(), TRIAL_SECONDS, now, pause)
            .await;
    let gpu = updates_per_second::<BurnStepper<Wgpu>, _>(
        plan,
        data,
        depth,
        device,
        TRIAL_SECONDS,
        now,
        pause,
    )
    .await;
    Trial { depth, cpu, gpu }
}
