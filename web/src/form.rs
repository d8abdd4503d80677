//! A form's fields as labelled inputs, each with its error: the training view and the phase
//! view draw their settings with it.

use crate::settings::{Field, FieldError, FieldKind, Form};
use leptos::prelude::*;

/// The fields of the form in `settings`, each an input or a select with the id
/// `<id_prefix><key>`, editable while `editable()`, with `error`'s message beside the field it
/// names.
pub fn form_fields<F, E>(
    id_prefix: &'static str,
    settings: RwSignal<F>,
    error: Memo<Option<FieldError>>,
    editable: E,
) -> impl IntoView
where
    F: Form + Send + Sync + 'static,
    E: Fn() -> bool + Copy + Send + Sync + 'static,
{
    let fields = settings.with_untracked(|s| s.values().fields());
    fields
        .iter()
        .map(|&f| form_field(id_prefix, f, settings, error, editable))
        .collect_view()
}

/// One field: its label, its input, and its error.
fn form_field<F, E>(
    id_prefix: &'static str,
    f: Field,
    settings: RwSignal<F>,
    error: Memo<Option<FieldError>>,
    editable: E,
) -> impl IntoView
where
    F: Form + Send + Sync + 'static,
    E: Fn() -> bool + Copy + Send + Sync + 'static,
{
    let key = f.key;
    let id = format!("{id_prefix}{key}");
    let on_change = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        settings.update(|s| s.values_mut().set(key, &value));
    };
    let input = match f.kind {
        FieldKind::Select(names) => view! {
            <select id=id on:change=on_change disabled=move || !editable()>
                {names
                    .iter()
                    .map(|&n| {
                        view! {
                            <option value=n selected=move || settings.with(|s| s.values().get(key) == n)>
                                {n}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        }
        .into_any(),
        _ => view! {
            <input
                id=id
                prop:value=move || settings.with(|s| s.values().get(key).to_string())
                on:change=on_change
                disabled=move || !editable() || !settings.with(|s| s.applies(key))
            />
        }
        .into_any(),
    };
    let error = move || {
        error
            .get()
            .filter(|e| e.key == key)
            .map(|e| view! { <span class="error">{e.message}</span> })
    };
    view! {
        <label class="field">
            <span class="name">{f.label}</span>
            {input}
            {error}
        </label>
    }
}
