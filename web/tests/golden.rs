//! The page's chunked training driver, natively: it trains exactly as core's training loop
//! does, and its loss histories are the golden ones the browser tests compare with.
#![cfg(not(target_arch = "wasm32"))]

mod reference;

use burn::backend::NdArray;
use futures::executor::block_on;
use scaling_core::config::DataPlan;
use scaling_core::train::{train, BurnStepper};

#[test]
fn the_driver_trains_as_cores_loop_does() {
    let plan = reference::plan();
    let DataPlan::Synthetic(c) = &plan.data else {
        unreachable!()
    };
    let data = c.generate();
    let device = Default::default();
    let driver = block_on(reference::run::<NdArray>(&device));
    for (depth, losses) in driver {
        let config = plan.model(depth);
        let model = config.init::<NdArray>(&device);
        let mut stepper = BurnStepper::new(model, &data, &plan.train);
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
fn the_driver_matches_the_golden_losses() {
    let got = block_on(reference::run::<NdArray>(&Default::default()));
    if std::env::var_os("RESNET_SCALING_BLESS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/golden.json");
        std::fs::write(path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
    }
    reference::assert_matches(&got, 1e-6);
}
