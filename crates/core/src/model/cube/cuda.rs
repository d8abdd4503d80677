//! The kernels as an NVIDIA GPU gets them, checked without one. burn-cuda translates a
//! kernel to CUDA C++ with cubecl's CUDA compiler at its first launch and compiles it with
//! NVRTC; here the same translation (`CppCompiler<CudaDialect>`, with the options
//! cubecl-cuda's server sets for the device) is compiled by NVRTC for sm_80 (A100) and sm_90a
//! (H100/H200), for both kernels, every activation, widths 1, 10, 25, 32 and 128 and with and
//! without the trace (the forward's kept states, the adjoint's δ gradient). ptxas then
//! reports each kernel's registers, and cubecl its shared memory: both are checked against
//! the bounds recorded in `cuda-bounds.json`, so that a change that makes a kernel heavier
//! fails here before it is slower on a GPU.
//!
//! The kernel definition is built as the macro's launch builds it (its arguments in order,
//! 32-bit addressing, checked execution), without the compute client that needs a driver.
//! Needs the wheels of `scripts/setup-cuda.sh` ($RESNET_SCALING_NVRTC, _CUDA_INCLUDE,
//! _PTXAS), else skips with one line. `RESNET_SCALING_RECORD_CUDA_BOUNDS=1` rewrites the
//! bounds from the measured values.

use super::kernel::{backward_kernel, code, forward_kernel};
use super::rows;
use crate::model::activation::Activation;
use cubecl::ir::{AddressType, ElemType, FloatKind, StorageType};
use cubecl::prelude::*;
use cubecl::{Compiler, ExecutionMode};
use cubecl_cpp::cuda::{mma::CudaWmmaCompiler, CudaDialect};
use cubecl_cpp::shared::{CompilationOptions, CppCompiler, CppSupportedFeatures};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

type CudaCompiler = CppCompiler<CudaDialect<CudaWmmaCompiler>>;

/// The compute capabilities compiled for, as NVRTC names them.
const ARCHS: [(u32, &str); 2] = [(80, "sm_80"), (90, "sm_90a")];
const WIDTHS: [u32; 5] = [1, 10, 25, 32, 128];
const F32: StorageType = StorageType::Scalar(ElemType::Float(FloatKind::F32));

/// What cubecl-cuda's server sets for a device of compute capability `arch`.
fn options(arch: u32) -> CompilationOptions {
    CompilationOptions {
        warp_size: 32,
        supports_features: CppSupportedFeatures {
            fast_math: true,
            grid_constants: arch >= 70,
            fast_tanh: arch >= 75 && cudarc::driver::sys::CUDA_VERSION >= 12080,
            clusters: arch >= 90,
            elect_sync: arch >= 90,
        },
    }
}

/// One kernel to check: which, its width d, activation and trace flag.
#[derive(Clone, Copy, Debug)]
struct Variant {
    forward: bool,
    width: u32,
    act: Activation,
    trace: bool,
}

impl Variant {
    fn all() -> Vec<Variant> {
        let mut all = Vec::new();
        for forward in [true, false] {
            for width in WIDTHS {
                for act in Activation::ALL {
                    for trace in [false, true] {
                        all.push(Variant {
                            forward,
                            width,
                            act,
                            trace,
                        });
                    }
                }
            }
        }
        all
    }

    /// e.g. "forward d=25 tanh trace sm_80".
    fn name(&self, arch: &str) -> String {
        format!(
            "{} d={} {:?}{} {arch}",
            if self.forward { "forward" } else { "backward" },
            self.width,
            self.act,
            if self.trace { " trace" } else { "" }
        )
        .to_lowercase()
    }

