//! The account's own fields on customers (a plan, a renewal date, the products they own): what
//! an admin defines (`FieldDef`), and what a value must be to be kept on a customer. Pure: the
//! REST handlers check definitions and values here before the store keeps them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The most fields an account defines, and the most choices a field offers.
pub const MAX_FIELDS: usize = 50;
pub const MAX_CHOICES: usize = 50;
/// The longest label or choice, and the longest text value, in characters.
pub const MAX_LABEL_CHARS: usize = 80;
pub const MAX_TEXT_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    /// A calendar day, `YYYY-MM-DD`.
    Date,
    /// One of `choices`.
    Choice,
    /// Any of `choices`, each once.
    MultiChoice,
}

/// A field as the admin defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldDef {
    /// What the value is kept under: lower-case letters, digits and `_`, at most 40.
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub choices: Vec<String>,
}

/// Checks an account's definitions as a whole: keys well-formed and each once, a label, and
/// choices (each once) exactly for the fields that choose.
pub fn check_defs(defs: &[FieldDef]) -> Result<(), String> {
    if defs.len() > MAX_FIELDS {
        return Err(format!("at most {MAX_FIELDS} fields"));
    }
    for (i, d) in defs.iter().enumerate() {
        let well_formed = !d.key.is_empty()
            && d.key.len() <= 40
            && d.key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !well_formed {
            return Err(format!("field key {:?}: use 1 to 40 of a-z, 0-9 and _", d.key));
        }
        if defs[..i].iter().any(|o| o.key == d.key) {
            return Err(format!("field key {:?} is there twice", d.key));
        }
        let label = d.label.trim().chars().count();
        if label == 0 || label > MAX_LABEL_CHARS {
            return Err(format!(
                "field {:?}: a label of 1 to {MAX_LABEL_CHARS} characters",
                d.key
            ));
        }
        let chooses = matches!(d.kind, FieldKind::Choice | FieldKind::MultiChoice);
        if chooses == d.choices.is_empty() {
            return Err(format!(
                "field {:?}: choices go with a choice field, and only there",
                d.key
            ));
        }
        if d.choices.len() > MAX_CHOICES {
            return Err(format!("field {:?}: at most {MAX_CHOICES} choices", d.key));
        }
        for (j, c) in d.choices.iter().enumerate() {
            let n = c.trim().chars().count();
            if n == 0 || n > MAX_LABEL_CHARS || d.choices[..j].contains(c) {
                return Err(format!(
                    "field {:?}: each choice once, 1 to {MAX_LABEL_CHARS} characters",
                    d.key
                ));
            }
        }
    }
    Ok(())
}

