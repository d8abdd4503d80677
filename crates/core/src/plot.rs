//! Figures: what to plot as data and one function that draws it on any plotters backend
//! ([`figure`]), and the figures of the study built from an analysis and from single
//! networks ([`trained`]).
//!
//! May import: model, analysis.

pub mod figure;
pub mod trained;