    /// The kernel's definition, built as its launch builds it.
    fn definition(&self) -> KernelDefinition {
        let (width, rows) = (self.width, rows(self.width as usize) as u32);
        let (act, trace) = (code(self.act), self.trace);
        let mut builder = KernelBuilder::default();
        let name = if self.forward {
            type E = forward_kernel::E;
            let ([x, a, b, delta], [out, h, z], [samples, depth]) = arguments::<E, 3>(&mut builder);
            let scope = &mut builder.scope;
            forward_kernel::expand::<E>(
                scope, x, a, b, delta, out, h, z, samples, depth, width, rows, act, trace, F32,
            );
            "forward_kernel"
        } else {
            type E = backward_kernel::E;
            let ([g, a, delta, z], [p, q], [samples, depth]) = arguments::<E, 2>(&mut builder);
            let scope = &mut builder.scope;
            backward_kernel::expand::<E>(
                scope, g, a, delta, z, p, q, samples, depth, width, rows, act, trace, F32,
            );
            "backward_kernel"
        };
        builder.build(
            KernelSettings::default()
                .cube_dim(CubeDim::new_2d(width, rows))
                .address_type(AddressType::U32)
                .kernel_name(format!("{name}_e_{F32}")),
        )
    }

    /// The CUDA C++ source and the dynamic shared memory in bytes, for `arch`.
    fn cuda(&self, arch: u32) -> (String, usize) {
        let kernel = CudaCompiler::default()
            .compile(
                self.definition(),
                &options(arch),
                ExecutionMode::Checked,
                AddressType::U32.unsigned_type(),
            )
            .expect("cubecl translates the kernel to CUDA C++");
        (kernel.to_string(), kernel.shared_memory_size())
    }
}

type TensorArg<E> = <Tensor<E> as CubeType>::ExpandType;
type ScalarArg = <u32 as CubeType>::ExpandType;

/// The launch arguments of a kernel over f32 element E, registered in the launch's order:
/// four input tensors, OUT output tensors, then the scalars (samples, depth).
fn arguments<E: CubePrimitive, const OUT: usize>(
    builder: &mut KernelBuilder,
) -> ([TensorArg<E>; 4], [TensorArg<E>; OUT], [ScalarArg; 2]) {
    builder.scope.register_type::<E>(F32);
    AddressType::U32.register(&mut builder.scope);
    let t = TensorCompilationArg { inplace: None };
    let inputs = std::array::from_fn(|_| <Tensor<E> as LaunchArg>::expand(&t, builder));
    let outputs = std::array::from_fn(|_| <Tensor<E> as LaunchArg>::expand_output(&t, builder));
    let scalars = std::array::from_fn(|_| <u32 as LaunchArg>::expand(&(), builder));
    (inputs, outputs, scalars)
}

/// The NVIDIA tools of scripts/setup-cuda.sh.
struct Tools {
    include: PathBuf,
    ptxas: PathBuf,
    _nvrtc: libloading::Library,
}

impl Tools {
    /// Loads NVRTC by its path (cudarc then finds it by its soname), or `None` with one line.
    fn find() -> Option<Tools> {
        let var = |name: &str| std::env::var_os(name).map(PathBuf::from);
        let (Some(nvrtc), Some(include), Some(ptxas)) = (
            var("RESNET_SCALING_NVRTC"),
            var("RESNET_SCALING_CUDA_INCLUDE"),
            var("RESNET_SCALING_PTXAS"),
        ) else {
            eprintln!(
                "skipped: needs NVRTC, the CUDA headers and ptxas in $RESNET_SCALING_NVRTC, \
                 _CUDA_INCLUDE, _PTXAS (eval \"$(scripts/setup-cuda.sh)\" installs them)"
            );
            return None;
        };
        // SAFETY: loading NVIDIA's NVRTC library runs only its initialisers.
        let library = unsafe { libloading::Library::new(&nvrtc) }
            .unwrap_or_else(|e| panic!("loading {}: {e}", nvrtc.display()));
        Some(Tools {
            include,
            ptxas,
            _nvrtc: library,
        })
    }

    /// NVRTC's PTX for `source`, or its log.
    fn nvrtc(&self, source: &str, arch: &'static str) -> Result<String, String> {
        let options = cudarc::nvrtc::CompileOptions {
            arch: Some(arch),
            include_paths: vec![self.include.display().to_string()],
            options: vec!["-lineinfo".into()],
            ..Default::default()
        };
        cudarc::nvrtc::compile_ptx_with_opts(source, options)
            .map(|ptx| ptx.to_src())
            .map_err(|e| format!("{e:?}"))
    }

