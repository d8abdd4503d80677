//! The page's three views, and which one the URL asks for.

use crate::settings::Form;

/// The page's views, switched by tabs at its top.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// "Trained weights": the training of several depths side by side.
    Training,
    /// "At initialisation": the (β, H) phase diagram.
    Phase,
    /// "Across depth": a learning-rate transfer grid.
    Transfer,
}

impl View {
    /// The views other than the training view, by their name in the URL (`view=<name>`).
    const NAMED: [(View, &'static str); 2] = [(View::Phase, "phase"), (View::Transfer, "transfer")];

    /// The view a URL query asks for: `view=phase` or `view=transfer`, else the training view.
    pub fn from_query(query: &str) -> Self {
        let pairs: Vec<&str> = query.trim_start_matches('?').split('&').collect();
        Self::NAMED
            .iter()
            .find(|(_, name)| pairs.contains(&format!("view={name}").as_str()))
            .map_or(View::Training, |&(view, _)| view)
    }

    /// The page's URL query while this view is shown with the settings `shown`: the training
    /// view's settings alone, exactly as before the other views existed; else `view=<name>`
    /// then the view's settings. (The forms share keys such as `depths`, so the URL carries
    /// the shown one's.)
    pub fn query(self, shown: &impl Form) -> String {
        let settings = shown.to_query();
        let Some((_, name)) = Self::NAMED.iter().find(|(view, _)| *view == self) else {
            return settings;
        };
        match settings.is_empty() {
            true => format!("view={name}"),
            false => format!("view={name}&{settings}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase_settings::PhaseSettings;
    use crate::settings::Settings;
    use crate::transfer_settings::TransferSettings;

    #[test]
    fn the_view_is_in_the_url_and_the_training_query_is_unchanged() {
        assert_eq!(View::from_query(""), View::Training);
        assert_eq!(View::from_query("?depths=3,6&lr=0.5"), View::Training);
        assert_eq!(View::from_query("?depths=10,40&view=phase"), View::Phase);
        assert_eq!(
            View::from_query("?view=transfer&depths=3,6,12"),
            View::Transfer
        );
        assert_eq!(View::from_query("?view=transfers"), View::Training);
        let mut training = Settings::default();
        training.set("depths", "3,6");
        assert_eq!(View::Training.query(&training), "depths=3,6");
        let mut phase = PhaseSettings::default();
        assert_eq!(View::Phase.query(&phase), "view=phase");
        phase.set("depths", "10,40");
        let query = View::Phase.query(&phase);
        assert_eq!(query, "view=phase&depths=10,40");
        assert_eq!(PhaseSettings::from_query(&query), phase);
        let mut transfer = TransferSettings::default();
        assert_eq!(View::Transfer.query(&transfer), "view=transfer");
        transfer.set("parametrization", "ode");
        let query = View::Transfer.query(&transfer);
        assert_eq!(query, "view=transfer&parametrization=ode");
        assert_eq!(TransferSettings::from_query(&query), transfer);
        // The other views' keys do not leak into the training form's reading of a URL.
        assert_eq!(Settings::from_query("view=phase").to_query(), "");
        assert_eq!(Settings::from_query("view=transfer").to_query(), "");
    }
}
