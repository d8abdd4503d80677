//! The page's chunked training driver, natively: it trains exactly as core's training loop
//! does, with either step, and its loss histories are the golden ones the browser tests
//! compare with. And the page's analysis, natively, as the browser test of that name.
#![cfg(not(target_arch = "wasm32"))]

mod reference;

use burn::backend::NdArray;
use futures::executor::block_on;
use scaling_core::sweep::config::{DataPlan, Unit};
use scaling_core::train::fused::FusedStepper;
use scaling_core::train::session::{train, BurnStepper};
use web::run::PageStep;

/// The driver's histories on step `S` equal those of core's loop on the same step.
fn driver_trains_as_cores_loop_does<S: PageStep>(device: &S::Device) {
    let plan = reference::plan();
    let DataPlan::Synthetic(c) = &plan.data else {
        unreachable!()
    };
    let data = c.generate();
    let driver = block_on(reference::run::<S>(device));
    for (depth, losses) in driver {
        let unit = Unit {
            depth,
            seed: plan.seeds[0],
        };
        let mut stepper = S::start(&plan.model(unit), &data, &plan.training(unit), device);
        let outcome = train(&mut stepper, &data, &plan.train, |_, _| {});
        let core: Vec<(usize, f64)> = outcome
            .history
            .iter()
            .map(|p| (p.step, p.train_loss.unwrap()))
            .collect();
        assert_eq!(losses, core, "L = {depth}");
    }
}

#[test]
fn the_driver_trains_as_cores_loop_does() {
    driver_trains_as_cores_loop_does::<BurnStepper<NdArray>>(&Default::default());
    driver_trains_as_cores_loop_does::<FusedStepper>(&());
}

#[test]
fn the_driver_matches_the_golden_losses() {
    let got = block_on(reference::run::<BurnStepper<NdArray>>(&Default::default()));
    if std::env::var_os("RESNET_SCALING_BLESS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/golden.json");
        std::fs::write(path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
    }
    reference::assert_matches(&got, 1e-6);
}

#[test]
fn the_fused_driver_matches_the_golden_losses() {
    let got = block_on(reference::run::<FusedStepper>(&()));
    let largest = reference::assert_matches(&got, reference::FUSED_TOLERANCE);
    println!("fused step: largest relative difference to the golden losses {largest:.1e}");
}

#[test]
fn the_analysis_finds_the_smooth_regime_of_smooth_weights() {
    reference::analysis_of_smooth_weights();
}