    /// The registers per thread that ptxas gives `ptx` on `arch`.
    fn registers(&self, ptx: &str, arch: &str, file: &Path) -> usize {
        std::fs::write(file, ptx).unwrap();
        let output = std::process::Command::new(&self.ptxas)
            .args([&format!("-arch={arch}"), "-v", "-o", "/dev/null"])
            .arg(file)
            .output()
            .expect("ptxas runs");
        let log = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "ptxas failed: {log}");
        log.split("Used ")
            .nth(1)
            .and_then(|s| s.split(" registers").next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no register count in ptxas's log: {log}"))
    }
}

/// Registers and shared memory bytes of one compiled kernel.
type Cost = [usize; 2];

/// The recorded bounds, by kernel name.
fn bounds_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/model/cube/cuda-bounds.json")
}

#[test]
fn kernels_compile_for_nvidia_gpus_within_their_register_bounds() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let scratch = std::env::temp_dir().join("resnet-scaling-cuda");
    std::fs::create_dir_all(&scratch).unwrap();
    let jobs: Vec<(Variant, (u32, &'static str))> = Variant::all()
        .into_iter()
        .flat_map(|v| ARCHS.map(|arch| (v, arch)))
        .collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let measured: BTreeMap<String, Cost> = std::thread::scope(|s| {
        let chunks = jobs.chunks(jobs.len().div_ceil(threads));
        let handles: Vec<_> = chunks
            .map(|chunk| {
                s.spawn(|| {
                    chunk
                        .iter()
                        .map(|j| compile(&tools, j, &scratch))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(
        measured.len(),
        2 * 2 * WIDTHS.len() * Activation::ALL.len() * ARCHS.len()
    );
    if std::env::var_os("RESNET_SCALING_RECORD_CUDA_BOUNDS").is_some() {
        let lines: Vec<String> = measured
            .iter()
            .map(|(name, [registers, shared])| {
                format!(
                    "  {}: [{registers}, {shared}]",
                    serde_json::to_string(name).unwrap()
                )
            })
            .collect();
        std::fs::write(bounds_path(), format!("{{\n{}\n}}\n", lines.join(",\n"))).unwrap();
        return;
    }
    let bounds: BTreeMap<String, Cost> =
        serde_json::from_str(&std::fs::read_to_string(bounds_path()).unwrap()).unwrap();
    let heavier: Vec<String> = measured
        .iter()
        .filter_map(|(name, cost)| match bounds.get(name) {
            Some(bound) if cost[0] <= bound[0] && cost[1] <= bound[1] => None,
            Some(bound) => Some(format!(
                "{name}: {cost:?} (registers, shared bytes) above the bound {bound:?}"
            )),
            None => Some(format!("{name}: {cost:?}, no bound recorded")),
        })
        .collect();
    assert!(
        heavier.is_empty(),
        "kernels past their recorded bounds (rerun with RESNET_SCALING_RECORD_CUDA_BOUNDS=1 \
         if intended):\n{}",
        heavier.join("\n")
    );
}

/// Translates and compiles one kernel; a compile error saves the source and fails.
fn compile(
    tools: &Tools,
    (variant, (arch, name)): &(Variant, (u32, &'static str)),
    scratch: &Path,
) -> (String, Cost) {
    let (source, shared) = variant.cuda(*arch);
    let kernel = variant.name(name);
    let ptx = tools.nvrtc(&source, name).unwrap_or_else(|log| {
        let saved = scratch.join(format!("{}.cu", kernel.replace([' ', '='], "_")));
        std::fs::write(&saved, &source).unwrap();
        panic!(
            "NVRTC cannot compile {kernel} (source saved as {}): {log}",
            saved.display()
        )
    });
    let file = scratch.join(format!("{}.ptx", kernel.replace([' ', '='], "_")));
    let registers = tools.registers(&ptx, name, &file);
    (kernel, [registers, shared])
}

#[test]
fn nvrtc_reports_a_compile_error_with_its_log() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let log = tools
        .nvrtc("__global__ void k() { undefined_name = 1; }", "sm_80")
        .unwrap_err();
    assert!(log.contains("undefined_name"), "{log}");
}