/// The values a customer patch sets, checked against the definitions: each key defined, each
/// value of its field's kind (`null` takes a value away). Answers them as they are kept: text
/// trimmed (empty is `null`), a multi-choice in the order of its field's choices.
pub fn check_values(defs: &[FieldDef], patch: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (key, value) in patch {
        let def = defs
            .iter()
            .find(|d| &d.key == key)
            .ok_or_else(|| format!("no customer field {key:?}"))?;
        let wrong = |what: &str| format!("{}: {what}", def.label);
        let kept = match (def.kind, value) {
            (_, Value::Null) => Value::Null,
            (FieldKind::Text, Value::String(s)) => {
                let s = s.trim();
                if s.chars().count() > MAX_TEXT_CHARS {
                    return Err(wrong(&format!("at most {MAX_TEXT_CHARS} characters")));
                }
                if s.is_empty() {
                    Value::Null
                } else {
                    Value::String(s.into())
                }
            }
            (FieldKind::Number, Value::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => value.clone(),
            (FieldKind::Date, Value::String(s))
                if s.parse::<jiff::civil::Date>().is_ok() && s.len() == 10 =>
            {
                value.clone()
            }
            (FieldKind::Choice, Value::String(s)) if def.choices.contains(s) => value.clone(),
            (FieldKind::MultiChoice, Value::Array(items)) => {
                let picked: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                if picked.len() != items.len() || picked.iter().any(|p| !def.choices.iter().any(|c| c == p)) {
                    return Err(wrong("pick among its choices"));
                }
                let ordered: Vec<Value> = def
                    .choices
                    .iter()
                    .filter(|c| picked.contains(&c.as_str()))
                    .map(|c| Value::String(c.clone()))
                    .collect();
                if ordered.is_empty() {
                    Value::Null
                } else {
                    Value::Array(ordered)
                }
            }
            (FieldKind::Text, _) => return Err(wrong("text")),
            (FieldKind::Number, _) => return Err(wrong("a number")),
            (FieldKind::Date, _) => return Err(wrong("a date as YYYY-MM-DD")),
            (FieldKind::Choice, _) => return Err(wrong(&format!("one of {}", def.choices.join(", ")))),
            (FieldKind::MultiChoice, _) => return Err(wrong("a list of its choices")),
        };
        out.insert(key.clone(), kept);
    }
    Ok(out)
}

/// What a customer's values add to their search text: each value, lower-cased.
pub fn search_text(values: &std::collections::BTreeMap<String, Value>) -> String {
    let mut out = String::new();
    for value in values.values() {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for item in items {
            let text = match item {
                Value::String(s) => s.to_lowercase(),
                Value::Number(n) => n.to_string(),
                _ => continue,
            };
            out.push(' ');
            out.push_str(&text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> Vec<FieldDef> {
        serde_json::from_value(json!([
            {"key": "plan", "label": "Plan", "kind": "choice", "choices": ["Free", "Pro", "企业版"]},
            {"key": "seats", "label": "Seats", "kind": "number"},
            {"key": "renewal", "label": "Renewal", "kind": "date"},
            {"key": "products", "label": "Products", "kind": "multi_choice", "choices": ["Phones", "Chat", "Mail"]},
            {"key": "notes_ref", "label": "CRM reference", "kind": "text"}
        ]))
        .unwrap()
    }

    #[test]
    fn definitions_are_checked_as_a_whole() {
        assert_eq!(check_defs(&defs()), Ok(()));
        let one = |v: Value| -> Vec<FieldDef> { serde_json::from_value(json!([v])).unwrap() };
        let refused = [
            json!({"key": "Plan", "label": "Plan", "kind": "text"}),
            json!({"key": "", "label": "x", "kind": "text"}),
            json!({"key": "a b", "label": "x", "kind": "text"}),
            json!({"key": "plan", "label": " ", "kind": "text"}),
            json!({"key": "plan", "label": "Plan", "kind": "choice"}),
            json!({"key": "plan", "label": "Plan", "kind": "text", "choices": ["a"]}),
            json!({"key": "plan", "label": "Plan", "kind": "choice", "choices": ["a", "a"]}),
        ];
        for def in refused {
            assert!(check_defs(&one(def.clone())).is_err(), "{def}");
        }
        let mut twice = defs();
        twice.push(twice[0].clone());
        assert!(check_defs(&twice).unwrap_err().contains("twice"));
    }

    #[test]
    fn a_value_is_kept_only_as_its_field_allows() {
        let defs = defs();
        let check = |v: Value| check_values(&defs, v.as_object().unwrap());
        assert_eq!(
            check(json!({"plan": "企业版", "seats": 12, "renewal": "2027-01-31", "products": ["Mail", "Phones"], "notes_ref": "  A-17 "})).unwrap(),
            json!({"plan": "企业版", "seats": 12, "renewal": "2027-01-31", "products": ["Phones", "Mail"], "notes_ref": "A-17"})
                .as_object()
                .unwrap()
                .clone()
        );
        assert_eq!(
            check(json!({"plan": null, "notes_ref": "  ", "products": []})).unwrap(),
            json!({"plan": null, "notes_ref": null, "products": null})
                .as_object()
                .unwrap()
                .clone()
        );
        for bad in [
            json!({"nope": 1}),
            json!({"plan": "Gold"}),
            json!({"seats": "12"}),
            json!({"renewal": "31/01/2027"}),
            json!({"renewal": "2027-02-30"}),
            json!({"products": ["Phones", "Fax"]}),
            json!({"products": "Phones"}),
            json!({"notes_ref": 5}),
            json!({"notes_ref": "x".repeat(501)}),
        ] {
            assert!(check(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_found_by_search() {
        let values: std::collections::BTreeMap<String, Value> =
            serde_json::from_value(json!({"plan": "Pro", "seats": 12, "products": ["Phones", "Mail"]}))
                .unwrap();
        assert_eq!(search_text(&values), " pro phones mail 12");
    }
}
